//! One fresh database per test and backend, and the `both!` macro that
//! turns one async test body into a SQLite test and a PostgreSQL test.

use std::future::Future;
use std::sync::Arc;

use sqlx::Connection;
use wrenn_cp::store::{HostKind, HostReserve, HostSpecs, ManualClock, NewCapsule, NewHost, Registration, Team};
use wrenn_cp::{Store, StoreError};
use wrenn_types::{HostId, TeamId};

/// Where the test clock starts: a recent instant, in unix ms.
pub(crate) const T0: i64 = 1_790_000_000_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;
/// What the tests keep back on every host.
pub(crate) const RESERVE: HostReserve = HostReserve { memory_mb: 1024, disk_mb: 10_240 };

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// What a test body gets.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) store: Store,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) url: String,
}

/// Runs every listed test body on both backends:
/// `both!(name, …)` turns each `async fn name(ctx: Ctx)` into the tests
/// `name::sqlite` and `name::postgres`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                crate::harness::run(crate::harness::Kind::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                crate::harness::run(crate::harness::Kind::Postgres, super::$name).await;
            }
        }
    )*};
}
pub(crate) use both;

pub(crate) async fn run<F, Fut>(kind: Kind, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let clock = Arc::new(ManualClock::new(T0));
    let (url, cleanup) = match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("wrenn.db").display());
            (url, Cleanup::Sqlite(dir))
        }
        Kind::Postgres => match postgres_database().await {
            Some((url, admin_url, name)) => (url, Cleanup::Postgres { admin_url, name }),
            None => return,
        },
    };
    let store = Store::connect_with_clock(&url, clock.clone()).await.expect("connect and migrate");
    let outcome = tokio::spawn(body(Ctx { store: store.clone(), clock, url })).await;
    store.close().await;
    cleanup.run().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code, reason = "dropping it removes the directory")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Cleanup {
    async fn run(self) {
        if let Cleanup::Postgres { admin_url, name } = self {
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.expect("reconnect to PostgreSQL");
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop the test database");
        }
    }
}

/// A new empty database on the test server: `(url, admin url, name)`, or
/// `None` (skip) when no server answers outside CI.
#[allow(clippy::disallowed_methods, reason = "tests read their own configuration from the environment")]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
async fn postgres_database() -> Option<(String, String, String)> {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("WRENN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut admin = match sqlx::AnyConnection::connect(&admin_url).await {
        Ok(admin) => admin,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: PostgreSQL at WRENN_TEST_POSTGRES_URL does not answer: {error}");
            return None;
        }
        Err(error) => panic!("PostgreSQL must be reachable in CI (WRENN_TEST_POSTGRES_URL): {error}"),
    };
    let name = format!("wrenn_t_{:032x}", rand_u128());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create a test database");
    let (base, query) = admin_url.split_once('?').map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("the URL names a database");
    let url = match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    };
    Some((url, admin_url, name))
}

fn rand_u128() -> u128 {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("randomness");
    u128::from_be_bytes(bytes)
}

/// A team without BYOC.
pub(crate) async fn team(store: &Store) -> Team {
    let slug = format!("t-{:x}", rand_u128());
    store.create_team("Test team", &slug, false).await.expect("create team")
}

/// A registered, online regular host with `memory_mb` and `disk_mb` in total.
pub(crate) async fn online_host(store: &Store, memory_mb: u64, disk_mb: u64) -> HostId {
    online_host_of(store, NewHost { kind: HostKind::Regular, team_id: None, created_by: None }, memory_mb, disk_mb)
        .await
}

pub(crate) async fn online_host_of(store: &Store, new: NewHost, memory_mb: u64, disk_mb: u64) -> HostId {
    let (host, token) = store.create_host(new, HOUR_MS).await.expect("create host");
    match store.register_host(&token.secret, &specs(memory_mb, disk_mb)).await.expect("register") {
        Registration::Registered(registered) => assert_eq!(registered.id, host.id),
        other => panic!("registration failed: {other:?}"),
    }
    host.id
}

pub(crate) fn specs(memory_mb: u64, disk_mb: u64) -> HostSpecs {
    HostSpecs {
        address: "127.0.0.1:7000".to_owned(),
        arch: "x86_64".to_owned(),
        cpu_cores: 8,
        memory_mb,
        disk_mb,
        cert_fingerprint: "ab".repeat(32),
        cert_expires_at: T0 + 7 * 24 * HOUR_MS,
    }
}

pub(crate) fn ask(team_id: TeamId, memory_mb: u64, disk_mb: u64) -> NewCapsule {
    NewCapsule {
        team_id,
        template: "minimal".to_owned(),
        template_id: None,
        vcpus: 1,
        memory_mb,
        disk_mb,
        timeout_sec: 300,
        metadata: [("purpose".to_owned(), "test".to_owned())].into(),
        public: false,
        pinned_host: None,
    }
}

/// The conflict variant, whatever the backend's own error code.
pub(crate) fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict { .. }))
}
