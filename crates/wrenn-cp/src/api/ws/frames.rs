//! The JSON frames of the WebSocket routes (`docs/dev/wrenn-sdk-contract.md`
//! §7): what clients send, parsed leniently (missing lists, `null` and
//! unknown fields are fine, since SDK versions differ in what they add),
//! and what the server sends, always a JSON object with a `type`.

use std::collections::BTreeMap;

use axum::extract::ws::Message;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// A client frame of the exec and process streams.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum StreamRequest {
    /// Starts the command: the first frame of `exec/stream`.
    Start(ExecStart),
    /// Kills the process (SIGKILL); its `exit` still follows.
    Stop,
}

/// What to run on `exec/stream`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct ExecStart {
    pub(super) cmd: String,
    #[serde(default)]
    pub(super) args: Option<Vec<String>>,
    #[serde(default)]
    pub(super) envs: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(super) cwd: Option<String>,
    #[serde(default)]
    pub(super) user: Option<String>,
    /// Seconds after which the process is killed; absent or 0: never.
    #[serde(default, alias = "timeout_sec")]
    pub(super) timeout: Option<u64>,
}

/// A text frame of the PTY route. (Input normally comes as binary frames.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum PtyRequest {
    /// Opens a new terminal: the first frame.
    Start(PtyStart),
    /// Attaches to the terminal with this tag: the first frame.
    Connect {
        tag: String,
    },
    Resize {
        cols: u32,
        rows: u32,
    },
    Kill,
    /// The answer to a server `ping`.
    Pong,
    /// Stdin, base64: the 0.1.x clients' form.
    Input {
        data: String,
    },
}

/// A new terminal; every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(super) struct PtyStart {
    #[serde(default)]
    pub(super) cmd: Option<String>,
    #[serde(default)]
    pub(super) args: Option<Vec<String>>,
    #[serde(default)]
    pub(super) cols: Option<u32>,
    #[serde(default)]
    pub(super) rows: Option<u32>,
    #[serde(default)]
    pub(super) envs: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(super) cwd: Option<String>,
    #[serde(default)]
    pub(super) user: Option<String>,
}

/// Why a client frame was refused, as said to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid frame: {0}")]
pub(super) struct BadFrame(pub(super) String);

/// Parses a client text frame.
pub(super) fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, BadFrame> {
    serde_json::from_str(text).map_err(|error| BadFrame(error.to_string()))
}

/// The stdin bytes of an `input` frame.
pub(super) fn input_bytes(data: &str) -> Result<Vec<u8>, BadFrame> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|error| BadFrame(format!("input data is not base64: {error}")))
}

/// A server frame of the exec and process streams. `exit` or `error` is
/// the last one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum StreamEvent<'a> {
    Start { pid: u32 },
    Stdout { data: &'a str },
    Stderr { data: &'a str },
    Exit { exit_code: i32 },
    Error { data: &'a str },
}

/// A server text frame of the PTY route (output goes in binary frames).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum PtyEvent<'a> {
    Started {
        pid: u32,
        tag: &'a str,
    },
    Exit {
        exit_code: i32,
    },
    /// `fatal`: the session ends with this frame.
    Error {
        data: &'a str,
        fatal: bool,
    },
}

impl StreamEvent<'_> {
    pub(super) fn message(&self) -> Message {
        text_message(self)
    }
}

impl PtyEvent<'_> {
    pub(super) fn message(&self) -> Message {
        text_message(self)
    }
}

/// A frame as a text message. Serialising these enums cannot fail; should
/// it ever, the client still gets a JSON object.
fn text_message<T: Serialize>(frame: &T) -> Message {
    let text = serde_json::to_string(frame)
        .unwrap_or_else(|_| r#"{"type":"error","data":"internal error","fatal":true}"#.to_owned());
    Message::text(text)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn json_of(message: &Message) -> Value {
        match message {
            Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
            other => panic!("not a text frame: {other:?}"),
        }
    }

    #[test]
    fn stream_requests_parse() {
        let start = |cmd: &str, args: Option<Vec<&str>>| {
            StreamRequest::Start(ExecStart {
                cmd: cmd.to_owned(),
                args: args.map(|args| args.into_iter().map(str::to_owned).collect()),
                envs: None,
                cwd: None,
                user: None,
                timeout: None,
            })
        };
        let cases: Vec<(&str, Result<StreamRequest, ()>)> = vec![
            (
                r#"{"type":"start","cmd":"/bin/sh","args":["-c","echo hi"]}"#,
                Ok(start("/bin/sh", Some(vec!["-c", "echo hi"]))),
            ),
            (r#"{"type":"start","cmd":"ls"}"#, Ok(start("ls", None))),
            (r#"{"type":"start","cmd":"ls","args":null,"extra":1}"#, Ok(start("ls", None))),
            (r#"{"type":"stop"}"#, Ok(StreamRequest::Stop)),
            (r#"{"type":"start"}"#, Err(())),
            (r#"{"type":"start","cmd":5}"#, Err(())),
            (r#"{"type":"launch","cmd":"ls"}"#, Err(())),
            (r#"{"cmd":"ls"}"#, Err(())),
            ("not json", Err(())),
            ("[]", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(parse::<StreamRequest>(text).map_err(drop), want, "{text}");
        }
    }

    #[test]
    fn exec_start_takes_the_optional_fields() {
        let text = r#"{"type":"start","cmd":"env","args":[],"envs":{"A":"1"},"cwd":"/tmp","user":"root","timeout":5}"#;
        let StreamRequest::Start(start) = parse::<StreamRequest>(text).unwrap() else { panic!("not a start") };
        assert_eq!(start.envs, Some(BTreeMap::from([("A".to_owned(), "1".to_owned())])));
        assert_eq!(start.cwd.as_deref(), Some("/tmp"));
        assert_eq!(start.user.as_deref(), Some("root"));
        assert_eq!(start.timeout, Some(5));
        let StreamRequest::Start(start) =
            parse::<StreamRequest>(r#"{"type":"start","cmd":"x","timeout_sec":7}"#).unwrap()
        else {
            panic!("not a start")
        };
        assert_eq!(start.timeout, Some(7));
    }

    #[test]
    fn pty_requests_parse() {
        let cases: Vec<(&str, Result<PtyRequest, ()>)> = vec![
            (
                r#"{"type":"start","cmd":"/bin/bash","cols":100,"rows":30}"#,
                Ok(PtyRequest::Start(PtyStart {
                    cmd: Some("/bin/bash".to_owned()),
                    cols: Some(100),
                    rows: Some(30),
                    ..PtyStart::default()
                })),
            ),
            (r#"{"type":"start"}"#, Ok(PtyRequest::Start(PtyStart::default()))),
            (
                r#"{"type":"start","cmd":"sh","args":["-l"],"envs":{"K":"v"},"cwd":"/root"}"#,
                Ok(PtyRequest::Start(PtyStart {
                    cmd: Some("sh".to_owned()),
                    args: Some(vec!["-l".to_owned()]),
                    envs: Some(BTreeMap::from([("K".to_owned(), "v".to_owned())])),
                    cwd: Some("/root".to_owned()),
                    ..PtyStart::default()
                })),
            ),
            (r#"{"type":"connect","tag":"pty-1a2b3c4d"}"#, Ok(PtyRequest::Connect { tag: "pty-1a2b3c4d".to_owned() })),
            (r#"{"type":"connect"}"#, Err(())),
            (r#"{"type":"resize","cols":120,"rows":40}"#, Ok(PtyRequest::Resize { cols: 120, rows: 40 })),
            (r#"{"type":"resize","cols":-1,"rows":40}"#, Err(())),
            (r#"{"type":"kill"}"#, Ok(PtyRequest::Kill)),
            (r#"{"type":"pong"}"#, Ok(PtyRequest::Pong)),
            (r#"{"type":"input","data":"aGk="}"#, Ok(PtyRequest::Input { data: "aGk=".to_owned() })),
            (r#"{"type":"output","data":"aGk="}"#, Err(())),
            ("{}", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(parse::<PtyRequest>(text).map_err(drop), want, "{text}");
        }
    }

    #[test]
    fn input_data_is_base64() {
        assert_eq!(input_bytes("aGk=").unwrap(), b"hi");
        assert_eq!(input_bytes("").unwrap(), b"");
        assert!(input_bytes("not base64!").is_err());
    }

    #[test]
    fn stream_events_serialise_as_the_sdk_reads_them() {
        let cases = [
            (StreamEvent::Start { pid: 42 }, json!({"type": "start", "pid": 42})),
            (StreamEvent::Stdout { data: "hi\n" }, json!({"type": "stdout", "data": "hi\n"})),
            (StreamEvent::Stderr { data: "\u{fffd}" }, json!({"type": "stderr", "data": "\u{fffd}"})),
            (StreamEvent::Exit { exit_code: -1 }, json!({"type": "exit", "exit_code": -1})),
            (StreamEvent::Error { data: "gone" }, json!({"type": "error", "data": "gone"})),
        ];
        for (event, want) in cases {
            assert_eq!(json_of(&event.message()), want, "{event:?}");
        }
    }

    #[test]
    fn pty_events_serialise_as_the_sdk_reads_them() {
        let cases = [
            (
                PtyEvent::Started { pid: 7, tag: "pty-00ff00ff" },
                json!({"type": "started", "pid": 7, "tag": "pty-00ff00ff"}),
            ),
            (PtyEvent::Exit { exit_code: 0 }, json!({"type": "exit", "exit_code": 0})),
            (PtyEvent::Error { data: "no", fatal: true }, json!({"type": "error", "data": "no", "fatal": true})),
            (PtyEvent::Error { data: "meh", fatal: false }, json!({"type": "error", "data": "meh", "fatal": false})),
        ];
        for (event, want) in cases {
            assert_eq!(json_of(&event.message()), want, "{event:?}");
        }
    }
}
