//! The REST and WebSocket API: what every route stands on.
//!
//! A route is a handler on [`AppState`] that takes typed extractors
//! ([`Json`], [`Path`], [`Query`], [`AuthContext`]) and returns a value or an
//! [`ApiError`]. Nothing a client sends reaches a handler unparsed, and
//! nothing a client receives leaves in another error shape than
//! `{"error":{"code","message"}}`: our extractors map their rejections, the
//! fallback answers unknown routes, and `error_shape` rewrites whatever
//! else axum or a layer answers by itself (405, a rejection of an extractor
//! we did not wrap).
//!
//! [`router`] composes the core routes with the middleware, outermost
//! first: request id, span and log (`request_log`); panic → 500
//! (`panic`); error shape (`error_shape`); the default body limit; then
//! the routes. An embedder that adds routes builds them with [`routes`],
//! merges its own and calls [`with_middleware`], so every route gets the
//! same stack. [`serve`] runs the result on HTTP/1.1 and h2c with the
//! timeouts and the graceful shutdown in `serve`.
//!
//! Authentication is an extractor, not a layer: a route that takes an
//! [`AuthContext`] is protected, one that does not is public (`/health`),
//! and the difference is visible in the handler's signature.

mod auth;
mod error;
mod error_shape;
mod extract;
mod health;
mod panic;
mod request_log;
mod serve;
mod state;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::get;

pub use crate::http::auth::{API_KEY_HEADER, AuthContext, require_api_key};
pub use crate::http::error::{ApiError, ErrorCode};
pub use crate::http::extract::{Json, Path, Query};
pub use crate::http::request_log::{REQUEST_ID_HEADER, RequestId};
pub use crate::http::serve::{ServeConfig, StreamGuard, serve, serve_with};
pub use crate::http::state::AppState;

/// The default limit on a request body that an extractor buffers (JSON and
/// the like). Routes that stream larger bodies raise it with their own
/// [`DefaultBodyLimit`].
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The whole API: the core routes with the middleware stack.
pub fn router(state: AppState) -> Router {
    with_middleware(routes(state))
}

/// The core routes with their state, without middleware; merge more routes
/// into it, then call [`with_middleware`].
pub fn routes(state: AppState) -> Router {
    Router::new().route("/health", get(health::health)).with_state(state)
}

/// Adds the fallback and the middleware stack to a complete set of routes.
/// Routes merged in after this call would miss the stack.
pub fn with_middleware(routes: Router) -> Router {
    with_middleware_around(routes, |routes| routes)
}

/// [`with_middleware`] with an embedder's own middleware (`inner`) between
/// the core stack and the routes: it wraps the fallback too, sees requests
/// with their request id, and its panics and error answers get the core's
/// treatment.
pub fn with_middleware_around(routes: Router, inner: impl FnOnce(Router) -> Router) -> Router {
    inner(routes.fallback(unknown_route))
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .layer(axum::middleware::from_fn(error_shape::error_shape))
        .layer(axum::middleware::from_fn(panic::catch_panic))
        .layer(axum::middleware::from_fn(request_log::request_log))
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
