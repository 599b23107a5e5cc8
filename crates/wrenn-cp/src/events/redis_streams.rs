//! The fleet bus on a Redis stream.
//!
//! - Publish: `XADD <stream> MAXLEN ~ <max_len> * payload <json>`; the
//!   approximate trim keeps the stream bounded at almost no cost.
//! - Appliers: `XGROUP CREATE … $ MKSTREAM` (an existing group,
//!   `BUSYGROUP`, is fine), then `XREADGROUP … COUNT 1 BLOCK` for new
//!   entries and `XACK` after handling. One entry at a time, so no entry
//!   waits in a local buffer while its idle clock runs. Every
//!   `claim_idle / 2` a consumer runs `XAUTOCLAIM` with `claim_idle` as
//!   the minimum idle time: entries of dead, failed or stuck consumers move
//!   to a live one. A group that vanished (`NOGROUP`, e.g. the stream was
//!   deleted) is recreated.
//! - Subscribers: one task per bus handle runs `XREAD BLOCK` from the
//!   stream's last entry at connect time and broadcasts what it reads to
//!   the local subscribers, so every replica's SSE clients see every
//!   replica's events.
//!
//! Each blocking reader has its own connection: a blocked command would
//! stall everything else multiplexed on the same one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamPendingReply, StreamRangeReply, StreamReadReply,
};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::events::{BusOptions, Delivery, Event, EventBusError, EventId};

/// The stream entry field holding the event JSON.
const PAYLOAD: &str = "payload";
/// How long a plain (non-blocking) command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after a failed read before the feed tries again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct RedisBus {
    client: redis::Client,
    commands: ConnectionManager,
    fanout: broadcast::Sender<Arc<Event>>,
    feed: JoinHandle<()>,
    options: BusOptions,
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.feed.abort();
    }
}

async fn connection(client: &redis::Client, response_timeout: Duration) -> Result<ConnectionManager, EventBusError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(response_timeout));
    ConnectionManager::new_with_config(client.clone(), config).await.map_err(EventBusError::redis("connecting"))
}

/// A connection for commands that block up to `block` on the server.
async fn blocking_connection(client: &redis::Client, block: Duration) -> Result<ConnectionManager, EventBusError> {
    connection(client, block + COMMAND_TIMEOUT).await
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The stream or its group does not exist.
fn is_no_group(error: &redis::RedisError) -> bool {
    error.code() == Some("NOGROUP")
}

/// The event in a stream entry; `None` (logged) when it is not one of ours.
fn decode(entry: &StreamId) -> Option<Event> {
    let Some(payload) = entry.get::<String>(PAYLOAD) else {
        tracing::error!(event_id = %entry.id, "stream entry without a payload field; skipped");
        return None;
    };
    match serde_json::from_str(&payload) {
        Ok(event) => Some(event),
        Err(error) => {
            tracing::error!(event_id = %entry.id, %error, "stream entry with an invalid event; skipped");
            None
        }
    }
}

impl RedisBus {
    pub(crate) async fn connect(url: &str, options: BusOptions) -> Result<RedisBus, EventBusError> {
        let client = redis::Client::open(url).map_err(EventBusError::redis("parsing the redis url"))?;
        let mut commands = connection(&client, COMMAND_TIMEOUT).await?;
        let newest: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&options.stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut commands)
            .await
            .map_err(EventBusError::redis("reading the newest event"))?;
        let start = newest.ids.first().map_or_else(|| "0-0".to_owned(), |entry| entry.id.clone());
        let (fanout, _) = broadcast::channel(options.fanout_capacity);
        let feed_connection = blocking_connection(&client, options.block).await?;
        let feed = tokio::spawn(feed(feed_connection, options.clone(), start, fanout.clone()));
        Ok(RedisBus { client, commands, fanout, feed, options })
    }

    pub(crate) async fn publish(&self, event: &Event) -> Result<EventId, EventBusError> {
        let payload = serde_json::to_string(event)
            .map_err(|source| EventBusError::Encode { kind: event.event.as_str(), source })?;
        let id: String = redis::cmd("XADD")
            .arg(&self.options.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.options.max_len)
            .arg("*")
            .arg(PAYLOAD)
            .arg(payload)
            .query_async(&mut self.commands.clone())
            .await
            .map_err(EventBusError::redis("publishing an event"))?;
        Ok(EventId(id))
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.fanout.subscribe()
    }

    pub(crate) async fn len(&self) -> Result<u64, EventBusError> {
        redis::cmd("XLEN")
            .arg(&self.options.stream)
            .query_async(&mut self.commands.clone())
            .await
            .map_err(EventBusError::redis("measuring the stream"))
    }

    pub(crate) async fn pending(&self, group: &str) -> Result<u64, EventBusError> {
        let reply: Result<StreamPendingReply, redis::RedisError> =
            redis::cmd("XPENDING").arg(&self.options.stream).arg(group).query_async(&mut self.commands.clone()).await;
        match reply {
            Ok(reply) => Ok(reply.count() as u64),
            Err(error) if is_no_group(&error) => Ok(0),
            Err(source) => Err(EventBusError::Redis { context: "counting pending events", source }),
        }
    }

    pub(crate) async fn consumer(&self, group: &str, name: &str) -> Result<RedisConsumer, EventBusError> {
        let conn = blocking_connection(&self.client, self.options.block).await?;
        let mut consumer = RedisConsumer {
            conn,
            options: self.options.clone(),
            group: group.to_owned(),
            name: name.to_owned(),
            next_claim: Instant::now(),
            claim_cursor: "0-0".to_owned(),
        };
        consumer.create_group().await?;
        Ok(consumer)
    }
}

/// Reads every new entry and hands it to the local subscribers, until the
/// bus is dropped.
async fn feed(
    mut conn: ConnectionManager,
    options: BusOptions,
    mut last_id: String,
    fanout: broadcast::Sender<Arc<Event>>,
) {
    loop {
        let reply: Result<Option<StreamReadReply>, redis::RedisError> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(256)
            .arg("BLOCK")
            .arg(millis(options.block))
            .arg("STREAMS")
            .arg(&options.stream)
            .arg(&last_id)
            .query_async(&mut conn)
            .await;
        match reply {
            Ok(reply) => {
                for entry in reply.into_iter().flat_map(|reply| reply.keys).flat_map(|key| key.ids) {
                    if let Some(event) = decode(&entry) {
                        // No subscriber is not an error.
                        let _ = fanout.send(Arc::new(event));
                    }
                    last_id = entry.id;
                }
            }
            Err(error) => {
                tracing::warn!(stream = %options.stream, %error, "reading events for subscribers failed; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// One member of a consumer group on the stream.
#[derive(Debug)]
pub(crate) struct RedisConsumer {
    conn: ConnectionManager,
    options: BusOptions,
    group: String,
    name: String,
    /// When to look for claimable entries next.
    next_claim: Instant,
    /// Where the current `XAUTOCLAIM` scan of the pending list continues.
    claim_cursor: String,
}

impl RedisConsumer {
    async fn create_group(&mut self) -> Result<(), EventBusError> {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.options.stream)
            .arg(&self.group)
            .arg("$")
            .arg("MKSTREAM")
            .query_async(&mut self.conn)
            .await;
        match created {
            Err(error) if error.code() != Some("BUSYGROUP") => {
                Err(EventBusError::Redis { context: "creating the consumer group", source: error })
            }
            _ => Ok(()),
        }
    }

    async fn recreate_group(&mut self) -> Result<(), EventBusError> {
        tracing::warn!(stream = %self.options.stream, group = %self.group, "the consumer group vanished; recreating it");
        self.claim_cursor = "0-0".to_owned();
        self.create_group().await
    }

    pub(crate) async fn next(&mut self) -> Result<Delivery, EventBusError> {
        loop {
            if Instant::now() >= self.next_claim
                && let Some(delivery) = self.claim().await?
            {
                return Ok(delivery);
            }
            let wait = self.next_claim.saturating_duration_since(Instant::now()).min(self.options.block);
            let reply: Result<Option<StreamReadReply>, redis::RedisError> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(&self.group)
                .arg(&self.name)
                .arg("COUNT")
                .arg(1)
                .arg("BLOCK")
                .arg(millis(wait))
                .arg("STREAMS")
                .arg(&self.options.stream)
                .arg(">")
                .query_async(&mut self.conn)
                .await;
            let reply = match reply {
                Err(error) if is_no_group(&error) => {
                    self.recreate_group().await?;
                    continue;
                }
                other => other.map_err(EventBusError::redis("reading events for the group"))?,
            };
            for entry in reply.into_iter().flat_map(|reply| reply.keys).flat_map(|key| key.ids) {
                match decode(&entry) {
                    Some(event) => return Ok(Delivery { id: EventId(entry.id), event, attempt: 1 }),
                    // Not an event: retrying cannot help.
                    None => self.ack(&EventId(entry.id)).await?,
                }
            }
        }
    }

    /// Takes over one pending entry idle for at least `claim_idle`, from
    /// whichever consumer had it.
    async fn claim(&mut self) -> Result<Option<Delivery>, EventBusError> {
        loop {
            let reply: Result<StreamAutoClaimReply, redis::RedisError> = redis::cmd("XAUTOCLAIM")
                .arg(&self.options.stream)
                .arg(&self.group)
                .arg(&self.name)
                .arg(millis(self.options.claim_idle))
                .arg(&self.claim_cursor)
                .arg("COUNT")
                .arg(1)
                .query_async(&mut self.conn)
                .await;
            let reply = match reply {
                Err(error) if is_no_group(&error) => {
                    self.recreate_group().await?;
                    return Ok(None);
                }
                other => other.map_err(EventBusError::redis("claiming idle events"))?,
            };
            for id in &reply.deleted_ids {
                tracing::warn!(event_id = %id, "a pending event was trimmed before it was handled");
            }
            let scan_done = reply.next_stream_id == "0-0";
            self.claim_cursor = reply.next_stream_id;
            if scan_done {
                self.next_claim = Instant::now() + self.options.claim_interval();
            }
            let Some(entry) = reply.claimed.into_iter().next() else {
                return Ok(None);
            };
            let Some(event) = decode(&entry) else {
                self.ack(&EventId(entry.id)).await?;
                continue;
            };
            let attempt = self.delivery_count(&entry.id).await?;
            return Ok(Some(Delivery { id: EventId(entry.id), event, attempt }));
        }
    }

    /// How often the group delivered entry `id` (this delivery included).
    async fn delivery_count(&mut self, id: &str) -> Result<u64, EventBusError> {
        let pending: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&self.options.stream)
            .arg(&self.group)
            .arg(id)
            .arg(id)
            .arg(1)
            .query_async(&mut self.conn)
            .await
            .map_err(EventBusError::redis("reading an event's delivery count"))?;
        Ok(pending.ids.first().map_or(1, |entry| entry.times_delivered as u64))
    }

    pub(crate) async fn ack(&mut self, id: &EventId) -> Result<(), EventBusError> {
        let _: u64 = redis::cmd("XACK")
            .arg(&self.options.stream)
            .arg(&self.group)
            .arg(&id.0)
            .query_async(&mut self.conn)
            .await
            .map_err(EventBusError::redis("acknowledging an event"))?;
        Ok(())
    }
}
