//! The control plane's database: SQLite for a single node, PostgreSQL for a
//! fleet, through one code path.
//!
//! Every query is written once against sqlx's `Any` driver in portable SQL:
//! `$1` placeholders, TEXT / BIGINT / DOUBLE PRECISION columns; ids in their
//! external text form (`cl-…`), booleans as 0/1, timestamps as unix
//! milliseconds, JSON maps as TEXT. The migrations are shared too
//! (`migrations/`); the URL scheme only picks the driver.
//!
//! Invariants every module here keeps:
//! - A state change is a guarded compare-and-set (`UPDATE … WHERE status IN
//!   (…)`), so concurrent requests, workers and the reconciler cannot undo
//!   each other; the caller learns whether it won.
//! - A transaction's first statement is a write. On SQLite that takes the
//!   write lock at once, so concurrent writers queue on `busy_timeout`
//!   instead of failing on a read-to-write lock upgrade.
//! - Host reservations change only in the transaction that creates a
//!   capsule or moves it into a state that holds no resources.

mod audit;
mod capsules;
mod clock;
mod error;
mod host_tokens;
mod hosts;
mod metrics;
mod migrate;
pub mod placement;
mod ports;
mod secret;
mod sql;
pub mod status;
mod teams;
mod templates;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

pub use crate::store::audit::{AuditCursor, AuditEntry, AuditPage, NewAuditEntry};
pub use crate::store::capsules::{Capsule, NewCapsule};
pub use crate::store::clock::{Clock, ManualClock, SystemClock};
pub use crate::store::error::StoreError;
pub use crate::store::host_tokens::{IssuedSecret, Registration};
pub use crate::store::hosts::{Host, HostKind, HostSpecs, HostStatus, NewHost, StaleHost};
pub use crate::store::metrics::{MetricPoint, MetricTier};
pub use crate::store::placement::HostReserve;
pub use crate::store::ports::PortTarget;
pub use crate::store::secret::{generate_api_key, generate_traffic_token, sha256_hex};
pub use crate::store::status::{CapsuleOp, CapsuleStatus};
pub use crate::store::teams::{ApiKey, ApiKeyMatch, NewApiKey, Team, User};
pub use crate::store::templates::{NewTemplate, Template, TemplateKind};

/// How long an SQLite connection waits for the write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:` or `postgres(ql)://`.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme).to_owned();
            Err(StoreError::UnsupportedUrl { scheme })
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// An in-memory SQLite database lives as long as its one connection: keep
/// exactly one, forever. A file database gets a few readers beside the
/// writer.
fn sqlite_pool_size(options: AnyPoolOptions, url: &str) -> AnyPoolOptions {
    if url.contains(":memory:") || url.contains("mode=memory") {
        options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
    } else {
        options.max_connections(8)
    }
}

/// The database handle every control-plane service shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and
    /// brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with_clock(url, Arc::new(SystemClock)).await
    }

    /// [`Store::connect`] with the clock that stamps and expires rows
    /// (tests move a [`ManualClock`]).
    pub async fn connect_with_clock(url: &str, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(60));
        options = match backend {
            Backend::Sqlite => sqlite_pool_size(options, url).after_connect(|conn, _meta| {
                Box::pin(async move {
                    let busy = format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis());
                    for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON", busy.as_str()] {
                        conn.execute(pragma).await?;
                    }
                    Ok(())
                })
            }),
            Backend::Postgres => options.max_connections(16),
        };
        let pool = options.connect(url).await.map_err(|source| StoreError::Connect { backend, source })?;
        migrate::run(&pool, backend).await?;
        Ok(Store { pool, backend, clock })
    }

    /// Applies the migrations not yet applied; [`Store::connect`] already
    /// did, so this is for tools and tests.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&self.pool, self.backend).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The store's clock, unix ms: what every `*_at` column is written
    /// with (a test clock in tests).
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
