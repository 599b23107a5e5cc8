//! Waking whoever waits for a capsule's next state, in this process.
//!
//! The store is the one owner of a capsule's status; a data-plane call
//! that waits for a starting capsule reads it there. Polling alone puts
//! the wake-up up to one poll interval after the change (tens of ms on
//! the path every `create` then `exec` takes), so every transition this
//! process makes also wakes the waiters of that capsule at once. Changes
//! made by another replica are still seen by the (slower) poll.
//!
//! One `Notify` per capsule that has waiters, held weakly: the entry dies
//! with its last waiter and dead entries are pruned as the map grows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;
use wrenn_types::CapsuleId;

/// Dead entries are pruned when the map is at least this big.
const PRUNE_AT: usize = 256;

/// Who waits for which capsule.
#[derive(Debug, Default)]
pub(crate) struct Transitions {
    waiters: Mutex<HashMap<CapsuleId, Weak<Notify>>>,
}

impl Transitions {
    /// The notifier of `capsule`; hold it while waiting.
    pub(crate) fn watch(&self, capsule: CapsuleId) -> Arc<Notify> {
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = waiters.get(&capsule).and_then(Weak::upgrade) {
            return notify;
        }
        if waiters.len() >= PRUNE_AT {
            waiters.retain(|_, notify| notify.strong_count() > 0);
        }
        let notify = Arc::new(Notify::new());
        waiters.insert(capsule, Arc::downgrade(&notify));
        notify
    }

    /// Wakes every waiter of `capsule`.
    pub(crate) fn changed(&self, capsule: CapsuleId) {
        let notify = self.waiters.lock().unwrap_or_else(PoisonError::into_inner).get(&capsule).and_then(Weak::upgrade);
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_change_wakes_the_waiters_of_that_capsule_only() {
        let transitions = Transitions::default();
        let (one, two) = (CapsuleId::from_u128(1), CapsuleId::from_u128(2));
        let watching_one = transitions.watch(one);
        let watching_two = transitions.watch(two);
        let woken_one = watching_one.notified();
        let woken_two = watching_two.notified();
        tokio::pin!(woken_one, woken_two);
        // Registered before the change, as a waiter does before reading.
        woken_one.as_mut().enable();
        woken_two.as_mut().enable();
        transitions.changed(one);
        tokio::time::timeout(Duration::from_secs(1), woken_one).await.expect("capsule one's waiter wakes");
        assert!(tokio::time::timeout(Duration::from_millis(50), woken_two).await.is_err(), "capsule two's does not");
    }

    #[test]
    fn entries_die_with_their_last_waiter() {
        let transitions = Transitions::default();
        for n in 0..(PRUNE_AT as u128 + 10) {
            drop(transitions.watch(CapsuleId::from_u128(n)));
        }
        assert!(transitions.len() <= PRUNE_AT, "pruned: {}", transitions.len());
        let held = transitions.watch(CapsuleId::from_u128(1));
        assert!(Arc::ptr_eq(&held, &transitions.watch(CapsuleId::from_u128(1))), "one notifier per capsule");
        transitions.changed(CapsuleId::from_u128(99_999));
    }
}
