//! Fans a process's output out to its subscribers without unbounded memory.
//!
//! Each subscriber owns a queue of [`QUEUE_CHUNKS`] chunks (a chunk is at
//! most [`crate::process::handle::READ_CHUNK`] bytes). Publishing waits for a
//! full queue at most [`SLOW_SUBSCRIBER_GRACE`]; a subscriber still full
//! after that is dropped, and its stream ends with an error instead of
//! silently missing output. With no subscribers output is discarded, which
//! is E2B's semantics for detached processes.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::process::{ExitInfo, Output, ProcessEvent};

pub(crate) const QUEUE_CHUNKS: usize = 64;
pub(crate) const SLOW_SUBSCRIBER_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(crate) struct OutputHub {
    inner: Mutex<HubState>,
}

#[derive(Debug, Default)]
struct HubState {
    next_id: u64,
    subscribers: Vec<(u64, mpsc::Sender<ProcessEvent>)>,
    ended: Option<ExitInfo>,
}

impl OutputHub {
    /// A new subscription; it sees output from now on, then the end.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<ProcessEvent> {
        let (sender, receiver) = mpsc::channel(QUEUE_CHUNKS);
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match &state.ended {
            Some(exit) => {
                let _ = sender.try_send(ProcessEvent::End(exit.clone()));
            }
            None => {
                let id = state.next_id;
                state.next_id += 1;
                state.subscribers.push((id, sender));
            }
        }
        receiver
    }

    #[cfg(test)]
    pub(crate) fn n_subscribers(&self) -> usize {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.subscribers.retain(|(_, sender)| !sender.is_closed());
        state.subscribers.len()
    }

    /// Delivers one chunk to every subscriber, waiting for slow ones at most
    /// `grace` each and dropping those that stay full.
    pub(crate) async fn publish(&self, output: Output, grace: Duration) {
        let subscribers = {
            let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            state.subscribers.retain(|(_, sender)| !sender.is_closed());
            state.subscribers.clone()
        };
        let mut evicted = Vec::new();
        for (id, sender) in subscribers {
            let event = ProcessEvent::Data(output.clone());
            match sender.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => evicted.push(id),
                Err(mpsc::error::TrySendError::Full(event)) => {
                    if sender.send_timeout(event, grace).await.is_err() {
                        tracing::warn!(subscriber = id, "dropping a subscriber that stopped reading output");
                        evicted.push(id);
                    }
                }
            }
        }
        if !evicted.is_empty() {
            let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            state.subscribers.retain(|(id, _)| !evicted.contains(id));
        }
    }

    /// Sends the end to every subscriber; later subscribers get it at once.
    pub(crate) async fn finish(&self, exit: ExitInfo, grace: Duration) {
        let subscribers = {
            let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            state.ended = Some(exit.clone());
            std::mem::take(&mut state.subscribers)
        };
        for (_, sender) in subscribers {
            let _ = sender.send_timeout(ProcessEvent::End(exit.clone()), grace).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn chunk(n: u8) -> Output {
        Output::Stdout(Bytes::from(vec![n]))
    }

    #[tokio::test]
    async fn every_subscriber_sees_output_then_end() {
        let hub = OutputHub::default();
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
        hub.publish(chunk(1), SLOW_SUBSCRIBER_GRACE).await;
        hub.finish(ExitInfo::from_code(0), SLOW_SUBSCRIBER_GRACE).await;
        for rx in [&mut a, &mut b] {
            assert_eq!(rx.recv().await, Some(ProcessEvent::Data(chunk(1))));
            assert_eq!(rx.recv().await, Some(ProcessEvent::End(ExitInfo::from_code(0))));
            assert_eq!(rx.recv().await, None);
        }
        let mut late = hub.subscribe();
        assert_eq!(late.recv().await, Some(ProcessEvent::End(ExitInfo::from_code(0))));
    }

    #[tokio::test]
    async fn a_stuck_subscriber_is_cut_off_and_others_keep_going() {
        let hub = OutputHub::default();
        let mut stuck = hub.subscribe();
        let mut reader = hub.subscribe();
        let drain = tokio::spawn(async move {
            let mut n = 0;
            while let Some(ProcessEvent::Data(_)) = reader.recv().await {
                n += 1;
            }
            n
        });
        let grace = Duration::from_millis(20);
        for i in 0..(QUEUE_CHUNKS as u8 + 10) {
            hub.publish(chunk(i), grace).await;
        }
        assert_eq!(hub.n_subscribers(), 1, "the stuck subscriber was dropped");
        hub.finish(ExitInfo::from_code(0), grace).await;
        assert_eq!(drain.await.unwrap(), QUEUE_CHUNKS + 10);
        // The stuck one gets what fitted, then its stream ends without an End.
        let mut seen = 0;
        while let Some(event) = stuck.recv().await {
            assert!(matches!(event, ProcessEvent::Data(_)));
            seen += 1;
        }
        assert_eq!(seen, QUEUE_CHUNKS);
    }

    #[tokio::test]
    async fn without_subscribers_output_is_discarded() {
        let hub = OutputHub::default();
        for i in 0..200 {
            hub.publish(chunk(i), SLOW_SUBSCRIBER_GRACE).await;
        }
        assert_eq!(hub.n_subscribers(), 0);
    }
}
