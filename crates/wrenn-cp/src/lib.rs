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
//!   lifecycle, scheduler, auth, events, audit (to come).
//! - `background` — host monitor, reconciler, event consumers (to come).
//!
//! Dependencies point downwards: `http` → `app` → `store`; `background` →
//! `app` → `store`. Nothing but `store` knows sqlx.

pub mod events;
pub mod http;
pub mod pki;
pub mod store;

pub use store::{Store, StoreError};
