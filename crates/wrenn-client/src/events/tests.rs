//! [`EventStream`] against a small local HTTP server that sends chosen
//! bytes in chosen chunks, and the [`Event`] model against the payloads
//! the control plane sends.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;

use super::*;
use crate::{CapsuleStatus, ErrorCode};

const KEY: &str = "wrn_events_test";

/// What the test server does once its chunks are sent.
#[derive(Debug, Clone, Copy)]
enum Then {
    Close,
    Hang,
}

/// Serves `GET /v1/events/stream` sending `chunks` one by one (5 ms apart,
/// so they cross the network as separate reads), and answers 401 to any
/// other key. Returns a client for it.
async fn serve(chunks: Vec<Vec<u8>>, then: Then) -> Client {
    serve_paced(chunks, then, Duration::from_millis(5)).await
}

/// [`serve`] with `pause` before each chunk.
async fn serve_paced(chunks: Vec<Vec<u8>>, then: Then, pause: Duration) -> Client {
    let handler = move |headers: HeaderMap| {
        let chunks = chunks.clone();
        async move {
            if headers.get(crate::API_KEY_HEADER).and_then(|key| key.to_str().ok()) != Some(KEY) {
                let body = r#"{"error":{"code":"unauthorized","message":"invalid API key"}}"#;
                return (StatusCode::UNAUTHORIZED, [("content-type", "application/json")], body).into_response();
            }
            let frames = futures::stream::iter(chunks).then(move |chunk| async move {
                tokio::time::sleep(pause).await;
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            });
            let body = match then {
                Then::Close => Body::from_stream(frames),
                Then::Hang => Body::from_stream(frames.chain(futures::stream::pending())),
            };
            Response::builder().header("content-type", "text/event-stream").body(body).unwrap_or_default()
        }
    };
    let app = axum::Router::new().route("/v1/events/stream", get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Client::builder().base_url(format!("http://{address}")).api_key(KEY).build().unwrap()
}

fn chunks(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|part| part.as_bytes().to_vec()).collect()
}

const CONNECTED_JSON: &str = r#"{"event":"connected","timestamp":"2026-01-01T00:00:00.000Z"}"#;
const CREATE_JSON: &str = r#"{"event":"capsule.create","team_id":"team-1","outcome":"success","resource":{"id":"cl-000000000000000000000000z","type":"sandbox"},"actor":{"type":"api_key","id":"key-1","name":"ci"},"metadata":{"host_ip":"10.0.0.1"},"sandbox":{"id":"cl-000000000000000000000000z","status":"running","template":"minimal","vcpus":1,"memory_mb":512},"timestamp":"2026-01-01T00:00:01.000Z"}"#;

#[tokio::test]
async fn events_arrive_whole_across_split_chunks() {
    let create_head = &CREATE_JSON[..40];
    let create_tail = &CREATE_JSON[40..];
    let body = vec![
        "da".to_owned(),
        format!("ta: {CONNECTED_JSON}\r"),
        "\n\r\n: keepalive\n\nevent: capsule.create\ndata: ".to_owned(),
        create_head.to_owned(),
        format!("{create_tail}\n"),
        "\n".to_owned(),
    ];
    let client = serve(body.into_iter().map(String::into_bytes).collect(), Then::Close).await;
    let events: Vec<Result<Event, Error>> = client.events().stream().await.unwrap().collect().await;
    let events: Vec<Event> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].is_connected());
    assert_eq!(events[0].timestamp, "2026-01-01T00:00:00.000Z");
    let create = &events[1];
    assert_eq!(create.event, "capsule.create");
    assert_eq!(create.outcome.as_deref(), Some("success"));
    assert_eq!(create.capsule_id(), Some("cl-000000000000000000000000z"));
    assert_eq!(create.actor.as_ref().map(|actor| actor.name.as_str()), Some("ci"));
    assert_eq!(create.metadata.get("host_ip").map(String::as_str), Some("10.0.0.1"));
    assert_eq!(create.sandbox.as_ref().map(|capsule| &capsule.status), Some(&CapsuleStatus::Running));
}

#[tokio::test]
async fn a_refused_key_is_an_api_error_before_any_event() {
    let client = serve(chunks(&[]), Then::Close).await;
    let wrong = Client::builder().base_url(client.base_url().as_str()).api_key("wrn_wrong").build().unwrap();
    let error = wrong.events().stream().await.unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::Unauthorized), "{error}");
    assert_eq!(error.status(), Some(401));
}

#[tokio::test]
async fn a_bad_event_is_an_error_item_and_the_stream_goes_on() {
    let client = serve(chunks(&["data: {not json\n\n", &format!("data: {CONNECTED_JSON}\n\n")]), Then::Close).await;
    let mut stream = client.events().stream().await.unwrap();
    let first = stream.next().await.unwrap();
    assert!(matches!(&first, Err(Error::Protocol { detail, .. }) if detail.contains("not valid")), "{first:?}");
    assert!(stream.next().await.unwrap().unwrap().is_connected());
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_line_that_never_ends_ends_the_stream_with_an_error() {
    let giant = vec![vec![b'x'; 256 * 1024]; 5];
    let client = serve(giant, Then::Hang).await;
    let mut stream = client.events().stream().await.unwrap();
    let failure = stream.next().await.unwrap();
    assert!(matches!(&failure, Err(Error::Protocol { detail, .. }) if detail.contains("longer than")), "{failure:?}");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_silent_stream_ends_after_the_idle_limit() {
    let client = serve(chunks(&[&format!("data: {CONNECTED_JSON}\n\n")]), Then::Hang).await;
    let mut stream = client.events().idle_timeout(Some(Duration::from_millis(300))).stream().await.unwrap();
    assert!(stream.next().await.unwrap().unwrap().is_connected());
    let started = std::time::Instant::now();
    let failure = stream.next().await.unwrap();
    assert!(matches!(&failure, Err(Error::Protocol { detail, .. }) if detail.contains("silent")), "{failure:?}");
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn keepalives_keep_a_quiet_stream_alive() {
    let mut parts = vec![format!("data: {CONNECTED_JSON}\n\n")];
    // Six keepalives 100 ms apart: 600 ms without an event, never 250 ms of silence.
    parts.extend(std::iter::repeat_n(": keepalive\n\n".to_owned(), 6));
    let client =
        serve_paced(parts.into_iter().map(String::into_bytes).collect(), Then::Close, Duration::from_millis(100)).await;
    let stream = client.events().idle_timeout(Some(Duration::from_millis(250))).stream().await.unwrap();
    let items: Vec<Result<Event, Error>> = stream.collect().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].as_ref().unwrap().is_connected());
}

#[test]
fn events_read_tolerantly() {
    let cases: &[(&str, &str, Option<&str>, usize)] = &[
        // A state change: no outcome, `from`/`to` in metadata.
        (
            r#"{"event":"capsule.state.changed","resource":{"id":"cl-1","type":"sandbox"},"actor":{"type":"system"},"metadata":{"from":"running","to":"pausing"},"timestamp":"t"}"#,
            "capsule.state.changed",
            Some("cl-1"),
            2,
        ),
        // A kind this client does not know, extra fields, null metadata.
        (r#"{"event":"capsule.teleport","extra":[1,2],"metadata":null,"timestamp":"t"}"#, "capsule.teleport", None, 0),
        // A sandbox this client cannot read is dropped, the event kept.
        (r#"{"event":"capsule.create","sandbox":{"status":7},"timestamp":"t"}"#, "capsule.create", None, 0),
        // Non-string labels keep their JSON text.
        (r#"{"event":"host.down","resource":{"id":"host-1","type":"host"},"metadata":{"n":1}}"#, "host.down", None, 1),
        // A capsule id from the sandbox when the resource is missing.
        (r#"{"event":"capsule.pause","sandbox":{"id":"cl-2","status":"paused"}}"#, "capsule.pause", Some("cl-2"), 0),
    ];
    for (json, kind, capsule, labels) in cases {
        let event: Event = serde_json::from_str(json).unwrap_or_else(|err| panic!("{json}: {err}"));
        assert_eq!(
            (event.event.as_str(), event.capsule_id(), event.metadata.len()),
            (*kind, *capsule, *labels),
            "{json}"
        );
    }
    assert!(serde_json::from_str::<Event>(r#"{"outcome":"success"}"#).is_err(), "the kind is required");
}

#[test]
fn events_write_back_without_empty_fields() {
    let event: Event = serde_json::from_str(CONNECTED_JSON).unwrap();
    assert_eq!(serde_json::to_string(&event).unwrap(), CONNECTED_JSON);
}
