//! The port proxy: `ANY /proxy/{capsule_id}/{port}/{rest…}` is forwarded to
//! `http://{capsule_ip}:{port}/{rest…}`, so that the control plane can route
//! `{port}-{capsule_id}.{domain}` to a service listening inside a capsule.
//!
//! Bodies stream in both directions and are never buffered, so a 10 GiB
//! upload or an endless event stream costs the agent only a few buffers.
//! `Connection: Upgrade` requests (WebSocket) are forwarded as they are and,
//! once the capsule answers 101, the two upgraded connections are spliced.
//! Every proxied request, and every open upgraded connection, counts as
//! capsule activity through [`CapsuleResolver::touch`]; the original agent
//! did not count proxy traffic, so a capsule that only served HTTP was paused
//! under its users.
//!
//! What it deliberately does not do: decide who may reach a port (the control
//! plane does; the `X-Forwarded-*` headers it sends are trusted and extended),
//! know how capsules are stored (it asks a [`CapsuleResolver`]), or speak TLS
//! or HTTP/2 to a capsule (plain HTTP/1.1 over the capsule's private link).
//!
//! Connection reuse: one pooled client serves all capsules, keyed by the
//! upstream `ip:port`, so nothing needs evicting when a capsule goes away:
//! its idle connections die with its network and are dropped from the pool
//! by their idle timeout or at the next checkout. Invariant for the network
//! allocator: a capsule IP must not be handed to a new capsule while the
//! previous holder's idle connections may still be pooled
//! ([`POOL_IDLE_TIMEOUT`]), or one request could hit a dead connection and
//! get a 502.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{StatusCode, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wrenn_types::CapsuleId;

mod error;
mod headers;
mod target;
mod upgrade;

pub use error::ProxyError;

/// How long the proxy waits for a capsule's port to accept a connection.
/// There is no overall request timeout: responses may stream for hours.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle upstream connection is kept for reuse.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Idle connections kept per upstream `ip:port`.
const POOL_MAX_IDLE_PER_TARGET: usize = 32;

/// Where the proxy learns whether a capsule can be reached, and where it
/// reports activity.
///
/// Both methods are called on a tokio worker for every request, so they must
/// answer from memory without blocking (a `watch` snapshot, or a std lock
/// held only for the lookup).
pub trait CapsuleResolver: Send + Sync + 'static {
    /// The capsule's address on its private link, if it is running.
    fn resolve(&self, capsule_id: &CapsuleId) -> Result<IpAddr, ResolveError>;

    /// Records that the capsule is in use (resets its idle timer).
    fn touch(&self, capsule_id: &CapsuleId);
}

/// Why a capsule cannot be proxied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No such capsule on this host.
    #[error("capsule not found")]
    NotFound,
    /// The capsule exists but is not running (paused, starting, stopping).
    #[error("capsule is not running")]
    Unavailable,
}

/// The proxy routes, ready to be merged into the agent's HTTP router.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so
/// that `X-Forwarded-For` can name the peer.
pub fn router(resolver: Arc<dyn CapsuleResolver>) -> Router {
    let proxy = Arc::new(Proxy::new(resolver));
    // A wildcard never matches an empty segment, hence the two short routes.
    Router::new()
        .route("/proxy/{capsule_id}/{port}", any(handle))
        .route("/proxy/{capsule_id}/{port}/", any(handle))
        .route("/proxy/{capsule_id}/{port}/{*rest}", any(handle))
        .with_state(proxy)
}

struct Proxy {
    resolver: Arc<dyn CapsuleResolver>,
    client: Client<HttpConnector, Body>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").finish_non_exhaustive()
    }
}

impl Proxy {
    fn new(resolver: Arc<dyn CapsuleResolver>) -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_TARGET)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Proxy { resolver, client }
    }

    async fn forward(&self, mut request: Request) -> Result<Response, ProxyError> {
        let path = target::ProxyPath::parse(request.uri().path())?;
        let capsule_id = path.capsule_id;
        let port = path.port;
        let ip = self.resolver.resolve(&capsule_id).map_err(|err| match err {
            ResolveError::NotFound => ProxyError::CapsuleNotFound { capsule_id },
            ResolveError::Unavailable => ProxyError::CapsuleUnavailable { capsule_id },
        })?;
        self.resolver.touch(&capsule_id);

        let upstream = SocketAddr::new(ip, port);
        let uri = target::upstream_uri(upstream, path.rest, request.uri().query())?;
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let forwarded = headers::Forwarded::of(&request, peer);
        let upgrade_protocol = headers::upgrade_protocol(request.headers());
        let client_upgrade = upgrade_protocol.is_some().then(|| hyper::upgrade::on(&mut request));

        let (mut parts, body) = request.into_parts();
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        parts.extensions = http::Extensions::new();
        headers::prepare_request(&mut parts.headers, upstream, upgrade_protocol, &forwarded);

        let mut response = self.client.request(http::Request::from_parts(parts, body)).await.map_err(|source| {
            if source.is_connect() {
                ProxyError::UpstreamConnect { capsule_id, port, source }
            } else {
                ProxyError::Upstream { capsule_id, port, source }
            }
        })?;

        let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        if switching {
            let Some(client_upgrade) = client_upgrade else {
                return Err(ProxyError::UnexpectedUpgrade { capsule_id, port });
            };
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            upgrade::spawn_bridge(client_upgrade, upstream_upgrade, capsule_id, Arc::clone(&self.resolver));
        }
        let prefix = target::public_prefix(&capsule_id, port);
        headers::prepare_response(response.headers_mut(), switching, &prefix, upstream);
        Ok(response.map(Body::new))
    }
}

async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    match proxy.forward(request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}
