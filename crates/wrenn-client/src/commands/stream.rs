//! The output of a running process over a WebSocket (`exec/stream` and
//! `processes/{pid}/stream`, contract §7.2–7.3): the server's JSON frames
//! (`start`, `stdout`, `stderr`, then one `exit` or `error`) as a
//! [`futures::Stream`] of [`ProcessEvent`]s.
//!
//! The socket is read only while the stream is polled; tungstenite answers
//! the server's Pings on those reads. While it is polled and quiet, the
//! stream pings the server and ends with an error when the connection has
//! died ([`super::keepalive`]); time the caller spends away from the
//! stream does not count against the server. After the last event the
//! socket is closed with 1000, also when the stream is dropped early (on
//! the current tokio runtime, in the background).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::client::Socket;
use crate::commands::ExecRequest;
use crate::commands::keepalive::{self, Due, Keepalive, Limits};
use crate::error::Error;

/// How long closing waits for the server's answer to our Close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One thing that happened to a streamed process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessEvent {
    /// It runs, with this pid (0 when the server did not say).
    Start {
        /// Its pid inside the capsule.
        pid: u32,
    },
    /// Output on stdout (invalid UTF-8 was replaced by the server).
    Stdout(String),
    /// Output on stderr.
    Stderr(String),
    /// It exited; the last event. -1 when killed by a signal.
    Exit {
        /// Its exit code.
        exit_code: i32,
    },
    /// The server could not run or follow it; the last event.
    Error(String),
}

impl ProcessEvent {
    /// True for the events that end a stream.
    pub fn is_last(&self) -> bool {
        matches!(self, ProcessEvent::Exit { .. } | ProcessEvent::Error(_))
    }
}

/// The output of a running process: a [`Stream`] of [`ProcessEvent`]s
/// that ends after [`ProcessEvent::Exit`] or [`ProcessEvent::Error`]. A
/// connection that ends before either yields one [`Error`] last.
///
/// Dropping it detaches from the process, which runs on.
pub struct ProcessStream {
    socket: Option<Socket>,
    closing: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    url: String,
    keepalive: Keepalive,
    /// A Ping is queued but not yet written out.
    flushing: bool,
}

impl fmt::Debug for ProcessStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessStream")
            .field("url", &self.url)
            .field("open", &self.socket.is_some())
            .field("closing", &self.closing.is_some())
            .finish()
    }
}

impl ProcessStream {
    pub(crate) fn new(socket: Socket, url: String) -> ProcessStream {
        ProcessStream::with_limits(socket, url, keepalive::LIMITS)
    }

    /// A stream with its own keepalive limits (tests use short ones).
    pub(crate) fn with_limits(socket: Socket, url: String, limits: Limits) -> ProcessStream {
        ProcessStream { socket: Some(socket), closing: None, url, keepalive: Keepalive::new(limits), flushing: false }
    }

    /// Kills the process (SIGKILL); keep reading for its `Exit`. Does
    /// nothing once the stream has ended. A connection that takes no data
    /// for 40 s fails it.
    pub async fn stop(&mut self) -> Result<(), Error> {
        let limits = self.keepalive.limits();
        let Some(socket) = self.socket.as_mut() else {
            return Ok(());
        };
        match tokio::time::timeout(limits.send_limit(), socket.send(Message::text(r#"{"type":"stop"}"#))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(Error::WebSocket { url: self.url.clone(), source: Box::new(source) }),
            Err(_) => Err(keepalive::send_stalled(&self.url, limits)),
        }
    }

    /// Starts closing the socket: no more events after this.
    fn finish(&mut self) {
        if let Some(socket) = self.socket.take() {
            self.closing = Some(Box::pin(close(socket)));
        }
    }

    fn protocol_error(&self, detail: impl Into<String>) -> Error {
        Error::Protocol { url: self.url.clone(), detail: detail.into() }
    }

    /// Pending while the connection is alive and quiet; sends the Pings
    /// that are due. Ready with the error that ends the stream otherwise.
    fn poll_liveness(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        let Some(socket) = self.socket.as_mut() else {
            return Poll::Pending;
        };
        loop {
            if self.flushing {
                match socket.poll_flush_unpin(cx) {
                    Poll::Ready(Ok(())) => self.flushing = false,
                    Poll::Ready(Err(source)) => {
                        return Poll::Ready(Error::WebSocket { url: self.url.clone(), source: Box::new(source) });
                    }
                    // Stuck: the answer deadline below runs on regardless.
                    Poll::Pending => {}
                }
            }
            match ready!(self.keepalive.poll_due(cx)) {
                Due::Dead => return Poll::Ready(keepalive::dead(&self.url, self.keepalive.limits())),
                Due::Ping => match socket.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {
                        if let Err(source) = socket.start_send_unpin(Message::Ping(Bytes::new())) {
                            return Poll::Ready(Error::WebSocket { url: self.url.clone(), source: Box::new(source) });
                        }
                        self.flushing = true;
                    }
                    Poll::Ready(Err(source)) => {
                        return Poll::Ready(Error::WebSocket { url: self.url.clone(), source: Box::new(source) });
                    }
                    // The write side is blocked: the Ping counts as sent,
                    // and the answer deadline decides.
                    Poll::Pending => {}
                },
            }
        }
    }
}

impl Stream for ProcessStream {
    type Item = Result<ProcessEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(socket) = this.socket.as_mut() else {
                // Ended: drive the close to its end, then say so.
                if let Some(closing) = this.closing.as_mut() {
                    ready!(closing.poll_unpin(cx));
                    this.closing = None;
                }
                return Poll::Ready(None);
            };
            let message = match socket.poll_next_unpin(cx) {
                Poll::Ready(message) => message,
                Poll::Pending => {
                    let err = ready!(this.poll_liveness(cx));
                    // A dead connection cannot be closed: just let it go.
                    this.socket = None;
                    return Poll::Ready(Some(Err(err)));
                }
            };
            this.keepalive.heard();
            let item = match message {
                Some(Ok(Message::Text(text))) => match parse_frame(text.as_str()) {
                    Ok(Some(event)) => {
                        if event.is_last() {
                            this.finish();
                        }
                        Ok(event)
                    }
                    Ok(None) => continue,
                    Err(detail) => {
                        this.finish();
                        Err(this.protocol_error(detail))
                    }
                },
                Some(Ok(Message::Binary(_))) => {
                    this.finish();
                    Err(this.protocol_error("a binary frame on a process stream"))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None => {
                    this.finish();
                    Err(this.protocol_error("the stream closed before the process's exit status"))
                }
                Some(Err(source)) => {
                    this.socket = None;
                    Err(Error::WebSocket { url: this.url.clone(), source: Box::new(source) })
                }
            };
            return Poll::Ready(Some(item));
        }
    }
}

impl Drop for ProcessStream {
    fn drop(&mut self) {
        self.finish();
        if let (Some(closing), Ok(runtime)) = (self.closing.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(closing);
        }
    }
}

/// Closes with 1000 and waits a moment for the server's Close, so the
/// connection ends cleanly. The server may be gone: nothing to report then.
pub(crate) async fn close(mut socket: Socket) {
    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    let closed = async {
        if socket.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    };
    drop(tokio::time::timeout(CLOSE_WAIT, closed).await);
}

/// The first frame of `exec/stream`: the command, plus the optional fields
/// this server reads (`envs`, `cwd`, `timeout`).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "start")]
struct StartFrame<'a> {
    cmd: &'a str,
    args: &'a [String],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    envs: &'a std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<u64>,
}

pub(crate) fn start_frame(request: &ExecRequest) -> String {
    let frame = StartFrame {
        cmd: &request.cmd,
        args: &request.args,
        envs: &request.envs,
        cwd: request.cwd.as_deref(),
        timeout: request.timeout_sec,
    };
    // Strings, lists and maps of strings always serialise.
    serde_json::to_string(&frame).unwrap_or_default()
}

/// Sends the start frame.
pub(crate) async fn send_start(socket: &mut Socket, url: &str, request: &ExecRequest) -> Result<(), Error> {
    socket
        .send(Message::text(start_frame(request)))
        .await
        .map_err(|source| Error::WebSocket { url: url.to_owned(), source: Box::new(source) })
}

/// A server frame, leniently: missing fields take the SDK's defaults.
#[derive(Debug, Deserialize)]
struct Frame {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    pid: Option<u32>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    exit_code: Option<i32>,
}

/// The event of a text frame; `None` for a frame of a kind this client
/// does not know (skipped, as the SDK does).
fn parse_frame(text: &str) -> Result<Option<ProcessEvent>, String> {
    let frame: Frame =
        serde_json::from_str(text).map_err(|err| format!("a process stream frame is not valid: {err}"))?;
    let data = || frame.data.clone().unwrap_or_default();
    Ok(match frame.kind.as_deref() {
        Some("start") => Some(ProcessEvent::Start { pid: frame.pid.unwrap_or(0) }),
        Some("stdout") => Some(ProcessEvent::Stdout(data())),
        Some("stderr") => Some(ProcessEvent::Stderr(data())),
        Some("exit") => Some(ProcessEvent::Exit { exit_code: frame.exit_code.unwrap_or(-1) }),
        Some("error") => Some(ProcessEvent::Error(data())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn frames_parse_with_the_sdks_defaults() {
        let cases: Vec<(&str, Result<Option<ProcessEvent>, ()>)> = vec![
            (r#"{"type":"start","pid":42}"#, Ok(Some(ProcessEvent::Start { pid: 42 }))),
            (r#"{"type":"start"}"#, Ok(Some(ProcessEvent::Start { pid: 0 }))),
            (r#"{"type":"stdout","data":"hi\n"}"#, Ok(Some(ProcessEvent::Stdout("hi\n".into())))),
            (r#"{"type":"stderr","data":null}"#, Ok(Some(ProcessEvent::Stderr(String::new())))),
            (r#"{"type":"exit","exit_code":7}"#, Ok(Some(ProcessEvent::Exit { exit_code: 7 }))),
            (r#"{"type":"exit"}"#, Ok(Some(ProcessEvent::Exit { exit_code: -1 }))),
            (r#"{"type":"error","data":"gone"}"#, Ok(Some(ProcessEvent::Error("gone".into())))),
            (r#"{"type":"progress","pct":5}"#, Ok(None)),
            (r#"{"data":"x"}"#, Ok(None)),
            ("not json", Err(())),
            (r#"{"type":"start","pid":-1}"#, Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(parse_frame(text).map_err(drop), want, "{text}");
        }
    }

    #[test]
    fn only_exit_and_error_end_a_stream() {
        assert!(ProcessEvent::Exit { exit_code: 0 }.is_last());
        assert!(ProcessEvent::Error(String::new()).is_last());
        assert!(!ProcessEvent::Start { pid: 1 }.is_last());
        assert!(!ProcessEvent::Stdout(String::new()).is_last());
    }

    #[tokio::test]
    async fn a_stream_yields_events_in_order_and_closes_with_1000() {
        use crate::commands::test_server::{self, next, next_json, send_json};
        let (listener, client) = test_server::start().await;
        let server = async {
            let mut socket = test_server::accept(&listener, "/v1/capsules/cl-x/exec/stream").await;
            let start = next_json(&mut socket).await;
            assert_eq!(start, json!({"type": "start", "cmd": "/bin/sh", "args": ["-c", "work"], "cwd": "/tmp"}));
            socket.send(Message::Ping(b"keepalive".to_vec().into())).await.unwrap();
            for frame in [
                json!({"type": "start", "pid": 42}),
                json!({"type": "stdout", "data": "out\n"}),
                json!({"type": "progress"}),
                json!({"type": "stderr", "data": "err\n"}),
            ] {
                send_json(&mut socket, frame).await;
            }
            assert_eq!(next_json(&mut socket).await, json!({"type": "stop"}), "stop() reaches the server");
            send_json(&mut socket, json!({"type": "exit", "exit_code": 7})).await;
            match next(&mut socket).await {
                Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
                other => panic!("expected Close 1000, got {other:?}"),
            }
        };
        let client_side = async {
            let request = ExecRequest::shell("work").cwd("/tmp");
            let mut stream = client.commands("cl-x").stream(&request).await.unwrap();
            let mut events = Vec::new();
            for _ in 0..3 {
                events.push(stream.next().await.unwrap().unwrap());
            }
            stream.stop().await.unwrap();
            while let Some(event) = stream.next().await {
                events.push(event.unwrap());
            }
            assert_eq!(
                events,
                [
                    ProcessEvent::Start { pid: 42 },
                    ProcessEvent::Stdout("out\n".into()),
                    ProcessEvent::Stderr("err\n".into()),
                    ProcessEvent::Exit { exit_code: 7 },
                ]
            );
            assert!(stream.next().await.is_none(), "nothing after the end");
        };
        tokio::join!(server, client_side);
    }

    #[tokio::test]
    async fn a_stream_that_closes_early_ends_with_an_error() {
        use crate::commands::test_server;
        let (listener, client) = test_server::start().await;
        let server = async {
            let mut socket = test_server::accept(&listener, "/v1/capsules/cl-x/processes/9/stream").await;
            test_server::send_json(&mut socket, json!({"type": "start", "pid": 9})).await;
            socket.close(None).await.unwrap();
        };
        let client_side = async {
            let mut stream = client.commands("cl-x").connect(9).await.unwrap();
            assert_eq!(stream.next().await.unwrap().unwrap(), ProcessEvent::Start { pid: 9 });
            let last = stream.next().await.unwrap();
            assert!(matches!(last, Err(Error::Protocol { .. })), "{last:?}");
            assert!(stream.next().await.is_none());
        };
        tokio::join!(server, client_side);
    }

    /// Keepalive limits short enough for a test.
    const SHORT: Limits = Limits { ping_every: Duration::from_millis(150), answer_within: Duration::from_millis(150) };

    #[tokio::test]
    async fn a_server_that_stops_answering_ends_the_stream_with_an_error() {
        use crate::commands::test_server;
        let (listener, client) = test_server::start().await;
        let path = "/v1/capsules/cl-x/processes/9/stream";
        let server = async {
            let socket = test_server::accept(&listener, path).await;
            // Hold the connection and never read it: no Pong goes back.
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(socket);
        };
        let client_side = async {
            let socket = client.websocket(path).await.unwrap();
            let mut stream = ProcessStream::with_limits(socket, "ws://test/stream".into(), SHORT);
            let started = tokio::time::Instant::now();
            let last = stream.next().await.expect("an error, not the end");
            let waited = started.elapsed();
            let err = last.expect_err("a dead connection is an error");
            assert!(matches!(err, Error::WebSocket { .. }), "{err:?}");
            assert!(err.to_string().contains("the connection is dead"), "{err}");
            assert!(waited >= SHORT.ping_every + SHORT.answer_within, "{waited:?}");
            assert!(waited < Duration::from_secs(2), "{waited:?}");
            assert!(stream.next().await.is_none(), "nothing after the error");
        };
        tokio::select! {
            () = server => panic!("the stream outlived a dead server"),
            () = client_side => {}
        }
    }

    #[tokio::test]
    async fn a_quiet_server_that_answers_pings_keeps_the_stream() {
        use crate::commands::test_server::{self, next, send_json};
        let (listener, client) = test_server::start().await;
        let path = "/v1/capsules/cl-x/processes/9/stream";
        let server = async {
            let mut socket = test_server::accept(&listener, path).await;
            // Quiet for several keepalive rounds; reading answers the Pings.
            let mut pings = 0;
            let quiet = tokio::time::sleep(Duration::from_millis(800));
            tokio::pin!(quiet);
            loop {
                tokio::select! {
                    () = &mut quiet => break,
                    message = socket.next() => match message {
                        Some(Ok(Message::Ping(_))) => pings += 1,
                        other => panic!("expected Pings only, got {other:?}"),
                    },
                }
            }
            assert!(pings >= 2, "the client pinged {pings} times");
            send_json(&mut socket, json!({"type": "exit", "exit_code": 0})).await;
            assert!(matches!(next(&mut socket).await, Some(Message::Close(_))));
        };
        let client_side = async {
            let socket = client.websocket(path).await.unwrap();
            let mut stream = ProcessStream::with_limits(socket, "ws://test/stream".into(), SHORT);
            assert_eq!(stream.next().await.unwrap().unwrap(), ProcessEvent::Exit { exit_code: 0 });
            assert!(stream.next().await.is_none());
        };
        tokio::join!(server, client_side);
    }

    #[tokio::test]
    async fn a_refused_upgrade_is_an_api_error() {
        use crate::commands::test_server;
        let (listener, client) = test_server::start().await;
        let commands = client.commands("cl-x");
        let (_, stream) = tokio::join!(test_server::refuse(&listener), commands.connect(1));
        let err = stream.unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
    }

    #[test]
    fn start_frames_carry_the_optional_fields_only_when_set() {
        let cases = [
            (ExecRequest::new("ls", ["-l"]), json!({"type": "start", "cmd": "ls", "args": ["-l"]})),
            (ExecRequest::new("env", Vec::<String>::new()), json!({"type": "start", "cmd": "env", "args": []})),
            (
                ExecRequest::shell("pwd").env("A", "1").cwd("/tmp").timeout_sec(9).tag("ignored"),
                json!({"type": "start", "cmd": "/bin/sh", "args": ["-c", "pwd"], "envs": {"A": "1"}, "cwd": "/tmp", "timeout": 9}),
            ),
        ];
        for (request, want) in cases {
            let got: serde_json::Value = serde_json::from_str(&start_frame(&request)).unwrap();
            assert_eq!(got, want, "{request:?}");
        }
    }
}
