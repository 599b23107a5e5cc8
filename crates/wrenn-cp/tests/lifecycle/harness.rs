//! One control plane and one real host per test, and the `both!` macro that
//! runs a test body on SQLite with the in-process bus and on PostgreSQL
//! with the Redis bus.
//!
//! The store's clock is the system clock plus an offset a test may move
//! ([`OffsetClock`]): the lifecycle stamps rows with real time, and a test
//! of silent hosts jumps ahead instead of waiting.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sqlx::Connection;
use wrenn_cp::app::{AgentClient, App, AppConfig, Caller, CreateCapsule};
use wrenn_cp::background::base_template;
use wrenn_cp::events::{Actor, ActorKind, BusOptions, EventBus};
use wrenn_cp::pki::{self, CertificateAuthority, ClientCert};
use wrenn_cp::store::{Capsule, CapsuleStatus, Clock, Host, SystemClock};
use wrenn_cp::{Store, app::AgentPool};
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{CapsuleId, ErrorChain};

use crate::host::{self, Prerequisites};

/// Longest a capsule may take to reach a state the test waits for.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
}

/// Runs every listed test body on both backends: `both!(name, …)` turns
/// each `async fn name(ctx: Ctx)` into the tests `name::sqlite` and
/// `name::postgres`.
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

/// The system clock plus an offset the test moves.
#[derive(Debug, Default)]
pub(crate) struct OffsetClock(AtomicI64);

impl OffsetClock {
    pub(crate) fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms().saturating_add(self.0.load(Ordering::SeqCst))
    }
}

/// What a test body gets: a control plane whose one host is a real agent.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) app: App,
    pub(crate) caller: Caller,
    pub(crate) host_id: wrenn_types::HostId,
    /// The agent, called directly (behind the control plane's back).
    pub(crate) agent: AgentClient,
    pub(crate) clock: Arc<OffsetClock>,
}

pub(crate) async fn run<F, Fut>(kind: Kind, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(machine) = host::prerequisites() else { return };
    let clock = Arc::new(OffsetClock::default());
    let Some(backend) = Backend::open(kind, Arc::clone(&clock)).await else { return };
    let outcome = {
        let lock = host::lock().await;
        let setup = tokio::spawn(setup(backend.store.clone(), backend.bus.clone(), clock, machine, lock)).await;
        match setup {
            Ok((ctx, host)) => {
                let outcome = tokio::spawn(body(ctx)).await;
                host.shutdown().await;
                outcome
            }
            Err(error) => Err(error),
        }
    };
    backend.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn setup(
    store: Store,
    bus: EventBus,
    clock: Arc<OffsetClock>,
    machine: Prerequisites,
    lock: host::HostLock,
) -> (Ctx, host::Host) {
    let ca = CertificateAuthority::generate().expect("generate a CA");
    let client_cert = ClientCert::issue(&ca).expect("issue the control plane's certificate");
    let agents = AgentPool::new(pki::client_config(&ca, client_cert).expect("client TLS configuration"));
    let host = host::Host::start(&store, &ca, &agents, &machine, lock).await;
    store.upsert_template(&base_template("minimal", 0)).await.expect("list minimal");
    let slug = format!("t-{:x}", rand_u128());
    let team = store.create_team("Lifecycle team", &slug, false).await.expect("create a team");
    let agent = agents.client_at(&host.address).expect("an agent client");
    let app = App::new(store, bus, agents, Arc::new(ca), AppConfig::default());
    let caller = Caller { team_id: team.id, actor: api_key_actor() };
    (Ctx { app, caller, host_id: host.id, agent, clock }, host)
}

pub(crate) fn api_key_actor() -> Actor {
    Actor { kind: ActorKind::ApiKey, id: "key-lifecycle".to_owned(), name: "lifecycle tests".to_owned() }
}

/// A small capsule (the machine running the tests has two cores).
pub(crate) fn small(template: &str) -> CreateCapsule {
    CreateCapsule {
        template: Some(template.to_owned()),
        memory_mb: Some(256),
        disk_mb: Some(256),
        ..Default::default()
    }
}

impl Ctx {
    pub(crate) fn store(&self) -> &Store {
        self.app.store()
    }

    pub(crate) async fn capsule(&self, id: CapsuleId) -> Capsule {
        self.store().get_capsule(id).await.expect("read the capsule").expect("the capsule exists")
    }

    pub(crate) async fn host(&self) -> Host {
        self.store().get_host(self.host_id).await.expect("read the host").expect("the host exists")
    }

    /// Creates a small `minimal` capsule and waits until it runs.
    pub(crate) async fn running_capsule(&self) -> Capsule {
        let capsule = self.app.create_capsule(&self.caller, small("minimal")).await.expect("create a capsule");
        self.wait_for(capsule.id, "running", |status| status == CapsuleStatus::Running).await
    }

    /// Polls the store until the capsule's status satisfies `done`; fails
    /// with where it is after [`PATIENCE`].
    pub(crate) async fn wait_for(&self, id: CapsuleId, what: &str, done: impl Fn(CapsuleStatus) -> bool) -> Capsule {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let capsule = self.capsule(id).await;
            if done(capsule.status) {
                return capsule;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "capsule {id} is still {} ({:?}) after {PATIENCE:?}, not {what}",
                capsule.status,
                capsule.reason
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no background task works on the capsule any more.
    pub(crate) async fn settled(&self, id: CapsuleId) -> Capsule {
        self.wait_for(id, "settled", |status| !status.is_transitional() && status != CapsuleStatus::Pending).await
    }

    /// The capsules the agent has and their states, by id.
    pub(crate) async fn on_agent(&self) -> BTreeMap<String, pb::CapsuleState> {
        let listed =
            self.agent.list_capsules(pb::ListCapsulesRequest::default()).await.expect("list the agent's capsules");
        listed
            .into_owned()
            .capsules
            .into_iter()
            .map(|info| (info.capsule_id, info.state.as_known().unwrap_or(pb::CapsuleState::CAPSULE_STATE_UNSPECIFIED)))
            .collect()
    }

    /// Runs `sh -c script` in the capsule through `agent`; returns stdout.
    pub(crate) async fn exec(agent: &AgentClient, id: CapsuleId, script: &str) -> String {
        let request = pb::ExecRequest {
            capsule_id: id.to_string(),
            cmd: "/bin/sh".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            timeout_sec: 20,
            ..Default::default()
        };
        let output = agent.exec(request).await.expect("exec").into_owned();
        assert_eq!(output.exit_code, 0, "{script}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Asserts that the host holds no reservation (every capsule released it).
    pub(crate) async fn assert_nothing_reserved(&self) {
        let host = self.host().await;
        assert_eq!(
            (host.reserved_vcpus, host.reserved_memory_mb, host.reserved_disk_mb),
            (0, 0, 0),
            "the host still holds reservations"
        );
    }
}

/// A store and a bus of the test's own.
struct Backend {
    store: Store,
    bus: EventBus,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code, reason = "dropping it removes the directory")] tempfile::TempDir),
    Postgres { admin_url: String, database: String, redis_url: String, stream: String },
}

impl Backend {
    /// `None` (skip) when PostgreSQL or Redis does not answer outside CI.
    async fn open(kind: Kind, clock: Arc<OffsetClock>) -> Option<Backend> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("wrenn.db").display());
                let store = Store::connect_with_clock(&url, clock).await.expect("open SQLite");
                let bus = EventBus::in_process(BusOptions::default()).expect("an in-process bus");
                Some(Backend { store, bus, cleanup: Cleanup::Sqlite(dir) })
            }
            Kind::Postgres => {
                let (bus, redis_url, stream) = redis_bus().await?;
                let (url, admin_url, database) = postgres_database().await?;
                let store = Store::connect_with_clock(&url, clock).await.expect("connect and migrate");
                Some(Backend { store, bus, cleanup: Cleanup::Postgres { admin_url, database, redis_url, stream } })
            }
        }
    }

    async fn close(self) {
        self.store.close().await;
        if let Cleanup::Postgres { admin_url, database, redis_url, stream } = self.cleanup {
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.expect("reconnect to PostgreSQL");
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop the test database");
            let client = redis::Client::open(redis_url.as_str()).expect("redis url");
            let mut conn = client.get_multiplexed_async_connection().await.expect("reconnect to Redis");
            let _: () = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await.expect("delete the stream");
        }
    }
}

/// Whether a missing server is a skip (outside CI) or a failure.
fn unavailable(what: &str, error: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what} must be reachable in CI: {error}");
    eprintln!("skipping: {what} does not answer: {error}");
}

/// A bus on a stream of its own on the test Redis: `(bus, url, stream)`.
async fn redis_bus() -> Option<(EventBus, String, String)> {
    let url = std::env::var("WRENN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let options = BusOptions {
        stream: format!("wrenn:test:lifecycle:{:032x}", rand_u128()),
        block: Duration::from_millis(250),
        ..BusOptions::default()
    };
    match EventBus::redis(&url, options.clone()).await {
        Ok(bus) => Some((bus, url, options.stream)),
        Err(error) => {
            unavailable("Redis at WRENN_TEST_REDIS_URL", &ErrorChain(&error).to_string());
            None
        }
    }
}

/// A new empty database on the test server: `(url, admin url, name)`.
async fn postgres_database() -> Option<(String, String, String)> {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("WRENN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut admin = match sqlx::AnyConnection::connect(&admin_url).await {
        Ok(admin) => admin,
        Err(error) => {
            unavailable("PostgreSQL at WRENN_TEST_POSTGRES_URL", &error.to_string());
            return None;
        }
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

pub(crate) fn rand_u128() -> u128 {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("randomness");
    u128::from_be_bytes(bytes)
}
