//! One open terminal: the task that holds its socket, the handle that
//! feeds it ([`PtyInput`]) and the events it passes on ([`PtySession`]).
//!
//! The task reads the socket and sends the queued input in order, and
//! answers WebSocket Pings and the server's JSON `ping`s as it reads. It
//! reads only as fast as the events are taken: when [`EVENT_QUEUE`] events
//! wait, it stops reading (and answering pings) until the reader takes
//! one, so memory stays bounded. While the connection is quiet it pings
//! the server, and ends the session with an error when the connection has
//! died ([`crate::commands::keepalive`]); time spent waiting for the reader
//! does not count against the server. It ends after the last event, when
//! the session is dropped or closed, or when the connection fails; it
//! always closes the socket with 1000 when it can.

use std::fmt;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::client::Socket;
use crate::commands::close;
use crate::commands::keepalive::{self, Due, Keepalive, Limits};
use crate::error::Error;
use crate::pty::PtyEvent;

/// Input waiting for the socket; a full queue makes writers wait.
const INPUT_QUEUE: usize = 64;
/// Events waiting for the reader; a full queue stops reading the socket.
const EVENT_QUEUE: usize = 64;

/// What a [`PtyInput`] asks the task to send.
#[derive(Debug)]
enum Request {
    Input(Bytes),
    Resize { cols: u16, rows: u16 },
    Kill,
}

impl Request {
    fn message(self) -> Message {
        match self {
            Request::Input(data) => Message::Binary(data),
            Request::Resize { cols, rows } => {
                Message::text(format!(r#"{{"type":"resize","cols":{cols},"rows":{rows}}}"#))
            }
            Request::Kill => Message::text(r#"{"type":"kill"}"#),
        }
    }
}

/// Writes to a terminal: keystrokes, resizes and `kill`. Cheap to clone;
/// every clone feeds the same terminal, in the order of the calls.
#[derive(Debug, Clone)]
pub struct PtyInput {
    requests: mpsc::Sender<Request>,
}

impl PtyInput {
    async fn send(&self, request: Request) -> Result<(), Error> {
        self.requests.send(request).await.map_err(|_| {
            Error::io(
                "writing to the terminal",
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the session has ended"),
            )
        })
    }

    /// Sends bytes to the terminal's input, as typed (`\r` for Enter,
    /// `\x03` for Ctrl-C).
    pub async fn write(&self, data: &[u8]) -> Result<(), Error> {
        self.write_bytes(Bytes::copy_from_slice(data)).await
    }

    /// Sends bytes to the terminal's input without copying them.
    pub async fn write_bytes(&self, data: Bytes) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.send(Request::Input(data)).await
    }

    /// Changes the terminal's size (values below 1 count as 1); its
    /// program gets SIGWINCH.
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), Error> {
        self.send(Request::Resize { cols: cols.max(1), rows: rows.max(1) }).await
    }

    /// Ends the terminal's program (SIGKILL); its `Exit` follows.
    pub async fn kill(&self) -> Result<(), Error> {
        self.send(Request::Kill).await
    }
}

/// An open terminal. Take its events with [`PtySession::next_event`],
/// write to it through [`PtySession::input`]. Dropping it detaches (the
/// terminal runs on).
pub struct PtySession {
    events: mpsc::Receiver<Result<PtyEvent, Error>>,
    input: PtyInput,
    task: Option<JoinHandle<()>>,
    _detach_on_drop: DropGuard,
}

impl fmt::Debug for PtySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PtySession")
            .field("running", &self.task.as_ref().is_some_and(|task| !task.is_finished()))
            .finish()
    }
}

impl PtySession {
    /// Starts the task that owns the socket (the first frame is sent).
    pub(crate) fn spawn(socket: Socket, url: String) -> PtySession {
        PtySession::spawn_with_limits(socket, url, keepalive::LIMITS)
    }

    /// [`PtySession::spawn`] with its own keepalive limits (tests use short ones).
    pub(crate) fn spawn_with_limits(socket: Socket, url: String, limits: Limits) -> PtySession {
        let (requests, requested) = mpsc::channel(INPUT_QUEUE);
        let (events, received) = mpsc::channel(EVENT_QUEUE);
        let detach = CancellationToken::new();
        let keepalive = Keepalive::new(limits);
        let task = SessionTask { socket, url, requested, events, detach: detach.clone(), keepalive };
        PtySession {
            events: received,
            input: PtyInput { requests },
            task: Some(tokio::spawn(task.run())),
            _detach_on_drop: detach.drop_guard(),
        }
    }

    /// A handle to write to the terminal.
    pub fn input(&self) -> PtyInput {
        self.input.clone()
    }

    /// The next event; `None` after the last one ([`PtyEvent::Exit`], a
    /// fatal [`PtyEvent::Error`], or an `Err` when the connection failed).
    pub async fn next_event(&mut self) -> Option<Result<PtyEvent, Error>> {
        self.events.recv().await
    }

    /// Detaches: closes the socket (1000) and waits for that to finish.
    /// The terminal runs on unless it was killed.
    pub async fn close(mut self) {
        self.events.close();
        let task = self.task.take();
        drop(self);
        if let Some(task) = task {
            // The task cannot panic; a cancelled task is fine.
            drop(task.await);
        }
    }
}

/// What the server sent in a text frame.
#[derive(Debug, PartialEq, Eq)]
enum ServerText {
    Event(PtyEvent),
    /// A JSON `ping` (or an object without a type): answered with `pong`.
    Ping,
}

/// Parses a text frame as the SDK does: unknown types become non-fatal
/// errors; what is not a JSON object is a protocol error.
fn parse_text(text: &str) -> Result<ServerText, String> {
    let frame: Map<String, Value> =
        serde_json::from_str(text).map_err(|err| format!("a terminal frame is not a JSON object: {err}"))?;
    let string = |name: &str| frame.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = frame.get("type").and_then(Value::as_str);
    Ok(match kind {
        None | Some("ping") => ServerText::Ping,
        Some("started") => {
            let pid = frame.get("pid").and_then(Value::as_u64).and_then(|pid| u32::try_from(pid).ok()).unwrap_or(0);
            ServerText::Event(PtyEvent::Started { pid, tag: string("tag") })
        }
        Some("exit") => {
            let code = frame.get("exit_code").and_then(Value::as_i64).and_then(|code| i32::try_from(code).ok());
            ServerText::Event(PtyEvent::Exit { exit_code: code.unwrap_or(-1) })
        }
        Some("error") => ServerText::Event(PtyEvent::Error {
            message: string("data"),
            fatal: frame.get("fatal").and_then(Value::as_bool).unwrap_or(false),
        }),
        Some(other) => ServerText::Event(PtyEvent::Error {
            message: format!("unknown terminal frame type {other:?}"),
            fatal: false,
        }),
    })
}

/// The task's side of a session.
struct SessionTask {
    socket: Socket,
    url: String,
    requested: mpsc::Receiver<Request>,
    events: mpsc::Sender<Result<PtyEvent, Error>>,
    detach: CancellationToken,
    keepalive: Keepalive,
}

/// What the task does after one turn.
enum Turn {
    Continue,
    /// Close the socket and end.
    Close,
    /// The connection is gone: just end.
    End,
}

impl SessionTask {
    async fn run(mut self) {
        let mut accepting_input = true;
        loop {
            let turn = tokio::select! {
                () = self.detach.cancelled() => Turn::Close,
                request = self.requested.recv(), if accepting_input => match request {
                    Some(request) => self.send(request.message()).await,
                    None => {
                        accepting_input = false;
                        Turn::Continue
                    }
                },
                message = self.socket.next() => self.receive(message).await,
                due = self.keepalive.due() => match due {
                    Due::Ping => self.send(Message::Ping(Bytes::new())).await,
                    // A frame that came while the task was busy sending
                    // is a sign of life: look before giving up.
                    Due::Dead => match self.socket.next().now_or_never() {
                        Some(message) => self.receive(message).await,
                        None => {
                            self.report(Err(keepalive::dead(&self.url, self.keepalive.limits()))).await;
                            Turn::End
                        }
                    },
                },
            };
            match turn {
                Turn::Continue => {}
                Turn::Close => return close(self.socket).await,
                Turn::End => return,
            }
        }
    }

    /// Sends one message; a peer that takes nothing for the send limit is
    /// taken for dead.
    async fn send(&mut self, message: Message) -> Turn {
        let limits = self.keepalive.limits();
        let failure = match tokio::time::timeout(limits.send_limit(), self.socket.send(message)).await {
            Ok(Ok(())) => return Turn::Continue,
            Ok(Err(source)) => Error::WebSocket { url: self.url.clone(), source: Box::new(source) },
            Err(_) => keepalive::send_stalled(&self.url, limits),
        };
        self.report(Err(failure)).await;
        Turn::End
    }

    async fn receive(&mut self, message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Turn {
        self.keepalive.heard();
        let event = match message {
            Some(Ok(Message::Binary(data))) => PtyEvent::Output(data),
            Some(Ok(Message::Text(text))) => match parse_text(text.as_str()) {
                Ok(ServerText::Event(event)) => event,
                Ok(ServerText::Ping) => return self.send(Message::text(r#"{"type":"pong"}"#)).await,
                Err(detail) => {
                    self.report(Err(Error::Protocol { url: self.url.clone(), detail })).await;
                    return Turn::Close;
                }
            },
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return Turn::Continue,
            Some(Ok(Message::Close(_))) | None => {
                let detail = "the terminal connection closed before an exit status".to_owned();
                self.report(Err(Error::Protocol { url: self.url.clone(), detail })).await;
                return Turn::End;
            }
            Some(Err(source)) => {
                self.report(Err(Error::WebSocket { url: self.url.clone(), source: Box::new(source) })).await;
                return Turn::End;
            }
        };
        let last = event.is_last();
        let delivered = self.report(Ok(event)).await;
        // Waiting for the reader is not the server's silence.
        self.keepalive.heard();
        if last || !delivered { Turn::Close } else { Turn::Continue }
    }

    /// Passes an event on; `false` when no one takes events any more.
    async fn report(&self, event: Result<PtyEvent, Error>) -> bool {
        tokio::select! {
            sent = self.events.send(event) => sent.is_ok(),
            () = self.detach.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;
    use crate::commands::test_server::{self, next, next_json, send_json};
    use crate::pty::PtyRequest;

    #[test]
    fn text_frames_parse_as_the_sdk_reads_them() {
        let event = |event| Ok(ServerText::Event(event));
        let cases: Vec<(&str, Result<ServerText, ()>)> = vec![
            (r#"{"type":"started","pid":7,"tag":"pty-1"}"#, event(PtyEvent::Started { pid: 7, tag: "pty-1".into() })),
            (r#"{"type":"exit","exit_code":3}"#, event(PtyEvent::Exit { exit_code: 3 })),
            (r#"{"type":"exit"}"#, event(PtyEvent::Exit { exit_code: -1 })),
            (
                r#"{"type":"error","data":"no","fatal":true}"#,
                event(PtyEvent::Error { message: "no".into(), fatal: true }),
            ),
            (r#"{"type":"error","data":"meh"}"#, event(PtyEvent::Error { message: "meh".into(), fatal: false })),
            (r#"{"type":"ping"}"#, Ok(ServerText::Ping)),
            (r#"{}"#, Ok(ServerText::Ping)),
            (
                r#"{"type":"output","data":"aGk="}"#,
                event(PtyEvent::Error { message: "unknown terminal frame type \"output\"".into(), fatal: false }),
            ),
            ("[1]", Err(())),
            ("nope", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(parse_text(text).map_err(drop), want, "{text}");
        }
    }

    #[tokio::test]
    async fn a_session_relays_input_answers_pings_and_ends_at_exit() {
        let (listener, client) = test_server::start().await;
        let server = async {
            let mut socket = test_server::accept(&listener, "/v1/capsules/cl-x/pty").await;
            let start = next_json(&mut socket).await;
            assert_eq!(start, json!({"type": "start", "cmd": "/bin/sh", "cols": 100, "rows": 30}));
            send_json(&mut socket, json!({"type": "ping"})).await;
            assert_eq!(next_json(&mut socket).await, json!({"type": "pong"}), "the task answers pings itself");
            send_json(&mut socket, json!({"type": "started", "pid": 5, "tag": "pty-00aa00aa"})).await;
            socket.send(Message::Binary(Bytes::from_static(b"$ "))).await.unwrap();
            assert_eq!(next(&mut socket).await, Some(Message::Binary(Bytes::from_static(b"ls\r"))));
            assert_eq!(next_json(&mut socket).await, json!({"type": "resize", "cols": 120, "rows": 1}));
            assert_eq!(next_json(&mut socket).await, json!({"type": "kill"}));
            send_json(&mut socket, json!({"type": "error", "data": "slow", "fatal": false})).await;
            send_json(&mut socket, json!({"type": "exit", "exit_code": -1})).await;
            match next(&mut socket).await {
                Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
                other => panic!("expected Close 1000, got {other:?}"),
            }
        };
        let client_side = async {
            let mut session = client.pty("cl-x").start(&PtyRequest::new().cmd("/bin/sh").size(100, 30)).await.unwrap();
            let input = session.input();
            let started = session.next_event().await.unwrap().unwrap();
            assert_eq!(started, PtyEvent::Started { pid: 5, tag: "pty-00aa00aa".into() });
            assert_eq!(session.next_event().await.unwrap().unwrap(), PtyEvent::Output(Bytes::from_static(b"$ ")));
            input.write(b"ls\r").await.unwrap();
            input.write(b"").await.unwrap();
            input.clone().resize(120, 0).await.unwrap();
            input.kill().await.unwrap();
            let mut rest = Vec::new();
            while let Some(event) = session.next_event().await {
                rest.push(event.unwrap());
            }
            assert_eq!(
                rest,
                [PtyEvent::Error { message: "slow".into(), fatal: false }, PtyEvent::Exit { exit_code: -1 }]
            );
            session.close().await;
            assert!(input.write(b"late").await.is_err(), "input after the end fails");
        };
        tokio::join!(server, client_side);
    }

    #[tokio::test]
    async fn a_server_that_stops_answering_ends_the_session_with_an_error() {
        let short = Limits { ping_every: Duration::from_millis(150), answer_within: Duration::from_millis(150) };
        let (listener, client) = test_server::start().await;
        let server = async {
            let socket = test_server::accept(&listener, "/v1/capsules/cl-x/pty").await;
            // Hold the connection and never read it: no Pong goes back.
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(socket);
        };
        let client_side = async {
            let socket = client.websocket("/v1/capsules/cl-x/pty").await.unwrap();
            let mut session = PtySession::spawn_with_limits(socket, "ws://test/pty".into(), short);
            let started = tokio::time::Instant::now();
            let last = session.next_event().await.expect("an error, not the end");
            let waited = started.elapsed();
            let err = last.expect_err("a dead connection is an error");
            assert!(err.to_string().contains("the connection is dead"), "{err}");
            assert!(waited >= short.ping_every + short.answer_within, "{waited:?}");
            assert!(waited < Duration::from_secs(2), "{waited:?}");
            assert!(session.next_event().await.is_none(), "nothing after the error");
        };
        tokio::select! {
            () = server => panic!("the session outlived a dead server"),
            () = client_side => {}
        }
    }

    #[tokio::test]
    async fn closing_a_session_detaches_with_1000() {
        let (listener, client) = test_server::start().await;
        let server = async {
            let mut socket = test_server::accept(&listener, "/v1/capsules/cl-x/pty").await;
            assert_eq!(next_json(&mut socket).await, json!({"type": "connect", "tag": "pty-1"}));
            send_json(&mut socket, json!({"type": "started", "pid": 5, "tag": "pty-1"})).await;
            match next(&mut socket).await {
                Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
                other => panic!("expected Close 1000, got {other:?}"),
            }
        };
        let client_side = async {
            let mut session = client.pty("cl-x").connect("pty-1").await.unwrap();
            assert!(matches!(session.next_event().await, Some(Ok(PtyEvent::Started { .. }))));
            session.close().await;
        };
        tokio::join!(server, client_side);
    }
}
