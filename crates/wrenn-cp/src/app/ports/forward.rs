//! Forwarding an admitted request to the agent of the capsule's host:
//! `https://{agent}/proxy/{capsule_id}/{port}{path}?{query}` over the same
//! mTLS as every agent call (the control plane's client certificate,
//! only the CA trusted, the agent's certificate checked for its address).
//!
//! Bodies stream both ways and are never buffered. A request that asks to
//! upgrade (`Connection: upgrade` + `Upgrade`, e.g. a WebSocket) is
//! forwarded as it is; when the agent answers 101, the client's and the
//! agent's upgraded connections are spliced in a task until either side
//! closes or the server shuts down.
//!
//! Headers: hop-by-hop headers are dropped both ways (a 101 keeps its
//! `Connection`/`Upgrade`); our credentials (`X-API-Key` and the traffic
//! token headers) never reach the capsule; `X-Forwarded-Host` is the host
//! the client asked for and `X-Forwarded-Proto` is `http` unless a proxy in
//! front of us said `https`. The agent rewrites a `Location` that names the
//! capsule's own address to its `/proxy/{capsule_id}/{port}` path; that
//! prefix is taken off again here, so the client sees a path on its host.
//!
//! One HTTP/1.1 client (no ALPN: upgrades need HTTP/1.1) with its own pool,
//! keyed by agent address, beside the Connect client's; the same rustls
//! configuration, so a renewed client certificate reaches both.
//!
//! The header rules mirror the agent's own proxy (`wrenn_agent::proxy`),
//! which the control plane does not depend on.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Request, Response, StatusCode, Uri, Version};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use wrenn_types::CapsuleId;

use crate::app::ports::{E2B_TRAFFIC_TOKEN_HEADER, PortRoute, TRAFFIC_TOKEN_HEADER};

/// How long connecting to an agent may take. There is no overall request
/// timeout: a proxied response may stream for hours.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle connection to an agent is kept for reuse.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per agent.
const POOL_MAX_IDLE_PER_AGENT: usize = 32;

/// The headers that carry our credentials: never forwarded.
const CREDENTIAL_HEADERS: [&str; 3] = ["x-api-key", TRAFFIC_TOKEN_HEADER, E2B_TRAFFIC_TOKEN_HEADER];

/// Headers that describe one connection, never the message (RFC 9110
/// §7.6.1), plus the legacy ones proxies traditionally drop.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Why a request did not get an answer from the agent.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("invalid agent URI {uri:?}")]
    Uri {
        uri: String,
        #[source]
        source: axum::http::uri::InvalidUri,
    },
    #[error("cannot connect to the agent of capsule {capsule_id}")]
    Connect {
        capsule_id: CapsuleId,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("the agent of capsule {capsule_id} failed the request")]
    Agent {
        capsule_id: CapsuleId,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("port {port} of capsule {capsule_id} switched protocols without being asked to")]
    UnexpectedUpgrade { capsule_id: CapsuleId, port: u16 },
}

/// The pooled mTLS HTTP/1.1 client that carries port traffic to agents.
#[derive(Clone)]
pub struct PortClient {
    client: Client<HttpsConnector<HttpConnector>, Body>,
}

impl std::fmt::Debug for PortClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortClient").finish_non_exhaustive()
    }
}

impl PortClient {
    /// A client over (a copy of) `tls`, see [`crate::pki::client_config`];
    /// the copy shares its certificate resolver, so rotation reaches it.
    pub fn new(tls: &rustls::ClientConfig) -> PortClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let mut config = tls.clone();
        config.alpn_protocols.clear();
        let https =
            HttpsConnectorBuilder::new().with_tls_config(config).https_only().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_AGENT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        PortClient { client }
    }

    /// Sends `request` to `route` and answers with the agent's response,
    /// its body still streaming. An upgraded connection lives until either
    /// side closes it or `until` completes (server shutdown); whatever
    /// `until` holds is kept that long.
    pub async fn forward(
        &self,
        route: &PortRoute,
        mut request: Request<Body>,
        until: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Response<Body>, ForwardError> {
        let capsule_id = route.capsule_id;
        let uri = agent_uri(route, request.uri())?;
        let forwarded_host = requested_host(&request);
        let upgrade = upgrade_protocol(request.headers());
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));

        let (mut parts, body) = request.into_parts();
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        parts.extensions = axum::http::Extensions::new();
        prepare_request(&mut parts.headers, upgrade, forwarded_host);

        let mut response = self.client.request(Request::from_parts(parts, body)).await.map_err(|source| {
            if source.is_connect() {
                ForwardError::Connect { capsule_id, source }
            } else {
                ForwardError::Agent { capsule_id, source }
            }
        })?;
        let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        if switching {
            let Some(client_upgrade) = client_upgrade else {
                return Err(ForwardError::UnexpectedUpgrade { capsule_id, port: route.port });
            };
            let agent_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(splice(client_upgrade, agent_upgrade, capsule_id, until));
        }
        prepare_response(response.headers_mut(), switching, &agent_prefix(route));
        Ok(response.map(Body::new))
    }
}

/// Copies bytes both ways between the two upgraded connections.
async fn splice(
    client: hyper::upgrade::OnUpgrade,
    agent: hyper::upgrade::OnUpgrade,
    capsule_id: CapsuleId,
    until: impl Future<Output = ()>,
) {
    let (client, agent) = match tokio::try_join!(client, agent) {
        Ok(pair) => pair,
        Err(error) => {
            tracing::debug!(%capsule_id, error = %error, "proxied upgrade did not complete");
            return;
        }
    };
    let (mut client, mut agent) = (TokioIo::new(client), TokioIo::new(agent));
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut client, &mut agent) => match copied {
            Ok((to_agent, to_client)) => tracing::debug!(%capsule_id, to_agent, to_client, "proxied upgrade closed"),
            Err(error) => tracing::debug!(%capsule_id, error = %error, "proxied upgrade broke"),
        },
        () = until => tracing::debug!(%capsule_id, "proxied upgrade closed by the shutdown"),
    }
}

/// The agent's path for the capsule's port, as its `Location` rewriting
/// uses it.
fn agent_prefix(route: &PortRoute) -> String {
    format!("/proxy/{}/{}", route.capsule_id, route.port)
}

/// `https://{agent}/proxy/{capsule_id}/{port}{path}?{query}`, the path and
/// query taken as the client sent them (not decoded).
fn agent_uri(route: &PortRoute, requested: &Uri) -> Result<Uri, ForwardError> {
    let path_and_query = requested.path_and_query().map_or("/", |pq| pq.as_str());
    let path_and_query = if path_and_query.starts_with('/') { path_and_query } else { "/" };
    let uri = format!("https://{}{}{path_and_query}", route.agent_address, agent_prefix(route));
    uri.parse().map_err(|source| ForwardError::Uri { uri, source })
}

/// The host the client asked for: the URI's authority (HTTP/2, or an
/// absolute-form request) or the `Host` header.
fn requested_host<B>(request: &Request<B>) -> Option<HeaderValue> {
    match request.uri().authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => request.headers().get(header::HOST).cloned(),
    }
}

/// The protocol a request asks to upgrade to, if it asks.
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned()).flatten()
}

/// Turns the client's headers into the agent request's headers.
fn prepare_request(headers: &mut HeaderMap, upgrade: Option<HeaderValue>, forwarded_host: Option<HeaderValue>) {
    strip_hop_by_hop(headers);
    headers.remove(header::HOST);
    for name in CREDENTIAL_HEADERS {
        headers.remove(name);
    }
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    match forwarded_host {
        Some(host) => headers.insert(X_FORWARDED_HOST, host),
        None => headers.remove(X_FORWARDED_HOST),
    };
    let proto_https =
        headers.get(&X_FORWARDED_PROTO).is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(if proto_https { "https" } else { "http" }));
}

/// Turns the agent's response headers into the client's.
fn prepare_response(headers: &mut HeaderMap, switching: bool, prefix: &str) {
    let upgrade = switching.then(|| headers.get(header::UPGRADE).cloned()).flatten();
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    let unprefixed = headers
        .get(header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| strip_location_prefix(location, prefix));
    if let Some(location) = unprefixed.and_then(|location| HeaderValue::from_str(&location).ok()) {
        headers.insert(header::LOCATION, location);
    }
}

/// `{prefix}/x` → `/x`, `{prefix}` and `{prefix}?q` → `/` and `/?q`; any
/// other location is left alone (`None`).
fn strip_location_prefix(location: &str, prefix: &str) -> Option<String> {
    let rest = location.strip_prefix(prefix)?;
    match rest.as_bytes().first() {
        None => Some("/".to_owned()),
        Some(b'/') => Some(rest.to_owned()),
        Some(b'?' | b'#') => Some(format!("/{rest}")),
        Some(_) => None,
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in listed.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/proxy/cl-000000000000000000000000z/8080";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn route() -> PortRoute {
        PortRoute { capsule_id: CapsuleId::from_u128(35), port: 8080, agent_address: "127.0.0.1:5000".to_owned() }
    }

    #[test]
    fn agent_uris_keep_path_and_query_raw() {
        let cases = [
            ("/", "https://127.0.0.1:5000/proxy/cl-000000000000000000000000z/8080/"),
            ("/a/b%20c?x=1&y=%2F", "https://127.0.0.1:5000/proxy/cl-000000000000000000000000z/8080/a/b%20c?x=1&y=%2F"),
            ("//double", "https://127.0.0.1:5000/proxy/cl-000000000000000000000000z/8080//double"),
            ("http://8080-cl-x.example/q?z", "https://127.0.0.1:5000/proxy/cl-000000000000000000000000z/8080/q?z"),
            ("*", "https://127.0.0.1:5000/proxy/cl-000000000000000000000000z/8080/"),
        ];
        for (requested, want) in cases {
            let requested: Uri = requested.parse().unwrap();
            assert_eq!(agent_uri(&route(), &requested).unwrap().to_string(), want, "{requested}");
        }
    }

    #[test]
    fn requests_lose_credentials_and_hop_by_hop_headers() {
        let mut map = headers(&[
            ("host", "8080-cl-x.example:9000"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "secret"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("x-api-key", "wrn_secret"),
            ("X-Wrenn-Traffic-Token", "wrt_secret"),
            ("e2b-traffic-access-token", "wrt_secret"),
            ("x-forwarded-host", "spoofed.example"),
            ("x-forwarded-proto", "HTTPS"),
            ("authorization", "Bearer the-app's-own"),
            ("x-custom", "kept"),
        ]);
        prepare_request(&mut map, None, Some(HeaderValue::from_static("8080-cl-x.example:9000")));
        let want = headers(&[
            ("x-forwarded-host", "8080-cl-x.example:9000"),
            ("x-forwarded-proto", "https"),
            ("authorization", "Bearer the-app's-own"),
            ("x-custom", "kept"),
        ]);
        assert_eq!(map, want);

        let mut plain = headers(&[("x-forwarded-proto", "gopher")]);
        prepare_request(&mut plain, None, None);
        assert_eq!(plain, headers(&[("x-forwarded-proto", "http")]));
    }

    #[test]
    fn upgrades_pass_both_ways() {
        let mut map =
            headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket"), ("sec-websocket-key", "k")]);
        let upgrade = upgrade_protocol(&map);
        assert_eq!(upgrade, Some(HeaderValue::from_static("websocket")));
        prepare_request(&mut map, upgrade, None);
        assert_eq!(map.get("connection").unwrap(), "upgrade");
        assert_eq!(map.get("upgrade").unwrap(), "websocket");
        assert_eq!(map.get("sec-websocket-key").unwrap(), "k");

        assert_eq!(upgrade_protocol(&headers(&[("upgrade", "websocket")])), None);
        assert_eq!(upgrade_protocol(&headers(&[("connection", "upgrade")])), None);

        let mut response =
            headers(&[("connection", "upgrade"), ("upgrade", "websocket"), ("sec-websocket-accept", "a")]);
        prepare_response(&mut response, true, PREFIX);
        assert_eq!(response.get("upgrade").unwrap(), "websocket");
        assert_eq!(response.get("connection").unwrap(), "upgrade");
        prepare_response(&mut response, false, PREFIX);
        assert!(!response.contains_key("upgrade") && !response.contains_key("connection"));
        assert_eq!(response.get("sec-websocket-accept").unwrap(), "a");
    }

    #[test]
    fn locations_lose_the_agents_prefix() {
        let cases = [
            (format!("{PREFIX}/login?next=%2F"), Some("/login?next=%2F")),
            (format!("{PREFIX}/"), Some("/")),
            (PREFIX.to_owned(), Some("/")),
            (format!("{PREFIX}?q=1"), Some("/?q=1")),
            (format!("{PREFIX}#top"), Some("/#top")),
            (format!("{PREFIX}0/x"), None),
            ("/elsewhere".to_owned(), None),
            ("https://example.com/x".to_owned(), None),
        ];
        for (location, want) in cases {
            assert_eq!(strip_location_prefix(&location, PREFIX).as_deref(), want, "{location}");
        }
        let mut response = headers(&[("location", &format!("{PREFIX}/next"))]);
        prepare_response(&mut response, false, PREFIX);
        assert_eq!(response.get("location").unwrap(), "/next");
    }
}
