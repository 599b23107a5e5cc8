//! [`Client`]: where the server is, the key that authenticates every call,
//! and the few request helpers every resource shares (JSON in and out,
//! error answers turned into [`Error`], WebSocket upgrades with the same
//! key). Resources are cheap views that borrow the client.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{self, Error};

/// The base URL when neither the builder nor `WRENN_BASE_URL` names one:
/// where `wrenn up` listens by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// The header every call carries.
pub const API_KEY_HEADER: &str = "X-API-Key";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time limit of a plain request (not of streams or exec).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// TCP keepalive probes on idle pooled connections, so a peer that
/// vanished is noticed by the kernel even when no request is in flight.
const TCP_KEEPALIVE: Duration = Duration::from_secs(30);
/// The time limit of a WebSocket upgrade (connect, TLS and handshake).
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(30);

/// A WebSocket to one of the API's stream routes.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A handle on one Wrenn server, authenticated with one API key. Cheap to
/// clone; clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), wrenn_client::Error> {
/// let client = wrenn_client::Client::builder()
///     .base_url("http://127.0.0.1:8080")
///     .api_key("wrn_…")
///     .build()?;
/// for capsule in client.capsules().list().await? {
///     println!("{} {}", capsule.id, capsule.status);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    api_key: String,
    timeout: Duration,
}

/// Builds a [`Client`]; unset values come from `WRENN_BASE_URL` and
/// `WRENN_API_KEY`, as in the Python SDK.
#[derive(Debug, Default, Clone)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    timeout: Option<Duration>,
}

impl ClientBuilder {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (a path prefix
    /// such as `/api` is kept). Only `http` for now.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key sent as `X-API-Key`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The time limit of plain requests (default 30 s). Streams, exec and
    /// file transfers have their own limits.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the settings and builds the client.
    #[allow(clippy::disallowed_methods, reason = "the SDK reads WRENN_* like the Python SDK, here only")]
    pub fn build(self) -> Result<Client, Error> {
        let base_text = self
            .base_url
            .or_else(|| std::env::var("WRENN_BASE_URL").ok().filter(|url| !url.is_empty()))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let api_key = self
            .api_key
            .or_else(|| std::env::var("WRENN_API_KEY").ok())
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| Error::Config("no API key: pass one or set WRENN_API_KEY".to_owned()))?;
        let base = parse_base_url(&base_text)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(TCP_KEEPALIVE)
            .user_agent(concat!("wrenn-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::Config(format!("cannot build the HTTP client: {err}")))?;
        Ok(Client { http, base, api_key: api_key.trim().to_owned(), timeout: self.timeout.unwrap_or(REQUEST_TIMEOUT) })
    }
}

/// A base URL must be `http` with a host; it always ends with `/` so that
/// joining `v1/…` keeps a path prefix. `https` is refused with a clear
/// error: this build carries no TLS stack (see the crate docs).
fn parse_base_url(text: &str) -> Result<Url, Error> {
    let mut url =
        Url::parse(text.trim()).map_err(|err| Error::Config(format!("base URL {text:?} is invalid: {err}")))?;
    if url.scheme() == "https" {
        return Err(Error::Config(format!(
            "base URL {text:?}: https is not supported by this client yet; reach the server over http (loopback, a private network or an SSH tunnel)"
        )));
    }
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(Error::Config(format!("base URL {text:?} must be http:// with a host")));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `WRENN_BASE_URL` and `WRENN_API_KEY` alone.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::default().build()
    }

    /// The base URL every route is joined to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The URL of a route, from a path relative to the base (`v1/…`).
    pub(crate) fn url(&self, path: &str) -> Url {
        // The base is a valid absolute URL ending in `/` and paths are
        // built by this crate from escaped segments, so joining succeeds.
        self.base.join(path.trim_start_matches('/')).unwrap_or_else(|_| self.base.clone())
    }

    /// A request with the key and the default time limit.
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).header(API_KEY_HEADER, &self.api_key).timeout(self.timeout)
    }

    /// A request with the key and no overall time limit (streams).
    pub(crate) fn streaming_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).header(API_KEY_HEADER, &self.api_key)
    }

    /// Sends a request; an error status becomes [`Error::Api`].
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let (client, request) = request.build_split();
        let request = request.map_err(|source| Error::Transport { url: self.base.to_string(), source })?;
        let url = request.url().to_string();
        let response = client.execute(request).await.map_err(|source| transport_error(url.clone(), source))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(error::from_answer(status.as_u16(), &body))
    }

    /// Sends a request and parses its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = self.send(request).await?;
        let url = response.url().to_string();
        let body = response.bytes().await.map_err(|source| transport_error(url.clone(), source))?;
        serde_json::from_slice(&body).map_err(|err| Error::Protocol { url, detail: err.to_string() })
    }

    /// Sends a request whose answer body is not needed.
    pub(crate) async fn empty(&self, request: RequestBuilder) -> Result<(), Error> {
        let response = self.send(request).await?;
        let url = response.url().to_string();
        response.bytes().await.map_err(|source| transport_error(url, source))?;
        Ok(())
    }

    /// `GET path` → JSON.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.json(self.request(Method::GET, path)).await
    }

    /// `POST path` with a JSON body → JSON.
    pub(crate) async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.json(self.request(Method::POST, path).json(body)).await
    }

    /// Opens a WebSocket to a route, with the key on the upgrade. A refused
    /// upgrade (401, 404, 409…) becomes [`Error::Api`] with the server's code;
    /// one that does not finish within 30 s fails as [`Error::WebSocket`].
    pub(crate) async fn websocket(&self, path: &str) -> Result<Socket, Error> {
        self.websocket_within(path, UPGRADE_TIMEOUT).await
    }

    /// [`Client::websocket`] with a time limit of `limit`.
    async fn websocket_within(&self, path: &str, limit: Duration) -> Result<Socket, Error> {
        let mut url = self.url(path);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // http → ws and https → wss are always allowed by the URL rules.
        let _ = url.set_scheme(scheme);
        let text = url.to_string();
        let mut request = text
            .as_str()
            .into_client_request()
            .map_err(|source| Error::WebSocket { url: text.clone(), source: Box::new(source) })?;
        let key = http::HeaderValue::from_str(&self.api_key)
            .map_err(|_| Error::Config("the API key holds characters a header cannot carry".to_owned()))?;
        request.headers_mut().insert(API_KEY_HEADER, key);
        let Ok(upgraded) = tokio::time::timeout(limit, tokio_tungstenite::connect_async(request)).await else {
            let why = format!("the upgrade did not finish within {} s", limit.as_secs_f32());
            return Err(crate::commands::keepalive::timed_out(&text, why));
        };
        match upgraded {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().clone().unwrap_or_default();
                Err(error::from_answer(status, &body))
            }
            Err(source) => Err(Error::WebSocket { url: text, source: Box::new(source) }),
        }
    }
}

/// A failure to connect is told apart from one later in the exchange: the
/// first usually means a wrong URL or a server that is down.
pub(crate) fn transport_error(url: String, source: reqwest::Error) -> Error {
    if !source.is_connect() {
        return Error::Transport { url, source };
    }
    let mut reason = source.to_string();
    let mut cause = std::error::Error::source(&source);
    while let Some(inner) = cause {
        reason = inner.to_string();
        cause = inner.source();
    }
    Error::Connect { url, reason, source }
}

/// Escapes one path segment (a capsule id, a template name, a tag).
pub(crate) fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_keep_their_prefix() {
        let cases: &[(&str, Option<&str>)] = &[
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080/v1/capsules")),
            ("http://example.com/api", Some("http://example.com/api/v1/capsules")),
            ("http://example.com/api/", Some("http://example.com/api/v1/capsules")),
            ("https://example.com", None),
            ("ftp://example.com", None),
            ("127.0.0.1:8080", None),
            ("not a url", None),
        ];
        for (text, want) in cases {
            match (parse_base_url(text), want) {
                (Ok(base), Some(want)) => assert_eq!(base.join("v1/capsules").unwrap().as_str(), *want, "{text}"),
                (Err(_), None) => {}
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("cl-abc_1.2~"), "cl-abc_1.2~");
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[tokio::test]
    async fn an_upgrade_that_never_finishes_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = Client::builder().base_url(format!("http://127.0.0.1:{port}")).api_key("k").build().unwrap();
        // The server takes the connection and never answers the handshake.
        let server = async {
            let (_held, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        };
        let started = std::time::Instant::now();
        let upgrade = async {
            let result = client.websocket_within("v1/capsules/cl-x/pty", Duration::from_millis(200)).await;
            let err = result.expect_err("the upgrade must fail");
            assert!(matches!(err, Error::WebSocket { .. }), "{err:?}");
            assert!(err.to_string().contains("did not finish within 0.2 s"), "{err}");
        };
        tokio::select! {
            () = server => panic!("the upgrade outlived the server"),
            () = upgrade => {}
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn a_missing_key_is_a_config_error() {
        let built = Client::builder().api_key("  ").base_url("http://127.0.0.1:1").build();
        assert!(matches!(built, Err(Error::Config(_))), "{built:?}");
    }
}
