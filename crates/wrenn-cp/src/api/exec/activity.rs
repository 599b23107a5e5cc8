//! Data-plane work counts as activity: while an exec, a file transfer or a
//! process call runs, the capsule must not be paused for inactivity.
//!
//! The host agent resets a capsule's inactivity timer only on lifecycle
//! requests (ping, pause, …), not on what it relays to envd, so the control
//! plane pings it: once when the work starts and then periodically while
//! it lasts, and records the activity in the store. Pings are best effort:
//! a failed ping never fails the work it accompanies.

use std::time::Duration;

use wrenn_proto::agent::hostagent as pb;
use wrenn_types::CapsuleId;

use crate::app::{AgentClient, App};
use crate::store::Capsule;

/// Well below the shortest inactivity timeout (60 s).
const PING_INTERVAL: Duration = Duration::from_secs(20);
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps a capsule active until dropped. Hold it for as long as the work
/// runs (move it into a streamed body if the work outlives the handler).
#[derive(Debug)]
pub(crate) struct KeepActive {
    pinger: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for KeepActive {
    fn drop(&mut self) {
        if let Some(pinger) = &self.pinger {
            pinger.abort();
        }
    }
}

/// Starts keeping `capsule` active: one ping now, which completes even if
/// the work is over first, then one every [`PING_INTERVAL`] until the
/// guard is dropped. Capsules without an inactivity timeout need nothing.
pub(crate) fn keep_active(app: &App, capsule: &Capsule, agent: &AgentClient) -> KeepActive {
    if capsule.timeout_sec == 0 {
        return KeepActive { pinger: None };
    }
    let activity = Activity { app: app.clone(), agent: agent.clone(), capsule_id: capsule.id };
    tokio::spawn(activity.clone().record());
    let pinger = tokio::spawn(async move {
        let start = tokio::time::Instant::now() + PING_INTERVAL;
        let mut interval = tokio::time::interval_at(start, PING_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            activity.clone().record().await;
        }
    });
    KeepActive { pinger: Some(pinger) }
}

#[derive(Clone)]
struct Activity {
    app: App,
    agent: AgentClient,
    capsule_id: CapsuleId,
}

impl Activity {
    /// Pings the agent and records the activity in the store.
    async fn record(self) {
        let capsule_id = self.capsule_id;
        let request = pb::PingCapsuleRequest { capsule_id: capsule_id.to_string(), ..Default::default() };
        let options = connectrpc::client::CallOptions::default().with_timeout(PING_TIMEOUT);
        if let Err(error) = self.agent.ping_capsule_with_options(request, options).await {
            tracing::debug!(%capsule_id, error = %wrenn_types::ErrorChain(&error), "activity ping failed");
        }
        if let Err(error) = self.app.store().touch_capsule(capsule_id).await {
            tracing::debug!(%capsule_id, error = %wrenn_types::ErrorChain(&error), "recording activity failed");
        }
    }
}
