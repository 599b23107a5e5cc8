//! `GET /files` and `POST /files` over real HTTP: uploads in both body
//! shapes, gzip both ways, ranges, large streamed files, signed URLs, users
//! and permissions, and clients that go away mid-transfer.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{TestEnvd, is_root, write};

const MIB: usize = 1024 * 1024;

fn get(envd: &TestEnvd, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
    envd.http().get(envd.url("/files")).query(query)
}

fn post(envd: &TestEnvd, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
    envd.http().post(envd.url("/files")).query(query)
}

fn octet_stream(envd: &TestEnvd, path: &str) -> reqwest::RequestBuilder {
    post(envd, &[("path", path)]).header("content-type", "application/octet-stream")
}

/// Status and `message` of an error response.
async fn failure(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["code"], status.as_u16(), "{body}");
    (status, body["message"].as_str().expect("message").to_owned())
}

async fn status_of(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(data), &mut out).unwrap();
    out
}

/// A user-namespace extended attribute of `path`, if set.
fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: both strings are NUL-terminated and `buf` has `buf.len()` bytes.
    let n = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn skip(reason: &str) {
    eprintln!("skipped ({reason})");
}

/// The signed-URL signature E2B's SDKs compute.
fn signature(path: &str, operation: &str, user: &str, token: &str, expiration: Option<u64>) -> String {
    let raw = match expiration {
        Some(expiration) => format!("{path}:{operation}:{user}:{token}:{expiration}"),
        None => format!("{path}:{operation}:{user}:{token}"),
    };
    format!("v1_{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(raw.as_bytes())))
}

/// Deterministic incompressible bytes: `n` chunks of 1 MiB.
fn pseudo_random_chunks(n: usize) -> impl Iterator<Item = Bytes> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n).map(move |_| {
        let mut chunk = Vec::with_capacity(MIB);
        for _ in 0..MIB / 8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.extend_from_slice(&state.to_le_bytes());
        }
        Bytes::from(chunk)
    })
}

#[tokio::test]
async fn multipart_upload_then_download() {
    let envd = TestEnvd::start().await;
    let form = Form::new().part("file", Part::bytes(b"hello world".to_vec()).file_name("ignored.txt"));
    let response = post(&envd, &[("path", "dir/hello.txt")]).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let abs = envd.path("dir/hello.txt");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!([{"name": "hello.txt", "type": "file", "path": abs.to_str().unwrap()}]));
    assert_eq!(std::fs::read(&abs).unwrap(), b"hello world");

    let response = get(&envd, &[("path", "dir/hello.txt")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["content-disposition"], r#"inline; filename="hello.txt""#);
    assert_eq!(headers["vary"], "Accept-Encoding");
    assert_eq!(headers["content-length"], "11");
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(response.bytes().await.unwrap(), "hello world");

    // The absolute path and `~/` name the same file; HEAD has the headers only.
    let response = envd.http().head(envd.url("/files")).query(&[("path", abs.to_str().unwrap())]).send().await;
    assert_eq!(response.unwrap().headers()["content-length"], "11");
    let response = get(&envd, &[("path", "~/dir/hello.txt")]).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap(), "hello world");
}

#[tokio::test]
async fn multipart_writes_every_file_part_at_its_filename() {
    let envd = TestEnvd::start().await;
    let absolute = envd.path("abs/c.txt");
    let form = Form::new()
        .part("file", Part::bytes(b"A".to_vec()).file_name("a.txt"))
        .text("note", "not a file")
        .part("file", Part::bytes(b"B".repeat(100_000)).file_name("nested/deeper/b.bin"))
        .part("file", Part::bytes(Vec::new()).file_name(absolute.to_str().unwrap().to_owned()));
    let response = post(&envd, &[]).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let paths: Vec<&str> = body.as_array().unwrap().iter().map(|entry| entry["path"].as_str().unwrap()).collect();
    let want = [envd.path("a.txt"), envd.path("nested/deeper/b.bin"), absolute.clone()];
    assert_eq!(paths, want.iter().map(|p| p.to_str().unwrap()).collect::<Vec<_>>());
    assert_eq!(body[1]["name"], "b.bin");
    assert_eq!(std::fs::read(&want[0]).unwrap(), b"A");
    assert_eq!(std::fs::read(&want[1]).unwrap(), b"B".repeat(100_000));
    assert_eq!(std::fs::read(&want[2]).unwrap(), b"");
}

#[tokio::test]
async fn octet_stream_upload_stores_metadata() {
    let envd = TestEnvd::start().await;
    let response = octet_stream(&envd, "meta.bin")
        .header("X-Metadata-Author", "me")
        .header("x-metadata-purpose", "test run")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let path = envd.path("meta.bin");
    assert_eq!(std::fs::read(&path).unwrap(), b"payload");
    if xattr(&path, "user.e2b.author").is_none() && body[0].get("metadata").is_none() {
        return skip("the temporary directory has no user extended attributes");
    }
    assert_eq!(body[0]["metadata"], json!({"author": "me", "purpose": "test run"}));
    assert_eq!(xattr(&path, "user.e2b.author").as_deref(), Some(&b"me"[..]));
    assert_eq!(xattr(&path, "user.e2b.purpose").as_deref(), Some(&b"test run"[..]));

    // An upload replaces the whole metadata set, as E2B's envd does.
    let response = octet_stream(&envd, "meta.bin").header("X-Metadata-Author", "you").body("v2").send().await;
    let body: Value = response.unwrap().json().await.unwrap();
    assert_eq!(body[0]["metadata"], json!({"author": "you"}));
    assert_eq!(xattr(&path, "user.e2b.author").as_deref(), Some(&b"you"[..]));
    assert_eq!(xattr(&path, "user.e2b.purpose"), None);
    let body: Value = octet_stream(&envd, "meta.bin").body("v3").send().await.unwrap().json().await.unwrap();
    assert!(body[0].get("metadata").is_none(), "{body}");
    assert_eq!(xattr(&path, "user.e2b.author"), None);
}

#[tokio::test]
async fn gzip_uploads_are_decoded() {
    let envd = TestEnvd::start().await;
    let plain = b"compress me ".repeat(10_000);
    let response =
        octet_stream(&envd, "gz/plain.txt").header("content-encoding", "gzip").body(gzip(&plain)).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    assert_eq!(std::fs::read(envd.path("gz/plain.txt")).unwrap(), plain);

    // Several gzip members, as `cat a.gz b.gz` makes.
    let members = [gzip(b"first "), gzip(b"second")].concat();
    let response = octet_stream(&envd, "gz/members.txt").header("content-encoding", "gzip").body(members).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    assert_eq!(std::fs::read(envd.path("gz/members.txt")).unwrap(), b"first second");

    // For multipart the encoding covers the whole body, framing included.
    let multipart = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gz/part.txt\"\r\n\r\n\
        part data\r\n--B--\r\n";
    let response = post(&envd, &[])
        .header("content-type", "multipart/form-data; boundary=B")
        .header("content-encoding", "gzip")
        .body(gzip(multipart))
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::OK);
    assert_eq!(std::fs::read(envd.path("gz/part.txt")).unwrap(), b"part data");

    // Invalid gzip fails, and the file it would have created is gone.
    let mut broken = gzip(&plain);
    broken.truncate(broken.len() / 2);
    let response = octet_stream(&envd, "gz/broken.txt").header("content-encoding", "gzip").body(broken).send().await;
    let (status, message) = failure(response.unwrap()).await;
    assert_eq!((status, message.as_str()), (StatusCode::BAD_REQUEST, "the upload body is not valid gzip"));
    let response = octet_stream(&envd, "gz/garbage.txt").header("content-encoding", "gzip").body("not gzip").send();
    assert_eq!(response.await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert!(!envd.path("gz/broken.txt").exists());
    assert!(!envd.path("gz/garbage.txt").exists());
}

#[tokio::test]
async fn downloads_are_gzipped_when_accepted() {
    let envd = TestEnvd::start().await;
    let plain = b"{\"json\": true}\n".repeat(5_000);
    write(&envd.path("data.json"), &plain);
    for accept in ["gzip", "gzip, deflate", "br;q=1, gzip;q=0.5", "identity;q=0, gzip", "*, identity;q=0"] {
        let response = get(&envd, &[("path", "data.json")]).header("accept-encoding", accept).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        assert_eq!(response.headers()["content-encoding"], "gzip", "{accept}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["vary"], "Accept-Encoding");
        assert!(response.headers().get("content-length").is_none());
        assert_eq!(gunzip(&response.bytes().await.unwrap()), plain, "{accept}");
    }
    for accept in ["br", "gzip;q=0", "identity", "*", ""] {
        let response = get(&envd, &[("path", "data.json")]).header("accept-encoding", accept).send().await.unwrap();
        assert!(response.headers().get("content-encoding").is_none(), "{accept}");
        assert_eq!(response.bytes().await.unwrap(), plain, "{accept}");
    }
    for accept in ["identity;q=0", "br, identity;q=0", "*;q=0"] {
        let response = get(&envd, &[("path", "data.json")]).header("accept-encoding", accept).send().await.unwrap();
        assert_eq!(failure(response).await.0, StatusCode::NOT_ACCEPTABLE, "{accept}");
    }
}

#[tokio::test]
async fn range_requests() {
    let envd = TestEnvd::start().await;
    write(&envd.path("digits.txt"), b"0123456789");
    let fetch = |range: &'static str| get(&envd, &[("path", "digits.txt")]).header("range", range).send();

    let response = fetch("bytes=2-5").await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.headers()["content-range"], "bytes 2-5/10");
    assert_eq!(response.headers()["content-length"], "4");
    assert_eq!(response.bytes().await.unwrap(), "2345");
    let response = fetch("bytes=-3").await.unwrap();
    assert_eq!(response.headers()["content-range"], "bytes 7-9/10");
    assert_eq!(response.bytes().await.unwrap(), "789");
    let response = fetch("bytes=8-").await.unwrap();
    assert_eq!(response.bytes().await.unwrap(), "89");

    let response = fetch("bytes=10-").await.unwrap();
    assert_eq!(response.headers()["content-range"], "bytes */10");
    assert_eq!(failure(response).await.0, StatusCode::RANGE_NOT_SATISFIABLE);

    // Ignored: several ranges, and If-Range (envd has no validators to match).
    let response = fetch("bytes=0-1,4-5").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), "0123456789");
    let response = get(&envd, &[("path", "digits.txt")])
        .header("range", "bytes=0-1")
        .header("if-range", "\"some-etag\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A range is always answered in identity coding.
    let response = get(&envd, &[("path", "digits.txt")])
        .header("range", "bytes=1-2")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(response.bytes().await.unwrap(), "12");
}

#[tokio::test]
async fn large_files_stream_both_ways_in_flat_memory() {
    const SIZE_MIB: usize = 64;
    // envd runs as its own process so that its memory alone is measured.
    let envd = TestEnvd::spawn_process().await;
    let rss_before = envd.child_peak_rss_kib();

    let want: [u8; 32] =
        pseudo_random_chunks(SIZE_MIB).fold(Sha256::new(), |h, c| h.chain_update(&c)).finalize().into();
    let body =
        reqwest::Body::wrap_stream(futures::stream::iter(pseudo_random_chunks(SIZE_MIB).map(Ok::<_, std::io::Error>)));
    let response = octet_stream(&envd, "big/random.bin").body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(std::fs::metadata(envd.path("big/random.bin")).unwrap().len(), (SIZE_MIB * MIB) as u64);

    let response = get(&envd, &[("path", "big/random.bin")]).send().await.unwrap();
    assert_eq!(response.headers()["content-length"], (SIZE_MIB * MIB).to_string());
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let mut hasher = Sha256::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk.unwrap());
    }
    assert_eq!(<[u8; 32]>::from(hasher.finalize()), want);

    let response = get(&envd, &[("path", "big/random.bin")]).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let mut decoder = flate2::write::MultiGzDecoder::new(Sha256::new());
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        decoder.write_all(&chunk.unwrap()).unwrap();
    }
    assert_eq!(<[u8; 32]>::from(decoder.finish().unwrap().finalize()), want);

    // Had envd held the file, its peak would have grown by at least its size.
    let growth_mib = (envd.child_peak_rss_kib() - rss_before) / 1024;
    assert!(growth_mib < (SIZE_MIB / 2) as u64, "peak memory grew by {growth_mib} MiB");
}

#[tokio::test]
async fn download_errors() {
    let envd = TestEnvd::start().await;
    write(&envd.path("file.txt"), b"x");
    std::fs::create_dir(envd.path("dir")).unwrap();

    let response = get(&envd, &[("path", "missing.txt")]).send().await.unwrap();
    let missing = envd.path("missing.txt");
    assert_eq!(
        failure(response).await,
        (StatusCode::NOT_FOUND, format!("path '{}' does not exist", missing.display()))
    );
    let response = get(&envd, &[("path", "file.txt/below")]).send().await.unwrap();
    assert_eq!(failure(response).await.0, StatusCode::NOT_FOUND);
    let response = get(&envd, &[("path", "dir")]).send().await.unwrap();
    assert_eq!(
        failure(response).await,
        (StatusCode::BAD_REQUEST, format!("path '{}' is a directory", envd.path("dir").display()))
    );
    // An empty path is the home directory.
    assert_eq!(status_of(get(&envd, &[("path", "")])).await, StatusCode::BAD_REQUEST);
    assert_eq!(status_of(get(&envd, &[])).await, StatusCode::BAD_REQUEST);
    let response = get(&envd, &[("path", "a\0b")]).send().await.unwrap();
    assert_eq!(failure(response).await, (StatusCode::BAD_REQUEST, "path contains a NUL byte".to_owned()));
    // Special files are refused without blocking on them.
    nix::unistd::mkfifo(&envd.path("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert_eq!(status_of(get(&envd, &[("path", "fifo")])).await, StatusCode::BAD_REQUEST);
    assert_eq!(status_of(octet_stream(&envd, "fifo").body("x")).await, StatusCode::BAD_REQUEST);

    let response = get(&envd, &[("path", "file.txt"), ("username", "no-such-user-here")]).send().await.unwrap();
    assert_eq!(failure(response).await.0, StatusCode::UNAUTHORIZED);
    let response = octet_stream(&envd, "file.txt").query(&[("username", "no-such-user-here")]).body("y").send();
    assert_eq!(response.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(std::fs::read(envd.path("file.txt")).unwrap(), b"x");
}

#[tokio::test]
async fn upload_errors() {
    let envd = TestEnvd::start().await;
    std::fs::create_dir(envd.path("dir")).unwrap();
    write(&envd.path("plain"), b"x");
    let raw = |content_type: &'static str, body: &'static str| {
        post(&envd, &[]).header("content-type", content_type).body(body).send()
    };

    let cases: Vec<(reqwest::Response, &str)> = vec![
        (raw("text/plain", "x").await.unwrap(), "unsupported content type"),
        (post(&envd, &[("path", "p")]).body("no type").send().await.unwrap(), "unsupported content type"),
        (raw("multipart/form-data", "x").await.unwrap(), "boundary"),
        (raw("application/octet-stream", "x").await.unwrap(), "path query parameter is required"),
        (raw("multipart/form-data; boundary=B", "no parts here").await.unwrap(), "no multipart boundary"),
        (raw("multipart/form-data; boundary=B", "--B\r\nbroken header\r\n\r\nx\r\n--B--").await.unwrap(), "header"),
        (
            raw(
                "multipart/form-data; boundary=B",
                "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t\"\r\n\r\nx",
            )
            .await
            .unwrap(),
            "ends before",
        ),
        (
            raw(
                "multipart/form-data; boundary=B",
                "--B\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--B--",
            )
            .await
            .unwrap(),
            "no part named 'file'",
        ),
        (
            raw(
                "multipart/form-data; boundary=B",
                "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--",
            )
            .await
            .unwrap(),
            "no filename",
        ),
        (octet_stream(&envd, "dir").body("x").send().await.unwrap(), "is a directory"),
        (octet_stream(&envd, "plain/below").body("x").send().await.unwrap(), "not a directory"),
        (
            octet_stream(&envd, "x").header("content-encoding", "br").body("x").send().await.unwrap(),
            "unsupported content encoding",
        ),
        (
            octet_stream(&envd, "x")
                .header("x-metadata-key", reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap())
                .body("x")
                .send()
                .await
                .unwrap(),
            "printable ASCII",
        ),
    ];
    for (response, needle) in cases {
        let (status, message) = failure(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }

    // Two parts for one file: the first is written, then the request fails.
    let form = Form::new()
        .part("file", Part::bytes(b"1".to_vec()).file_name("same.txt"))
        .part("file", Part::bytes(b"2".to_vec()).file_name("./same.txt"));
    let (status, message) = failure(post(&envd, &[]).multipart(form).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, format!("several file parts in one request target '{}'", envd.path("same.txt").display()));
    assert_eq!(std::fs::read(envd.path("same.txt")).unwrap(), b"1");
    let form = Form::new()
        .part("file", Part::bytes(b"1".to_vec()).file_name("a"))
        .part("file", Part::bytes(b"2".to_vec()).file_name("b"));
    let (status, message) = failure(post(&envd, &[("path", "given")]).multipart(form).send().await.unwrap()).await;
    assert_eq!(
        (status, message.as_str()),
        (StatusCode::BAD_REQUEST, "only one file part may be sent when the path query parameter is set")
    );

    // Part headers are capped.
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h\"\r\nX-Pad: ".to_vec();
    body.extend(std::iter::repeat_n(b'a', 64 * 1024));
    body.extend_from_slice(b"\r\n\r\nx\r\n--B--");
    let response = post(&envd, &[]).header("content-type", "multipart/form-data; boundary=B").body(body).send().await;
    let (status, message) = failure(response.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("exceed"), "{message}");
}

#[tokio::test]
async fn oversized_request_headers_are_refused() {
    let envd = TestEnvd::start().await;
    let mut stream = tokio::net::TcpStream::connect(envd.addr).await.unwrap();
    let request = format!("GET /files?path=x HTTP/1.1\r\nHost: envd\r\nX-Big: {}\r\n\r\n", "a".repeat(2 * MIB));
    // The server may stop reading before the whole request is sent.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    assert!(
        response.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&response[..response.len().min(100)])
    );
    assert_eq!(status_of(envd.http().get(envd.url("/health"))).await, StatusCode::OK);
}

#[tokio::test]
async fn token_and_signed_urls() {
    let envd = TestEnvd::start().await;
    let token = "s3cret-token";
    let response = envd.http().post(envd.url("/init")).json(&json!({"accessToken": token})).send().await.unwrap();
    assert!(response.status().is_success());
    write(&envd.path("signed.txt"), b"signed");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();

    let (status, message) = failure(get(&envd, &[("path", "signed.txt")]).send().await.unwrap()).await;
    assert_eq!((status, message.as_str()), (StatusCode::UNAUTHORIZED, "missing access token or signature"));
    let wrong = get(&envd, &[("path", "signed.txt")]).header("x-access-token", "wrong");
    assert_eq!(status_of(wrong).await, StatusCode::UNAUTHORIZED);
    let right = get(&envd, &[("path", "signed.txt")]).header("x-access-token", token);
    assert_eq!(status_of(right).await, StatusCode::OK);

    let read = signature("signed.txt", "read", "", token, None);
    let response = get(&envd, &[("path", "signed.txt"), ("signature", &read)]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), "signed");

    let later = (now + 600).to_string();
    let read_until = signature("signed.txt", "read", "", token, Some(now + 600));
    let query = [("path", "signed.txt"), ("signature", read_until.as_str()), ("signature_expiration", later.as_str())];
    assert_eq!(status_of(get(&envd, &query)).await, StatusCode::OK);

    let earlier = (now - 10).to_string();
    let expired = signature("signed.txt", "read", "", token, Some(now - 10));
    let query = [("path", "signed.txt"), ("signature", expired.as_str()), ("signature_expiration", earlier.as_str())];
    let (status, message) = failure(get(&envd, &query).send().await.unwrap()).await;
    assert_eq!((status, message.as_str()), (StatusCode::UNAUTHORIZED, "signature expired"));

    // The signature binds the operation, the path and the user.
    let write_sig = signature("signed.txt", "write", "", token, None);
    let query = [("path", "signed.txt"), ("signature", write_sig.as_str())];
    assert_eq!(failure(get(&envd, &query).send().await.unwrap()).await.1, "invalid signature");
    let query = [("path", "other.txt"), ("signature", read.as_str())];
    assert_eq!(status_of(get(&envd, &query)).await, StatusCode::UNAUTHORIZED);
    let query = [("path", "signed.txt"), ("signature", read.as_str()), ("username", "root")];
    assert_eq!(status_of(get(&envd, &query)).await, StatusCode::UNAUTHORIZED);

    let upload = |sig: String| {
        post(&envd, &[("path", "uploaded.txt"), ("signature", sig.as_str())])
            .header("content-type", "application/octet-stream")
            .body("via signed url")
            .send()
    };
    assert_eq!(upload(read.clone()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert!(!envd.path("uploaded.txt").exists());
    assert_eq!(upload(signature("uploaded.txt", "write", "", token, None)).await.unwrap().status(), StatusCode::OK);
    assert_eq!(std::fs::read(envd.path("uploaded.txt")).unwrap(), b"via signed url");
}

#[tokio::test]
async fn files_are_read_and_written_as_the_requested_user() {
    if !is_root() {
        return skip("needs root to act as another user");
    }
    let envd = TestEnvd::start().await;
    let Some((uid, gid)) = nix::unistd::User::from_name("nobody").unwrap().map(|u| (u.uid.as_raw(), u.gid.as_raw()))
    else {
        return skip("no user nobody");
    };
    std::fs::set_permissions(envd.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let private = envd.path("private");
    write(&private.join("secret.txt"), b"root only");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    write(&envd.path("mode600.txt"), b"root only");
    std::fs::set_permissions(envd.path("mode600.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let shared = envd.path("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let abs = |path: &Path| path.to_str().unwrap().to_owned();

    // Reading: the kernel decides, as nobody.
    let secret = abs(&private.join("secret.txt"));
    let (status, message) =
        failure(get(&envd, &[("path", &secret), ("username", "nobody")]).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(message, format!("permission denied: user 'nobody' may not read '{secret}'"));
    let mode600 = abs(&envd.path("mode600.txt"));
    assert_eq!(status_of(get(&envd, &[("path", &mode600), ("username", "nobody")])).await, StatusCode::FORBIDDEN);
    assert_eq!(status_of(get(&envd, &[("path", &secret), ("username", "root")])).await, StatusCode::OK);

    // Writing into root's private directory is refused, nothing is created.
    let inside = abs(&private.join("new/file.txt"));
    let response = octet_stream(&envd, &inside).query(&[("username", "nobody")]).body("x").send().await.unwrap();
    assert_eq!(failure(response).await.0, StatusCode::FORBIDDEN);
    assert!(!private.join("new").exists());
    let response = octet_stream(&envd, &mode600).query(&[("username", "nobody")]).body("x").send().await.unwrap();
    assert_eq!(failure(response).await.0, StatusCode::FORBIDDEN);
    assert_eq!(std::fs::read(envd.path("mode600.txt")).unwrap(), b"root only");

    // What nobody writes, and the directories made on the way, belong to nobody.
    let target = shared.join("sub/dir/owned.txt");
    let form = Form::new().part("file", Part::bytes(b"mine".to_vec()).file_name(abs(&target)));
    let response = post(&envd, &[("username", "nobody")]).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for path in [shared.join("sub"), shared.join("sub/dir"), target.clone()] {
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{}", path.display());
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"mine");
    // Downloading it back as nobody works.
    let response = get(&envd, &[("path", &abs(&target)), ("username", "nobody")]).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap(), "mine");
}

#[tokio::test]
async fn a_full_disk_is_507() {
    if !is_root() {
        return skip("needs root to mount a small tmpfs");
    }
    let envd = TestEnvd::start().await;
    let mount_point = envd.path("small");
    std::fs::create_dir(&mount_point).unwrap();
    let target = std::ffi::CString::new(mount_point.to_str().unwrap()).unwrap();
    // SAFETY: all strings are NUL-terminated literals or CStrings that outlive the call.
    let mounted =
        unsafe { libc::mount(c"tmpfs".as_ptr(), target.as_ptr(), c"tmpfs".as_ptr(), 0, c"size=1m".as_ptr().cast()) };
    if mounted != 0 {
        return skip("cannot mount tmpfs here");
    }
    let body = reqwest::Body::wrap_stream(futures::stream::iter(pseudo_random_chunks(4).map(Ok::<_, std::io::Error>)));
    let response = octet_stream(&envd, "small/too-big.bin").body(body).send().await.unwrap();
    let (status, message) = failure(response).await;
    let exists = mount_point.join("too-big.bin").exists();
    // SAFETY: `target` is a NUL-terminated path that outlives the call.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{message}");
    assert!(message.starts_with("not enough disk space"), "{message}");
    assert!(!exists, "the incomplete file was left behind");
}

#[tokio::test]
async fn a_client_vanishing_mid_upload_leaves_nothing_behind() {
    let envd = TestEnvd::start().await;
    let path = envd.path("partial.bin");
    for framing in ["content-length: 104857600", "transfer-encoding: chunked"] {
        let mut stream = tokio::net::TcpStream::connect(envd.addr).await.unwrap();
        let head = format!(
            "POST /files?path=partial.bin HTTP/1.1\r\nhost: envd\r\ncontent-type: application/octet-stream\r\n{framing}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'x'; MIB];
        for _ in 0..3 {
            if framing.starts_with("transfer") {
                stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.unwrap();
                stream.write_all(&chunk).await.unwrap();
                stream.write_all(b"\r\n").await.unwrap();
            } else {
                stream.write_all(&chunk).await.unwrap();
            }
        }
        // Wait until the upload is under way, then hang up.
        let started = tokio::time::Instant::now();
        while !path.exists() && started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(stream);
        let started = tokio::time::Instant::now();
        while path.exists() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!path.exists(), "{framing}: the incomplete upload was left behind");
    }
    // envd carries on.
    assert_eq!(status_of(octet_stream(&envd, "partial.bin").body("complete")).await, StatusCode::OK);
    assert_eq!(std::fs::read(&path).unwrap(), b"complete");
}

#[tokio::test]
async fn a_client_vanishing_mid_download_is_harmless() {
    let envd = TestEnvd::start().await;
    let file = std::fs::File::create(envd.path("big.bin")).unwrap();
    file.set_len(64 * MIB as u64).unwrap();
    for accept in ["identity", "gzip"] {
        let response = get(&envd, &[("path", "big.bin")]).header("accept-encoding", accept).send().await.unwrap();
        let mut stream = response.bytes_stream();
        assert!(stream.next().await.unwrap().is_ok());
        drop(stream);
    }
    assert_eq!(status_of(envd.http().get(envd.url("/health"))).await, StatusCode::OK);
    let response = get(&envd, &[("path", "big.bin")]).header("range", "bytes=0-9").send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap(), vec![0u8; 10]);
}
