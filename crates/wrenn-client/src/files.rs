//! Files inside a capsule (`/v1/capsules/{id}/files/*`): read and write
//! whole files, stream large ones both ways with flat memory, list, make
//! directories, remove, and test for existence. The wire shapes are the
//! Python SDK's (`capsule.files`), so both clients see the same behaviour.
//!
//! Transfers have no overall time limit (a large file may take long);
//! instead they fail when they stall for [`IDLE_TIMEOUT`]: a download when
//! no data arrives, an upload when the server takes none of the body (and
//! has not answered), or does not answer after the whole body. Time spent
//! waiting for the upload's own source does not count.
//!
//! ```no_run
//! use futures::StreamExt;
//!
//! # async fn demo(client: &wrenn_client::Client) -> Result<(), wrenn_client::Error> {
//! let files = client.files("cl-…");
//! files.write("/work/hello.txt", "hello\n").await?;
//! assert_eq!(&files.read("/work/hello.txt").await?[..], b"hello\n");
//!
//! // Large files: stream from any `AsyncRead`, and back chunk by chunk.
//! let local = tokio::fs::File::open("data.bin").await.map_err(|err| wrenn_client::Error::Io {
//!     context: "open data.bin".into(),
//!     source: err,
//! })?;
//! files.upload("/work/data.bin", local).await?;
//! let mut chunks = files.download("/work/data.bin").await?;
//! while let Some(chunk) = chunks.next().await {
//!     println!("{} bytes", chunk?.len());
//! }
//!
//! for entry in files.list("/work", 1).await? {
//!     println!("{} {:?} {}", entry.permissions, entry.kind, entry.path);
//! }
//! # Ok(())
//! # }
//! ```

use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::io::ReaderStream;

use crate::capsules::capsule_path;
use crate::client::{Client, transport_error};
use crate::error::{Error, ErrorCode};

/// How long a transfer may stall before it fails: a download that receives
/// no byte, an upload whose body the server does not take (or that it does
/// not answer once it has it all).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to start answering a read (it waits up to
/// 60 s for the capsule's first chunk itself).
const FIRST_ANSWER_TIMEOUT: Duration = Duration::from_secs(90);
/// Size of the pieces an upload reads from its source.
const UPLOAD_CHUNK: usize = 256 * 1024;
/// The content type of uploaded file parts.
const OCTET_STREAM: &str = "application/octet-stream";

/// What a directory entry is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (whatever it points to).
    Symlink,
    /// Anything else, or a kind this client does not know.
    #[default]
    #[serde(other)]
    Other,
}

/// One file, directory or link, as `list` and `mkdir` describe it.
/// Missing fields take their defaults, so an older or newer server parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileEntry {
    /// The last component of its path.
    pub name: String,
    /// Its full path inside the capsule (absolute, as the capsule resolved it).
    pub path: String,
    /// File, directory, symlink or other.
    #[serde(rename = "type")]
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits (e.g. `0o755`).
    pub mode: u32,
    /// `ls -l` style permissions, e.g. `-rwxr-xr-x`.
    pub permissions: String,
    /// Owning user's name.
    pub owner: String,
    /// Owning group's name.
    pub group: String,
    /// Last modification, in unix seconds.
    pub modified_at: i64,
    /// Where a symlink points (resolved), for symlinks only.
    pub symlink_target: Option<String>,
}

impl FileEntry {
    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Directory
    }

    /// True for a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == FileKind::File
    }
}

/// The file routes of one capsule, from [`Client::files`]. Paths are the
/// capsule user's: absolute, or relative to its working directory, `~` for
/// its home.
#[derive(Debug, Clone)]
pub struct Files<'a> {
    client: &'a Client,
    capsule_id: String,
    /// The stall limit of uploads ([`IDLE_TIMEOUT`]; tests shorten it).
    upload_idle: Duration,
}

impl Client {
    /// The file routes of the capsule `capsule_id`.
    pub fn files(&self, capsule_id: &str) -> Files<'_> {
        Files { client: self, capsule_id: capsule_id.to_owned(), upload_idle: IDLE_TIMEOUT }
    }
}

#[derive(Serialize)]
struct PathBody<'p> {
    path: &'p str,
}

#[derive(Serialize)]
struct ListBody<'p> {
    path: &'p str,
    depth: u32,
}

#[derive(Deserialize)]
struct EntryList {
    #[serde(default)]
    entries: Option<Vec<FileEntry>>,
}

#[derive(Deserialize)]
struct MadeDir {
    #[serde(default)]
    entry: Option<FileEntry>,
}

impl Files<'_> {
    fn route(&self, rest: &str) -> String {
        capsule_path(&self.capsule_id, rest)
    }

    /// The whole file at `path`. A missing file is [`Error::Api`] with
    /// [`ErrorCode::NotFound`]. For large files prefer [`Files::download`].
    pub async fn read(&self, path: &str) -> Result<Bytes, Error> {
        let chunks = self.open_read("/files/read", path).await?;
        let mut data = Vec::new();
        futures::pin_mut!(chunks);
        while let Some(chunk) = chunks.next().await {
            data.extend_from_slice(&chunk?);
        }
        Ok(Bytes::from(data))
    }

    /// Writes `data` to `path`, replacing the file if it exists and making
    /// missing parent directories. An existing file keeps its mode and owner.
    /// The server takes up to 100 MiB this way; [`Files::upload`] has no limit.
    pub async fn write(&self, path: &str, data: impl Into<Bytes>) -> Result<(), Error> {
        let data: Bytes = data.into();
        let length = data.len() as u64;
        // In pieces, so the stall watch sees how far the server took it.
        let pieces = (0..data.len())
            .step_by(UPLOAD_CHUNK)
            .map(move |start| Ok::<_, std::io::Error>(data.slice(start..data.len().min(start + UPLOAD_CHUNK))));
        let pace = Pace::new();
        let body = Paced::new(futures::stream::iter(pieces), Arc::clone(&pace));
        let file = Part::stream_with_length(reqwest::Body::wrap_stream(body), length).file_name("upload");
        let form = Form::new().text("path", path.to_owned()).part("file", octet_stream(file)?);
        let request = self.client.streaming_request(Method::POST, &self.route("/files/write")).multipart(form);
        self.send_paced(request, &pace, path).await
    }

    /// Streams everything `reader` yields to `path` (chunked, so neither
    /// side holds the file in memory), making missing parent directories.
    /// To watch progress, wrap the reader in one that counts what is read.
    /// A read error of `reader` fails the upload with [`Error::Io`], and the
    /// server does not keep a truncated new file.
    pub async fn upload<R: AsyncRead + Send + 'static>(&self, path: &str, reader: R) -> Result<(), Error> {
        let read_error: Arc<Mutex<Option<std::io::Error>>> = Arc::default();
        let slot = Arc::clone(&read_error);
        let chunks = ReaderStream::with_capacity(reader, UPLOAD_CHUNK).map_err(move |err| {
            // The body's error reaches us only as a transport failure; the
            // original is kept to say what really broke.
            let copy = std::io::Error::new(err.kind(), err.to_string());
            slot.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(err);
            copy
        });
        let pace = Pace::new();
        let file =
            Part::stream(reqwest::Body::wrap_stream(Paced::new(chunks, Arc::clone(&pace)))).file_name("upload.bin");
        let form = Form::new().text("path", path.to_owned()).part("file", octet_stream(file)?);
        let request = self.client.streaming_request(Method::POST, &self.route("/files/stream/write")).multipart(form);
        let sent = self.send_paced(request, &pace, path).await;
        let local = read_error.lock().unwrap_or_else(PoisonError::into_inner).take();
        match (sent, local) {
            (_, Some(err)) => Err(Error::io(format!("reading the data to upload to {path}"), err)),
            (sent, None) => sent,
        }
    }

    /// The file at `path` as a stream of chunks. Errors the server answers
    /// (no such file, a directory…) come back here, before any chunk; a
    /// transfer that breaks off or stalls for [`IDLE_TIMEOUT`] ends the
    /// stream with an error, so a short file is never taken for a whole one.
    pub async fn download(
        &self,
        path: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + Unpin + 'static, Error> {
        self.open_read("/files/stream/read", path).await
    }

    /// Downloads the file at `path` into `writer` (flushed at the end) and
    /// returns how many bytes were written.
    pub async fn download_to<W: AsyncWrite + Unpin>(&self, path: &str, writer: &mut W) -> Result<u64, Error> {
        let mut chunks = self.download(path).await?;
        let mut written = 0u64;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            writer.write_all(&chunk).await.map_err(|err| Error::io(format!("writing the download of {path}"), err))?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(|err| Error::io(format!("writing the download of {path}"), err))?;
        Ok(written)
    }

    /// The entries under the directory `path`: its children for `depth` 0
    /// or 1, everything down to `depth` levels otherwise (depth first, each
    /// directory before what it holds). Symlinks inside are not followed.
    pub async fn list(&self, path: &str, depth: u32) -> Result<Vec<FileEntry>, Error> {
        let request = self.client.request(Method::POST, &self.route("/files/list")).json(&ListBody { path, depth });
        let list: EntryList = self.client.json(request).await?;
        Ok(list.entries.unwrap_or_default())
    }

    /// Makes the directory `path` and its missing parents (`mkdir -p`).
    /// Idempotent: an existing directory answers its entry.
    pub async fn mkdir(&self, path: &str) -> Result<FileEntry, Error> {
        match self.client.post_json::<_, MadeDir>(&self.route("/files/mkdir"), &PathBody { path }).await {
            Ok(MadeDir { entry: Some(entry) }) => Ok(entry),
            Ok(MadeDir { entry: None }) => Err(Error::Protocol {
                url: self.client.url(&self.route("/files/mkdir")).to_string(),
                detail: "the answer has no entry".to_owned(),
            }),
            Err(err) if already_exists(&err) => match self.stat(path).await {
                Ok(Some(entry)) => Ok(entry),
                _ => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// Removes the file or directory `path` (recursively). A missing path
    /// is [`Error::Api`] with [`ErrorCode::NotFound`].
    pub async fn remove(&self, path: &str) -> Result<(), Error> {
        let request = self.client.request(Method::POST, &self.route("/files/remove")).json(&PathBody { path });
        self.client.empty(request).await
    }

    /// Whether anything (file, directory, link) is at `path`, looked up in
    /// its parent directory; a missing parent means no.
    pub async fn exists(&self, path: &str) -> Result<bool, Error> {
        if split_parent(path).is_none() {
            // `/`, `~` and the working directory always exist.
            return Ok(true);
        }
        Ok(self.stat(path).await?.is_some())
    }

    /// The entry of `path` (size, mode, kind…) as its parent directory
    /// lists it; `None` when nothing is there (a missing parent included),
    /// and for `/`, `~` and `.`, which no parent lists. A symlink is
    /// described, not followed.
    pub async fn stat(&self, path: &str) -> Result<Option<FileEntry>, Error> {
        let Some((parent, name)) = split_parent(path) else {
            return Ok(None);
        };
        match self.list(&parent, 1).await {
            Ok(entries) => Ok(entries.into_iter().find(|entry| entry.name == name)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Sends an upload whose body is [`Paced`] by `pace`, failing it when
    /// it stalls for the idle limit.
    async fn send_paced(&self, request: reqwest::RequestBuilder, pace: &Mutex<Pace>, path: &str) -> Result<(), Error> {
        tokio::select! {
            sent = self.client.empty(request) => sent,
            () = stall(pace, self.upload_idle) => {
                let why = format!("the server took no data and sent no answer for {} s", self.upload_idle.as_secs_f32());
                Err(Error::io(format!("uploading to {path}"), std::io::Error::new(std::io::ErrorKind::TimedOut, why)))
            }
        }
    }

    /// The same routes with another upload stall limit.
    #[cfg(test)]
    fn with_upload_idle(mut self, limit: Duration) -> Self {
        self.upload_idle = limit;
        self
    }

    /// Asks for a file's bytes and answers them as a stream that fails when
    /// it stalls. Errors before the first byte are the server's.
    async fn open_read(
        &self,
        route: &str,
        path: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, Error>> + Send + Unpin + 'static, Error> {
        let request = self.client.streaming_request(Method::POST, &self.route(route)).json(&PathBody { path });
        let url = self.client.url(&self.route(route)).to_string();
        let response =
            tokio::time::timeout(FIRST_ANSWER_TIMEOUT, self.client.send(request)).await.map_err(|_| {
                Error::io(
                    format!("reading {path}"),
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "the server did not start answering in time"),
                )
            })??;
        let body = response.bytes_stream();
        let state = Some((Box::pin(body), url, path.to_owned()));
        let chunks = futures::stream::unfold(state, |state| async move {
            let (mut body, url, path) = state?;
            match tokio::time::timeout(IDLE_TIMEOUT, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some((body, url, path)))),
                Ok(Some(Err(err))) => Some((Err(transport_error(url, err)), None)),
                Ok(None) => None,
                Err(_) => Some((Err(stalled(&path)), None)),
            }
        });
        Ok(Box::pin(chunks))
    }
}

/// How far an upload's body got: when the server last took a piece (or
/// the body ended), and whether the body is waiting for its own source.
#[derive(Debug)]
struct Pace {
    last_progress: Instant,
    waiting_for_source: bool,
}

impl Pace {
    fn new() -> Arc<Mutex<Pace>> {
        Arc::new(Mutex::new(Pace { last_progress: Instant::now(), waiting_for_source: false }))
    }
}

/// An upload body that records its [`Pace`]. The HTTP client asks for the
/// next piece only when it has room to send it, so a server that stops
/// reading shows as a body no one asks anything of.
struct Paced<S> {
    inner: Pin<Box<S>>,
    pace: Arc<Mutex<Pace>>,
}

impl<S> Paced<S> {
    fn new(inner: S, pace: Arc<Mutex<Pace>>) -> Paced<S> {
        Paced { inner: Box::pin(inner), pace }
    }
}

impl<S: Stream> Stream for Paced<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        let mut pace = self.pace.lock().unwrap_or_else(PoisonError::into_inner);
        pace.waiting_for_source = polled.is_pending();
        if polled.is_ready() {
            pace.last_progress = Instant::now();
        }
        polled
    }
}

/// Ends when the upload has made no progress for `idle`, not counting
/// time its body waited for its source.
async fn stall(pace: &Mutex<Pace>, idle: Duration) {
    loop {
        let (last_progress, waiting) = {
            let pace = pace.lock().unwrap_or_else(PoisonError::into_inner);
            (pace.last_progress, pace.waiting_for_source)
        };
        if waiting {
            tokio::time::sleep(idle).await;
        } else if last_progress.elapsed() >= idle {
            return;
        } else {
            tokio::time::sleep_until(last_progress + idle).await;
        }
    }
}

/// The part a file travels in: `application/octet-stream`.
fn octet_stream(part: Part) -> Result<Part, Error> {
    part.mime_str(OCTET_STREAM).map_err(|err| Error::Config(format!("cannot build the upload: {err}")))
}

fn stalled(path: &str) -> Error {
    let why = format!("no data for {} s", IDLE_TIMEOUT.as_secs());
    Error::io(format!("downloading {path}"), std::io::Error::new(std::io::ErrorKind::TimedOut, why))
}

/// The answers that mean "a directory is already there", as the Python
/// SDK recognises them.
fn already_exists(err: &Error) -> bool {
    match err {
        Error::Api { code, message, .. } => {
            matches!(code, ErrorCode::Conflict)
                || code.as_str() == "already_exists"
                || message.contains("already_exists")
        }
        _ => false,
    }
}

/// `path`'s parent directory and last name; `None` for paths that name no
/// entry of a parent (`/`, `~`, empty, or ending in `..`). A relative name
/// without a directory lives in the working directory (`.`).
fn split_parent(path: &str) -> Option<(String, String)> {
    if path == "~" || path.is_empty() {
        return None;
    }
    let as_path = Path::new(path);
    let name = as_path.file_name()?.to_str()?.to_owned();
    let parent = as_path.parent()?.to_str()?;
    let parent = if parent.is_empty() { "." } else { parent };
    Some((parent.to_owned(), name))
}

#[cfg(test)]
mod tests;
