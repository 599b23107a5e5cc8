//! Fan-out to live listeners (the SSE stream): every event reaches every
//! subscriber of the replica, through one bounded broadcast buffer per
//! replica. A subscriber that falls behind by more than the buffer learns
//! it lost events instead of holding memory for them; the SSE handler
//! ends the stream and the client reconnects.

use std::sync::Arc;

use tokio::sync::broadcast;
use wrenn_types::TeamId;

use crate::events::Event;

/// Whose events a subscriber sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// One team's events.
    Team(TeamId),
    /// Every event, including those of platform hosts (no team).
    Everyone,
}

impl Audience {
    fn admits(self, event: &Event) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Team(team) => event.team_id == Some(team),
        }
    }
}

/// Why a subscription delivers no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionEnd {
    /// The subscriber fell behind and `missed` events were dropped for it;
    /// later calls continue with the oldest event still buffered.
    #[error("the subscriber fell behind and missed {missed} events")]
    Lagged { missed: u64 },
    /// The bus is gone.
    #[error("the event bus is closed")]
    Closed,
}

/// A live feed of the events one audience may see.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    audience: Audience,
}

impl Subscription {
    pub(crate) fn new(receiver: broadcast::Receiver<Arc<Event>>, audience: Audience) -> Subscription {
        Subscription { receiver, audience }
    }

    /// The next event for this audience, published after the subscription
    /// was made.
    pub async fn next(&mut self) -> Result<Arc<Event>, SubscriptionEnd> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if self.audience.admits(&event) => return Ok(event),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => return Err(SubscriptionEnd::Lagged { missed }),
                Err(broadcast::error::RecvError::Closed) => return Err(SubscriptionEnd::Closed),
            }
        }
    }
}
