//! A real server for one test: the core routes plus test-only routes
//! (protected, echo, slow, panic, an upgraded stream), served by
//! `serve_with` on 127.0.0.1:0 until the test stops it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wrenn_cp::Store;
use wrenn_cp::app::{AgentPool, App, AppConfig};
use wrenn_cp::events::{BusOptions, EventBus};
use wrenn_cp::http::{self, AppState, AuthContext, Json, Path, Query, ServeConfig, StreamGuard};
use wrenn_cp::pki::{CertificateAuthority, ClientCert, client_config};

/// How long the test stream waits between seeing the drain and closing.
pub(crate) const STREAM_LINGER: Duration = Duration::from_millis(300);

#[derive(Debug)]
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestServer {
    pub(crate) async fn start(store: Store, config: ServeConfig) -> TestServer {
        let state = AppState::new(test_app(store));
        let router = http::with_middleware(http::routes(state.clone()).merge(test_routes(state)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(http::serve_with(
            listener,
            router,
            async move {
                let _ = stopped.await;
            },
            config,
        ));
        TestServer { addr, stop: Some(stop), task }
    }

    /// The standard settings, with a short shutdown grace.
    pub(crate) async fn standard(store: Store) -> TestServer {
        TestServer::start(store, ServeConfig { shutdown_grace: Duration::from_secs(2), ..ServeConfig::standard() })
            .await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts the shutdown without waiting for it.
    pub(crate) fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits until `serve` returned; how long that took.
    pub(crate) async fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.begin_shutdown();
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the server stops within 30 s")
            .expect("the server task does not panic");
        started.elapsed()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("client")
}

/// Status, headers and JSON body of a response.
pub(crate) async fn json_of(response: reqwest::Response) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
    let headers = response.headers().clone();
    let content_type = headers.get(header::CONTENT_TYPE.as_str()).map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.expect("body");
    assert_eq!(content_type.as_deref(), Some("application/json"), "not JSON: {status} {text:?}");
    (status, headers, serde_json::from_str(&text).expect("JSON body"))
}

pub(crate) fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// The services over `store`: an in-process bus and an agent pool that
/// no test route calls (these tests have no host).
pub(crate) fn test_app(store: Store) -> App {
    let ca = CertificateAuthority::generate().expect("a CA");
    let tls = client_config(&ca, ClientCert::issue(&ca).expect("a client certificate")).expect("TLS configuration");
    let bus = EventBus::in_process(BusOptions::default()).expect("an event bus");
    App::new(store, bus, AgentPool::new(tls), std::sync::Arc::new(ca), AppConfig::default())
}

fn test_routes(state: AppState) -> Router {
    let group = Router::new()
        .route("/test/group/whoami", get(protected))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), http::require_api_key));
    Router::new()
        .merge(group)
        .route("/test/protected", get(protected))
        .route("/test/echo", post(echo))
        .route("/test/items/{n}", get(item))
        .route("/test/slow", get(slow))
        .route("/test/panic", get(panics))
        .route("/test/stream", get(stream))
        .with_state(state)
}

async fn protected(auth: AuthContext) -> Json<Value> {
    Json(
        json!({"team_id": auth.team_id.to_string(), "api_key_id": auth.api_key_id.to_string(), "key_name": auth.key_name}),
    )
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct Echo {
    text: String,
}

async fn echo(Json(body): Json<Echo>) -> Json<Echo> {
    Json(body)
}

async fn item(Path(n): Path<u32>) -> Json<Value> {
    Json(json!({ "n": n }))
}

#[derive(Debug, Deserialize)]
struct Slow {
    ms: u64,
}

async fn slow(Query(slow): Query<Slow>) -> Json<Value> {
    tokio::time::sleep(Duration::from_millis(slow.ms)).await;
    Json(json!({"slept_ms": slow.ms}))
}

#[allow(clippy::unused_async, reason = "a handler")]
async fn panics() -> Json<Value> {
    panic!("test handler panics on purpose");
}

/// An upgraded raw stream: `hello\n`, then `bye\n` once the server drains,
/// then (after a linger) the end.
async fn stream(mut guard: StreamGuard, mut request: Request) -> Response {
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut io = TokioIo::new(upgraded);
        let _ = io.write_all(b"hello\n").await;
        guard.draining().await;
        let _ = io.write_all(b"bye\n").await;
        tokio::time::sleep(STREAM_LINGER).await;
        let _ = io.shutdown().await;
        drop(guard);
    });
    (StatusCode::SWITCHING_PROTOCOLS, [(header::CONNECTION, "upgrade"), (header::UPGRADE, "test-stream")])
        .into_response()
}

/// `sqlite!(name, …)` turns each `async fn name(ctx: Ctx)` into the test
/// `name::sqlite` (tests where the backend does not matter).
macro_rules! sqlite {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::harness::run(crate::harness::Kind::Sqlite, super::$name).await;
            }
        }
    )*};
}
pub(crate) use sqlite;
