//! `GET /v1/capsules/{id}/processes/{pid}/stream` (WebSocket): the output
//! of a process that is already running, from now on, and its exit. The
//! client sends nothing (a `stop` frame is honoured all the same).
//!
//! envd forgets a process when it exits, so one that ended before the
//! connect is answered with an `error` frame: its exit code is gone.

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::StreamExt;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::process_selector::Selector;
use wrenn_types::CapsuleId;

use crate::api::ws::agent_stream::exec_events;
use crate::api::ws::frames::StreamEvent;
use crate::api::ws::process_relay::ProcessRelay;
use crate::api::ws::{agent_failure, close, limited, send, stream_call};
use crate::app::{AgentClient, validate};
use crate::http::{ApiError, AppState, AuthContext, Path, StreamGuard};

pub(super) async fn process_stream(
    State(state): State<AppState>,
    auth: AuthContext,
    Path((id, pid)): Path<(String, String)>,
    guard: StreamGuard,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let capsule_id = validate::capsule_id(&id)?;
    let pid = parse_pid(&pid)?;
    let (_, agent) = state.app().capsule_agent(auth.team_id, capsule_id, "connect to a process").await?;
    Ok(limited(upgrade).on_upgrade(move |socket| session(socket, agent, capsule_id, pid, guard)))
}

fn parse_pid(text: &str) -> Result<u32, ApiError> {
    match text.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(ApiError::invalid_request(format!("{text:?} is not a process id (a positive integer)"))),
    }
}

async fn session(socket: WebSocket, agent: AgentClient, capsule_id: CapsuleId, pid: u32, guard: StreamGuard) {
    let (mut sink, source) = socket.split();
    let request = pb::ConnectProcessRequest {
        capsule_id: capsule_id.to_string(),
        process: pb::ProcessSelector { selector: Some(Selector::Pid(pid)), ..Default::default() }.into(),
        ..Default::default()
    };
    let events = match agent.connect_process_with_options(request, stream_call()).await {
        Ok(stream) => exec_events(stream),
        Err(error) => {
            let message = format!("cannot connect to process {pid}: {}", agent_failure(&error));
            if send(&mut sink, StreamEvent::Error { data: &message }.message()).await {
                close(sink).await;
            }
            return;
        }
    };
    ProcessRelay { agent, capsule_id, timeout: None, guard }.run(sink, source, events).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_positive_integers() {
        assert_eq!(parse_pid("42").unwrap(), 42);
        for bad in ["0", "-1", "abc", "", "4294967296", "1.5"] {
            assert!(parse_pid(bad).is_err(), "{bad}");
        }
    }
}
