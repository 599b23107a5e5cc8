//! Commands and processes in a capsule (`/v1/capsules/{id}/exec`,
//! `…/processes`, and the `exec/stream` and `processes/{pid}/stream`
//! WebSockets; `docs/dev/wrenn-sdk-contract.md` §6.3 and §7.2–7.3).
//!
//! Three ways to run something:
//! - [`Commands::run`] waits for the exit and returns all output at once
//!   (bounded by the server's unary limit of a few MiB);
//! - [`Commands::stream`] returns the output as it comes, as a
//!   [`ProcessStream`] of [`ProcessEvent`]s;
//! - [`Commands::spawn`] starts it in the background; [`Commands::connect`]
//!   follows it later, [`Commands::kill`] ends it.
//!
//! ```no_run
//! use futures::StreamExt;
//! use wrenn_client::{Client, ExecRequest, ProcessEvent};
//!
//! # async fn demo(client: &Client) -> Result<(), wrenn_client::Error> {
//! let commands = client.commands("cl-…");
//!
//! // Wait for the result.
//! let output = commands.run(&ExecRequest::shell("uname -a").timeout_sec(10)).await?;
//! println!("{} (exit {})", output.stdout_lossy(), output.exit_code);
//!
//! // Or watch it run.
//! let mut events = commands.stream(&ExecRequest::new("make", ["-j4"]).cwd("/src")).await?;
//! while let Some(event) = events.next().await {
//!     match event? {
//!         ProcessEvent::Stdout(text) | ProcessEvent::Stderr(text) => print!("{text}"),
//!         ProcessEvent::Exit { exit_code } => println!("exit {exit_code}"),
//!         ProcessEvent::Error(message) => eprintln!("failed: {message}"),
//!         ProcessEvent::Start { .. } => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub(crate) mod keepalive;
mod stream;
#[cfg(test)]
pub(crate) mod test_server;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::capsules::capsule_path;
use crate::client::{Client, transport_error};
use crate::error::Error;

pub(crate) use stream::close;
pub use stream::{ProcessEvent, ProcessStream};

/// How much longer than the command's own timeout a foreground exec may
/// take to answer (the server answers within `timeout_sec + 10` s).
const ANSWER_SLACK: Duration = Duration::from_secs(10);

/// What to run, where and how. The same request serves [`Commands::run`],
/// [`Commands::spawn`] and [`Commands::stream`]; a field a route has no
/// use for is not sent to it (`tag` only matters to `spawn`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The program (looked up in the capsule's `PATH` when not absolute).
    pub cmd: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub envs: BTreeMap<String, String>,
    /// The working directory: absolute, or `~`/`~/…` (default: the
    /// capsule user's home).
    pub cwd: Option<String>,
    /// Kill it after this many seconds. For [`Commands::run`] `None` means
    /// the server's default (30 s); for [`Commands::stream`] it means no
    /// limit; [`Commands::spawn`] ignores it.
    pub timeout_sec: Option<u64>,
    /// A name for a background process (the server makes one up when
    /// `None`).
    pub tag: Option<String>,
}

impl ExecRequest {
    /// Runs `cmd` with `args`, without a shell.
    pub fn new<I, S>(cmd: impl Into<String>, args: I) -> ExecRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecRequest { cmd: cmd.into(), args: args.into_iter().map(Into::into).collect(), ..ExecRequest::default() }
    }

    /// Runs a shell script: `/bin/sh -c script`.
    pub fn shell(script: impl Into<String>) -> ExecRequest {
        ExecRequest::new("/bin/sh", ["-c".to_owned(), script.into()])
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> ExecRequest {
        self.envs.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn cwd(mut self, path: impl Into<String>) -> ExecRequest {
        self.cwd = Some(path.into());
        self
    }

    /// Kills the command after `seconds`.
    pub fn timeout_sec(mut self, seconds: u64) -> ExecRequest {
        self.timeout_sec = Some(seconds);
        self
    }

    /// Names a background process.
    pub fn tag(mut self, tag: impl Into<String>) -> ExecRequest {
        self.tag = Some(tag.into());
        self
    }
}

/// The body of `POST …/exec`: empty `envs` and unset options are left out,
/// as the Python SDK does.
#[derive(Debug, Serialize)]
struct ExecBody<'a> {
    cmd: &'a str,
    args: &'a [String],
    background: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_sec: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    envs: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwd: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
}

impl<'a> ExecBody<'a> {
    fn new(request: &'a ExecRequest, background: bool) -> ExecBody<'a> {
        ExecBody {
            cmd: &request.cmd,
            args: &request.args,
            background,
            // A background process has no timeout on this route.
            timeout_sec: if background { None } else { request.timeout_sec },
            envs: &request.envs,
            cwd: request.cwd.as_deref(),
            tag: request.tag.as_deref(),
        }
    }
}

/// A finished foreground command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
    /// Its exit code; -1 when it was killed by a signal.
    pub exit_code: i32,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
}

impl ExecOutput {
    /// Stdout as text (invalid UTF-8 replaced).
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (invalid UTF-8 replaced).
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The 200 answer of a foreground exec.
#[derive(Debug, Deserialize)]
struct ExecAnswer {
    #[serde(default)]
    stdout: Option<String>,
    #[serde(default)]
    stderr: Option<String>,
    #[serde(default = "unknown_exit_code")]
    exit_code: i32,
    #[serde(default)]
    duration_ms: u64,
    #[serde(default)]
    encoding: Option<String>,
}

fn unknown_exit_code() -> i32 {
    -1
}

impl ExecAnswer {
    /// The output as bytes: both streams are base64 when `encoding` says so
    /// (the server does that when either is not UTF-8).
    fn decode(self) -> Result<ExecOutput, String> {
        let base64 = self.encoding.as_deref() == Some("base64");
        let bytes = |text: Option<String>, name: &str| -> Result<Vec<u8>, String> {
            let text = text.unwrap_or_default();
            if base64 && !text.is_empty() {
                base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .map_err(|err| format!("{name} is not valid base64: {err}"))
            } else {
                Ok(text.into_bytes())
            }
        };
        Ok(ExecOutput {
            stdout: bytes(self.stdout, "stdout")?,
            stderr: bytes(self.stderr, "stderr")?,
            exit_code: self.exit_code,
            duration_ms: self.duration_ms,
        })
    }
}

/// A process started with [`Commands::spawn`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BackgroundProcess {
    /// Its pid inside the capsule.
    #[serde(default)]
    pub pid: u32,
    /// Its tag (the one asked for, or one the server made up).
    #[serde(default)]
    pub tag: String,
}

/// A process that envd started and still tracks (foreground, background
/// or a terminal).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ProcessInfo {
    /// Its pid inside the capsule.
    pub pid: u32,
    /// Its tag; empty when it has none.
    #[serde(default)]
    pub tag: String,
    /// The program.
    #[serde(default)]
    pub cmd: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ProcessList {
    #[serde(default)]
    processes: Vec<ProcessInfo>,
}

/// The command and process routes of one capsule.
#[derive(Debug, Clone)]
pub struct Commands<'a> {
    client: &'a Client,
    capsule_id: String,
}

impl Client {
    /// The command and process routes of a capsule.
    pub fn commands(&self, capsule_id: &str) -> Commands<'_> {
        Commands { client: self, capsule_id: capsule_id.to_owned() }
    }
}

impl Commands<'_> {
    fn path(&self, rest: &str) -> String {
        capsule_path(&self.capsule_id, rest)
    }

    /// Runs a command and waits for its exit. The call is allowed
    /// `timeout_sec + 10` s (the server answers within that, with `504
    /// timeout` when the command outlived its timeout); without a timeout
    /// it may wait as long as the server lets the command run.
    pub async fn run(&self, request: &ExecRequest) -> Result<ExecOutput, Error> {
        let path = self.path("/exec");
        let mut http = self.client.streaming_request(Method::POST, &path).json(&ExecBody::new(request, false));
        if let Some(seconds) = request.timeout_sec {
            http = http.timeout(Duration::from_secs(seconds).saturating_add(ANSWER_SLACK));
        }
        let response = self.client.send(http).await?;
        let url = response.url().to_string();
        let body = response.bytes().await.map_err(|source| transport_error(url.clone(), source))?;
        let answer: ExecAnswer = serde_json::from_slice(&body)
            .map_err(|err| Error::Protocol { url: url.clone(), detail: err.to_string() })?;
        answer.decode().map_err(|detail| Error::Protocol { url, detail })
    }

    /// Starts a command in the background and returns as soon as it runs.
    /// It keeps running after this call (and after the client is gone).
    pub async fn spawn(&self, request: &ExecRequest) -> Result<BackgroundProcess, Error> {
        let path = self.path("/exec");
        self.client.json(self.client.streaming_request(Method::POST, &path).json(&ExecBody::new(request, true))).await
    }

    /// The processes envd tracks in the capsule.
    pub async fn list(&self) -> Result<Vec<ProcessInfo>, Error> {
        let list: ProcessList = self.client.get_json(&self.path("/processes")).await?;
        Ok(list.processes)
    }

    /// Kills a process (SIGKILL). An unknown pid is [`Error::Api`] with
    /// [`crate::ErrorCode::NotFound`].
    pub async fn kill(&self, pid: u32) -> Result<(), Error> {
        let path = self.path(&format!("/processes/{pid}"));
        self.client.empty(self.client.request(Method::DELETE, &path)).await
    }

    /// Runs a command and streams its output as it comes. A `timeout_sec`
    /// kills it after that long (the stream then ends with its `Exit`).
    /// Dropping the stream detaches: the process runs on (see
    /// [`ProcessStream::stop`] to end it).
    pub async fn stream(&self, request: &ExecRequest) -> Result<ProcessStream, Error> {
        let path = self.path("/exec/stream");
        let url = self.client.url(&path).to_string();
        let mut socket = self.client.websocket(&path).await?;
        stream::send_start(&mut socket, &url, request).await?;
        Ok(ProcessStream::new(socket, url))
    }

    /// Follows a running process (one from [`Commands::spawn`], say): its
    /// output from now on, then its exit. A process that already ended
    /// gives an [`ProcessEvent::Error`].
    pub async fn connect(&self, pid: u32) -> Result<ProcessStream, Error> {
        let path = self.path(&format!("/processes/{pid}/stream"));
        let socket = self.client.websocket(&path).await?;
        Ok(ProcessStream::new(socket, self.client.url(&path).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn exec_bodies_send_only_what_is_set() {
        let bare = ExecRequest::new("ls", ["-l"]);
        let with_all = ExecRequest::shell("echo $A").env("A", "1").cwd("/tmp").timeout_sec(5).tag("job");
        let cases = [
            (&bare, false, json!({"cmd": "ls", "args": ["-l"], "background": false})),
            (&bare, true, json!({"cmd": "ls", "args": ["-l"], "background": true})),
            (
                &with_all,
                false,
                json!({"cmd": "/bin/sh", "args": ["-c", "echo $A"], "background": false, "timeout_sec": 5,
                       "envs": {"A": "1"}, "cwd": "/tmp", "tag": "job"}),
            ),
            (
                &with_all,
                true,
                json!({"cmd": "/bin/sh", "args": ["-c", "echo $A"], "background": true,
                       "envs": {"A": "1"}, "cwd": "/tmp", "tag": "job"}),
            ),
        ];
        for (request, background, want) in cases {
            assert_eq!(serde_json::to_value(ExecBody::new(request, background)).unwrap(), want, "{request:?}");
        }
    }

    #[test]
    fn answers_decode_per_their_encoding() {
        type Decoded = Result<(&'static [u8], &'static [u8], i32, u64), ()>;
        let cases: [(serde_json::Value, Decoded); 5] = [
            (
                json!({"stdout": "hi\n", "stderr": "", "exit_code": 0, "duration_ms": 3, "encoding": "utf-8"}),
                Ok((b"hi\n", b"", 0, 3)),
            ),
            (
                json!({"stdout": "//4=", "stderr": "b2s=", "exit_code": 2, "encoding": "base64"}),
                Ok((b"\xff\xfe", b"ok", 2, 0)),
            ),
            (json!({"stdout": "gA==", "stderr": "", "encoding": "base64"}), Ok((b"\x80", b"", -1, 0))),
            (json!({"stdout": null, "stderr": null, "exit_code": 1}), Ok((b"", b"", 1, 0))),
            (json!({"stdout": "not base64!", "encoding": "base64"}), Err(())),
        ];
        for (answer, want) in cases {
            let decoded = serde_json::from_value::<ExecAnswer>(answer.clone()).unwrap().decode();
            let got = decoded
                .as_ref()
                .map(|output| {
                    (output.stdout.as_slice(), output.stderr.as_slice(), output.exit_code, output.duration_ms)
                })
                .map_err(drop);
            assert_eq!(got, want, "{answer}");
        }
    }

    #[test]
    fn lossy_text_replaces_invalid_utf8() {
        let output = ExecOutput { stdout: b"a\xffb".to_vec(), stderr: b"e".to_vec(), exit_code: 0, duration_ms: 0 };
        assert_eq!(output.stdout_lossy(), "a\u{fffd}b");
        assert_eq!(output.stderr_lossy(), "e");
    }

    #[test]
    fn process_lists_tolerate_missing_fields() {
        let list: ProcessList = serde_json::from_value(
            json!({"processes": [{"pid": 7, "cmd": "sleep", "args": ["9"]}, {"pid": 8, "tag": "web"}]}),
        )
        .unwrap();
        assert_eq!(
            list.processes,
            [
                ProcessInfo { pid: 7, tag: String::new(), cmd: "sleep".into(), args: vec!["9".into()] },
                ProcessInfo { pid: 8, tag: "web".into(), cmd: String::new(), args: Vec::new() },
            ]
        );
        assert!(serde_json::from_value::<ProcessList>(json!({})).unwrap().processes.is_empty());
        let started: BackgroundProcess =
            serde_json::from_value(json!({"sandbox_id": "cl-x", "cmd": "sleep", "pid": 9, "tag": "t"})).unwrap();
        assert_eq!(started, BackgroundProcess { pid: 9, tag: "t".into() });
    }
}
