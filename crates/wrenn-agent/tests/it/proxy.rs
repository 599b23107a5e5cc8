//! The port proxy end to end on loopback: a real proxy server in front of
//! real upstream servers, driven by a real HTTP and WebSocket client.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio_tungstenite::tungstenite::Message;
use wrenn_agent::proxy::ResolveError;
use wrenn_types::CapsuleId;

use crate::proxy::harness::{CHUNK, Harness, chunk, chunks_sha256, within};

mod harness;

/// 64 MiB: far more than any buffer the proxy may hold.
const LARGE_CHUNKS: u64 = 1024;

#[tokio::test]
async fn forwards_method_path_query_and_headers() {
    let harness = Harness::start().await;
    let port = harness.upstream.port();
    let response = harness
        .http
        .put(harness.url(port, "/a/b%20c?x=1&y=two"))
        .header("x-custom", "kept")
        .header("connection", "x-private")
        .header("x-private", "dropped")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo: serde_json::Value = response.json().await.unwrap();
    let headers = &echo["headers"];
    assert_eq!(headers["host"], harness.upstream.to_string());
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-host"], harness.proxy.to_string());
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["x-private"], serde_json::Value::Null);
    assert_eq!(echo["body"], "payload");
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["uri"], "/a/b%20c?x=1&y=two");

    for (rest, want) in [("", "/"), ("/", "/"), ("?q=1", "/?q=1")] {
        let echo: serde_json::Value =
            harness.http.get(harness.url(port, rest)).send().await.unwrap().json().await.unwrap();
        assert_eq!(echo["uri"], want, "{rest:?}");
    }
    assert!(harness.resolver.touches() >= 4, "every request touches the capsule");
}

#[tokio::test]
async fn reuses_upstream_connections() {
    let harness = Harness::start().await;
    let mut peers = std::collections::HashSet::new();
    for _ in 0..10 {
        let echo: serde_json::Value =
            harness.http.get(harness.url(harness.upstream.port(), "/")).send().await.unwrap().json().await.unwrap();
        peers.insert(echo["peer"].as_str().unwrap().to_owned());
    }
    assert_eq!(peers.len(), 1, "sequential requests share one upstream connection: {peers:?}");
}

#[tokio::test]
async fn streams_a_large_upload() {
    let harness = Harness::start().await;
    let state = Arc::clone(&harness.upstream_state);
    // The second chunk is only produced once the upstream has seen the first:
    // a proxy that buffered the body would never deliver it.
    let body = futures::stream::unfold(0u64, move |index| {
        let state = Arc::clone(&state);
        async move {
            if index == LARGE_CHUNKS {
                return None;
            }
            if index == 1 {
                within(10, "upload reaching the upstream before it ends", state.upload_started.notified()).await;
            }
            Some((Ok::<_, std::io::Error>(chunk(index)), index + 1))
        }
    });
    let response = harness
        .http
        .post(harness.url(harness.upstream.port(), "/sha"))
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let want = format!("{} {}", chunks_sha256(LARGE_CHUNKS), LARGE_CHUNKS as usize * CHUNK);
    assert_eq!(response.text().await.unwrap(), want);
}

#[tokio::test]
async fn streams_a_large_download() {
    let harness = Harness::start().await;
    let url = harness.url(harness.upstream.port(), &format!("/blob?chunks={LARGE_CHUNKS}"));
    let response = harness.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut hasher = Sha256::new();
    let mut n_bytes = 0;
    while let Some(bytes) = stream.next().await {
        let bytes = bytes.unwrap();
        n_bytes += bytes.len();
        hasher.update(&bytes);
    }
    assert_eq!(n_bytes, LARGE_CHUNKS as usize * CHUNK);
    assert_eq!(hex::encode(hasher.finalize()), chunks_sha256(LARGE_CHUNKS));
}

#[tokio::test]
async fn delivers_event_streams_incrementally() {
    let harness = Harness::start().await;
    let mut response = harness.http.get(harness.url(harness.upstream.port(), "/events")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let first = within(5, "first event before the stream ends", response.chunk()).await.unwrap().unwrap();
    assert_eq!(&first[..], b"data: one\n\n");
    harness.upstream_state.release_events.notify_one();
    let rest = within(5, "rest of the stream", response.bytes()).await.unwrap();
    assert_eq!(&rest[..], b"data: two\n\n");
}

#[tokio::test]
async fn rewrites_locations() {
    let harness = Harness::start().await;
    let port = harness.upstream.port();
    let prefix = format!("/proxy/{}/{port}", harness.capsule_id);
    let cases = [
        ("/login?next=1".to_owned(), format!("{prefix}/login?next=1")),
        (format!("http://{}/y?z=1", harness.upstream), format!("{prefix}/y?z=1")),
        ("https://example.com/x".to_owned(), "https://example.com/x".to_owned()),
        ("relative".to_owned(), "relative".to_owned()),
    ];
    for (to, want) in cases {
        let url = reqwest::Url::parse_with_params(&harness.url(port, "/redirect"), [("to", &to)]).unwrap();
        let response = harness.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], want.as_str(), "{to}");
    }
}

#[tokio::test]
async fn reports_errors_as_json() {
    let harness = Harness::start().await;
    let unavailable = CapsuleId::from_u128(1);
    harness.resolver.set(unavailable, Err(ResolveError::Unavailable));
    let closed_port = {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy = harness.proxy;
    let id = harness.capsule_id;
    let cases = [
        ("/proxy/not-an-id/80/".to_owned(), 400, "invalid_capsule_id"),
        (format!("/proxy/{id}/0/"), 400, "invalid_port"),
        (format!("/proxy/{id}/65536"), 400, "invalid_port"),
        (format!("/proxy/{id}/http/x"), 400, "invalid_port"),
        (format!("/proxy/{}/80/", CapsuleId::from_u128(2)), 404, "capsule_not_found"),
        (format!("/proxy/{unavailable}/80/x"), 503, "capsule_unavailable"),
        (format!("/proxy/{id}/{closed_port}/x"), 502, "upstream_unreachable"),
    ];
    let touches_before = harness.resolver.touches();
    for (path, status, code) in cases {
        let response = harness.http.get(format!("http://{proxy}{path}")).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty() && message.chars().next().unwrap().is_lowercase(), "{path}: {message}");
    }
    assert_eq!(harness.resolver.touches(), touches_before + 1, "only the capsule that was reached is touched");
}

#[tokio::test]
async fn bridges_websockets() {
    let harness = Harness::start().await;
    let touches_before = harness.resolver.touches();
    let url = harness.url(harness.ws_upstream.port(), "/ws").replace("http://", "ws://");
    let stream = tokio::net::TcpStream::connect(harness.proxy).await.unwrap();
    let (mut ws, response) =
        within(5, "websocket handshake", tokio_tungstenite::client_async(url, stream)).await.unwrap();
    assert_eq!(response.status(), 101);

    ws.send(Message::text("hello")).await.unwrap();
    let echoed = within(5, "text echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed, Message::text("hello"));

    let big: Vec<u8> = (0..4).flat_map(chunk).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    let echoed = within(5, "binary echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed.into_data(), big);

    ws.close(None).await.unwrap();
    while let Some(Ok(_)) = within(5, "close", ws.next()).await {}
    assert!(harness.resolver.touches() > touches_before);
}

#[tokio::test]
async fn reaches_ipv6_loopback() {
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("skipped (no IPv6 loopback)");
        return;
    };
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let router = axum::Router::new().fallback(|| async { "over ipv6" });
        axum::serve(listener, router).await.unwrap();
    });
    let harness = Harness::start().await;
    let capsule_id = CapsuleId::from_u128(6);
    harness.resolver.set(capsule_id, Ok(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)));
    let url = format!("http://{}/proxy/{capsule_id}/{}/", harness.proxy, upstream.port());
    assert_eq!(harness.http.get(url).send().await.unwrap().text().await.unwrap(), "over ipv6");
}

/// Not a pass/fail benchmark: prints p50/p99 of a small GET, direct and
/// through the proxy, so that the proxy's overhead stays visible.
#[tokio::test]
async fn measures_round_trip_overhead() {
    const N: usize = 1000;
    let harness = Harness::start().await;
    let direct = format!("http://{}/ping", harness.upstream);
    let proxied = harness.url(harness.upstream.port(), "/ping");
    let direct = round_trips(&harness.http, &direct, N).await;
    let proxied = round_trips(&harness.http, &proxied, N).await;
    eprintln!(
        "proxy round trip over {N} GETs: direct p50 {:?} p99 {:?}; proxied p50 {:?} p99 {:?}",
        direct[N / 2],
        direct[N * 99 / 100],
        proxied[N / 2],
        proxied[N * 99 / 100],
    );
    assert!(proxied[N / 2] < Duration::from_millis(50), "proxied p50 {:?}", proxied[N / 2]);
}

async fn round_trips(http: &reqwest::Client, url: &str, n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n + 50 {
        let started = Instant::now();
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        samples.push(started.elapsed());
    }
    // The first requests warm up both connection pools.
    samples.drain(..50);
    samples.sort();
    samples
}

#[tokio::test]
async fn times_out_connecting() {
    // A listener that never accepts, with its queue full: the kernel drops
    // further SYNs, so a connection attempt hangs instead of being refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    let listener = socket.listen(0).unwrap();
    let stuck = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_millis(200), tokio::net::TcpStream::connect(stuck)).await
        {
            fillers.push(stream);
        }
    }
    let harness = Harness::start().await;
    let started = Instant::now();
    let response = harness.http.get(harness.url(stuck.port(), "/")).send().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_unreachable");
    assert!(waited >= Duration::from_secs(4) && waited < Duration::from_secs(8), "waited {waited:?}");
}
