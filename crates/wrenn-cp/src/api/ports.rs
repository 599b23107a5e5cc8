//! Port traffic: a request to `{port}-{capsule_id}.{domain}` reaches that
//! port inside the capsule through its host agent's proxy (HTTP, streamed
//! bodies, WebSocket and any other upgrade); every other request is the
//! API's. Also `POST /v1/capsules/{id}/traffic-token`, which issues the
//! per-capsule token that admits port traffic without the team's API key.
//!
//! The dispatch ([`with_port_proxy`]) wraps the API from outside its
//! middleware stack: a proxied answer is the capsule's own (an app's 404
//! page must not be rewritten into our error shape, and bodies stream
//! without the API's body limit). Refusals of the proxy itself (bad host,
//! credentials, capsule not running) are in the API's error shape. Who is
//! admitted and where the request goes is `app::ports`; this module reads
//! the host and the credential headers and shapes the answers.
//!
//! A capsule that is not running yet (or paused) and an unreachable host
//! answer 503 with `Retry-After: 1` and are logged at debug level only:
//! clients poll a port until it serves, and each attempt is not an error.

mod host;

use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use wrenn_types::CapsuleId;

use crate::api::ports::host::PortHost;
use crate::app::ports::{E2B_TRAFFIC_TOKEN_HEADER, ForwardError, PortCredentials, PortError, TRAFFIC_TOKEN_HEADER};
use crate::app::validate;
use crate::http::{API_KEY_HEADER, ApiError, AppState, AuthContext, ErrorCode, Json, Path, StreamGuard};

/// Routes port traffic (by the request's host) to capsules, and everything
/// else to `api`. Goes outside the whole middleware stack; [`crate::api::router`]
/// applies it, an embedder that builds its own router applies it last.
pub fn with_port_proxy(api: Router, state: AppState) -> Router {
    api.layer(axum::middleware::from_fn_with_state(state, dispatch))
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/capsules/{id}/traffic-token", post(issue_traffic_token))
}

/// A newly issued traffic token, shown this once.
#[derive(Debug, Serialize)]
struct TrafficToken {
    capsule_id: String,
    traffic_token: String,
    /// The header to send it in.
    header: &'static str,
}

/// `POST /v1/capsules/{id}/traffic-token`: a new token; the previous one
/// stops working.
async fn issue_traffic_token(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<TrafficToken>), ApiError> {
    let capsule_id = validate::capsule_id(&id)?;
    let token = state.app().issue_traffic_token(auth.team_id, capsule_id).await?;
    let body =
        TrafficToken { capsule_id: capsule_id.to_string(), traffic_token: token, header: "X-Wrenn-Traffic-Token" };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn dispatch(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let target = match requested_host(&request) {
        Some(host) => host::classify(host, state.app().config().proxy_domain.as_deref()),
        None => PortHost::Api,
    };
    match target {
        PortHost::Api => next.run(request).await,
        PortHost::Invalid(message) => ApiError::invalid_request(message).into_response(),
        PortHost::Port { port, capsule_id } => {
            let started = Instant::now();
            let (method, path) = (request.method().clone(), request.uri().path().to_owned());
            let (Ok(response) | Err(response)) = proxy(&state, capsule_id, port, request).await;
            let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            let status = response.status().as_u16();
            tracing::debug!(%capsule_id, port, %method, path, status, duration_ms, "proxied request");
            response
        }
    }
}

/// The URI's authority (HTTP/2, absolute-form) or the `Host` header.
fn requested_host(request: &Request) -> Option<&str> {
    match request.uri().authority() {
        Some(authority) => Some(authority.as_str()),
        None => request.headers().get(header::HOST).and_then(|value| value.to_str().ok()),
    }
}

async fn proxy(state: &AppState, capsule_id: CapsuleId, port: u16, request: Request) -> Result<Response, Response> {
    let credentials = credentials(request.headers());
    let route = state.app().port_route(capsule_id, port, credentials).await.map_err(refusal)?;
    let (mut parts, body) = request.into_parts();
    let Ok(mut guard) = StreamGuard::from_request_parts(&mut parts, &()).await;
    // An upgraded connection holds the guard: shutdown waits for it (up to
    // its grace) and closes it when draining starts.
    let until = async move { guard.draining().await };
    let forwarded = state.app().agents().ports().forward(&route, Request::from_parts(parts, body), until).await;
    forwarded.map_err(forward_failed)
}

fn credentials(headers: &HeaderMap) -> PortCredentials<'_> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    PortCredentials {
        api_key: text(API_KEY_HEADER),
        traffic_token: text(TRAFFIC_TOKEN_HEADER).or_else(|| text(E2B_TRAFFIC_TOKEN_HEADER)),
    }
}

fn refusal(error: PortError) -> Response {
    match error {
        PortError::Unauthorized(message) => ApiError::unauthorized(message).into_response(),
        PortError::NotFound(id) => ApiError::not_found(format!("capsule {id} not found")).into_response(),
        error @ PortError::NotRunning { .. } => retry_later("capsule_unavailable", &error.to_string()),
        error @ PortError::HostUnavailable(_) => retry_later("host_unavailable", &error.to_string()),
        error @ PortError::Ended { .. } => ApiError::invalid_state(error.to_string()).into_response(),
        PortError::Store(error) => ApiError::internal(error).into_response(),
    }
}

fn forward_failed(error: ForwardError) -> Response {
    match error {
        ForwardError::Connect { .. } => {
            ApiError::host_unavailable("the capsule's host is unreachable").with_source(error).into_response()
        }
        ForwardError::Uri { .. } | ForwardError::Agent { .. } | ForwardError::UnexpectedUpgrade { .. } => {
            ApiError::agent_error("the capsule's host agent failed the request").with_source(error).into_response()
        }
    }
}

/// 503 in the API's error shape, with `Retry-After`, logged at debug level.
fn retry_later(code: &'static str, message: &str) -> Response {
    tracing::debug!(code, message, "port not reachable now");
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    let mut response =
        (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], axum::Json(body)).into_response();
    response.extensions_mut().insert(ErrorCode(code));
    response
}
