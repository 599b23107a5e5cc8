//! `GET /v1/capsules/{id}/exec/stream` (WebSocket): runs the command of
//! the client's first frame (`{"type":"start","cmd","args"}`, plus the
//! optional `envs`, `cwd`, `user` and `timeout`) and relays its output
//! (`process_relay`).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::StreamExt;
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::CapsuleId;

use crate::api::ws::agent_stream::exec_events;
use crate::api::ws::frames::{self, ExecStart, StreamEvent, StreamRequest};
use crate::api::ws::process_relay::ProcessRelay;
use crate::api::ws::{ClientMessage, Sink, agent_failure, close, first_message, limited, send, stream_call};
use crate::app::{AgentClient, validate};
use crate::http::{ApiError, AppState, AuthContext, Path, StreamGuard};

pub(super) async fn exec_stream(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    guard: StreamGuard,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let capsule_id = validate::capsule_id(&id)?;
    let (_, agent) = state.app().capsule_agent(auth.team_id, capsule_id, "run a command").await?;
    Ok(limited(upgrade).on_upgrade(move |socket| session(socket, agent, capsule_id, guard)))
}

async fn session(socket: WebSocket, agent: AgentClient, capsule_id: CapsuleId, guard: StreamGuard) {
    let (sink, mut source) = socket.split();
    let start = match first_message(&mut source).await {
        Ok(Some(ClientMessage::Text(text))) => start_frame(&text),
        Ok(Some(ClientMessage::Binary(_))) => Err("the first frame must be a JSON start frame, not binary".to_owned()),
        // The client left before asking for anything.
        Ok(None) => return,
        Err(_) => Err("no start frame arrived".to_owned()),
    };
    let start = match start {
        Ok(start) => start,
        Err(message) => return fail(sink, &message).await,
    };
    let timeout = start.timeout.filter(|secs| *secs > 0).map(Duration::from_secs);
    let request = pb::ExecRequest {
        capsule_id: capsule_id.to_string(),
        cmd: start.cmd,
        args: start.args.unwrap_or_default(),
        envs: start.envs.unwrap_or_default().into_iter().collect(),
        cwd: start.cwd.unwrap_or_default(),
        user: start.user.unwrap_or_default(),
        ..Default::default()
    };
    let events = match agent.exec_stream_with_options(request, stream_call()).await {
        Ok(stream) => exec_events(stream),
        Err(error) => return fail(sink, &format!("cannot start the command: {}", agent_failure(&error))).await,
    };
    ProcessRelay { agent, capsule_id, timeout, guard }.run(sink, source, events).await;
}

/// The start frame, or what is wrong with the first frame.
fn start_frame(text: &str) -> Result<ExecStart, String> {
    match frames::parse::<StreamRequest>(text) {
        Ok(StreamRequest::Start(start)) if start.cmd.is_empty() => Err("cmd must not be empty".to_owned()),
        Ok(StreamRequest::Start(start)) => Ok(start),
        Ok(StreamRequest::Stop) => Err("the first frame must be a start frame".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

/// Ends a session that never started a process.
async fn fail(mut sink: Sink, message: &str) {
    if send(&mut sink, StreamEvent::Error { data: message }.message()).await {
        close(sink).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_frame_must_start_a_command() {
        assert_eq!(start_frame(r#"{"type":"start","cmd":"ls","args":["-l"]}"#).unwrap().cmd, "ls");
        for (text, want) in [
            (r#"{"type":"start","cmd":""}"#, "cmd must not be empty"),
            (r#"{"type":"stop"}"#, "the first frame must be a start frame"),
        ] {
            assert_eq!(start_frame(text).unwrap_err(), want);
        }
        assert!(start_frame("nope").unwrap_err().starts_with("invalid frame: "));
    }
}
