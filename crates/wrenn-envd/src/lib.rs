//! envd, the guest agent that runs inside every capsule.
//!
//! envd is the only way the host agent, the control plane and every SDK reach
//! a capsule's processes and files. It speaks E2B's envd protocol: the
//! `process.Process` and `filesystem.Filesystem` Connect services plus a small
//! HTTP surface (`/health`, `/metrics`, `/envs`, `/init`, `/files`) on port
//! 49983. It is frozen into templates and snapshots, so everything it says on
//! the wire only ever changes additively (see `COMPATIBILITY.md`).
//!
//! What it deliberately does not do: it knows nothing of capsules, templates
//! or the host; it never dials out; it keeps no state on disk.

pub mod config;
pub mod init;
pub mod server;

mod auth;
mod error_chain;
mod fs;
mod http;
mod paths;
mod process;
mod rpc;
mod state;
mod sys;
mod users;

/// The envd protocol version this binary implements, as reported on `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
