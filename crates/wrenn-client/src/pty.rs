//! Interactive terminals in a capsule (`GET /v1/capsules/{id}/pty`, a
//! WebSocket; contract §7.4).
//!
//! A [`PtySession`] owns a background task that holds the socket: it sends
//! what the cloneable [`PtyInput`] handles queue (keystrokes as binary
//! frames, `resize`, `kill`), answers the server's JSON `ping`s itself, and
//! passes everything else on as [`PtyEvent`]s. Leaving a session (dropping
//! it, or [`PtySession::close`]) closes the socket with 1000 and leaves the
//! terminal running: [`Pty::connect`] with its tag attaches again, and
//! [`PtyInput::kill`] ends it.
//!
//! ```no_run
//! use wrenn_client::{Client, PtyEvent, PtyRequest};
//!
//! # async fn demo(client: &Client) -> Result<(), wrenn_client::Error> {
//! let mut session = client.pty("cl-…").start(&PtyRequest::new().cmd("/bin/bash").size(120, 40)).await?;
//! let input = session.input();
//! input.write(b"echo $((6*7)); exit 3\r").await?;
//! while let Some(event) = session.next_event().await {
//!     match event? {
//!         PtyEvent::Output(bytes) => print!("{}", String::from_utf8_lossy(&bytes)),
//!         PtyEvent::Exit { exit_code } => println!("[exit {exit_code}]"),
//!         PtyEvent::Started { tag, .. } => eprintln!("terminal {tag}"),
//!         PtyEvent::Error { message, .. } => eprintln!("{message}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod session;

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::SinkExt;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::capsules::capsule_path;
use crate::client::Client;
use crate::error::Error;

pub use session::{PtyInput, PtySession};

/// A new terminal: what it runs, its size, its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtyRequest {
    /// The program (default: the server's, `/bin/bash`).
    pub cmd: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Columns (at least 1; default 80).
    pub cols: u16,
    /// Rows (at least 1; default 24).
    pub rows: u16,
    /// Extra environment variables (`TERM`, say).
    pub envs: BTreeMap<String, String>,
    /// The working directory: absolute, or `~`/`~/…`.
    pub cwd: Option<String>,
}

impl Default for PtyRequest {
    fn default() -> PtyRequest {
        PtyRequest { cmd: None, args: Vec::new(), cols: 80, rows: 24, envs: BTreeMap::new(), cwd: None }
    }
}

impl PtyRequest {
    /// The server's shell at 80×24.
    pub fn new() -> PtyRequest {
        PtyRequest::default()
    }

    /// Runs this program.
    pub fn cmd(mut self, cmd: impl Into<String>) -> PtyRequest {
        self.cmd = Some(cmd.into());
        self
    }

    /// With these arguments.
    pub fn args<I, S>(mut self, args: I) -> PtyRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// The terminal's size.
    pub fn size(mut self, cols: u16, rows: u16) -> PtyRequest {
        self.cols = cols;
        self.rows = rows;
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> PtyRequest {
        self.envs.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, path: impl Into<String>) -> PtyRequest {
        self.cwd = Some(path.into());
        self
    }
}

/// The first frame of a new terminal; what is unset is left out, as the
/// Python SDK does.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "start")]
struct StartFrame<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cmd: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    args: &'a [String],
    cols: u16,
    rows: u16,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    envs: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwd: Option<&'a str>,
}

/// The first frame of an attach.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "connect")]
struct ConnectFrame<'a> {
    tag: &'a str,
}

fn start_frame(request: &PtyRequest) -> String {
    let frame = StartFrame {
        cmd: request.cmd.as_deref(),
        args: &request.args,
        cols: request.cols.max(1),
        rows: request.rows.max(1),
        envs: &request.envs,
        cwd: request.cwd.as_deref(),
    };
    // Strings, numbers and maps of strings always serialise.
    serde_json::to_string(&frame).unwrap_or_default()
}

fn connect_frame(tag: &str) -> String {
    serde_json::to_string(&ConnectFrame { tag }).unwrap_or_default()
}

/// Something that happened on a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtyEvent {
    /// The terminal runs (after a start, and after a connect).
    Started {
        /// The pid of its program inside the capsule.
        pid: u32,
        /// Its tag: what [`Pty::connect`] takes.
        tag: String,
    },
    /// Terminal output, raw bytes.
    Output(Bytes),
    /// Its program exited; the last event.
    Exit {
        /// The exit code (-1: killed by a signal).
        exit_code: i32,
    },
    /// Something went wrong; when `fatal`, the last event.
    Error {
        /// What, for people.
        message: String,
        /// Whether the session ends with it.
        fatal: bool,
    },
}

impl PtyEvent {
    /// True for the events that end a session.
    pub fn is_last(&self) -> bool {
        matches!(self, PtyEvent::Exit { .. } | PtyEvent::Error { fatal: true, .. })
    }
}

/// The terminal route of one capsule.
#[derive(Debug, Clone)]
pub struct Pty<'a> {
    client: &'a Client,
    capsule_id: String,
}

impl Client {
    /// The terminals of a capsule.
    pub fn pty(&self, capsule_id: &str) -> Pty<'_> {
        Pty { client: self, capsule_id: capsule_id.to_owned() }
    }
}

impl Pty<'_> {
    /// Opens a new terminal. The session is returned at once; the first
    /// event is [`PtyEvent::Started`] (input sent before it waits on the
    /// server until the terminal exists).
    pub async fn start(&self, request: &PtyRequest) -> Result<PtySession, Error> {
        self.open(start_frame(request)).await
    }

    /// Attaches to a running terminal by its tag.
    pub async fn connect(&self, tag: &str) -> Result<PtySession, Error> {
        self.open(connect_frame(tag)).await
    }

    async fn open(&self, first_frame: String) -> Result<PtySession, Error> {
        let path = capsule_path(&self.capsule_id, "/pty");
        let url = self.client.url(&path).to_string();
        let mut socket = self.client.websocket(&path).await?;
        socket
            .send(Message::text(first_frame))
            .await
            .map_err(|source| Error::WebSocket { url: url.clone(), source: Box::new(source) })?;
        Ok(PtySession::spawn(socket, url))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn start_frames_leave_out_what_is_unset() {
        let cases = [
            (PtyRequest::new(), json!({"type": "start", "cols": 80, "rows": 24})),
            (
                PtyRequest::new().cmd("/bin/sh").args(["-l"]).size(132, 50).env("TERM", "xterm").cwd("/tmp"),
                json!({"type": "start", "cmd": "/bin/sh", "args": ["-l"], "cols": 132, "rows": 50,
                       "envs": {"TERM": "xterm"}, "cwd": "/tmp"}),
            ),
            (PtyRequest::new().size(0, 0), json!({"type": "start", "cols": 1, "rows": 1})),
        ];
        for (request, want) in cases {
            let got: serde_json::Value = serde_json::from_str(&start_frame(&request)).unwrap();
            assert_eq!(got, want, "{request:?}");
        }
        let got: serde_json::Value = serde_json::from_str(&connect_frame("pty-1a2b3c4d")).unwrap();
        assert_eq!(got, json!({"type": "connect", "tag": "pty-1a2b3c4d"}));
    }

    #[test]
    fn exit_and_fatal_errors_end_a_session() {
        assert!(PtyEvent::Exit { exit_code: 0 }.is_last());
        assert!(PtyEvent::Error { message: String::new(), fatal: true }.is_last());
        assert!(!PtyEvent::Error { message: String::new(), fatal: false }.is_last());
        assert!(!PtyEvent::Output(Bytes::new()).is_last());
    }
}
