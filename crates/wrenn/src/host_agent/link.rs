//! The agent's calls to the control plane's host routes
//! (`/v1/hosts/register`, `/auth/refresh`, `/{id}/heartbeat`,
//! `/sandbox-events`), and what their answers mean to the agent.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::host_agent::credentials::Credentials;

/// Longest one call to the control plane may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A client of one control plane.
#[derive(Debug, Clone)]
pub(crate) struct ControlPlane {
    base: String,
    http: reqwest::Client,
}

/// What a heartbeat told the agent.
#[derive(Debug)]
pub(crate) enum Heartbeat {
    Recorded,
    /// The access token was refused: refresh the credentials.
    TokenRefused,
    /// The host no longer exists: forget the credentials and stop.
    HostDeleted,
}

/// One capsule event as `/v1/hosts/sandbox-events` takes it.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) capsule_id: String,
    /// `auto_paused` or `died`.
    pub(crate) event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

/// What the agent reports at registration.
#[derive(Debug, Serialize)]
pub(crate) struct Registration<'a> {
    pub(crate) token: &'a str,
    pub(crate) address: &'a str,
    pub(crate) arch: &'a str,
    pub(crate) cpu_cores: u32,
    pub(crate) memory_mb: u64,
    pub(crate) disk_mb: u64,
}

/// The credentials answer of register and refresh (the fields we keep).
#[derive(Deserialize)]
struct CredentialsAnswer {
    host: HostAnswer,
    token: String,
    refresh_token: String,
    cert_pem: String,
    key_pem: String,
    ca_cert_pem: String,
}

#[derive(Deserialize)]
struct HostAnswer {
    id: String,
    #[serde(default)]
    address: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    code: String,
    message: String,
}

impl ControlPlane {
    pub(crate) fn new(base: &str) -> anyhow::Result<ControlPlane> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--control-plane {base:?} must be an http:// or https:// URL");
        }
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .no_proxy()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(ControlPlane { base, http })
    }

    /// Registers with a registration token.
    pub(crate) async fn register(&self, registration: &Registration<'_>, now_ms: i64) -> anyhow::Result<Credentials> {
        let response = self
            .http
            .post(format!("{}/v1/hosts/register", self.base))
            .json(registration)
            .send()
            .await
            .with_context(|| format!("cannot reach the control plane at {}", self.base))?;
        let answer: CredentialsAnswer = success(response, "registration").await?.json().await?;
        Ok(credentials(answer, registration.address, now_ms))
    }

    /// Trades the refresh token for new credentials.
    pub(crate) async fn refresh(&self, current: &Credentials, now_ms: i64) -> anyhow::Result<Credentials> {
        let response = self
            .http
            .post(format!("{}/v1/hosts/auth/refresh", self.base))
            .json(&json!({ "refresh_token": current.refresh_token }))
            .send()
            .await
            .with_context(|| format!("cannot reach the control plane at {}", self.base))?;
        let answer: CredentialsAnswer = success(response, "credential refresh").await?.json().await?;
        Ok(credentials(answer, &current.address, now_ms))
    }

    pub(crate) async fn heartbeat(&self, credentials: &Credentials) -> anyhow::Result<Heartbeat> {
        let response = self
            .http
            .post(format!("{}/v1/hosts/{}/heartbeat", self.base, credentials.host_id))
            .header("x-host-token", &credentials.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the control plane at {}", self.base))?;
        match response.status() {
            status if status.is_success() => Ok(Heartbeat::Recorded),
            reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN => Ok(Heartbeat::TokenRefused),
            reqwest::StatusCode::NOT_FOUND => Ok(Heartbeat::HostDeleted),
            _ => Err(refusal(response, "heartbeat").await),
        }
    }

    /// Reports capsule events; `Ok(false)` when the token was refused.
    pub(crate) async fn report(&self, credentials: &Credentials, events: &[Report]) -> anyhow::Result<bool> {
        let response = self
            .http
            .post(format!("{}/v1/hosts/sandbox-events", self.base))
            .header("x-host-token", &credentials.token)
            .json(&json!({ "events": events }))
            .send()
            .await
            .with_context(|| format!("cannot reach the control plane at {}", self.base))?;
        match response.status() {
            status if status.is_success() => Ok(true),
            reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN => Ok(false),
            _ => Err(refusal(response, "capsule event report").await),
        }
    }
}

fn credentials(answer: CredentialsAnswer, address: &str, now_ms: i64) -> Credentials {
    let address = if answer.host.address.is_empty() { address.to_owned() } else { answer.host.address };
    Credentials {
        host_id: answer.host.id,
        address,
        token: answer.token,
        refresh_token: answer.refresh_token,
        cert_pem: answer.cert_pem,
        key_pem: answer.key_pem,
        ca_cert_pem: answer.ca_cert_pem,
        obtained_at_ms: now_ms,
    }
}

async fn success(response: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() { Ok(response) } else { Err(refusal(response, what).await) }
}

/// The control plane's own words for a refusal, when it gave them.
async fn refusal(response: reqwest::Response, what: &str) -> anyhow::Error {
    let status = response.status();
    match response.json::<ErrorAnswer>().await {
        Ok(ErrorAnswer { error }) => anyhow::anyhow!("{what} refused ({status}, {}): {}", error.code, error.message),
        Err(_) => anyhow::anyhow!("{what} refused ({status})"),
    }
}
