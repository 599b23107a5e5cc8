//! The event bus: where capsule, template and host events go once the
//! state change behind them is decided.
//!
//! Two readers with different needs consume it:
//!
//! - **Appliers** form a consumer group with work-queue semantics: each
//!   event goes to one consumer of the group, which acknowledges it only
//!   after handling it. An event whose consumer failed or died stays
//!   pending and, once idle for [`BusOptions::claim_idle`], is claimed by a
//!   live consumer of the group. The group is the *fallback writer*: the
//!   code that decides a state change writes it with a guarded
//!   compare-and-set and publishes the event; if that write was lost (the
//!   process died between deciding and writing, or the database was
//!   briefly unreachable), the applier writes it from the event.
//! - **Subscribers** (the SSE stream `GET /v1/events/stream`) get every
//!   event published on any replica, filtered by team, from a bounded
//!   buffer; one that falls too far behind is told so
//!   ([`SubscriptionEnd::Lagged`]) instead of growing memory.
//!
//! Delivery to appliers is **at least once**: an event is redelivered when
//! its consumer fails, dies before acknowledging, or is slower than
//! `claim_idle`. Handlers must therefore be idempotent, which the store's
//! compare-and-set writes make natural ("move to `running` if still
//! `starting`" applied twice is applied once). A handler should fail only
//! on transient errors: an event that can never be applied (its capsule is
//! gone) is handled by doing nothing and acknowledging it.
//!
//! Two implementations behind [`EventBus`]:
//! - in-process ([`EventBus::in_process`]) for a single node: the same
//!   group, pending and claim semantics in memory;
//! - Redis Streams ([`EventBus::redis`]) for a fleet: `XADD … MAXLEN ~`,
//!   a consumer group created idempotently, `XREADGROUP … BLOCK`, `XACK`
//!   after handling, `XAUTOCLAIM` for idle pending entries, and one `XREAD`
//!   task per replica feeding its local subscribers.
//!
//! Both keep a bounded backlog (`max_len`): an event trimmed before any
//! consumer read it is lost, and the periodic reconciler is the safety
//! net behind it.

mod error;
mod local;
mod model;
mod redis_streams;
mod subscription;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use crate::events::error::EventBusError;
pub use crate::events::model::{Actor, ActorKind, Event, EventKind, Outcome, Resource, ResourceKind, Timestamp};
pub use crate::events::subscription::{Audience, Subscription, SubscriptionEnd};

/// The consumer group of the fallback writers.
pub const APPLIER_GROUP: &str = "wrenn-appliers-v1";

/// How a bus is sized and timed.
#[derive(Debug, Clone)]
pub struct BusOptions {
    /// The Redis stream key (ignored in-process).
    pub stream: String,
    /// How many events the backlog keeps; Redis trims approximately, in
    /// whole internal nodes, so a little more may remain.
    pub max_len: usize,
    /// How long an unacknowledged event stays with its consumer before
    /// another consumer of the group may claim it.
    pub claim_idle: Duration,
    /// The longest single blocking read; bounds how long a consumer or the
    /// subscriber feed waits before looking around again.
    pub block: Duration,
    /// Events buffered per replica for subscribers; a subscriber further
    /// behind than this is lagged.
    pub fanout_capacity: usize,
}

impl Default for BusOptions {
    fn default() -> BusOptions {
        BusOptions {
            stream: "wrenn:events".to_owned(),
            max_len: 10_000,
            claim_idle: Duration::from_secs(30),
            block: Duration::from_secs(5),
            fanout_capacity: 1024,
        }
    }
}

impl BusOptions {
    fn validate(&self) -> Result<(), EventBusError> {
        if self.max_len == 0 {
            return Err(EventBusError::Options("max_len must be at least 1"));
        }
        if self.fanout_capacity == 0 {
            return Err(EventBusError::Options("fanout_capacity must be at least 1"));
        }
        if self.claim_idle < Duration::from_millis(1) || self.block < Duration::from_millis(1) {
            return Err(EventBusError::Options("claim_idle and block must be at least 1 ms"));
        }
        Ok(())
    }

    /// How often a consumer looks for claimable entries.
    fn claim_interval(&self) -> Duration {
        (self.claim_idle / 2).max(Duration::from_millis(10))
    }
}

/// Where an event sits in the backlog: the Redis entry id, or the
/// in-process sequence number in the same `<n>-0` form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(pub String);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event handed to one consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: EventId,
    pub event: Event,
    /// 1 on first delivery, more when it was claimed again.
    pub attempt: u64,
}

/// What [`Consumer::handle_next`] did with the event it got.
#[derive(Debug)]
pub enum Handled<E> {
    /// Handled and acknowledged.
    Acked(Delivery),
    /// The handler failed; the event stays pending and is claimed again
    /// after `claim_idle`.
    Failed(Delivery, E),
}

/// The event bus handle every service shares; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventBus {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(Arc<local::LocalBus>),
    Redis(Arc<redis_streams::RedisBus>),
}

impl EventBus {
    /// A bus in this process's memory, for a single node.
    pub fn in_process(options: BusOptions) -> Result<EventBus, EventBusError> {
        options.validate()?;
        Ok(EventBus { backend: Backend::Local(Arc::new(local::LocalBus::new(options))) })
    }

    /// A bus on the Redis stream `options.stream` at `url`. Subscribers of
    /// this handle see every event published after this call returns, by
    /// any replica.
    pub async fn redis(url: &str, options: BusOptions) -> Result<EventBus, EventBusError> {
        options.validate()?;
        let bus = redis_streams::RedisBus::connect(url, options).await?;
        Ok(EventBus { backend: Backend::Redis(Arc::new(bus)) })
    }

    /// Appends `event` to the backlog, for the consumer groups and for the
    /// subscribers of every replica.
    pub async fn publish(&self, event: &Event) -> Result<EventId, EventBusError> {
        match &self.backend {
            Backend::Local(bus) => Ok(bus.publish(event)),
            Backend::Redis(bus) => bus.publish(event).await,
        }
    }

    /// A fan-out subscription to the events `audience` may see.
    pub fn subscribe(&self, audience: Audience) -> Subscription {
        let receiver = match &self.backend {
            Backend::Local(bus) => bus.subscribe(),
            Backend::Redis(bus) => bus.subscribe(),
        };
        Subscription::new(receiver, audience)
    }

    /// Joins consumer group `group` as `name` (unique within the group;
    /// reusing a name inherits that consumer's pending events). The group
    /// is created on first use and sees the events published after that.
    pub async fn consumer(&self, group: &str, name: &str) -> Result<Consumer, EventBusError> {
        let inner = match &self.backend {
            Backend::Local(bus) => ConsumerInner::Local(local::LocalConsumer::join(bus, group, name)),
            Backend::Redis(bus) => ConsumerInner::Redis(bus.consumer(group, name).await?),
        };
        Ok(Consumer { inner })
    }

    /// How many events consumer group `group` has handed out and not had
    /// acknowledged yet (0 for a group that does not exist).
    pub async fn pending(&self, group: &str) -> Result<u64, EventBusError> {
        match &self.backend {
            Backend::Local(bus) => Ok(bus.pending(group)),
            Backend::Redis(bus) => bus.pending(group).await,
        }
    }

    /// How many events the backlog holds now.
    pub async fn backlog_len(&self) -> Result<u64, EventBusError> {
        match &self.backend {
            Backend::Local(bus) => Ok(bus.len()),
            Backend::Redis(bus) => bus.len().await,
        }
    }
}

/// One member of a consumer group.
#[derive(Debug)]
pub struct Consumer {
    inner: ConsumerInner,
}

#[derive(Debug)]
enum ConsumerInner {
    Local(local::LocalConsumer),
    Redis(redis_streams::RedisConsumer),
}

impl Consumer {
    /// The next event for this consumer: an idle pending one claimed from
    /// any consumer of the group first, else a new one; waits until there
    /// is one. Dropping the future loses nothing: an event already taken
    /// stays pending and is claimed again later.
    pub async fn next(&mut self) -> Result<Delivery, EventBusError> {
        match &mut self.inner {
            ConsumerInner::Local(consumer) => Ok(consumer.next().await),
            ConsumerInner::Redis(consumer) => consumer.next().await,
        }
    }

    /// Marks `delivery` handled: it will not be delivered again.
    pub async fn ack(&mut self, delivery: &Delivery) -> Result<(), EventBusError> {
        match &mut self.inner {
            ConsumerInner::Local(consumer) => {
                consumer.ack(&delivery.id);
                Ok(())
            }
            ConsumerInner::Redis(consumer) => consumer.ack(&delivery.id).await,
        }
    }

    /// Takes the next event, runs `handler` on it and acknowledges it only
    /// if the handler succeeded.
    pub async fn handle_next<F, Fut, E>(&mut self, handler: F) -> Result<Handled<E>, EventBusError>
    where
        F: FnOnce(Delivery) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let delivery = self.next().await?;
        match handler(delivery.clone()).await {
            Ok(()) => {
                self.ack(&delivery).await?;
                Ok(Handled::Acked(delivery))
            }
            Err(error) => {
                tracing::warn!(
                    event_id = %delivery.id,
                    kind = %delivery.event.event,
                    attempt = delivery.attempt,
                    %error,
                    "event handler failed; the event stays pending and is retried",
                );
                Ok(Handled::Failed(delivery, error))
            }
        }
    }
}
