//! `/v1/capsules/{id}/processes`: list the processes the capsule's envd
//! started (foreground and background commands, terminals) and kill one.
//!
//! `DELETE …/processes/{pid}` sends SIGKILL (the SDK's `commands.kill`);
//! `?signal=SIGTERM` asks politely instead. An unknown pid is `404
//! not_found`, so a retried DELETE (the SDK retries DELETEs on network
//! errors) of a process that is gone answers 404, which the SDK reports as
//! `WrennNotFoundError`. Background processes started with a tag can also
//! be killed by it: `DELETE …/processes/by-tag/{tag}`.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::process_selector::Selector;

use crate::api::exec::{data_plane_error, keep_active};
use crate::app::{AppError, validate};
use crate::http::{ApiError, AppState, AuthContext, Json, Path, Query};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/capsules/{id}/processes", get(list))
        .route("/v1/capsules/{id}/processes/{pid}", delete(kill_by_pid))
        .route("/v1/capsules/{id}/processes/by-tag/{tag}", delete(kill_by_tag))
}

/// `{"processes": [...]}`, never `null` (the SDK iterates it).
#[derive(Debug, Serialize)]
struct ProcessList {
    processes: Vec<ProcessView>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct ProcessView {
    pid: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    tag: String,
    cmd: String,
    args: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillQuery {
    signal: Option<String>,
}

async fn list(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<ProcessList>, ApiError> {
    let capsule_id = validate::capsule_id(&id)?;
    let (capsule, agent) = state.app().capsule_agent(auth.team_id, capsule_id, "list processes").await?;
    let _active = keep_active(state.app(), &capsule, &agent);
    let request = pb::ListProcessesRequest { capsule_id: capsule_id.to_string(), ..Default::default() };
    let response = agent.list_processes(request).await.map_err(data_plane_error)?.into_owned();
    let processes = response
        .processes
        .into_iter()
        .map(|process| ProcessView { pid: process.pid, tag: process.tag, cmd: process.cmd, args: process.args })
        .collect();
    Ok(Json(ProcessList { processes }))
}

async fn kill_by_pid(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path((id, pid)): Path<(String, String)>,
    Query(query): Query<KillQuery>,
) -> Result<StatusCode, ApiError> {
    let pid = parse_pid(&pid)?;
    kill(&state, &auth, &id, Selector::Pid(pid), query).await
}

async fn kill_by_tag(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path((id, tag)): Path<(String, String)>,
    Query(query): Query<KillQuery>,
) -> Result<StatusCode, ApiError> {
    if tag.is_empty() {
        return Err(ApiError::invalid_request("the process tag must not be empty"));
    }
    kill(&state, &auth, &id, Selector::Tag(tag), query).await
}

async fn kill(
    state: &AppState,
    auth: &AuthContext,
    id: &str,
    selector: Selector,
    query: KillQuery,
) -> Result<StatusCode, ApiError> {
    let capsule_id = validate::capsule_id(id)?;
    let signal = parse_signal(query.signal.as_deref())?;
    let (capsule, agent) = state.app().capsule_agent(auth.team_id, capsule_id, "kill a process").await?;
    let _active = keep_active(state.app(), &capsule, &agent);
    let request = pb::KillProcessRequest {
        capsule_id: capsule_id.to_string(),
        process: pb::ProcessSelector { selector: Some(selector), ..Default::default() }.into(),
        signal: signal.into(),
        ..Default::default()
    };
    agent.kill_process(request).await.map_err(data_plane_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A pid as the SDK sends it: a decimal `u32`.
fn parse_pid(text: &str) -> Result<u32, AppError> {
    text.parse::<u32>()
        .ok()
        .filter(|pid| *pid > 0)
        .ok_or_else(|| AppError::InvalidRequest(format!("{text:?} is not a process id (a positive integer)")))
}

/// SIGKILL unless the caller asks for SIGTERM (by name or number).
fn parse_signal(signal: Option<&str>) -> Result<pb::Signal, AppError> {
    match signal.map(str::to_ascii_uppercase).as_deref() {
        None | Some("SIGKILL" | "KILL" | "9") => Ok(pb::Signal::SIGNAL_SIGKILL),
        Some("SIGTERM" | "TERM" | "15") => Ok(pb::Signal::SIGNAL_SIGTERM),
        Some(_) => Err(AppError::InvalidRequest(format!(
            "signal {:?} is not supported: use SIGKILL or SIGTERM",
            signal.unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_positive_decimal_integers() {
        assert_eq!(parse_pid("1").unwrap(), 1);
        assert_eq!(parse_pid("4294967295").unwrap(), u32::MAX);
        for bad in ["", "0", "-1", "4294967296", "12a", "web", " 1"] {
            assert!(parse_pid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signals_default_to_sigkill() {
        assert_eq!(parse_signal(None).unwrap(), pb::Signal::SIGNAL_SIGKILL);
        assert_eq!(parse_signal(Some("sigterm")).unwrap(), pb::Signal::SIGNAL_SIGTERM);
        assert_eq!(parse_signal(Some("15")).unwrap(), pb::Signal::SIGNAL_SIGTERM);
        assert_eq!(parse_signal(Some("KILL")).unwrap(), pb::Signal::SIGNAL_SIGKILL);
        assert!(parse_signal(Some("SIGHUP")).is_err());
    }

    #[test]
    fn the_routes_under_a_capsule_do_not_conflict() {
        // axum panics on conflicting routes (e.g. two names for one path
        // parameter): build every route table that shares these prefixes.
        let _router: Router<AppState> = routes()
            .merge(crate::api::exec::routes())
            .merge(crate::api::files::routes())
            .merge(crate::api::ws::routes());
    }

    #[test]
    fn an_empty_list_is_an_empty_array() {
        let json = serde_json::to_value(ProcessList { processes: Vec::new() }).unwrap();
        assert_eq!(json, serde_json::json!({"processes": []}));
        let view = ProcessView { pid: 7, tag: String::new(), cmd: "sh".into(), args: vec!["-c".into()] };
        let json = serde_json::to_value(ProcessList { processes: vec![view] }).unwrap();
        assert_eq!(json, serde_json::json!({"processes": [{"pid": 7, "cmd": "sh", "args": ["-c"]}]}));
    }
}
