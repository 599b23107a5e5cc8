//! `wrenn-client`: a typed async client for the Wrenn API, the one the
//! `wrenn` CLI and the project's own tests use.
//!
//! Every call goes to the control plane's public API (REST, WebSocket for
//! streams and terminals, SSE for events) with an `X-API-Key`. Errors the
//! server answers keep its code and message ([`Error::Api`]).
//!
//! Transport: plain HTTP/1.1 and `ws://`. This build has no TLS stack, so
//! an `https://` base URL is refused with [`Error::Config`] rather than
//! failing later on the first WebSocket.
//!
//! ```no_run
//! use std::time::Duration;
//! use wrenn_client::{CapsuleStatus, Client, CreateCapsule};
//!
//! # async fn demo() -> Result<(), wrenn_client::Error> {
//! // WRENN_BASE_URL and WRENN_API_KEY, as for the Python SDK.
//! let client = Client::from_env()?;
//! let capsule = client.capsules().create(&CreateCapsule::new().template("minimal")).await?;
//! client.capsules().wait_for(&capsule.id, CapsuleStatus::Running, Duration::from_secs(30)).await?;
//! client.capsules().destroy(&capsule.id).await?;
//! # Ok(())
//! # }
//! ```

mod capsules;
mod client;
mod commands;
mod error;
mod events;
mod files;
mod metrics;
mod pty;
mod snapshots;

pub use capsules::{Capsule, CapsuleStatus, Capsules, CreateCapsule, TrafficToken};
pub use client::{API_KEY_HEADER, Client, ClientBuilder, DEFAULT_BASE_URL};
pub use commands::{BackgroundProcess, Commands, ExecOutput, ExecRequest, ProcessEvent, ProcessInfo, ProcessStream};
pub use error::{Error, ErrorCode};
pub use events::{Actor, CONNECTED, DEFAULT_IDLE_TIMEOUT as EVENTS_IDLE_TIMEOUT, Event, EventStream, Events, Resource};
pub use files::{FileEntry, FileKind, Files, IDLE_TIMEOUT as FILE_IDLE_TIMEOUT};
pub use metrics::{CapsuleMetrics, CapsuleStats, MetricPoint, StatsCurrent, StatsPeaks, StatsSeries, Usage, UsageDay};
pub use pty::{Pty, PtyEvent, PtyInput, PtyRequest, PtySession};
pub use snapshots::{SnapshotOutcome, Snapshots, Template, TemplateKind};
