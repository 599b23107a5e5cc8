//! The Wrenn control plane as a library.
//!
//! A binary (`wrenn up`, `wrenn control-plane`) or another program (a
//! hosted edition) embeds it. The intended shape, grown module by module:
//!
//! - `store` — the only code that speaks SQL. One code path for SQLite and
//!   PostgreSQL (sqlx `Any`), migrations for both, every state change a
//!   guarded compare-and-set, admission of capsules onto hosts without
//!   over-admission.
//! - `http` — the REST and WebSocket API the SDK expects: error shape,
//!   auth, request ids, the server with its timeouts and drain.
//! - `pki` — the CA that is the only trust root between the control plane
//!   and host agents: host and client certificates, client mTLS config.
//! - `app` — the services the API and the workers share: capsule
//!   lifecycle, snapshots, the agent client pool, the JSON views.
//! - `api` — the routes of the REST, WebSocket and SSE API.
//! - `background` — the host monitor and the reconciler.
//! - `server` — the server a binary runs: the API, the background work,
//!   and the routes, middleware and workers of an embedder's extensions.
//!
//! Dependencies point downwards: `server` → `api`, `background`; `http`
//! → `app` → `store`; `background` → `app` → `store`. Nothing but `store`
//! knows sqlx.

pub mod api;
pub mod app;
pub mod background;
pub mod events;
pub mod http;
pub mod pki;
pub mod server;
pub mod store;

pub use store::{Store, StoreError};
