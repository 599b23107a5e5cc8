//! Wire contracts of Wrenn.
//!
//! `envd` holds the guest agent's Connect services (`process.Process`,
//! `filesystem.Filesystem`), wire-compatible with E2B's envd; `agent` the
//! host agent's `hostagent.v1.HostAgentService` for the control plane. The code under
//! `generated/` is produced by `cargo xtask codegen` and committed; nothing in
//! this crate is written by hand except this module tree.

#[allow(clippy::all, unreachable_pub, missing_debug_implementations, rust_2018_idioms, unused_lifetimes)]
#[rustfmt::skip]
#[path = "generated/_include.rs"]
mod generated;

/// The host agent's service, called by the control plane.
pub mod agent {
    pub use crate::generated::hostagent::v1 as hostagent;
}

/// The guest agent's protocol.
pub mod envd {
    pub use crate::generated::filesystem;
    pub use crate::generated::process;
}
