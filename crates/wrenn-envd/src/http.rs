//! envd's plain HTTP surface: health, metrics, env, init and file transfer.
//!
//! Connect RPCs are served by `rpc`; this module owns everything else and
//! the JSON error shape `{"code": <status>, "message": "..."}` of its routes.

mod drain;
pub(crate) mod error;
mod files;
mod init;
mod status;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::SharedState;

pub(crate) use drain::drain_unread_body;

pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route("/health", get(status::health))
        .route("/metrics", get(status::metrics))
        .route("/envs", get(status::envs))
        .route("/init", post(init::init))
        // Uploads stream to disk and may be of any size.
        .route("/files", get(files::download).post(files::upload).layer(DefaultBodyLimit::disable()))
}
