//! What an extension can reach: every core service, behind one cheap
//! handle that is cloned into routes and workers.
//!
//! There is no mailer yet; it arrives with accounts (sign-up, invitations)
//! and will be exposed here as `mailer()`.

use wrenn_types::TeamId;

use crate::app::{AgentPool, App};
use crate::events::EventBus;
use crate::http::AppState;
use crate::store::{AuditCursor, AuditEntry, AuditPage, NewAuditEntry, Store, StoreError};

/// The core services, as an extension sees them.
///
/// Authentication: a route takes a [`crate::http::AuthContext`] (the
/// extractor the core routes use) or sits behind
/// [`crate::http::require_api_key`] with [`ExtensionContext::state`];
/// code outside a handler runs the extractor on request parts with that
/// state (`AuthContext::from_request_parts(&mut parts, context.state())`).
#[derive(Debug, Clone)]
pub struct ExtensionContext {
    state: AppState,
}

impl ExtensionContext {
    pub(crate) fn new(state: AppState) -> ExtensionContext {
        ExtensionContext { state }
    }

    /// The state the core routes are built with (and the auth extractor
    /// reads).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The capsule lifecycle and scheduler: create, pause, resume, destroy
    /// and snapshot capsules with the same admission and events as the API.
    pub fn app(&self) -> &App {
        self.state.app()
    }

    pub fn store(&self) -> &Store {
        self.state.store()
    }

    /// The event bus: publish events, subscribe, or join a consumer group.
    pub fn bus(&self) -> &EventBus {
        self.state.app().bus()
    }

    /// The mTLS clients of the host agents.
    pub fn agents(&self) -> &AgentPool {
        self.state.app().agents()
    }

    pub fn audit(&self) -> AuditLog {
        AuditLog { store: self.store().clone() }
    }
}

/// The teams' append-only audit log.
#[derive(Debug, Clone)]
pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub async fn append(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        self.store.append_audit(entry).await
    }

    /// Up to `limit` entries of the team, newest first, after `cursor`.
    pub async fn list(
        &self,
        team_id: TeamId,
        limit: u32,
        cursor: Option<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        self.store.list_audit(team_id, limit, cursor).await
    }
}
