//! A proxy on 127.0.0.1:0 in front of loopback test upstreams: an HTTP
//! server (echo, checksum upload, blob download, redirect, event stream) and
//! a WebSocket echo server. Capsules resolve to 127.0.0.1.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use wrenn_agent::proxy::{self, CapsuleResolver, ResolveError};
use wrenn_types::CapsuleId;

pub(crate) const CHUNK: usize = 64 * 1024;

pub(crate) struct Harness {
    pub(crate) proxy: SocketAddr,
    pub(crate) upstream: SocketAddr,
    pub(crate) ws_upstream: SocketAddr,
    pub(crate) capsule_id: CapsuleId,
    pub(crate) resolver: Arc<FakeResolver>,
    pub(crate) upstream_state: Arc<UpstreamState>,
    pub(crate) http: reqwest::Client,
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        let capsule_id = CapsuleId::from_u128(0x5eed);
        let resolver = Arc::new(FakeResolver::default());
        resolver.set(capsule_id, Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let proxy = serve(proxy::router(Arc::clone(&resolver) as Arc<dyn CapsuleResolver>)).await;
        let upstream_state = Arc::new(UpstreamState::default());
        let upstream = serve(upstream_router(Arc::clone(&upstream_state))).await;
        let ws_upstream = spawn_ws_echo().await;
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Harness { proxy, upstream, ws_upstream, capsule_id, resolver, upstream_state, http }
    }

    /// The proxy URL for `rest` (with its leading `/`) on `port` of the capsule.
    pub(crate) fn url(&self, port: u16, rest: &str) -> String {
        format!("http://{}/proxy/{}/{port}{rest}", self.proxy, self.capsule_id)
    }
}

#[derive(Default)]
pub(crate) struct FakeResolver {
    capsules: Mutex<HashMap<CapsuleId, Result<IpAddr, ResolveError>>>,
    pub(crate) touches: AtomicUsize,
}

impl FakeResolver {
    pub(crate) fn set(&self, capsule_id: CapsuleId, state: Result<IpAddr, ResolveError>) {
        self.capsules.lock().unwrap().insert(capsule_id, state);
    }

    pub(crate) fn touches(&self) -> usize {
        self.touches.load(Ordering::SeqCst)
    }
}

impl CapsuleResolver for FakeResolver {
    fn resolve(&self, capsule_id: &CapsuleId) -> Result<IpAddr, ResolveError> {
        self.capsules.lock().unwrap().get(capsule_id).copied().unwrap_or(Err(ResolveError::NotFound))
    }

    fn touch(&self, _capsule_id: &CapsuleId) {
        self.touches.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
pub(crate) struct UpstreamState {
    /// Notified when the first chunk of an upload reaches the upstream.
    pub(crate) upload_started: Notify,
    /// Lets `/events` send its second event.
    pub(crate) release_events: Notify,
}

/// The deterministic `index`-th chunk of a streamed body.
pub(crate) fn chunk(index: u64) -> Vec<u8> {
    let mut state = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut bytes = Vec::with_capacity(CHUNK);
    while bytes.len() < CHUNK {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes
}

/// The hex SHA-256 of `n_chunks` chunks.
pub(crate) fn chunks_sha256(n_chunks: u64) -> String {
    let mut hasher = Sha256::new();
    for index in 0..n_chunks {
        hasher.update(chunk(index));
    }
    hex::encode(hasher.finalize())
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    addr
}

fn upstream_router(state: Arc<UpstreamState>) -> Router {
    Router::new()
        .route("/sha", post(sha))
        .route("/blob", get(blob))
        .route("/redirect", get(redirect))
        .route("/events", get(events))
        .fallback(echo)
        .with_state(state)
}

async fn echo(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request) -> Response {
    let headers: HashMap<String, String> =
        request.headers().iter().map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned())).collect();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap();
    axum::Json(serde_json::json!({
        "method": method.as_str(),
        "uri": uri.to_string(),
        "peer": peer.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
    .into_response()
}

async fn sha(State(state): State<Arc<UpstreamState>>, body: Body) -> String {
    let mut stream = body.into_data_stream();
    let mut hasher = Sha256::new();
    let mut n_bytes = 0usize;
    while let Some(frame) = stream.next().await {
        let data = frame.unwrap();
        if n_bytes == 0 && !data.is_empty() {
            state.upload_started.notify_one();
        }
        n_bytes += data.len();
        hasher.update(&data);
    }
    format!("{} {n_bytes}", hex::encode(hasher.finalize()))
}

async fn blob(Query(query): Query<HashMap<String, String>>) -> Body {
    let n_chunks: u64 = query["chunks"].parse().unwrap();
    Body::from_stream(futures::stream::iter((0..n_chunks).map(|index| Ok::<_, std::io::Error>(chunk(index)))))
}

async fn redirect(Query(query): Query<HashMap<String, String>>) -> Response {
    (http::StatusCode::FOUND, [(http::header::LOCATION, query["to"].clone())]).into_response()
}

async fn events(State(state): State<Arc<UpstreamState>>) -> Response {
    let stream = futures::stream::unfold(0, move |step| {
        let state = Arc::clone(&state);
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>("data: one\n\n"), 1)),
                1 => {
                    state.release_events.notified().await;
                    Some((Ok("data: two\n\n"), 2))
                }
                _ => None,
            }
        }
    });
    ([(http::header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream)).into_response()
}

async fn spawn_ws_echo() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_close() {
                        break;
                    }
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Waits at most `secs` seconds, failing the test with `what` on timeout.
pub(crate) async fn within<F: std::future::Future>(secs: u64, what: &str, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), future).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}
