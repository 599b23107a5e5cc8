//! The WebSocket routes (`docs/dev/wrenn-sdk-contract.md` §7): a command's
//! output as it runs (`exec/stream`), a running process's output
//! (`processes/{pid}/stream`) and interactive terminals (`pty`).
//!
//! Every route authenticates (`X-API-Key`) and finds a running capsule and
//! its agent *before* answering `101`, so those failures are ordinary API
//! errors the SDK raises as `WebSocketUpgradeError`; what fails after the
//! upgrade is an in-band `error` frame followed by Close.
//!
//! Each session reads client frames and writes server frames concurrently
//! (the socket is split; two futures run in one task), so WebSocket Pings
//! are answered however long a process stays quiet: the SDK drops a
//! connection whose Ping goes unanswered for 20 s. Memory stays bounded:
//! messages are limited in size, client frames wait in a small queue, and
//! the agent's stream is read only as fast as the client takes frames.
//!
//! Leaving a socket never ends the process behind it (envd keeps it):
//! `stop` and `kill` frames do.

mod agent_stream;
mod exec_stream;
mod frames;
mod process_relay;
mod process_stream;
mod pty;
mod utf8;

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::routing::get;

use connectrpc::ConnectError;
use connectrpc::client::CallOptions;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};

use crate::http::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/capsules/{id}/exec/stream", get(exec_stream::exec_stream))
        .route("/v1/capsules/{id}/processes/{pid}/stream", get(process_stream::process_stream))
        .route("/v1/capsules/{id}/pty", get(pty::pty))
}

/// Largest message (and frame) a client may send: a start frame or a
/// chunk of terminal input is far smaller.
const MAX_CLIENT_MESSAGE: usize = 1 << 20;

/// How long a session waits for the client's first frame.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(30);

/// The deadline of an agent stream. A whole-call deadline is the only
/// kind the RPC client has, and the agent pool's default (60 s) is far too
/// short for a terminal; past this the session ends with an error (the
/// process goes on: reconnect to it).
const AGENT_STREAM_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// How long a finished session waits for the client's answer to its
/// Close before it drops the connection.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The deadline of one unary agent call made during a session (input,
/// resize, kill).
const AGENT_CALL_DEADLINE: Duration = Duration::from_secs(10);

type Sink = SplitSink<WebSocket, Message>;
type Source = SplitStream<WebSocket>;

/// The upgrade with this API's limits.
fn limited(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade.max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE)
}

fn stream_call() -> CallOptions {
    CallOptions::default().with_timeout(AGENT_STREAM_DEADLINE)
}

fn unary_call() -> CallOptions {
    CallOptions::default().with_timeout(AGENT_CALL_DEADLINE)
}

/// Runs a session: `writer` relays to the client and ends it, `reader`
/// reads the client until it leaves (and must make `writer` notice that,
/// by dropping its queue). Both run at once, so the socket answers Pings
/// while the writer waits. Once the writer is done the reader gets a
/// moment to take the client's Close, so that the connection ends cleanly
/// rather than with a reset that could lose the last frames.
async fn run_session(writer: impl Future<Output = ()>, reader: impl Future<Output = ()>) {
    tokio::pin!(writer, reader);
    tokio::select! {
        () = &mut writer => drop(tokio::time::timeout(CLOSE_GRACE, &mut reader).await),
        () = &mut reader => writer.await,
    }
}

/// A data message from the client.
#[derive(Debug)]
enum ClientMessage {
    Text(String),
    Binary(Bytes),
}

/// The client's next data message; `None` once it closed or the
/// connection failed. Pings are answered by the socket while it is read.
async fn next_message(source: &mut Source) -> Option<ClientMessage> {
    loop {
        match source.next().await? {
            Ok(Message::Text(text)) => return Some(ClientMessage::Text(text.as_str().to_owned())),
            Ok(Message::Binary(bytes)) => return Some(ClientMessage::Binary(bytes)),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::Close(_)) => return None,
            Err(error) => {
                tracing::debug!(error = %wrenn_types::ErrorChain(&error), "websocket read failed");
                return None;
            }
        }
    }
}

/// The client's first data message, within [`FIRST_FRAME_WAIT`].
async fn first_message(source: &mut Source) -> Result<Option<ClientMessage>, tokio::time::error::Elapsed> {
    tokio::time::timeout(FIRST_FRAME_WAIT, next_message(source)).await
}

/// Ends a session: a normal Close (the frames before it said why).
async fn close(mut sink: Sink) {
    let frame = CloseFrame { code: close_code::NORMAL, reason: "".into() };
    // The client may be gone already; there is no one to tell then.
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// What the client is told when an agent call fails: the agent's message,
/// which describes the process or terminal (never credentials).
fn agent_failure(error: &ConnectError) -> String {
    match &error.message {
        Some(message) if !message.is_empty() => message.clone(),
        _ => format!("the host agent failed ({:?})", error.code),
    }
}

/// Sends one message; `false` once the client is gone.
async fn send(sink: &mut Sink, message: Message) -> bool {
    match sink.send(message).await {
        Ok(()) => true,
        Err(error) => {
            tracing::debug!(error = %wrenn_types::ErrorChain(&error), "websocket write failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_sit_beside_the_process_routes() {
        // Conflicting routes (another parameter name at the same place)
        // panic when merged.
        let _router: Router<AppState> = Router::new().merge(crate::api::processes::routes()).merge(routes());
    }
}
