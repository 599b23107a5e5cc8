//! `POST /v1/capsules/{id}/exec`: run a command in a capsule.
//!
//! Foreground (the default) waits for the exit and answers 200
//! `{stdout, stderr, exit_code, duration_ms, encoding}` within the SDK's
//! `timeout_sec + 10` s (see `exec::request` for the budget); a command
//! that outlives its timeout is killed by the agent and answered with
//! `504 timeout`. Background answers 202 `{sandbox_id, cmd, pid, tag}` as
//! soon as the process runs; it keeps running after the request.
//!
//! `envs` and `cwd` apply to both modes (the SDK's git helpers rely on
//! them). Output beyond the agent's unary limit (3 MiB) is refused with
//! 422: such commands belong on the exec stream.

mod activity;
mod agent_error;
mod output;
mod request;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use connectrpc::ErrorCode;
use connectrpc::client::CallOptions;
use serde::Serialize;
use tokio::time::Instant;
use wrenn_proto::agent::hostagent as pb;

pub(crate) use crate::api::exec::activity::{KeepActive, keep_active};
pub(crate) use crate::api::exec::agent_error::data_plane_error;
use crate::api::exec::request::{AGENT_SLACK, Command, ExecBody, ExecBudget, Mode};
use crate::app::{AgentClient, AppError, validate};
use crate::http::{ApiError, AppState, AuthContext, Json, Path};
use crate::store::Capsule;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/capsules/{id}/exec", post(exec))
}

/// 200 for a foreground command.
#[derive(Debug, Serialize)]
struct ExecResult {
    sandbox_id: String,
    cmd: String,
    stdout: String,
    stderr: String,
    exit_code: i32,
    duration_ms: u64,
    encoding: &'static str,
}

/// 202 for a background command.
#[derive(Debug, Serialize)]
struct Started {
    sandbox_id: String,
    cmd: String,
    pid: u32,
    tag: String,
}

async fn exec(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<ExecBody>,
) -> Result<Response, ApiError> {
    let arrived = Instant::now();
    let capsule_id = validate::capsule_id(&id)?;
    let command = body.into_command()?;
    match command.mode.clone() {
        Mode::Foreground { timeout_sec } => {
            let budget = ExecBudget::new(timeout_sec);
            let ready = state.app().capsule_agent(auth.team_id, capsule_id, "exec");
            let (capsule, agent) = tokio::time::timeout(budget.wait_limit(), ready).await.map_err(|_| {
                AppError::Timeout(format!("capsule {capsule_id} did not start in time to run the command"))
            })??;
            let Some(timeout_sec) = budget.command_timeout_sec(arrived.elapsed()) else {
                let late = AppError::Timeout(format!("capsule {capsule_id} started too late to run the command"));
                return Err(late.into());
            };
            let _active = keep_active(state.app(), &capsule, &agent);
            Ok(foreground(&capsule, &agent, command, timeout_sec).await?.into_response())
        }
        Mode::Background { tag } => {
            let (capsule, agent) = state.app().capsule_agent(auth.team_id, capsule_id, "exec").await?;
            let _active = keep_active(state.app(), &capsule, &agent);
            Ok((StatusCode::ACCEPTED, Json(background(&capsule, &agent, command, tag).await?)).into_response())
        }
    }
}

async fn foreground(
    capsule: &Capsule,
    agent: &AgentClient,
    command: Command,
    timeout_sec: u32,
) -> Result<Json<ExecResult>, ApiError> {
    let cmd = command.cmd.clone();
    let request = pb::ExecRequest {
        capsule_id: capsule.id.to_string(),
        cmd: command.cmd,
        args: command.args,
        envs: command.envs.into_iter().collect(),
        cwd: command.cwd,
        timeout_sec,
        ..Default::default()
    };
    let deadline = Duration::from_secs(u64::from(timeout_sec)) + AGENT_SLACK;
    let response = agent
        .exec_with_options(request, CallOptions::default().with_timeout(deadline))
        .await
        .map_err(|error| match error.code {
            ErrorCode::DeadlineExceeded => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!("the command did not finish within {timeout_sec} s and was stopped"),
            )
            .with_source(error),
            _ => data_plane_error(error),
        })?
        .into_owned();
    let output = output::encode(response.stdout, response.stderr);
    Ok(Json(ExecResult {
        sandbox_id: capsule.id.to_string(),
        cmd,
        stdout: output.stdout,
        stderr: output.stderr,
        exit_code: response.exit_code,
        duration_ms: response.duration_ms,
        encoding: output.encoding,
    }))
}

async fn background(
    capsule: &Capsule,
    agent: &AgentClient,
    command: Command,
    tag: String,
) -> Result<Started, ApiError> {
    let cmd = command.cmd.clone();
    let request = pb::StartBackgroundRequest {
        capsule_id: capsule.id.to_string(),
        cmd: command.cmd,
        args: command.args,
        envs: command.envs.into_iter().collect(),
        cwd: command.cwd,
        tag,
        ..Default::default()
    };
    let response = agent.start_background(request).await.map_err(data_plane_error)?.into_owned();
    Ok(Started { sandbox_id: capsule.id.to_string(), cmd, pid: response.pid, tag: response.tag })
}
