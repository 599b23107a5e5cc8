//! Bad input never panics or kills envd: malformed Connect envelopes,
//! unknown fields, invalid UTF-8, oversized messages, unknown users, and
//! clients that vanish mid-stream.

use std::time::Duration;

use crate::harness::TestEnvd;

async fn post(envd: &TestEnvd, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let response =
        envd.http().post(envd.url(path)).header("content-type", content_type).body(body).send().await.unwrap();
    (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
}

async fn assert_healthy(envd: &TestEnvd) {
    let response = envd.http().get(envd.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![flags];
    frame.extend((payload.len() as u32).to_be_bytes());
    frame.extend(payload);
    frame
}

fn error_code(body: &[u8]) -> String {
    // Unary errors are a JSON body; stream errors are the end-of-stream envelope.
    let json = if body.first() == Some(&2) { &body[5..] } else { body };
    let value: serde_json::Value = serde_json::from_slice(json).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    let error = value.get("error").unwrap_or(&value);
    error["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_envelopes_and_messages_get_errors() {
    let envd = TestEnvd::start().await;
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        // Envelope announces 16 bytes, carries 4.
        (
            "/process.Process/Start",
            "application/connect+proto",
            b"\x00\x00\x00\x00\x10abcd".to_vec(),
            "invalid_argument",
        ),
        // Not even a full envelope header.
        ("/process.Process/Start", "application/connect+json", b"\x00\x00".to_vec(), "invalid_argument"),
        // A well-framed envelope whose payload is not protobuf.
        ("/process.Process/Start", "application/connect+proto", envelope(0, b"\xff\xff\xff\xff"), "invalid_argument"),
        // JSON that is not an object of the message.
        ("/process.Process/Start", "application/connect+json", envelope(0, b"[1,2,3]"), "invalid_argument"),
        // Invalid UTF-8 in a string field (Stat.path).
        ("/filesystem.Filesystem/Stat", "application/proto", b"\x0a\x03\xff\xfe\xfd".to_vec(), "invalid_argument"),
        ("/filesystem.Filesystem/ListDir", "application/json", b"{\"path\": 5}".to_vec(), "invalid_argument"),
        ("/process.Process/List", "application/json", b"{not json".to_vec(), "invalid_argument"),
    ];
    for (path, content_type, body, want) in cases {
        let (status, body) = post(&envd, path, content_type, body).await;
        assert!(status == 200 || status >= 400, "{path}: status {status}");
        assert_eq!(error_code(&body), want, "{path} {content_type}");
        assert_healthy(&envd).await;
    }
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let envd = TestEnvd::start().await;
    let (status, body) =
        post(&envd, "/process.Process/List", "application/json", br#"{"futureField": {"x": [1, 2]}, "n": 3}"#.to_vec())
            .await;
    assert_eq!((status, body.as_slice()), (200, b"{}".as_slice()));
    // Field 5, length-delimited: unknown to ListRequest.
    let (status, _) = post(&envd, "/process.Process/List", "application/proto", b"\x2a\x05hello".to_vec()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let envd = TestEnvd::start().await;
    let big = serde_json::json!({"process": {"pid": 1}, "input": {"stdin": "A".repeat(6 << 20)}});
    let (status, body) =
        post(&envd, "/process.Process/SendInput", "application/json", serde_json::to_vec(&big).unwrap()).await;
    assert!(status >= 400, "status {status}");
    assert_eq!(error_code(&body), "resource_exhausted");
    assert_healthy(&envd).await;
}

#[tokio::test]
async fn unknown_and_invalid_users_are_refused_everywhere() {
    let envd = TestEnvd::start().await;
    for header in ["Basic bm9zdWNodXNlcjo=", "Basic !!!", "Token abc"] {
        let response = envd
            .http()
            .post(envd.url("/filesystem.Filesystem/Stat"))
            .header("content-type", "application/json")
            .header("authorization", header)
            .body(r#"{"path": "/"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header}");
    }
    let response = envd.http().get(envd.url("/files?path=/etc/hostname&username=nosuchuser")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = envd
        .http()
        .post(envd.url("/init"))
        .json(&serde_json::json!({"defaultUser": "nosuchuser"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_healthy(&envd).await;
}

#[tokio::test]
async fn clients_that_vanish_mid_stream_leave_envd_working() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let envd = TestEnvd::start().await;
    for _ in 0..20 {
        let body = br#"{"process": {"cmd": "/bin/sh", "args": ["-c", "yes | head -c 10000000"]}, "stdin": false}"#;
        let frame = envelope(0, body);
        let mut tcp = tokio::net::TcpStream::connect(envd.addr).await.unwrap();
        let head = format!(
            "POST /process.Process/Start HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\nContent-Length: {}\r\n\r\n",
            frame.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(&frame).await.unwrap();
        let mut buf = [0u8; 64];
        let _ = tcp.read(&mut buf).await.unwrap();
        drop(tcp);
        // Half a request, then gone.
        let mut tcp = tokio::net::TcpStream::connect(envd.addr).await.unwrap();
        tcp.write_all(b"POST /process.Process/Start HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n\x00\x00")
            .await
            .unwrap();
        drop(tcp);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_healthy(&envd).await;
    // Every process ran to completion and left the table.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = post(&envd, "/process.Process/List", "application/json", b"{}".to_vec()).await;
        if body == b"{}" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "processes left behind: {}", String::from_utf8_lossy(&body));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    envd.stop().await;
}
