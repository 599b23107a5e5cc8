//! `GET /v1/capsules/{id}/pty` (WebSocket): an interactive terminal.
//!
//! The first client frame opens a new terminal
//! (`{"type":"start","cmd","args","cols","rows","envs","cwd"}`, every field
//! optional; the control plane names it with a fresh `pty-<8 hex>` tag) or
//! attaches to an existing one (`{"type":"connect","tag"}`). The server
//! answers `started{pid,tag}`, then terminal output in binary frames, and
//! ends with `exit{exit_code}` or a fatal `error`. Client binary frames are
//! stdin; text frames `resize`, `kill` and `pong` (and the 0.1.x
//! `input{data:<base64>}`) control the terminal. Refused frames get a
//! non-fatal `error` and the session goes on.
//!
//! The SDK does not wait for `started`: stdin and resizes that arrive
//! before the terminal exists wait in the session's queue, in order.
//! Leaving the socket leaves the terminal running; `kill` ends it.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::StreamExt;
use tokio::sync::mpsc;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::pty_attach_response::Event as AgentEvent;
use wrenn_types::CapsuleId;

use crate::api::ws::agent_stream::{PtyEvents, pty_events};
use crate::api::ws::frames::{self, PtyEvent, PtyRequest, PtyStart};
use crate::api::ws::{
    CLOSE_GRACE, ClientMessage, FIRST_FRAME_WAIT, Sink, Source, agent_failure, close, limited, next_message,
    run_session, send, stream_call, unary_call,
};
use crate::app::{AgentClient, validate};
use crate::http::{ApiError, AppState, AuthContext, Path, StreamGuard};

/// What a terminal runs when the start frame names nothing.
const DEFAULT_SHELL: &str = "/bin/bash";
const DEFAULT_SIZE: (u32, u32) = (80, 24);

const SHUTTING_DOWN: &str = "the control plane is shutting down; reconnect with the terminal's tag";

/// Client frames waiting for the terminal (its start, or the previous
/// input call). When the queue is full the session stops reading the
/// client until it drains.
const CLIENT_QUEUE: usize = 64;

/// Most stdin bytes sent to the agent in one call: queued input frames are
/// joined up to this.
const MAX_INPUT_BATCH: usize = 64 << 10;

pub(super) async fn pty(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    guard: StreamGuard,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let capsule_id = validate::capsule_id(&id)?;
    let (_, agent) = state.app().capsule_agent(auth.team_id, capsule_id, "open a terminal").await?;
    let fresh_tag = new_tag()?;
    Ok(limited(upgrade).on_upgrade(move |socket| session(socket, agent, capsule_id, fresh_tag, guard)))
}

/// `pty-<8 hex>`, the name of a new terminal.
fn new_tag() -> Result<String, ApiError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|error| ApiError::internal(format!("no randomness for a terminal tag: {error}")))?;
    Ok(format!("pty-{}", hex::encode(bytes)))
}

/// What the first frame asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    Start(PtyStart),
    Connect(String),
}

/// A client frame for the terminal, in the order it came.
#[derive(Debug)]
enum ClientEvent {
    Input(Vec<u8>),
    Resize {
        cols: u32,
        rows: u32,
    },
    Kill,
    /// A frame that could not be used: said back as a non-fatal error.
    Refused(String),
}

async fn session(socket: WebSocket, agent: AgentClient, capsule_id: CapsuleId, fresh_tag: String, guard: StreamGuard) {
    let (sink, mut source) = socket.split();
    let open = match tokio::time::timeout(FIRST_FRAME_WAIT, open_frame(&mut source)).await {
        Ok(Some(Ok(open))) => open,
        // The client left before asking for anything.
        Ok(None) => return,
        Ok(Some(Err(message))) => return fail(sink, &message).await,
        Err(_) => return fail(sink, "no start or connect frame arrived").await,
    };
    let (tag, request) = attach_request(open, capsule_id, fresh_tag);
    let events = match agent.pty_attach_with_options(request, stream_call()).await {
        Ok(stream) => pty_events(stream),
        Err(error) => return fail(sink, &format!("cannot open the terminal: {}", agent_failure(&error))).await,
    };
    let (queue, queued) = mpsc::channel(CLIENT_QUEUE);
    let terminal = Terminal { agent, capsule_id, tag };
    run_session(terminal.relay(sink, events, queued, guard), read_client(source, queue)).await;
}

/// Reads up to the first start or connect frame (`pong`s may come first).
/// `None` when the client leaves.
async fn open_frame(source: &mut Source) -> Option<Result<Open, String>> {
    loop {
        let opened = match next_message(source).await? {
            ClientMessage::Text(text) => parse_open(&text),
            ClientMessage::Binary(_) => Err("the first frame must be a start or connect frame, not input".to_owned()),
        };
        if let Some(opened) = opened.transpose() {
            return Some(opened);
        }
    }
}

/// The first frame: `Ok(None)` for a frame to skip.
fn parse_open(text: &str) -> Result<Option<Open>, String> {
    match frames::parse::<PtyRequest>(text) {
        Ok(PtyRequest::Start(start)) => Ok(Some(Open::Start(start))),
        Ok(PtyRequest::Connect { tag }) if tag.is_empty() => Err("connect needs the terminal's tag".to_owned()),
        Ok(PtyRequest::Connect { tag }) => Ok(Some(Open::Connect(tag))),
        Ok(PtyRequest::Pong) => Ok(None),
        Ok(_) => Err("the first frame must be a start or connect frame".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

/// The agent call for the first frame, and the tag of the terminal.
fn attach_request(open: Open, capsule_id: CapsuleId, fresh_tag: String) -> (String, pb::PtyAttachRequest) {
    let capsule_id = capsule_id.to_string();
    match open {
        Open::Connect(tag) => {
            let request = pb::PtyAttachRequest { capsule_id, tag: tag.clone(), ..Default::default() };
            (tag, request)
        }
        Open::Start(start) => {
            let (cols, rows) = match (start.cols, start.rows) {
                (Some(cols), Some(rows)) if cols > 0 && rows > 0 => (cols, rows),
                _ => DEFAULT_SIZE,
            };
            let request = pb::PtyAttachRequest {
                capsule_id,
                tag: fresh_tag.clone(),
                cmd: start.cmd.filter(|cmd| !cmd.is_empty()).unwrap_or_else(|| DEFAULT_SHELL.to_owned()),
                args: start.args.unwrap_or_default(),
                cols,
                rows,
                envs: start.envs.unwrap_or_default().into_iter().collect(),
                cwd: start.cwd.unwrap_or_default(),
                user: start.user.unwrap_or_default(),
                ..Default::default()
            };
            (fresh_tag, request)
        }
    }
}

/// Reads the client until it leaves, queueing its frames for the relay.
async fn read_client(mut source: Source, queue: mpsc::Sender<ClientEvent>) {
    while let Some(message) = next_message(&mut source).await {
        let event = match message {
            ClientMessage::Binary(bytes) if bytes.is_empty() => continue,
            ClientMessage::Binary(bytes) => ClientEvent::Input(bytes.to_vec()),
            ClientMessage::Text(text) => match client_event(&text) {
                Some(event) => event,
                None => continue,
            },
        };
        if queue.send(event).await.is_err() {
            return;
        }
    }
}

/// A text frame after the first: `None` for one to skip.
fn client_event(text: &str) -> Option<ClientEvent> {
    Some(match frames::parse::<PtyRequest>(text) {
        Ok(PtyRequest::Input { data }) => match frames::input_bytes(&data) {
            Ok(bytes) if bytes.is_empty() => return None,
            Ok(bytes) => ClientEvent::Input(bytes),
            Err(error) => ClientEvent::Refused(error.to_string()),
        },
        Ok(PtyRequest::Resize { cols, rows }) if cols == 0 || rows == 0 => {
            ClientEvent::Refused("resize needs cols and rows of at least 1".to_owned())
        }
        Ok(PtyRequest::Resize { cols, rows }) => ClientEvent::Resize { cols, rows },
        Ok(PtyRequest::Kill) => ClientEvent::Kill,
        Ok(PtyRequest::Pong) => return None,
        Ok(PtyRequest::Start(_) | PtyRequest::Connect { .. }) => {
            ClientEvent::Refused("this session has its terminal: start and connect are only first frames".to_owned())
        }
        Err(error) => ClientEvent::Refused(error.to_string()),
    })
}

/// What one turn of the relay does next.
enum Step {
    Send(Message),
    Nothing,
    /// Send this frame, then close.
    End(Message),
    /// The client left.
    Gone,
}

/// One terminal of a capsule, named by its tag.
struct Terminal {
    agent: AgentClient,
    capsule_id: CapsuleId,
    tag: String,
}

impl Terminal {
    async fn relay(
        &self,
        mut sink: Sink,
        mut events: PtyEvents,
        mut queued: mpsc::Receiver<ClientEvent>,
        mut guard: StreamGuard,
    ) {
        let mut started = false;
        let mut held = None;
        loop {
            let step = tokio::select! {
                () = guard.draining() => Step::End(fatal(SHUTTING_DOWN)),
                event = next_event(&mut held, &mut queued), if started => match event {
                    None => Step::Gone,
                    Some(event) => self.apply(event, &mut queued, &mut held).await,
                },
                event = events.next() => match event {
                    Some(Ok(AgentEvent::Started(_))) if started => Step::Nothing,
                    Some(Ok(AgentEvent::Started(process))) => {
                        started = true;
                        Step::Send(PtyEvent::Started { pid: process.pid, tag: &self.tag }.message())
                    }
                    Some(Ok(AgentEvent::Output(bytes))) => Step::Send(Message::Binary(bytes.into())),
                    Some(Ok(AgentEvent::Exited(end))) => Step::End(PtyEvent::Exit { exit_code: end.exit_code }.message()),
                    Some(Err(error)) => Step::End(fatal(&format!("terminal stream failed: {}", agent_failure(&error)))),
                    None => Step::End(fatal("the terminal stream ended without an exit status")),
                },
            };
            match step {
                Step::Send(message) => {
                    if !send(&mut sink, message).await {
                        return self.finish_queued(&mut queued, &mut held).await;
                    }
                }
                Step::Nothing => {}
                Step::End(message) => {
                    if send(&mut sink, message).await {
                        close(sink).await;
                    }
                    return;
                }
                Step::Gone => return,
            }
        }
    }

    /// Carries out what the client sent before it left (a `kill` and then
    /// Close, say), for a moment: the reader ends with the connection.
    async fn finish_queued(&self, queued: &mut mpsc::Receiver<ClientEvent>, held: &mut Option<ClientEvent>) {
        let finish = async {
            while let Some(event) = next_event(held, queued).await {
                self.apply(event, queued, held).await;
            }
        };
        drop(tokio::time::timeout(CLOSE_GRACE, finish).await);
    }

    /// Carries out one client frame; a failure is a non-fatal error.
    async fn apply(
        &self,
        event: ClientEvent,
        queued: &mut mpsc::Receiver<ClientEvent>,
        held: &mut Option<ClientEvent>,
    ) -> Step {
        let result = match event {
            ClientEvent::Input(data) => {
                let data = batch(data, queued, held);
                let request = pb::PtySendInputRequest {
                    capsule_id: self.capsule_id.to_string(),
                    tag: self.tag.clone(),
                    data,
                    ..Default::default()
                };
                self.agent.pty_send_input_with_options(request, unary_call()).await.map(drop)
            }
            ClientEvent::Resize { cols, rows } => {
                let request = pb::PtyResizeRequest {
                    capsule_id: self.capsule_id.to_string(),
                    tag: self.tag.clone(),
                    cols,
                    rows,
                    ..Default::default()
                };
                self.agent.pty_resize_with_options(request, unary_call()).await.map(drop)
            }
            ClientEvent::Kill => {
                let request = pb::PtyKillRequest {
                    capsule_id: self.capsule_id.to_string(),
                    tag: self.tag.clone(),
                    ..Default::default()
                };
                self.agent.pty_kill_with_options(request, unary_call()).await.map(drop)
            }
            ClientEvent::Refused(message) => return Step::Send(not_fatal(&message)),
        };
        match result {
            Ok(()) => Step::Nothing,
            Err(error) => Step::Send(not_fatal(&agent_failure(&error))),
        }
    }
}

/// The next client frame: the one held back by [`batch`] first.
async fn next_event(held: &mut Option<ClientEvent>, queued: &mut mpsc::Receiver<ClientEvent>) -> Option<ClientEvent> {
    match held.take() {
        Some(event) => Some(event),
        None => queued.recv().await,
    }
}

/// Joins the input frames queued right behind `data`, up to
/// [`MAX_INPUT_BATCH`] bytes; the first other frame is held back.
fn batch(mut data: Vec<u8>, queued: &mut mpsc::Receiver<ClientEvent>, held: &mut Option<ClientEvent>) -> Vec<u8> {
    while held.is_none() && data.len() < MAX_INPUT_BATCH {
        match queued.try_recv() {
            Ok(ClientEvent::Input(more)) if data.len() + more.len() <= MAX_INPUT_BATCH => data.extend(more),
            Ok(event) => *held = Some(event),
            Err(_) => break,
        }
    }
    data
}

fn fatal(data: &str) -> Message {
    PtyEvent::Error { data, fatal: true }.message()
}

fn not_fatal(data: &str) -> Message {
    PtyEvent::Error { data, fatal: false }.message()
}

/// Ends a session that never reached a terminal.
async fn fail(mut sink: Sink, message: &str) {
    if send(&mut sink, fatal(message)).await {
        close(sink).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capsule() -> CapsuleId {
        CapsuleId::from_u128(7)
    }

    #[test]
    fn first_frames() {
        assert_eq!(parse_open(r#"{"type":"pong"}"#), Ok(None));
        assert_eq!(parse_open(r#"{"type":"connect","tag":"pty-1"}"#), Ok(Some(Open::Connect("pty-1".to_owned()))));
        assert_eq!(parse_open(r#"{"type":"start"}"#), Ok(Some(Open::Start(PtyStart::default()))));
        for bad in
            [r#"{"type":"connect","tag":""}"#, r#"{"type":"kill"}"#, r#"{"type":"resize","cols":1,"rows":1}"#, "x"]
        {
            assert!(parse_open(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_start_gets_defaults_and_the_fresh_tag() {
        let (tag, request) = attach_request(Open::Start(PtyStart::default()), capsule(), "pty-0000abcd".to_owned());
        assert_eq!(tag, "pty-0000abcd");
        assert_eq!(request.tag, "pty-0000abcd");
        assert_eq!(request.cmd, DEFAULT_SHELL);
        assert_eq!((request.cols, request.rows), DEFAULT_SIZE);
        assert_eq!(request.capsule_id, capsule().to_string());

        let start = PtyStart {
            cmd: Some("/bin/sh".to_owned()),
            args: Some(vec!["-l".to_owned()]),
            cols: Some(120),
            rows: Some(40),
            cwd: Some("/tmp".to_owned()),
            ..PtyStart::default()
        };
        let (_, request) = attach_request(Open::Start(start), capsule(), "pty-1".to_owned());
        assert_eq!((request.cmd.as_str(), request.args.as_slice()), ("/bin/sh", ["-l".to_owned()].as_slice()));
        assert_eq!((request.cols, request.rows, request.cwd.as_str()), (120, 40, "/tmp"));

        let half_size = PtyStart { cols: Some(120), ..PtyStart::default() };
        let (_, request) = attach_request(Open::Start(half_size), capsule(), "pty-1".to_owned());
        assert_eq!((request.cols, request.rows), DEFAULT_SIZE);
    }

    #[test]
    fn a_connect_attaches_by_tag_without_a_command() {
        let (tag, request) = attach_request(Open::Connect("pty-feed".to_owned()), capsule(), "pty-new".to_owned());
        assert_eq!(tag, "pty-feed");
        assert_eq!(request.tag, "pty-feed");
        assert!(request.cmd.is_empty(), "a cmd would start a new terminal");
    }

    #[test]
    fn later_text_frames() {
        assert!(
            matches!(client_event(r#"{"type":"input","data":"aGk="}"#), Some(ClientEvent::Input(data)) if data == b"hi")
        );
        assert!(client_event(r#"{"type":"input","data":""}"#).is_none());
        assert!(matches!(client_event(r#"{"type":"input","data":"%%"}"#), Some(ClientEvent::Refused(_))));
        assert!(matches!(
            client_event(r#"{"type":"resize","cols":100,"rows":50}"#),
            Some(ClientEvent::Resize { cols: 100, rows: 50 })
        ));
        assert!(matches!(client_event(r#"{"type":"resize","cols":0,"rows":50}"#), Some(ClientEvent::Refused(_))));
        assert!(matches!(client_event(r#"{"type":"kill"}"#), Some(ClientEvent::Kill)));
        assert!(client_event(r#"{"type":"pong"}"#).is_none());
        assert!(matches!(client_event(r#"{"type":"start"}"#), Some(ClientEvent::Refused(_))));
        assert!(matches!(client_event(r#"{"type":"bogus"}"#), Some(ClientEvent::Refused(_))));
    }

    #[test]
    fn queued_input_is_joined_in_order_up_to_the_batch_size() {
        let (queue, mut queued) = mpsc::channel(CLIENT_QUEUE);
        for event in [
            ClientEvent::Input(b"b".to_vec()),
            ClientEvent::Input(b"c".to_vec()),
            ClientEvent::Kill,
            ClientEvent::Input(b"d".to_vec()),
        ] {
            queue.try_send(event).unwrap();
        }
        let mut held = None;
        assert_eq!(batch(b"a".to_vec(), &mut queued, &mut held), b"abc");
        assert!(matches!(held, Some(ClientEvent::Kill)), "the kill waits its turn");
        // Nothing is joined while a frame is held back.
        assert_eq!(batch(b"x".to_vec(), &mut queued, &mut held), b"x");

        let mut held = None;
        let big = vec![0u8; MAX_INPUT_BATCH];
        assert_eq!(batch(big, &mut queued, &mut held).len(), MAX_INPUT_BATCH);
        assert!(held.is_none(), "a full batch takes nothing more");
        assert!(matches!(queued.try_recv(), Ok(ClientEvent::Input(data)) if data == b"d"));
    }

    #[test]
    fn an_input_that_does_not_fit_is_held_back() {
        let (queue, mut queued) = mpsc::channel(CLIENT_QUEUE);
        queue.try_send(ClientEvent::Input(vec![1; MAX_INPUT_BATCH])).unwrap();
        let mut held = None;
        assert_eq!(batch(b"a".to_vec(), &mut queued, &mut held), b"a");
        assert!(matches!(held, Some(ClientEvent::Input(data)) if data.len() == MAX_INPUT_BATCH));
    }

    #[test]
    fn tags_look_like_pty_and_8_hex() {
        let tag = new_tag().unwrap();
        assert_eq!(tag.len(), 12, "{tag}");
        assert!(tag.starts_with("pty-") && tag[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{tag}");
    }
}
