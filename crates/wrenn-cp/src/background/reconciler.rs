//! The loop: every tick, mark silent hosts (one guarded update, cheap);
//! every `reconcile_every`, also reconcile every online host (one call to
//! each agent). `reconcile_host` is also called directly when a host comes
//! back or first heartbeats to this replica, so its capsules do not wait
//! for the next pass.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{CapsuleId, ErrorChain};

use crate::app::{App, AppError};
use crate::background::decide::{Action, OnHost, decide};
use crate::background::templates::sync_base_templates;
use crate::events::{Actor, Event, EventKind, Resource, ResourceKind};
use crate::store::{Capsule, CapsuleStatus, Host, HostStatus};

/// How often and how patiently the background work runs.
#[derive(Debug, Clone, Copy)]
pub struct BackgroundConfig {
    /// How often silent hosts are looked for.
    pub tick: Duration,
    /// How often every online host is reconciled (rounded up to ticks).
    pub reconcile_every: Duration,
    /// A host silent this long is unreachable.
    pub host_silence: Duration,
    /// A transitional state older than this has lost its task.
    pub stale_after: Duration,
}

impl Default for BackgroundConfig {
    fn default() -> BackgroundConfig {
        BackgroundConfig {
            tick: Duration::from_secs(1),
            reconcile_every: Duration::from_secs(10),
            host_silence: Duration::from_secs(30),
            stale_after: Duration::from_secs(300),
        }
    }
}

/// What one reconciliation of a host changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    pub transitions: usize,
    pub destroyed_orphans: usize,
}

/// Runs the monitor and reconciler until `shutdown` completes.
pub fn spawn(
    app: App,
    config: BackgroundConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_pass: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => {}
            }
            mark_silent_hosts(&app, config).await;
            if last_pass.is_none_or(|at| at.elapsed() >= config.reconcile_every) {
                last_pass = Some(tokio::time::Instant::now());
                reconcile_online_hosts(&app, config).await;
            }
        }
    })
}

async fn mark_silent_hosts(app: &App, config: BackgroundConfig) {
    let silence_ms = i64::try_from(config.host_silence.as_millis()).unwrap_or(i64::MAX);
    match app.store().mark_stale_hosts(silence_ms).await {
        Ok(stale) => {
            for host in stale {
                tracing::warn!(host_id = %host.host_id, missing = host.missing.len(), "host stopped answering");
                let event = Event::new(
                    EventKind::HostDown,
                    None,
                    Resource { id: host.host_id.to_string(), kind: ResourceKind::Host },
                    Actor::system(),
                );
                app.publish(event).await;
            }
        }
        Err(error) => tracing::warn!(error = %ErrorChain(&error), "marking silent hosts failed"),
    }
}

async fn reconcile_online_hosts(app: &App, config: BackgroundConfig) {
    let hosts = match app.store().list_hosts().await {
        Ok(hosts) => hosts,
        Err(error) => {
            tracing::warn!(error = %ErrorChain(&error), "listing hosts failed");
            return;
        }
    };
    for host in hosts.iter().filter(|host| host.status == HostStatus::Online) {
        if let Err(error) = reconcile_host(app, host, config.stale_after).await {
            tracing::warn!(host_id = %host.id, error = %ErrorChain(&error), "reconciling a host failed");
        }
    }
}

/// Brings the store's capsules on `host` in line with what its agent
/// reports.
pub async fn reconcile_host(app: &App, host: &Host, stale_after: Duration) -> Result<ReconcileReport, AppError> {
    let agent = app.agents().client(host)?;
    // The store first: a change the API makes while the agent's answer
    // travels then fails its guarded transition from the state read here,
    // instead of being taken for something the host did.
    let live: Vec<CapsuleStatus> = CapsuleStatus::ALL.into_iter().filter(|status| !status.is_terminal()).collect();
    let stored = app.store().list_capsules_in(Some(host.id), &live, i64::MAX).await?;
    let listed = agent.list_capsules(pb::ListCapsulesRequest::default()).await.map_err(AppError::from_agent)?;
    let on_host: HashMap<String, OnHost> =
        listed.into_owned().capsules.into_iter().map(|info| (info.capsule_id, on_host_state(info.state))).collect();
    let now = app.store().now();
    let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
    let mut report = ReconcileReport::default();
    let known: HashSet<String> = stored.iter().map(|capsule| capsule.id.to_string()).collect();
    for capsule in &stored {
        let stale = capsule.updated_at < now.saturating_sub(stale_ms);
        let action = decide(capsule.status, stale, on_host.get(&capsule.id.to_string()).copied());
        if apply(app, capsule, action).await? {
            report.transitions += 1;
        }
    }
    // Capsules the agent runs that the store does not hold as live: a
    // create that lost its row, or a destroy that never reached the agent.
    for id in on_host.keys().filter(|id| !known.contains(*id)) {
        let Ok(capsule_id) = id.parse::<CapsuleId>() else { continue };
        // A row may have been written since the list was read: only
        // destroy what is absent or finished now.
        let current = app.store().get_capsule(capsule_id).await?;
        if current.as_ref().is_none_or(|capsule| capsule.status.is_terminal()) {
            tracing::warn!(capsule_id = %id, host_id = %host.id, "destroying a capsule the store does not know");
            let request = pb::DestroyCapsuleRequest { capsule_id: id.clone(), ..Default::default() };
            match agent.destroy_capsule(request).await {
                Ok(_) => report.destroyed_orphans += 1,
                // Gone meanwhile (its own destroy finished): nothing to do.
                Err(error) if error.code == connectrpc::ErrorCode::NotFound => {}
                Err(error) => return Err(AppError::from_agent(error)),
            }
        }
    }
    sync_base_templates(app, &agent).await;
    Ok(report)
}

/// Applies one decision; returns whether the store changed.
async fn apply(app: &App, capsule: &Capsule, action: Action) -> Result<bool, AppError> {
    let (op, reason) = match action {
        Action::Nothing => return Ok(false),
        Action::Destroy => {
            app.destroy_on_agent(capsule).await;
            return Ok(false);
        }
        Action::DestroyThen(op, reason) => {
            app.destroy_on_agent(capsule).await;
            (op, reason)
        }
        Action::Transition(op, reason) => (op, reason),
    };
    let Some(after) = app.store().transition(capsule.id, op, reason).await? else {
        return Ok(false); // something else changed it meanwhile
    };
    tracing::info!(capsule_id = %capsule.id, from = %capsule.status, to = %after.status, reason, "reconciled");
    app.state_changed(&after, capsule.status).await;
    Ok(true)
}

fn on_host_state(state: buffa::EnumValue<pb::CapsuleState>) -> OnHost {
    match state.as_known() {
        Some(pb::CapsuleState::CAPSULE_STATE_STARTING) => OnHost::Starting,
        Some(pb::CapsuleState::CAPSULE_STATE_RUNNING) => OnHost::Running,
        Some(pb::CapsuleState::CAPSULE_STATE_PAUSED) => OnHost::Paused,
        Some(pb::CapsuleState::CAPSULE_STATE_HIBERNATED) => OnHost::Hibernated,
        Some(pb::CapsuleState::CAPSULE_STATE_STOPPING) => OnHost::Stopping,
        _ => OnHost::Dead,
    }
}
