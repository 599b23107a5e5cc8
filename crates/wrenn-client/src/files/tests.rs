//! The file calls against an in-process server that speaks the routes'
//! wire shapes (and checks them: multipart part order, chunked streaming
//! uploads, JSON bodies), holding files in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::*;

/// What one upload looked like on the wire.
#[derive(Debug, Clone, PartialEq)]
struct Upload {
    route: &'static str,
    content_length: bool,
    chunked: bool,
    parts: Vec<String>,
    file_name: Option<String>,
    content_type: Option<String>,
}

#[derive(Default)]
struct Fake {
    files: BTreeMap<String, Vec<u8>>,
    uploads: Vec<Upload>,
}

type Shared = Arc<Mutex<Fake>>;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn entry(path: &str, kind: &str, size: usize) -> Value {
    let name = path.rsplit('/').next().unwrap_or_default();
    json!({"name": name, "path": path, "type": kind, "size": size, "mode": 420,
           "permissions": "-rw-r--r--", "owner": "user", "group": "user", "modified_at": 1_700_000_000})
}

async fn write(route: &'static str, state: Shared, headers: HeaderMap, mut multipart: Multipart) -> Response {
    let mut upload = Upload {
        route,
        content_length: headers.contains_key(header::CONTENT_LENGTH),
        chunked: headers.get(header::TRANSFER_ENCODING).is_some_and(|value| value == "chunked"),
        parts: Vec::new(),
        file_name: None,
        content_type: None,
    };
    let mut path = None;
    let mut data = Vec::new();
    while let Some(mut field) = multipart.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            upload.file_name = field.file_name().map(str::to_owned);
            upload.content_type = field.content_type().map(str::to_owned);
            while let Some(chunk) = field.chunk().await.unwrap() {
                data.extend_from_slice(&chunk);
            }
        } else if name == "path" {
            path = Some(field.text().await.unwrap());
        }
        upload.parts.push(name);
    }
    let mut fake = state.lock().unwrap();
    fake.uploads.push(upload);
    fake.files.insert(path.unwrap(), data);
    StatusCode::NO_CONTENT.into_response()
}

async fn read(State(state): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let path = body["path"].as_str().unwrap().to_owned();
    if path == "/broken" {
        // The break comes after the headers and a first chunk went out.
        let first = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"first"))]);
        let broken = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(std::io::Error::other("gone"))
        });
        return Body::from_stream(first.chain(broken)).into_response();
    }
    match state.lock().unwrap().files.get(&path) {
        Some(data) => data.clone().into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", &format!("{path} does not exist")),
    }
}

async fn list(State(state): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let path = body["path"].as_str().unwrap().trim_end_matches('/').to_owned();
    if path.ends_with("missing") {
        return error(StatusCode::NOT_FOUND, "not_found", "no such directory");
    }
    if path.is_empty() {
        let entries = vec![entry("/exists", "directory", 4096), entry("/gone-file", "file", 0)];
        return axum::Json(json!({"entries": entries})).into_response();
    }
    let fake = state.lock().unwrap();
    let entries: Vec<Value> = fake
        .files
        .iter()
        .filter(|(file, _)| file.rsplit_once('/').is_some_and(|(parent, _)| parent == path))
        .map(|(file, data)| entry(file, "file", data.len()))
        .collect();
    axum::Json(json!({"entries": entries})).into_response()
}

async fn mkdir(axum::Json(body): axum::Json<Value>) -> Response {
    match body["path"].as_str().unwrap() {
        "/exists" => error(StatusCode::CONFLICT, "conflict", "/exists already_exists"),
        "/not-listed" => error(StatusCode::CONFLICT, "conflict", "/not-listed already_exists"),
        "/no-entry" => axum::Json(json!({"entry": null})).into_response(),
        path => axum::Json(json!({"entry": entry(path, "directory", 4096)})).into_response(),
    }
}

async fn remove(State(state): State<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    let path = body["path"].as_str().unwrap();
    match state.lock().unwrap().files.remove(path) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "nothing there"),
    }
}

/// Starts the fake on a free loopback port.
async fn serve() -> (Client, Shared) {
    let state: Shared = Arc::default();
    let base = "/v1/capsules/{id}/files";
    let router = Router::new()
        .route(
            &format!("{base}/write"),
            post(|State(s): State<Shared>, h: HeaderMap, m: Multipart| write("write", s, h, m)),
        )
        .route(
            &format!("{base}/stream/write"),
            post(|State(s): State<Shared>, h: HeaderMap, m: Multipart| write("stream/write", s, h, m)),
        )
        .route(&format!("{base}/read"), post(read))
        .route(&format!("{base}/stream/read"), post(read))
        .route(&format!("{base}/list"), post(list))
        .route(&format!("{base}/mkdir"), post(mkdir))
        .route(&format!("{base}/remove"), post(remove))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = Client::builder().base_url(format!("http://{address}")).api_key("wrn_test").build().unwrap();
    (client, state)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[tokio::test]
async fn write_sends_a_sized_multipart_with_the_path_first_and_read_gets_it_back() {
    let (client, state) = serve().await;
    let files = client.files("cl-1");
    files.write("/work/a.txt", "hello").await.unwrap();
    assert_eq!(&files.read("/work/a.txt").await.unwrap()[..], b"hello");
    let upload = state.lock().unwrap().uploads[0].clone();
    assert_eq!(upload.parts, ["path", "file"]);
    assert!(upload.content_length && !upload.chunked, "{upload:?}");
    assert_eq!((upload.file_name.as_deref(), upload.content_type.as_deref()), (Some("upload"), Some(OCTET_STREAM)));
}

#[tokio::test]
async fn upload_streams_chunked_and_download_gets_every_byte() {
    let (client, state) = serve().await;
    let files = client.files("cl-1");
    let data = pattern(3 * UPLOAD_CHUNK + 17);
    files.upload("/work/big.bin", std::io::Cursor::new(data.clone())).await.unwrap();
    let upload = state.lock().unwrap().uploads[0].clone();
    assert_eq!(upload.route, "stream/write");
    assert_eq!(upload.parts, ["path", "file"]);
    assert!(upload.chunked && !upload.content_length, "{upload:?}");
    assert_eq!(upload.file_name.as_deref(), Some("upload.bin"));

    let mut back = Vec::new();
    assert_eq!(files.download_to("/work/big.bin", &mut back).await.unwrap(), data.len() as u64);
    assert_eq!(back, data);

    files.upload("/work/empty", tokio::io::empty()).await.unwrap();
    assert_eq!(state.lock().unwrap().files["/work/empty"], b"");
}

#[tokio::test]
async fn read_errors_arrive_before_the_stream_and_breaks_end_it_with_an_error() {
    let (client, _) = serve().await;
    let files = client.files("cl-1");
    let missing = files.download("/nope").await.err().unwrap();
    assert!(missing.is_not_found(), "{missing:?}");
    assert!(files.read("/nope").await.unwrap_err().is_not_found());

    let mut chunks = files.download("/broken").await.unwrap();
    let mut results = Vec::new();
    while let Some(chunk) = chunks.next().await {
        results.push(chunk);
    }
    assert!(results.iter().any(Result::is_err), "a broken transfer must not end cleanly: {results:?}");
    assert!(files.download_to("/broken", &mut Vec::new()).await.is_err());
}

/// A reader that fails after some bytes.
struct Failing(usize);

impl AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")));
        }
        let n = self.0.min(buf.remaining()).min(1000);
        buf.put_slice(&vec![b'x'; n]);
        self.0 -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_source_is_an_io_error() {
    let (client, _) = serve().await;
    let err = client.files("cl-1").upload("/work/x", Failing(5000)).await.unwrap_err();
    assert!(matches!(&err, Error::Io { source, .. } if source.to_string().contains("disk on fire")), "{err:?}");
}

#[tokio::test]
async fn mkdir_is_idempotent_like_the_python_sdk() {
    let (client, _) = serve().await;
    let files = client.files("cl-1");
    assert_eq!(files.mkdir("/work/new").await.unwrap().path, "/work/new");
    let existing = files.mkdir("/exists").await.unwrap();
    assert!(existing.is_dir() && existing.name == "exists", "{existing:?}");
    let err = files.mkdir("/not-listed").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    assert!(matches!(files.mkdir("/no-entry").await, Err(Error::Protocol { .. })));
}

#[tokio::test]
async fn exists_list_and_remove() {
    let (client, _) = serve().await;
    let files = client.files("cl-1");
    files.write("/work/a", "1").await.unwrap();
    files.write("/work/b", "22").await.unwrap();
    let listed = files.list("/work", 1).await.unwrap();
    let names: Vec<(&str, u64, FileKind)> = listed.iter().map(|e| (e.name.as_str(), e.size, e.kind)).collect();
    assert_eq!(names, [("a", 1, FileKind::File), ("b", 2, FileKind::File)]);
    assert!(files.list("/missing", 1).await.unwrap_err().is_not_found());

    assert!(files.exists("/work/a").await.unwrap());
    assert!(!files.exists("/work/zzz").await.unwrap());
    assert!(!files.exists("/missing/a").await.unwrap(), "a missing parent means no");
    assert!(files.exists("/").await.unwrap());
    files.remove("/work/a").await.unwrap();
    assert!(!files.exists("/work/a").await.unwrap());
    assert!(files.remove("/work/a").await.unwrap_err().is_not_found());
}

#[test]
fn entries_parse_tolerantly() {
    let full = r#"{"name":"run.sh","path":"/w/run.sh","type":"symlink","size":42,"mode":493,
        "permissions":"-rwxr-xr-x","owner":"user","group":"user","modified_at":1700000000,
        "symlink_target":"/w/real.sh","extra":"ignored"}"#;
    let parsed: FileEntry = serde_json::from_str(full).unwrap();
    assert_eq!(parsed.kind, FileKind::Symlink);
    assert_eq!((parsed.size, parsed.mode, parsed.modified_at), (42, 0o755, 1_700_000_000));
    assert_eq!(parsed.symlink_target.as_deref(), Some("/w/real.sh"));

    let sparse: FileEntry = serde_json::from_str(r#"{"name":"x","type":"socket"}"#).unwrap();
    assert_eq!((sparse.name.as_str(), sparse.kind, sparse.size), ("x", FileKind::Other, 0));
    assert_eq!(serde_json::from_str::<FileEntry>("{}").unwrap(), FileEntry::default());

    let null_list: EntryList = serde_json::from_str(r#"{"entries":null}"#).unwrap();
    assert!(null_list.entries.unwrap_or_default().is_empty());
    let dir = serde_json::to_value(FileEntry { kind: FileKind::Directory, ..FileEntry::default() }).unwrap();
    assert_eq!(dir["type"], "directory");
}

#[test]
fn parents_and_names() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        ("/tmp/a/b", Some(("/tmp/a", "b"))),
        ("/tmp/dir/", Some(("/tmp", "dir"))),
        ("/top", Some(("/", "top"))),
        ("name", Some((".", "name"))),
        ("~/x", Some(("~", "x"))),
        ("/", None),
        ("~", None),
        ("", None),
    ];
    for (path, want) in cases {
        let got = split_parent(path);
        assert_eq!(got.as_ref().map(|(p, n)| (p.as_str(), n.as_str())), *want, "{path}");
    }
}

#[test]
fn already_exists_answers_are_recognised() {
    let api =
        |code: &str, message: &str| Error::Api { status: 409, code: ErrorCode::parse(code), message: message.into() };
    assert!(already_exists(&api("conflict", "x")));
    assert!(already_exists(&api("already_exists", "x")));
    assert!(already_exists(&api("internal_error", "dir already_exists")));
    assert!(!already_exists(&api("not_found", "x")));
    assert!(!already_exists(&Error::Config("already_exists".into())));
}

/// A server that takes connections and never reads or answers them.
async fn black_hole() -> (Client, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = Client::builder().base_url(format!("http://{address}")).api_key("wrn_test").build().unwrap();
    (client, holder)
}

fn assert_stalled(result: Result<(), Error>, started: Instant, idle: Duration) {
    let waited = started.elapsed();
    let err = result.unwrap_err();
    assert!(matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::TimedOut), "{err:?}");
    assert!(err.to_string().contains("no data and sent no answer"), "{err}");
    assert!(waited >= idle && waited < idle * 10, "{waited:?}");
}

#[tokio::test]
async fn uploads_to_a_server_that_stalls_fail_after_the_idle_limit() {
    let idle = Duration::from_millis(300);
    let (client, holder) = black_hole().await;
    let files = client.files("cl-1").with_upload_idle(idle);
    // Small: the whole body goes out, the answer never comes.
    let started = Instant::now();
    assert_stalled(files.write("/work/a", "hello").await, started, idle);
    // Large: the server stops taking the body.
    let started = Instant::now();
    let big = std::io::Cursor::new(pattern(32 << 20));
    assert_stalled(files.upload("/work/big", big).await, started, idle);
    holder.abort();
}

#[tokio::test]
async fn a_slow_source_is_not_a_stalled_server() {
    let idle = Duration::from_millis(200);
    let (client, state) = serve().await;
    let files = client.files("cl-1").with_upload_idle(idle);
    let slow = futures::stream::iter(0..3u8).then(move |piece| async move {
        tokio::time::sleep(idle * 2).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![piece; 10]))
    });
    files.upload("/work/slow", tokio_util::io::StreamReader::new(Box::pin(slow))).await.unwrap();
    assert_eq!(state.lock().unwrap().files["/work/slow"].len(), 30);
}

#[tokio::test]
async fn stat_describes_an_entry_or_nothing() {
    let (client, _) = serve().await;
    let files = client.files("cl-1");
    files.write("/work/a", "abc").await.unwrap();
    let entry = files.stat("/work/a").await.unwrap().unwrap();
    assert_eq!((entry.name.as_str(), entry.size, entry.kind), ("a", 3, FileKind::File));
    assert_eq!(files.stat("/work/zzz").await.unwrap(), None);
    assert_eq!(files.stat("/missing/a").await.unwrap(), None, "a missing parent means nothing there");
    assert_eq!(files.stat("/").await.unwrap(), None);
}
