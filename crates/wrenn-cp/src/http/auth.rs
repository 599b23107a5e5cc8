//! Team API keys: `X-API-Key: <key>` on every request, WebSocket upgrades
//! included (the SDK never authenticates in-band or with a bearer token).
//!
//! [`AuthContext`] is an extractor, so a route is protected by taking one.
//! The key is looked up by its SHA-256 (the store keeps nothing else), and
//! the lookup records its use. A route group can also be wrapped in
//! [`require_api_key`]; the extractor then reuses what the layer found
//! instead of asking the store again.

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use wrenn_types::{ApiKeyId, TeamId};

use crate::http::{ApiError, AppState};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Longer than any key we issue or accept: refused without a lookup.
const MAX_KEY_LEN: usize = 256;

/// Who is calling: the team an API key belongs to and the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub team_id: TeamId,
    pub api_key_id: ApiKeyId,
    pub key_name: String,
}

impl<S> FromRequestParts<S> for AuthContext
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<AuthContext, ApiError> {
        if let Some(auth) = parts.extensions.get::<AuthContext>() {
            return Ok(auth.clone());
        }
        let auth = authenticate(&AppState::from_ref(state), &parts.headers).await?;
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// Middleware for a group of routes that all require an API key.
pub async fn require_api_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match authenticate(&state, request.headers()).await {
        Ok(auth) => {
            request.extensions_mut().insert(auth);
            next.run(request).await
        }
        Err(error) => axum::response::IntoResponse::into_response(error),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<AuthContext, ApiError> {
    let Some(value) = headers.get(API_KEY_HEADER) else {
        return Err(ApiError::unauthorized("missing API key: send it in the X-API-Key header"));
    };
    let key = value.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::unauthorized("invalid API key"));
    }
    let Some(found) = state.store().authenticate_api_key(key).await? else {
        return Err(ApiError::unauthorized("invalid API key"));
    };
    let span = tracing::Span::current();
    span.record("team_id", tracing::field::display(found.team_id));
    span.record("api_key_id", tracing::field::display(found.key_id));
    Ok(AuthContext { team_id: found.team_id, api_key_id: found.key_id, key_name: found.name })
}
