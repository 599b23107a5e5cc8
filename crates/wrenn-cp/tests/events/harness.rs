//! One fresh bus per test and backend, "replicas" of it, and the `both!`
//! macro that turns one async test body into an in-process test and a
//! Redis test.

use std::future::Future;
use std::time::Duration;

use wrenn_cp::events::{Actor, BusOptions, Event, EventBus, EventKind, Resource, ResourceKind};
use wrenn_types::ErrorChain;
use wrenn_types::TeamId;

/// The idle time after which tests expect an event to be claimed again.
pub(crate) const CLAIM_IDLE: Duration = Duration::from_millis(700);
/// Long enough for anything that should arrive to arrive.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    InProcess,
    Redis,
}

/// What a test body gets.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) bus: EventBus,
    pub(crate) options: BusOptions,
    redis_url: Option<String>,
}

impl Ctx {
    /// A plain connection to the test Redis, when the bus is on Redis.
    pub(crate) async fn redis(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.redis_url.as_deref()?).expect("redis url");
        Some(client.get_multiplexed_async_connection().await.expect("connect to redis"))
    }

    /// Another control-plane replica on the same bus: a second connection
    /// to the same stream, or in-process the same bus.
    pub(crate) async fn replica(&self) -> EventBus {
        match &self.redis_url {
            Some(url) => EventBus::redis(url, self.options.clone()).await.expect("connect a second replica"),
            None => self.bus.clone(),
        }
    }
}

/// Runs every listed test body on both buses:
/// `both!(name, …)` turns each `async fn name(ctx: Ctx)` into the tests
/// `name::in_process` and `name::redis`. A body may adjust the options
/// through `fn options(&mut BusOptions)` given as `name => options`.
macro_rules! both {
    ($($name:ident $(=> $options:ident)?),* $(,)?) => {$(
        mod $name {
            #[allow(unused_mut, unused_variables, reason = "only some tests adjust the options")]
            fn options() -> wrenn_cp::events::BusOptions {
                let mut options = crate::harness::options();
                $(super::$options(&mut options);)?
                options
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn in_process() {
                crate::harness::run(crate::harness::Kind::InProcess, options(), super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn redis() {
                crate::harness::run(crate::harness::Kind::Redis, options(), super::$name).await;
            }
        }
    )*};
}
pub(crate) use both;

/// Quick timings so reclaim tests take a second, and a stream of its own.
pub(crate) fn options() -> BusOptions {
    BusOptions {
        stream: format!("wrenn:test:events:{:032x}", rand_u128()),
        max_len: 10_000,
        claim_idle: CLAIM_IDLE,
        block: Duration::from_millis(250),
        fanout_capacity: 256,
    }
}

pub(crate) async fn run<F, Fut>(kind: Kind, options: BusOptions, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (bus, redis_url) = match kind {
        Kind::InProcess => (EventBus::in_process(options.clone()).expect("in-process bus"), None),
        Kind::Redis => match redis_bus(&options).await {
            Some((bus, url)) => (bus, Some(url)),
            None => return,
        },
    };
    let outcome = tokio::spawn(body(Ctx { bus, options: options.clone(), redis_url: redis_url.clone() })).await;
    if let Some(url) = redis_url {
        let client = redis::Client::open(url.as_str()).expect("redis url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("reconnect to redis");
        let _: () = redis::cmd("DEL").arg(&options.stream).query_async(&mut conn).await.expect("delete the stream");
    }
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// A bus on the test Redis, or `None` (skip) when none answers outside CI.
#[allow(clippy::disallowed_methods, reason = "tests read their own configuration from the environment")]
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
async fn redis_bus(options: &BusOptions) -> Option<(EventBus, String)> {
    let url = std::env::var("WRENN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match EventBus::redis(&url, options.clone()).await.map_err(|error| ErrorChain(&error).to_string()) {
        Ok(bus) => Some((bus, url)),
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: Redis at WRENN_TEST_REDIS_URL does not answer: {error}");
            None
        }
        Err(error) => panic!("Redis must be reachable in CI (WRENN_TEST_REDIS_URL): {error}"),
    }
}

pub(crate) fn rand_u128() -> u128 {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("randomness");
    u128::from_be_bytes(bytes)
}

/// A state-change event of `team` about capsule `capsule`.
pub(crate) fn event(team: Option<TeamId>, capsule: &str) -> Event {
    let mut event = Event::new(
        EventKind::CapsuleStateChanged,
        team,
        Resource { id: capsule.to_owned(), kind: ResourceKind::Sandbox },
        Actor::system(),
    );
    event.metadata.insert("from".to_owned(), "starting".to_owned());
    event.metadata.insert("to".to_owned(), "running".to_owned());
    event
}

/// The capsule id an event is about.
pub(crate) fn subject(event: &Event) -> String {
    event.resource.as_ref().map(|resource| resource.id.clone()).unwrap_or_default()
}
