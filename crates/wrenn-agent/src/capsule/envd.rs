//! Talking to a capsule's envd from the host: readiness and `/init`.
//!
//! Readiness without slow polling: a TCP connect to a port nobody listens
//! on is refused at once by the capsule's kernel, so connects are retried
//! every millisecond until envd accepts (normally a few ms after the init
//! exec'ed), then one `GET /health` confirms it speaks HTTP. No connection
//! pooling: a slot's address is reused by the next capsule, and a pooled
//! connection to the previous one would be a dead end.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// How often a refused connect is retried.
const CONNECT_RETRY: Duration = Duration::from_millis(1);

#[derive(Debug, thiserror::Error)]
pub enum EnvdError {
    #[error("envd did not accept connections on {addr}")]
    Unreachable {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("envd did not accept connections on {addr} in time")]
    Timeout { addr: SocketAddr },
    #[error("request to envd at {addr} failed")]
    Request {
        addr: SocketAddr,
        #[source]
        source: reqwest::Error,
    },
    #[error("envd at {addr} answered {path} with status {status}")]
    Status { addr: SocketAddr, path: &'static str, status: u16 },
}

/// What envd's `/health` answers (`{"version": "0.6.4"}`).
#[derive(Deserialize)]
struct Health {
    version: Option<String>,
}

/// The host's client for every envd.
#[derive(Debug, Clone)]
pub(crate) struct EnvdClient {
    http: reqwest::Client,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitBody<'a> {
    env_vars: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_user: Option<&'a str>,
    timestamp: f64,
}

impl EnvdClient {
    pub(crate) fn new() -> EnvdClient {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client without TLS or proxies always builds");
        EnvdClient { http }
    }

    /// Waits until envd at `addr` accepts and answers `/health`; returns the
    /// version it reports (`None` if its answer carries none).
    pub(crate) async fn wait_ready(&self, addr: SocketAddr, timeout: Duration) -> Result<Option<String>, EnvdError> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_stream)) => break,
                Ok(Err(err)) if Instant::now() >= deadline => {
                    return Err(EnvdError::Unreachable { addr, source: err });
                }
                Ok(Err(_)) => tokio::time::sleep(CONNECT_RETRY).await,
                Err(_) => return Err(EnvdError::Timeout { addr }),
            }
        }
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100));
        let response = self
            .http
            .get(format!("http://{addr}/health"))
            .timeout(remaining)
            .send()
            .await
            .map_err(|source| EnvdError::Request { addr, source })?;
        check_status(addr, "/health", response.status())?;
        let health: Option<Health> = response.json().await.ok();
        Ok(health.and_then(|health| health.version).filter(|version| !version.is_empty()))
    }

    /// Hands envd its defaults and the host's time (after create and after
    /// every resume; envd ignores replays).
    pub(crate) async fn init(
        &self,
        addr: SocketAddr,
        env_vars: &BTreeMap<String, String>,
        default_user: Option<&str>,
        timeout: Duration,
    ) -> Result<(), EnvdError> {
        let timestamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let body = InitBody { env_vars, default_user, timestamp };
        let response = self
            .http
            .post(format!("http://{addr}/init"))
            .json(&body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|source| EnvdError::Request { addr, source })?;
        check_status(addr, "/init", response.status())
    }
}

fn check_status(addr: SocketAddr, path: &'static str, status: reqwest::StatusCode) -> Result<(), EnvdError> {
    if status.is_success() { Ok(()) } else { Err(EnvdError::Status { addr, path, status: status.as_u16() }) }
}
