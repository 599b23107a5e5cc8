//! The store's one error type. Callers match on the variants that carry a
//! decision (conflict, no capacity); the rest are failures with context.

use crate::store::Backend;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url scheme {scheme:?}: use sqlite:// or postgres://")]
    UnsupportedUrl { scheme: String },
    #[error("cannot connect to the {backend} database")]
    Connect {
        backend: Backend,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the {backend} database")]
    Migrate {
        backend: Backend,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A unique constraint refused the write (both backends map here).
    #[error("conflict while {context}: it already exists")]
    Conflict {
        context: &'static str,
        #[source]
        source: Option<sqlx::Error>,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// No host in the team's pool has room for the capsule.
    #[error("no host has room for {memory_mb} MB memory and {disk_mb} MB disk")]
    NoCapacity { memory_mb: u64, disk_mb: u64 },
    /// The one host a capsule may run on is not online (or not in the
    /// team's pool).
    #[error("host {host_id} is not online")]
    PinnedHostOffline { host_id: String },
    /// The team's pool has no online host at all.
    #[error("no online host in the pool of team {team_id}")]
    NoHosts { team_id: String },
    #[error("database error while {context}")]
    Query {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot read operating system randomness")]
    Randomness {
        #[source]
        source: getrandom::Error,
    },
    #[error("stored value {value:?} in column {column} is invalid")]
    Corrupt { column: &'static str, value: String },
}

impl StoreError {
    /// Maps a query failure, turning unique violations into [`StoreError::Conflict`].
    pub(crate) fn query(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| {
            let unique =
                source.as_database_error().is_some_and(|db| db.kind() == sqlx::error::ErrorKind::UniqueViolation);
            if unique {
                StoreError::Conflict { context, source: Some(source) }
            } else {
                StoreError::Query { context, source }
            }
        }
    }
}
