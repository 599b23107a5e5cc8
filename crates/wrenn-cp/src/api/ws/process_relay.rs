//! Relays one process's agent stream (`ExecStream` or `ConnectProcess`) to
//! a client as the JSON frames of the contract's §7.2: `start`, then
//! `stdout`/`stderr` text, then exactly one `exit` or `error`, then Close.
//!
//! While it relays, the client's frames are read concurrently: that keeps
//! Pings answered, and a `stop` frame kills the process (its `exit` still
//! follows). A client that leaves detaches: the process runs on and can be
//! reached again through `processes/{pid}/stream`.

use std::time::Duration;

use connectrpc::ConnectError;
use futures::StreamExt;
use tokio::sync::mpsc;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::exec_stream_response::Event as ExecEvent;
use wrenn_proto::agent::hostagent::__buffa::oneof::process_selector::Selector;
use wrenn_types::CapsuleId;

use crate::api::ws::agent_stream::ExecEvents;
use crate::api::ws::frames::{self, StreamEvent, StreamRequest};
use crate::api::ws::utf8::Utf8Carry;
use crate::api::ws::{ClientMessage, Sink, Source, agent_failure, close, next_message, run_session, send, unary_call};
use crate::app::AgentClient;
use crate::http::StreamGuard;

/// Far enough to mean "no timeout" for a timer that must exist.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The process a relay follows, and how to stop it.
pub(super) struct ProcessRelay {
    pub(super) agent: AgentClient,
    pub(super) capsule_id: CapsuleId,
    /// Kill the process after this long (the start frame's `timeout`).
    pub(super) timeout: Option<Duration>,
    pub(super) guard: StreamGuard,
}

/// How a relay ends.
enum Ending {
    Exit(i32),
    Error(String),
    /// The client left: nothing more to send.
    ClientGone,
}

impl ProcessRelay {
    /// Relays `events` until the process ends, the stream fails or the
    /// client leaves; then closes the socket.
    pub(super) async fn run(self, sink: Sink, source: Source, events: ExecEvents) {
        let (stops, stop_requests) = mpsc::channel(1);
        run_session(self.write(sink, events, stop_requests), read_stop_requests(source, stops)).await;
    }

    async fn write(mut self, mut sink: Sink, mut events: ExecEvents, mut stop_requests: mpsc::Receiver<()>) {
        let mut output = Output::default();
        let mut pid = None;
        let mut kill_on_start = false;
        let timer = tokio::time::sleep(self.timeout.unwrap_or(NEVER));
        tokio::pin!(timer);
        let mut timer_armed = self.timeout.is_some();
        let ending = loop {
            tokio::select! {
                stop = stop_requests.recv() => match (stop, pid) {
                    (None, _) => break Ending::ClientGone,
                    (Some(()), Some(pid)) => self.kill(pid).await,
                    (Some(()), None) => kill_on_start = true,
                },
                () = &mut timer, if timer_armed => {
                    timer_armed = false;
                    match pid {
                        Some(pid) => self.kill(pid).await,
                        None => kill_on_start = true,
                    }
                }
                () = self.guard.draining() => break Ending::Error("the control plane is shutting down".to_owned()),
                event = events.next() => {
                    let frame = match event {
                        Some(Ok(ExecEvent::Start(started))) => {
                            pid = Some(started.pid);
                            if kill_on_start {
                                self.kill(started.pid).await;
                            }
                            StreamEvent::Start { pid: started.pid }.message()
                        }
                        Some(Ok(ExecEvent::Stdout(bytes))) => match output.stdout(&bytes) {
                            Some(frame) => frame,
                            None => continue,
                        },
                        Some(Ok(ExecEvent::Stderr(bytes))) => match output.stderr(&bytes) {
                            Some(frame) => frame,
                            None => continue,
                        },
                        Some(Ok(ExecEvent::End(end))) => break Ending::Exit(end.exit_code),
                        Some(Err(error)) => break Ending::Error(stream_failure(&error)),
                        None => break Ending::Error("the process stream ended without an exit status".to_owned()),
                    };
                    if !send(&mut sink, frame).await {
                        break Ending::ClientGone;
                    }
                }
            }
        };
        let last = match &ending {
            Ending::Exit(exit_code) => StreamEvent::Exit { exit_code: *exit_code }.message(),
            Ending::Error(data) => StreamEvent::Error { data }.message(),
            Ending::ClientGone => {
                // A client that sent `stop` and left at once (so that a
                // write failed) still gets its stop.
                if let (Ok(()), Some(pid)) = (stop_requests.try_recv(), pid) {
                    self.kill(pid).await;
                }
                return;
            }
        };
        for frame in output.finish() {
            if !send(&mut sink, frame).await {
                return;
            }
        }
        if send(&mut sink, last).await {
            close(sink).await;
        }
    }

    /// SIGKILL; a process that already ended is fine.
    async fn kill(&self, pid: u32) {
        let request = pb::KillProcessRequest {
            capsule_id: self.capsule_id.to_string(),
            process: pb::ProcessSelector { selector: Some(Selector::Pid(pid)), ..Default::default() }.into(),
            signal: pb::Signal::SIGNAL_SIGKILL.into(),
            ..Default::default()
        };
        if let Err(error) = self.agent.kill_process_with_options(request, unary_call()).await {
            tracing::debug!(pid, error = %wrenn_types::ErrorChain(&error), "killing a streamed process failed");
        }
    }
}

/// Reads the client until it leaves, passing on `stop` frames; anything
/// else a client sends here has no meaning and is ignored.
async fn read_stop_requests(mut source: Source, stops: mpsc::Sender<()>) {
    while let Some(message) = next_message(&mut source).await {
        let ClientMessage::Text(text) = message else { continue };
        match frames::parse::<StreamRequest>(&text) {
            // A stop is pending already when the channel is full.
            Ok(StreamRequest::Stop) => drop(stops.try_send(())),
            Ok(StreamRequest::Start(_)) => tracing::debug!("ignoring a second start frame"),
            Err(error) => tracing::debug!(%error, "ignoring a client frame"),
        }
    }
}

/// Why the agent's stream failed, for the client.
fn stream_failure(error: &ConnectError) -> String {
    format!("process stream failed: {}", agent_failure(error))
}

/// The text decoders of stdout and stderr.
#[derive(Debug, Default)]
struct Output {
    stdout: Utf8Carry,
    stderr: Utf8Carry,
}

impl Output {
    fn stdout(&mut self, bytes: &[u8]) -> Option<axum::extract::ws::Message> {
        let data = self.stdout.push(bytes);
        (!data.is_empty()).then(|| StreamEvent::Stdout { data: &data }.message())
    }

    fn stderr(&mut self, bytes: &[u8]) -> Option<axum::extract::ws::Message> {
        let data = self.stderr.push(bytes);
        (!data.is_empty()).then(|| StreamEvent::Stderr { data: &data }.message())
    }

    /// What the decoders still hold when the stream ends.
    fn finish(&mut self) -> Vec<axum::extract::ws::Message> {
        let stdout = self.stdout.finish();
        let stderr = self.stderr.finish();
        let mut frames = Vec::new();
        if !stdout.is_empty() {
            frames.push(StreamEvent::Stdout { data: &stdout }.message());
        }
        if !stderr.is_empty() {
            frames.push(StreamEvent::Stderr { data: &stderr }.message());
        }
        frames
    }
}
