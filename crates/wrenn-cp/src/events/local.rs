//! The in-process bus of a single node: the Redis Streams model in memory.
//!
//! A bounded backlog of entries with increasing sequence numbers; per
//! consumer group a cursor (the last entry handed out) and a pending table
//! (entry → delivery time and count). A consumer takes a
//! claimable pending entry first, else the entry after the cursor. So the
//! single-node mode behaves like the fleet mode — one handler per event,
//! acknowledgement after handling, reclaim after `claim_idle` — and the
//! same tests run on both. Nothing survives a restart; the reconciler
//! covers that.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{Notify, broadcast};

use crate::events::{BusOptions, Delivery, Event, EventId};

#[derive(Debug)]
pub(crate) struct LocalBus {
    state: Mutex<State>,
    /// Woken on every publish so blocked consumers look again.
    published: Notify,
    fanout: broadcast::Sender<Arc<Event>>,
    options: BusOptions,
}

#[derive(Debug, Default)]
struct State {
    /// The sequence number the next entry gets; entries start at 1.
    next_seq: u64,
    entries: VecDeque<(u64, Arc<Event>)>,
    groups: HashMap<String, Group>,
}

#[derive(Debug)]
struct Group {
    /// The last entry handed out; 0 before any.
    cursor: u64,
    pending: BTreeMap<u64, Pending>,
}

#[derive(Debug)]
struct Pending {
    delivered_at: Instant,
    deliveries: u64,
}

/// The entry with sequence number `seq`, if still in the backlog.
fn entry(entries: &VecDeque<(u64, Arc<Event>)>, seq: u64) -> Option<&Arc<Event>> {
    let first = entries.front()?.0;
    let index = usize::try_from(seq.checked_sub(first)?).ok()?;
    entries.get(index).map(|(_, event)| event)
}

fn seq_id(seq: u64) -> EventId {
    EventId(format!("{seq}-0"))
}

fn parse_seq(id: &EventId) -> Option<u64> {
    id.0.strip_suffix("-0")?.parse().ok()
}

impl LocalBus {
    pub(crate) fn new(options: BusOptions) -> LocalBus {
        let (fanout, _) = broadcast::channel(options.fanout_capacity);
        let state = State { next_seq: 1, ..State::default() };
        LocalBus { state: Mutex::new(state), published: Notify::new(), fanout, options }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement; a panic elsewhere
        // while holding the lock leaves nothing half-done.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn publish(&self, event: &Event) -> EventId {
        let event = Arc::new(event.clone());
        let seq = {
            let mut state = self.lock();
            let seq = state.next_seq;
            state.next_seq += 1;
            state.entries.push_back((seq, event.clone()));
            while state.entries.len() > self.options.max_len {
                state.entries.pop_front();
            }
            seq
        };
        self.published.notify_waiters();
        // No subscriber is not an error.
        let _ = self.fanout.send(event);
        seq_id(seq)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.fanout.subscribe()
    }

    pub(crate) fn pending(&self, group: &str) -> u64 {
        self.lock().groups.get(group).map_or(0, |group| group.pending.len() as u64)
    }

    pub(crate) fn len(&self) -> u64 {
        self.lock().entries.len() as u64
    }

    /// Creates `group` if new, positioned after the newest entry.
    fn join(&self, group: &str) {
        let mut state = self.lock();
        let cursor = state.next_seq - 1;
        state.groups.entry(group.to_owned()).or_insert_with(|| Group { cursor, pending: BTreeMap::new() });
    }

    /// A claimable pending entry of any consumer, else the next new entry.
    fn take(&self, group: &str) -> Option<Delivery> {
        let mut guard = self.lock();
        let State { next_seq, entries, groups } = &mut *guard;
        let group = groups.get_mut(group)?;
        let now = Instant::now();
        let first = entries.front().map_or(*next_seq, |(seq, _)| *seq);
        // Entries trimmed while pending can never be handled: forget them.
        while let Some(entry) = group.pending.first_entry() {
            if *entry.key() >= first {
                break;
            }
            tracing::warn!(event_id = %seq_id(*entry.key()), "a pending event was trimmed before it was handled");
            entry.remove();
        }
        let claimable = group
            .pending
            .iter_mut()
            .find(|(_, pending)| now.duration_since(pending.delivered_at) >= self.options.claim_idle);
        if let Some((&seq, pending)) = claimable {
            pending.delivered_at = now;
            pending.deliveries += 1;
            let event = entry(entries, seq)?;
            return Some(Delivery { id: seq_id(seq), event: Event::clone(event), attempt: pending.deliveries });
        }
        // Entries trimmed before the group read them are skipped.
        let seq = group.cursor.max(first - 1) + 1;
        let event = entry(entries, seq)?;
        group.cursor = seq;
        group.pending.insert(seq, Pending { delivered_at: now, deliveries: 1 });
        Some(Delivery { id: seq_id(seq), event: Event::clone(event), attempt: 1 })
    }

    fn ack(&self, group: &str, id: &EventId) {
        if let Some(seq) = parse_seq(id)
            && let Some(group) = self.lock().groups.get_mut(group)
        {
            group.pending.remove(&seq);
        }
    }
}

/// One member of an in-process consumer group.
#[derive(Debug)]
pub(crate) struct LocalConsumer {
    bus: Arc<LocalBus>,
    group: String,
    name: String,
}

impl LocalConsumer {
    pub(crate) fn join(bus: &Arc<LocalBus>, group: &str, name: &str) -> LocalConsumer {
        bus.join(group);
        LocalConsumer { bus: bus.clone(), group: group.to_owned(), name: name.to_owned() }
    }

    pub(crate) async fn next(&mut self) -> Delivery {
        let wait = self.bus.options.claim_interval().min(self.bus.options.block);
        loop {
            // Registered before looking, so a publish in between still wakes us.
            let published = self.bus.published.notified();
            tokio::pin!(published);
            published.as_mut().enable();
            if let Some(delivery) = self.bus.take(&self.group) {
                tracing::debug!(consumer = %self.name, event_id = %delivery.id, attempt = delivery.attempt, "event delivered");
                return delivery;
            }
            // Woken by a publish, or after `wait` to look for claimable entries.
            let _ = tokio::time::timeout(wait, published).await;
        }
    }

    pub(crate) fn ack(&mut self, id: &EventId) {
        self.bus.ack(&self.group, id);
    }
}
