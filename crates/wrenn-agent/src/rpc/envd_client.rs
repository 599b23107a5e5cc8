//! A small client for one capsule's envd: its Connect `Process` and
//! `Filesystem` services, and `/files` for contents. Plain HTTP, since envd
//! listens only on the capsule's private network.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;

use base64::Engine;
use connectrpc::ConnectError;
use connectrpc::client::{ClientConfig, HttpClient};
use futures::{Stream, StreamExt};
use wrenn_proto::envd::filesystem as fs_pb;
use wrenn_proto::envd::process as pb;
use wrenn_proto::envd::process::__buffa::oneof::process_event::Event as ProcessEvent;

/// Relays a process stream of envd as [`ProcessEvents`], skipping empty
/// messages and ending after the first error. (A macro because envd's two
/// process streams differ only in their message type.)
macro_rules! process_events {
    ($addr:expr, $stream:expr, $message:ty) => {{
        let addr = $addr;
        futures::stream::unfold(Some($stream), move |state| async move {
            let mut stream = state?;
            loop {
                match stream.message::<$message>().await {
                    Ok(Some(message)) => {
                        if let Some(event) =
                            message.to_owned_message().event.into_option().and_then(|event| event.event)
                        {
                            return Some((Ok(event), Some(stream)));
                        }
                    }
                    Ok(None) => return None,
                    Err(source) => return Some((Err(EnvdClientError::Rpc { addr, source }), None)),
                }
            }
        })
        .boxed()
    }};
}

/// The events of one process, in order, ending with its end event.
pub(crate) type ProcessEvents = Pin<Box<dyn Stream<Item = Result<ProcessEvent, EnvdClientError>> + Send>>;

/// Why a call to a capsule's envd failed.
#[derive(Debug, thiserror::Error)]
pub enum EnvdClientError {
    #[error("envd at {addr} rejected the call")]
    Rpc {
        addr: SocketAddr,
        #[source]
        source: ConnectError,
    },
    #[error("envd at {addr} answered with status {status}: {message}")]
    Status { addr: SocketAddr, status: http::StatusCode, message: String },
    #[error("envd at {addr} could not be reached")]
    Http {
        addr: SocketAddr,
        #[source]
        source: reqwest::Error,
    },
}

/// What to start in a capsule.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProcessStart {
    pub(crate) cmd: String,
    pub(crate) args: Vec<String>,
    pub(crate) envs: BTreeMap<String, String>,
    pub(crate) cwd: Option<String>,
    pub(crate) tag: Option<String>,
    /// A terminal of this size (cols, rows) instead of pipes.
    pub(crate) pty: Option<(u32, u32)>,
}

/// envd of one capsule, acting as `user` (envd's default user when `None`).
#[derive(Debug, Clone)]
pub(crate) struct Envd {
    addr: SocketAddr,
    user: Option<String>,
    http: reqwest::Client,
}

impl Envd {
    pub(crate) fn new(addr: SocketAddr, user: Option<String>, http: reqwest::Client) -> Envd {
        Envd { addr, user, http }
    }

    /// Starts a process; its events follow on the returned stream.
    pub(crate) async fn start(&self, spec: ProcessStart) -> Result<ProcessEvents, EnvdClientError> {
        let request = pb::StartRequest {
            process: pb::ProcessConfig {
                cmd: spec.cmd,
                args: spec.args,
                envs: spec.envs.into_iter().collect(),
                cwd: spec.cwd,
                ..Default::default()
            }
            .into(),
            tag: spec.tag,
            stdin: Some(spec.pty.is_some()),
            pty: spec
                .pty
                .map(|(cols, rows)| pb::PTY {
                    size: pb::pty::Size { cols, rows, ..Default::default() }.into(),
                    ..Default::default()
                })
                .into(),
            ..Default::default()
        };
        let stream = self.process().start(request).await.map_err(|source| self.rpc(source))?;
        Ok(process_events!(self.addr, stream, pb::StartResponse))
    }

    /// Attaches to a running process's output.
    pub(crate) async fn connect(&self, selector: pb::ProcessSelector) -> Result<ProcessEvents, EnvdClientError> {
        let request = pb::ConnectRequest { process: selector.into(), ..Default::default() };
        let stream = self.process().connect(request).await.map_err(|source| self.rpc(source))?;
        Ok(process_events!(self.addr, stream, pb::ConnectResponse))
    }

    pub(crate) async fn list_processes(&self) -> Result<Vec<pb::ProcessInfo>, EnvdClientError> {
        let response = self.process().list(pb::ListRequest::default()).await.map_err(|source| self.rpc(source))?;
        Ok(response.into_owned().processes)
    }

    pub(crate) async fn signal(
        &self,
        selector: pb::ProcessSelector,
        signal: pb::Signal,
    ) -> Result<(), EnvdClientError> {
        let request = pb::SendSignalRequest { process: selector.into(), signal: signal.into(), ..Default::default() };
        self.process().send_signal(request).await.map_err(|source| self.rpc(source))?;
        Ok(())
    }

    pub(crate) async fn send_pty_input(
        &self,
        selector: pb::ProcessSelector,
        data: Vec<u8>,
    ) -> Result<(), EnvdClientError> {
        let input =
            pb::ProcessInput { input: Some(pb::__buffa::oneof::process_input::Input::Pty(data)), ..Default::default() };
        let request = pb::SendInputRequest { process: selector.into(), input: input.into(), ..Default::default() };
        self.process().send_input(request).await.map_err(|source| self.rpc(source))?;
        Ok(())
    }

    pub(crate) async fn resize(
        &self,
        selector: pb::ProcessSelector,
        cols: u32,
        rows: u32,
    ) -> Result<(), EnvdClientError> {
        let pty = pb::PTY { size: pb::pty::Size { cols, rows, ..Default::default() }.into(), ..Default::default() };
        let request = pb::UpdateRequest { process: selector.into(), pty: pty.into(), ..Default::default() };
        self.process().update(request).await.map_err(|source| self.rpc(source))?;
        Ok(())
    }

    pub(crate) async fn list_dir(&self, path: String, depth: u32) -> Result<Vec<fs_pb::EntryInfo>, EnvdClientError> {
        let request = fs_pb::ListDirRequest { path, depth, ..Default::default() };
        let response = self.filesystem().list_dir(request).await.map_err(|source| self.rpc(source))?;
        Ok(response.into_owned().entries)
    }

    pub(crate) async fn make_dir(&self, path: String) -> Result<Option<fs_pb::EntryInfo>, EnvdClientError> {
        let request = fs_pb::MakeDirRequest { path, ..Default::default() };
        let response = self.filesystem().make_dir(request).await.map_err(|source| self.rpc(source))?;
        Ok(response.into_owned().entry.into_option())
    }

    pub(crate) async fn remove(&self, path: String) -> Result<(), EnvdClientError> {
        let request = fs_pb::RemoveRequest { path, ..Default::default() };
        self.filesystem().remove(request).await.map_err(|source| self.rpc(source))?;
        Ok(())
    }

    /// `GET /files`: the response whose body streams the file.
    pub(crate) async fn read_file(&self, path: &str) -> Result<reqwest::Response, EnvdClientError> {
        let request = self.http.get(format!("http://{}/files", self.addr)).query(&self.files_query(path));
        self.checked(request).await
    }

    /// `POST /files` with the raw contents as the body.
    pub(crate) async fn write_file(&self, path: &str, body: reqwest::Body) -> Result<(), EnvdClientError> {
        let request = self
            .http
            .post(format!("http://{}/files", self.addr))
            .query(&self.files_query(path))
            .header(http::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        self.checked(request).await.map(drop)
    }

    fn files_query<'a>(&'a self, path: &'a str) -> Vec<(&'static str, &'a str)> {
        let mut query = vec![("path", path)];
        if let Some(user) = &self.user {
            query.push(("username", user));
        }
        query
    }

    async fn checked(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, EnvdClientError> {
        let response = request.send().await.map_err(|source| EnvdClientError::Http { addr: self.addr, source })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json.get("message")?.as_str().map(str::to_owned))
            .unwrap_or(body);
        Err(EnvdClientError::Status { addr: self.addr, status, message })
    }

    fn process(&self) -> pb::ProcessClient<HttpClient> {
        pb::ProcessClient::new(HttpClient::plaintext(), self.config())
    }

    fn filesystem(&self) -> fs_pb::FilesystemClient<HttpClient> {
        fs_pb::FilesystemClient::new(HttpClient::plaintext(), self.config())
    }

    fn config(&self) -> ClientConfig {
        let uri = format!("http://{}", self.addr).parse().expect("a socket address is a valid authority");
        let config = ClientConfig::new(uri);
        match &self.user {
            Some(user) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:"));
                config.with_default_header("authorization", format!("Basic {encoded}"))
            }
            None => config,
        }
    }

    fn rpc(&self, source: ConnectError) -> EnvdClientError {
        EnvdClientError::Rpc { addr: self.addr, source }
    }
}
