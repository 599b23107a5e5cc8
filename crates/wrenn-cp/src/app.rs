//! The services the API and the background workers share: the capsule
//! lifecycle, the way to a capsule's host agent, templates and events.
//!
//! [`App`] is a cheap handle (one `Arc`). It owns no capsule state of its
//! own: the store is the one owner of every capsule's status, and every
//! change is a guarded compare-and-set there. The lifecycle answers a
//! request as soon as the change is admitted and does the slow part (the
//! agent call) in a background task that ends with another guarded change,
//! so concurrent requests, background tasks and the reconciler cannot undo
//! each other: whoever loses a compare-and-set stops and cleans up.

mod agents;
mod error;
mod host_session;
mod hosts;
mod lifecycle;
pub mod ports;
mod ready;
mod snapshots;
mod transitions;
pub mod usage;
pub mod validate;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

pub use crate::app::agents::{AgentClient, AgentPool};
pub use crate::app::error::AppError;
pub use crate::app::host_session::{HostCapsuleEvent, HostCapsuleEventKind, HostCredentials, RegisterHost};
pub use crate::app::hosts::{CreateHost, HostCaller};
pub use crate::app::lifecycle::CreateCapsule;
pub use crate::app::snapshots::{SnapshotRequest, StartedSnapshot};
use crate::events::{Actor, Event, EventBus};
use crate::pki::CertificateAuthority;
use crate::store::{HostReserve, Store};

/// Tunables of the lifecycle; [`AppConfig::default`] is what `wrenn up` uses.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The template of a create request that names none.
    pub default_template: String,
    /// What each host keeps back for itself.
    pub host_reserve: HostReserve,
    /// Longest an agent may take to create a capsule (template builds on
    /// first use are not included: templates are prepared up front).
    pub create_timeout: Duration,
    /// Longest an agent may take to pause, resume, destroy or snapshot.
    pub operation_timeout: Duration,
    /// How long a data-plane call waits for a starting capsule to run.
    pub ready_wait: Duration,
    /// The domain of port URLs (`{port}-{capsule_id}.{domain}`, a `:port`
    /// ignored); `None` routes such a first label under any domain.
    pub proxy_domain: Option<String>,
}

impl Default for AppConfig {
    fn default() -> AppConfig {
        AppConfig {
            default_template: "minimal".to_owned(),
            host_reserve: HostReserve { memory_mb: 512, disk_mb: 2048 },
            create_timeout: Duration::from_secs(60),
            operation_timeout: Duration::from_secs(120),
            ready_wait: Duration::from_secs(30),
            proxy_domain: None,
        }
    }
}

/// The control plane's shared services.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    bus: EventBus,
    agents: AgentPool,
    ca: Arc<CertificateAuthority>,
    config: AppConfig,
    /// Waiters for a capsule's next state in this process.
    transitions: transitions::Transitions,
    /// Hosts this replica has reconciled since it started (`host_session`).
    reconciled_hosts: std::sync::Mutex<std::collections::HashSet<wrenn_types::HostId>>,
}

impl App {
    /// The services over one store, bus and agent pool; `ca` issues host
    /// certificates at registration and signs host access tokens.
    pub fn new(
        store: Store,
        bus: EventBus,
        agents: AgentPool,
        ca: Arc<CertificateAuthority>,
        config: AppConfig,
    ) -> App {
        let reconciled_hosts = Default::default();
        let transitions = transitions::Transitions::default();
        App { inner: Arc::new(Inner { store, bus, agents, ca, config, transitions, reconciled_hosts }) }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    pub fn agents(&self) -> &AgentPool {
        &self.inner.agents
    }

    pub fn ca(&self) -> &Arc<CertificateAuthority> {
        &self.inner.ca
    }

    /// Records that this replica reconciles `host` now; whether it had
    /// not before (or since the host was unreachable, see `forget_host`).
    pub(crate) fn first_reconcile_of(&self, host: wrenn_types::HostId) -> bool {
        self.inner.reconciled_hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(host)
    }

    /// The next heartbeat of `host` reconciles it at once.
    pub(crate) fn forget_host(&self, host: wrenn_types::HostId) {
        self.inner.reconciled_hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&host);
    }

    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    /// Publishes an event; a bus failure is logged, never fatal to the
    /// change it reports (the store already holds the truth).
    pub(crate) async fn publish(&self, event: Event) {
        if let Err(error) = self.inner.bus.publish(&event).await {
            tracing::warn!(event = %event.event, error = %wrenn_types::ErrorChain(&error), "publishing an event failed");
        }
    }
}

/// Who asked for a change, as events name them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub team_id: wrenn_types::TeamId,
    pub actor: Actor,
}
