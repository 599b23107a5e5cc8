//! The routes of the REST, WebSocket and SSE API that the `wrenn` SDK
//! speaks (`docs/dev/wrenn-sdk-contract.md` is the map). Handlers parse and
//! authenticate with the `http` extractors, call one `app` operation and
//! shape its answer with `app::view`; they hold no logic of their own.

mod capsules;
pub mod docs;
mod events_stream;
mod exec;
mod files;
mod host_agent;
mod hosts;
mod metrics;
mod ports;
mod processes;
mod snapshots;
mod ws;

use axum::Router;

use crate::app::Caller;
use crate::events::{Actor, ActorKind};
use crate::http::{self, AppState, AuthContext};

/// Every route of the API, without middleware (see [`router`]).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .merge(capsules::routes())
        .merge(docs::routes())
        .merge(snapshots::routes())
        .merge(events_stream::routes())
        .merge(exec::routes())
        .merge(processes::routes())
        .merge(files::routes())
        .merge(hosts::routes())
        .merge(host_agent::routes())
        .merge(metrics::routes())
        .merge(ports::routes())
        .merge(ws::routes())
        .with_state(state)
}

pub use crate::api::host_agent::{HOST_TOKEN_HEADER, HostAuth};
pub use crate::api::ports::with_port_proxy;

/// The whole API with the middleware stack, and port traffic routed by
/// host around it: what `wrenn` serves.
pub fn router(state: AppState) -> Router {
    with_port_proxy(http::with_middleware(http::routes(state.clone()).merge(routes(state.clone()))), state)
}

/// The caller of an API-key request, as events name it.
pub(crate) fn caller(auth: &AuthContext) -> Caller {
    Caller {
        team_id: auth.team_id,
        actor: Actor { kind: ActorKind::ApiKey, id: auth.api_key_id.to_string(), name: auth.key_name.clone() },
    }
}
