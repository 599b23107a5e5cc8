//! The routes a host agent calls: `POST /v1/hosts/register` (with its
//! registration token), `POST /v1/hosts/auth/refresh` (with its refresh
//! token), and with its access token in `X-Host-Token`:
//! `POST /v1/hosts/{id}/heartbeat` and `POST /v1/hosts/sandbox-events`.
//! No API key: these are the host's own credentials (`app::host_session`).

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use wrenn_types::HostId;

use crate::app::view::HostView;
use crate::app::{HostCapsuleEvent, HostCapsuleEventKind, HostCredentials, RegisterHost, validate};
use crate::events::Timestamp;
use crate::http::{ApiError, AppState, Json, Path};

/// The header of a host's access token.
pub const HOST_TOKEN_HEADER: &str = "x-host-token";

/// Longest accepted text of an agent-reported field.
const MAX_FIELD: usize = 256;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/hosts/register", post(register))
        .route("/v1/hosts/auth/refresh", post(refresh))
        .route("/v1/hosts/sandbox-events", post(capsule_events))
        .route("/v1/hosts/{id}/heartbeat", post(heartbeat))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    token: String,
    address: String,
    #[serde(default)]
    arch: String,
    #[serde(default)]
    cpu_cores: u32,
    #[serde(default)]
    memory_mb: u64,
    /// Whole GiB, as the original agents send it; `disk_mb` wins when both
    /// are given.
    #[serde(default)]
    disk_gb: Option<u64>,
    #[serde(default)]
    disk_mb: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// The credentials an agent keeps (in a 0600 file).
#[derive(Debug, Serialize)]
struct CredentialsBody {
    host: HostView,
    token: String,
    token_expires_at: Timestamp,
    refresh_token: String,
    refresh_token_expires_at: Timestamp,
    cert_pem: String,
    key_pem: String,
    cert_expires_at: Timestamp,
    ca_cert_pem: String,
}

impl From<HostCredentials> for CredentialsBody {
    fn from(credentials: HostCredentials) -> CredentialsBody {
        let cert_expires_at = credentials.certificate.expires_at_ms();
        CredentialsBody {
            host: HostView::from(&credentials.host),
            token: credentials.access_token,
            token_expires_at: Timestamp::from_unix_ms(credentials.access_token_expires_at),
            refresh_token: credentials.refresh_token.secret,
            refresh_token_expires_at: Timestamp::from_unix_ms(credentials.refresh_token.expires_at),
            cert_pem: credentials.certificate.cert_pem,
            key_pem: credentials.certificate.key_pem,
            cert_expires_at: Timestamp::from_unix_ms(cert_expires_at),
            ca_cert_pem: credentials.ca_cert_pem,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsBody {
    events: Vec<EventBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    #[serde(alias = "sandbox_id")]
    capsule_id: String,
    /// `auto_paused` or `died`.
    event: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct EventsAnswer {
    applied: usize,
}

/// The host an `X-Host-Token` authenticates.
#[derive(Debug, Clone, Copy)]
pub struct HostAuth(pub HostId);

impl<S> FromRequestParts<S> for HostAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<HostAuth, ApiError> {
        let Some(value) = parts.headers.get(HOST_TOKEN_HEADER) else {
            return Err(ApiError::unauthorized("missing host token: send it in the X-Host-Token header"));
        };
        let token = value.to_str().map_err(|_| ApiError::unauthorized("invalid host token"))?;
        let host_id = AppState::from_ref(state).app().authenticate_host(token.trim())?;
        tracing::Span::current().record("host_id", tracing::field::display(host_id));
        Ok(HostAuth(host_id))
    }
}

async fn register(State(state): State<AppState>, Json(body): Json<RegisterBody>) -> Result<Response, ApiError> {
    if body.arch.len() > MAX_FIELD || body.address.len() > MAX_FIELD || body.token.len() > MAX_FIELD {
        return Err(ApiError::invalid_request(format!("token, address and arch are at most {MAX_FIELD} bytes")));
    }
    let disk_mb = body.disk_mb.or(body.disk_gb.map(|gb| gb.saturating_mul(1024))).unwrap_or(0);
    let request = RegisterHost {
        token: body.token,
        address: body.address,
        arch: body.arch,
        cpu_cores: body.cpu_cores,
        memory_mb: body.memory_mb,
        disk_mb,
    };
    let credentials = state.app().register_host(request).await?;
    Ok((StatusCode::CREATED, Json(CredentialsBody::from(credentials))).into_response())
}

async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> Result<Json<CredentialsBody>, ApiError> {
    if body.refresh_token.len() > MAX_FIELD {
        return Err(ApiError::unauthorized("invalid, expired or used refresh token"));
    }
    Ok(Json(state.app().refresh_host_credentials(&body.refresh_token).await?.into()))
}

async fn heartbeat(
    State(state): State<AppState>,
    HostAuth(host_id): HostAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if validate::host_id(&id)? != host_id {
        return Err(ApiError::forbidden("the host token is for another host"));
    }
    state.app().host_heartbeat(host_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn capsule_events(
    State(state): State<AppState>,
    HostAuth(host_id): HostAuth,
    Json(body): Json<EventsBody>,
) -> Result<Json<EventsAnswer>, ApiError> {
    let events = body
        .events
        .into_iter()
        .map(|event| {
            let kind = match event.event.as_str() {
                "auto_paused" => HostCapsuleEventKind::AutoPaused,
                "died" => HostCapsuleEventKind::Died,
                other => return Err(ApiError::invalid_request(format!("event {other:?} is not auto_paused or died"))),
            };
            let reason = event.reason.map(|reason| reason.chars().take(MAX_FIELD).collect());
            Ok(HostCapsuleEvent { capsule_id: validate::capsule_id(&event.capsule_id)?, kind, reason })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let applied = state.app().host_capsule_events(host_id, &events).await?;
    Ok(Json(EventsAnswer { applied }))
}
