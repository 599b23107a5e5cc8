//! The server's own behaviour: header read timeout against a slowloris,
//! graceful shutdown (in-flight requests finish, streams are told and
//! waited for, nothing new is accepted, the grace is a hard limit).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wrenn_cp::http::ServeConfig;

use crate::harness::Ctx;
use crate::server::{STREAM_LINGER, TestServer, client, json_of, sqlite};

sqlite! {
    slow_request_heads_are_cut_off,
    shutdown_lets_in_flight_requests_finish,
    shutdown_grace_is_a_hard_limit,
    shutdown_drains_upgraded_streams,
}

const HEADER_TIMEOUT: Duration = Duration::from_millis(500);

fn short(shutdown_grace: Duration) -> ServeConfig {
    ServeConfig { header_read_timeout: HEADER_TIMEOUT, shutdown_grace, ..ServeConfig::standard() }
}

/// How long until the server closes a connection that sent `prefix` and
/// then nothing.
async fn closed_after(server: &TestServer, prefix: &[u8]) -> Duration {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(prefix).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await {
            Err(_) => panic!("the connection after {prefix:?} is still open after 5 s"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            // hyper may answer 408 before closing; what matters is the close.
            Ok(Ok(_)) => {}
        }
    }
}

async fn slow_request_heads_are_cut_off(ctx: Ctx) {
    let server = TestServer::start(ctx.store, short(Duration::from_secs(2))).await;
    let stalls: [&[u8]; 4] = [
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        b"",
        // A prefix of the HTTP/2 preface: the protocol is not known yet.
        b"PRI * HTTP/2",
        // The full preface and then no frames at all.
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    for prefix in stalls {
        let took = closed_after(&server, prefix).await;
        assert!(took >= HEADER_TIMEOUT - Duration::from_millis(100), "closed too early ({took:?}) after {prefix:?}");
        assert!(took < Duration::from_secs(3), "closed late ({took:?}) after {prefix:?}");
    }

    // A complete request on a fresh connection is served, and the idle
    // keep-alive connection afterwards is closed by the same timeout.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let started = Instant::now();
    let rest = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await.expect("closed within 5 s");
    assert!(matches!(rest, Ok(0) | Err(_)), "nothing more is sent");
    assert!(started.elapsed() >= HEADER_TIMEOUT - Duration::from_millis(100));

    let response = client().get(server.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the server still serves");
    server.stop().await;
}

async fn shutdown_lets_in_flight_requests_finish(ctx: Ctx) {
    let mut server = TestServer::start(ctx.store, short(Duration::from_secs(10))).await;
    let slow = tokio::spawn(client().get(server.url("/test/slow?ms=1000")).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = server.addr;
    server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
    assert!(!server.is_finished(), "waiting for the in-flight request");

    let (status, headers, body) = json_of(slow.await.unwrap().unwrap()).await;
    assert_eq!((status.as_u16(), body), (200, serde_json::json!({"slept_ms": 1000})));
    assert_eq!(headers.get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    let took = server.stop().await;
    assert!(took < Duration::from_secs(1), "stops right after the last request ({took:?})");
}

async fn shutdown_grace_is_a_hard_limit(ctx: Ctx) {
    let server = TestServer::start(ctx.store, short(Duration::from_millis(500))).await;
    let slow = tokio::spawn(client().get(server.url("/test/slow?ms=20000")).send());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = server.stop().await;
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(2), "stopped after {took:?}");
    assert!(slow.await.unwrap().is_err(), "the cut request fails on the client");
}

async fn shutdown_drains_upgraded_streams(ctx: Ctx) {
    let mut server = TestServer::start(ctx.store, short(Duration::from_secs(10))).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /test/stream HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: test-stream\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"hello\n") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert_ne!(n, 0, "stream ended early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(seen.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&seen));

    let started = Instant::now();
    server.begin_shutdown();
    let mut tail = Vec::new();
    while !tail.ends_with(b"bye\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await.unwrap().unwrap();
        assert_ne!(n, 0, "stream ended without its last words: {}", String::from_utf8_lossy(&tail));
        tail.extend_from_slice(&buf[..n]);
    }
    assert_eq!(tail, b"bye\n", "the stream is told to finish");
    assert!(!server.is_finished(), "the server waits for the stream's guard");
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(n, 0, "then the stream ends");
    server.stop().await;
    let took = started.elapsed();
    assert!(took >= STREAM_LINGER, "the shutdown lasted as long as the stream ({took:?})");
    assert!(took < Duration::from_secs(3), "and not until the grace ({took:?})");
}
