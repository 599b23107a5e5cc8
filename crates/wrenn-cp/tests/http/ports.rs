//! Port traffic through the real API router (`api::router` over `serve`)
//! to the host agent's real port proxy (`wrenn_agent::proxy::router`,
//! served over mTLS with a certificate from the test's CA), on both
//! backends. The agent's capsule lookup is the one stand-in: it places
//! every capsule at 127.0.0.1, where the test's upstream app listens, so
//! these tests need neither root nor templates (the lifecycle tests cover
//! real capsules).
//!
//! Covered: credentials (API key, other team's key, traffic tokens in both
//! headers, rotation, public capsules), the answers for capsules that do
//! not run, bad hosts, what the capsule receives (credentials stripped,
//! `X-Forwarded-*`), untouched app answers, `Location`, large bodies both
//! ways, a closed port, and a WebSocket round trip.

use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use reqwest::header::HOST;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wrenn_agent::proxy::{CapsuleResolver, ResolveError};
use wrenn_agent::rpc::TlsConfig;
use wrenn_cp::Store;
use wrenn_cp::app::{AgentPool, App, AppConfig};
use wrenn_cp::events::{BusOptions, EventBus};
use wrenn_cp::http::{self, AppState};
use wrenn_cp::pki::{CertificateAuthority, ClientCert, client_config};
use wrenn_cp::store::{CapsuleOp, HostKind, HostSpecs, NewApiKey, NewHost, Registration, generate_api_key};
use wrenn_types::{CapsuleId, HostId, TeamId};

use crate::harness::{Ctx, HOUR_MS, RESERVE, ask, both, specs, team};
use crate::server::{client, error_body, json_of};

both! {
    credentials_decide_who_reaches_a_port,
    capsules_that_do_not_run_are_refused,
    traffic_passes_through_unchanged,
}

/// The stand-in for the agent's capsule manager: every capsule runs at
/// 127.0.0.1.
#[derive(Debug)]
struct Loopback;

impl CapsuleResolver for Loopback {
    fn resolve(&self, _capsule_id: &CapsuleId) -> Result<IpAddr, ResolveError> {
        Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    fn touch(&self, _capsule_id: &CapsuleId) {}
}

/// The API and an agent whose host is registered in the store, plus the
/// upstream app "inside" the capsules.
struct Setup {
    store: Store,
    api: SocketAddr,
    /// The port the upstream app listens on.
    app_port: u16,
    host_id: HostId,
    team: TeamId,
    key: String,
}

impl Setup {
    async fn start(store: Store) -> Setup {
        let ca = CertificateAuthority::generate().expect("a CA");
        let agent = start_agent(&ca).await;
        let host_id = register_host(&store, &agent.to_string()).await;
        let app_port = start_app().await;

        let tls = client_config(&ca, ClientCert::issue(&ca).expect("a client certificate")).expect("client TLS");
        let bus = EventBus::in_process(BusOptions::default()).expect("an event bus");
        let app = App::new(store.clone(), bus, AgentPool::new(tls), std::sync::Arc::new(ca), AppConfig::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the API");
        let api = listener.local_addr().expect("the API's address");
        tokio::spawn(http::serve(listener, wrenn_cp::api::router(AppState::new(app)), std::future::pending()));

        let team = team(&store).await.id;
        let key = api_key(&store, team).await;
        Setup { store, api, app_port, host_id, team, key }
    }

    /// A capsule of `team` on the test host, moved through `ops`.
    async fn capsule(&self, team: TeamId, public: bool, ops: &[CapsuleOp]) -> CapsuleId {
        let capsule = self
            .store
            .create_capsule(wrenn_cp::store::NewCapsule { public, ..ask(team, 256, 256) }, RESERVE)
            .await
            .expect("admit a capsule");
        assert_eq!(capsule.host_id, self.host_id);
        for &op in ops {
            self.store.transition(capsule.id, op, "").await.expect("transition").expect("a valid transition");
        }
        capsule.id
    }

    async fn running(&self, public: bool) -> CapsuleId {
        self.capsule(self.team, public, &[CapsuleOp::Start, CapsuleOp::Started]).await
    }

    /// `GET {path}` on `{port}-{capsule}.localhost` with `headers`.
    async fn get(&self, port: u16, capsule: CapsuleId, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = client()
            .get(format!("http://{}{path}", self.api))
            .header(HOST, format!("{port}-{capsule}.localhost:{}", self.api.port()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("a response")
    }

    async fn status(&self, capsule: CapsuleId, headers: &[(&str, &str)]) -> StatusCode {
        self.get(self.app_port, capsule, "/hello", headers).await.status()
    }
}

async fn credentials_decide_who_reaches_a_port(ctx: Ctx) {
    let setup = Setup::start(ctx.store.clone()).await;
    let capsule = setup.running(false).await;
    let key = setup.key.as_str();

    let (status, _, body) = json_of(setup.get(setup.app_port, capsule, "/hello", &[]).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("missing credentials"), "{body}");
    let (status, _, body) =
        json_of(setup.get(setup.app_port, capsule, "/hello", &[("x-api-key", "wrn_nope")]).await).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, error_body("unauthorized", "invalid API key")));
    assert_eq!(setup.status(capsule, &[("X-API-Key", key)]).await, StatusCode::OK);

    // Another team's key: the capsule does not exist for it.
    let stranger = api_key(&setup.store, team(&setup.store).await.id).await;
    let (status, _, body) = json_of(setup.get(setup.app_port, capsule, "/", &[("x-api-key", &stranger)]).await).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, error_body("not_found", &format!("capsule {capsule} not found")))
    );
    let unknown = CapsuleId::from_u128(7);
    assert_eq!(setup.status(unknown, &[("x-api-key", key)]).await, StatusCode::NOT_FOUND);

    // Traffic tokens: issued to the team only, in either header, and a new
    // one replaces the old.
    let issue = |id: CapsuleId, key: String| {
        let url = format!("http://{}/v1/capsules/{id}/traffic-token", setup.api);
        async move { json_of(client().post(url).header("x-api-key", key).send().await.unwrap()).await }
    };
    let (status, _, body) = issue(capsule, stranger.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, body) = issue(capsule, key.to_owned()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((&body["capsule_id"], &body["header"]), (&json!(capsule.to_string()), &json!("X-Wrenn-Traffic-Token")));
    let first = body["traffic_token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("wrt_"), "{first}");
    assert_eq!(setup.status(capsule, &[("x-wrenn-traffic-token", &first)]).await, StatusCode::OK);
    assert_eq!(setup.status(capsule, &[("e2b-traffic-access-token", &first)]).await, StatusCode::OK);
    // A valid token admits whatever key comes with it.
    assert_eq!(
        setup.status(capsule, &[("x-wrenn-traffic-token", &first), ("x-api-key", &stranger)]).await,
        StatusCode::OK
    );
    let second = issue(capsule, key.to_owned()).await.2["traffic_token"].as_str().unwrap().to_owned();
    let (status, _, body) =
        json_of(setup.get(setup.app_port, capsule, "/", &[("x-wrenn-traffic-token", &first)]).await).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, error_body("unauthorized", "invalid traffic token")));
    assert_eq!(setup.status(capsule, &[("x-wrenn-traffic-token", &second)]).await, StatusCode::OK);
    // A token is for its own capsule only.
    let other = setup.running(false).await;
    assert_eq!(setup.status(other, &[("x-wrenn-traffic-token", &second)]).await, StatusCode::UNAUTHORIZED);

    // A public capsule needs nothing, and ignores wrong credentials.
    let public = setup.running(true).await;
    assert_eq!(setup.status(public, &[]).await, StatusCode::OK);
    assert_eq!(setup.status(public, &[("x-api-key", "wrn_nope")]).await, StatusCode::OK);
}

async fn capsules_that_do_not_run_are_refused(ctx: Ctx) {
    let setup = Setup::start(ctx.store.clone()).await;
    let key = [("x-api-key", setup.key.as_str())];
    let pending = setup.capsule(setup.team, false, &[]).await;
    let paused = setup
        .capsule(setup.team, false, &[CapsuleOp::Start, CapsuleOp::Started, CapsuleOp::Pause, CapsuleOp::Paused])
        .await;
    for capsule in [pending, paused] {
        let response = setup.get(setup.app_port, capsule, "/hello", &key).await;
        assert_eq!(response.headers()["retry-after"], "1");
        let (status, _, body) = json_of(response).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "capsule_unavailable");
    }
    // Credentials come first: nothing about the capsule without them.
    assert_eq!(setup.status(paused, &[]).await, StatusCode::UNAUTHORIZED);

    let stopped = setup.capsule(setup.team, false, &[CapsuleOp::Stop, CapsuleOp::Stopped]).await;
    let (status, _, body) = json_of(setup.get(setup.app_port, stopped, "/", &key).await).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::CONFLICT, &json!("invalid_state")), "{body}");

    // Nothing listens on the port: the agent's 502, still in our shape.
    let running = setup.running(false).await;
    let closed = closed_port().await;
    let (status, _, body) = json_of(setup.get(closed, running, "/", &key).await).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");

    // Hosts that name no valid port or capsule; hosts that are the API's.
    for host in [format!("0-{running}.localhost"), "8080-cl-nope.localhost".to_owned()] {
        let response = client().get(format!("http://{}/", setup.api)).header(HOST, &host).send().await.unwrap();
        let (status, _, body) = json_of(response).await;
        assert_eq!((status, &body["error"]["code"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")), "{host}");
    }
    for host in ["localhost".to_owned(), format!("api.{running}.localhost"), setup.api.to_string()] {
        let response = client().get(format!("http://{}/health", setup.api)).header(HOST, &host).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
}

async fn traffic_passes_through_unchanged(ctx: Ctx) {
    let setup = Setup::start(ctx.store.clone()).await;
    let capsule = setup.running(false).await;
    let host = format!("{}-{capsule}.localhost:{}", setup.app_port, setup.api.port());
    let key = setup.key.as_str();

    // What the app receives: no credentials, the host that was asked for.
    let response = setup
        .get(
            setup.app_port,
            capsule,
            "/headers?x=1",
            &[("x-api-key", key), ("x-wrenn-traffic-token", "wrt_x"), ("x-app", "kept")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["query"], "x=1");
    assert_eq!(seen["x-app"], "kept");
    assert_eq!(seen["x-forwarded-host"], json!(host));
    assert_eq!(seen["x-forwarded-proto"], "http");
    for stripped in ["x-api-key", "x-wrenn-traffic-token", "e2b-traffic-access-token"] {
        assert_eq!(seen[stripped], Value::Null, "{stripped} reached the app");
    }

    // The app's own error answers and redirects reach the client as sent.
    let response = setup.get(setup.app_port, capsule, "/missing", &[("x-api-key", key)]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.text().await.unwrap(), "no such page");
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects
        .get(format!("http://{}/redirect", setup.api))
        .header(HOST, &host)
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/target?from=redirect");

    // A body larger than the API's limit, there and back.
    let body: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    let response = client()
        .post(format!("http://{}/echo", setup.api))
        .header(HOST, &host)
        .header("x-api-key", key)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap() == body, "the echoed body differs");

    // A WebSocket: the handshake through both proxies, then frames both ways.
    let mut socket = TcpStream::connect(setup.api).await.unwrap();
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    socket.write_all(handshake.as_bytes()).await.unwrap();
    let head = read_head(&mut socket).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");
    for text in ["ping", "second message"] {
        socket.write_all(&masked_text_frame(text)).await.unwrap();
        assert_eq!(read_text_frame(&mut socket).await, format!("echo: {text}"));
    }
}

/// Starts the agent's port proxy over mTLS on 127.0.0.1 with a server
/// certificate from `ca`; its address.
async fn start_agent(ca: &CertificateAuthority) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the agent");
    let addr = listener.local_addr().expect("the agent's address");
    let issued = ca.issue_host_certificate(HostId::from_u128(0x42), &addr.to_string()).expect("a host certificate");
    let tls = TlsConfig {
        cert_pem: issued.cert_pem.clone().into_bytes(),
        key_pem: issued.key_pem.clone().into_bytes(),
        client_ca_pem: ca.cert_pem().as_bytes().to_vec(),
    };
    let (config, _cert) = wrenn_agent::rpc::tls::server_config(&tls).expect("the agent's TLS configuration");
    let proxy = wrenn_agent::proxy::router(Arc::new(Loopback) as Arc<dyn CapsuleResolver>);
    tokio::spawn(connectrpc::axum::serve_tls(listener, proxy, config).into_future());
    addr
}

/// A registered online host at `address`.
async fn register_host(store: &Store, address: &str) -> HostId {
    let (host, token) = store
        .create_host(NewHost { kind: HostKind::Regular, team_id: None, created_by: None }, HOUR_MS)
        .await
        .expect("create a host");
    let specs = HostSpecs { address: address.to_owned(), ..specs(16_384, 100_000) };
    match store.register_host(&token.secret, &specs).await.expect("register the host") {
        Registration::Registered(registered) => {
            assert_eq!(registered.id, host.id);
            host.id
        }
        other => panic!("registration failed: {other:?}"),
    }
}

async fn api_key(store: &Store, team_id: TeamId) -> String {
    let secret = generate_api_key().unwrap();
    store.create_api_key(NewApiKey { team_id, name: "ports", secret: &secret, created_by: None }).await.unwrap();
    secret
}

/// The app "inside" the capsules, on 127.0.0.1; its port.
async fn start_app() -> u16 {
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/headers", get(headers))
        .route("/redirect", get(|| async { (StatusCode::FOUND, [("location", "/target?from=redirect")]) }))
        .route("/echo", post(|body: axum::body::Body| async move { body }))
        .route("/ws", get(|upgrade: WebSocketUpgrade| async move { upgrade.on_upgrade(echo) }))
        .fallback(|| async { (StatusCode::NOT_FOUND, [("content-type", "text/plain")], "no such page") });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the app");
    let port = listener.local_addr().expect("the app's address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// The request's headers (and query) as JSON.
async fn headers(uri: axum::http::Uri, headers: HeaderMap) -> impl IntoResponse {
    let mut seen: serde_json::Map<String, Value> =
        headers.iter().map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap_or("")))).collect();
    seen.insert("query".to_owned(), json!(uri.query()));
    axum::Json(Value::Object(seen))
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(Message::Text(text))) = socket.recv().await {
        if socket.send(Message::Text(format!("echo: {}", text.as_str()).into())).await.is_err() {
            return;
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn read_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read =
            tokio::time::timeout(Duration::from_secs(10), socket.read(&mut byte)).await.expect("a response head");
        assert_eq!(read.unwrap(), 1, "the connection closed inside the head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A client's text frame (FIN, masked), for payloads under 126 bytes.
fn masked_text_frame(text: &str) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | u8::try_from(text.len()).unwrap()];
    frame.extend(mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A server's unmasked text frame under 126 bytes; its text.
async fn read_text_frame(socket: &mut TcpStream) -> String {
    let mut header = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut header)).await.expect("a frame").unwrap();
    assert_eq!(header[0], 0x81, "a final text frame");
    let mut payload = vec![0u8; usize::from(header[1])];
    socket.read_exact(&mut payload).await.unwrap();
    String::from_utf8(payload).unwrap()
}
