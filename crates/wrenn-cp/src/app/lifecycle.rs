//! Create, destroy, pause, resume and ping: admit the change in the store,
//! answer, and let a background task make the host agent do it.
//!
//! Every background task starts and ends with a guarded transition. A task
//! that loses its final compare-and-set (the capsule was destroyed while
//! it worked) undoes what it made the agent do, so nothing runs on a host
//! that the store does not know about. Every failure leaves a reason the
//! user can read and an event with `outcome: error`.

use std::collections::BTreeMap;

use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{CapsuleId, ErrorChain, TeamId};

use crate::app::{App, AppError, Caller, validate};
use crate::events::{Event, EventKind, Outcome, Resource, ResourceKind};
use crate::store::{Capsule, CapsuleOp, CapsuleStatus, NewCapsule, TemplateKind};

/// Disk of a capsule whose request names none, MiB.
pub(crate) const DEFAULT_DISK_MB: u64 = 2048;
const DEFAULT_VCPUS: u32 = 1;
const DEFAULT_MEMORY_MB: u64 = 512;

/// A create request as the API parsed it; `None` means "the default".
#[derive(Debug, Clone, Default)]
pub struct CreateCapsule {
    pub template: Option<String>,
    pub vcpus: Option<u32>,
    pub memory_mb: Option<u64>,
    pub disk_mb: Option<u64>,
    pub timeout_sec: Option<i64>,
    pub metadata: BTreeMap<String, String>,
    pub public: bool,
}

impl App {
    /// The team's capsule, or `NotFound` (also for another team's).
    pub async fn team_capsule(&self, team_id: TeamId, capsule_id: CapsuleId) -> Result<Capsule, AppError> {
        match self.store().get_capsule(capsule_id).await? {
            Some(capsule) if capsule.team_id == team_id => Ok(capsule),
            _ => Err(AppError::NotFound { what: "capsule", id: capsule_id.to_string() }),
        }
    }

    /// Admits a capsule and starts creating it; returns it `pending`.
    pub async fn create_capsule(&self, caller: &Caller, request: CreateCapsule) -> Result<Capsule, AppError> {
        let template_name = request.template.unwrap_or_else(|| self.config().default_template.clone());
        validate::template_name(&template_name)?;
        validate::metadata(&request.metadata)?;
        let template = self
            .store()
            .get_template(caller.team_id, &template_name)
            .await?
            .ok_or_else(|| AppError::NotFound { what: "template", id: template_name.clone() })?;
        // A snapshot remembers the size it was taken at; a request may
        // still ask for another.
        let (default_vcpus, default_memory) = match template.kind {
            TemplateKind::Snapshot => (template.vcpus.max(1), template.memory_mb.max(validate::MIN_MEMORY_MB)),
            TemplateKind::Base => (DEFAULT_VCPUS, DEFAULT_MEMORY_MB),
        };
        let new = NewCapsule {
            team_id: caller.team_id,
            template: template_name,
            template_id: Some(template.id),
            vcpus: validate::vcpus(request.vcpus.unwrap_or(default_vcpus))?,
            memory_mb: validate::memory_mb(request.memory_mb.unwrap_or(default_memory))?,
            disk_mb: validate::disk_mb(request.disk_mb.unwrap_or(DEFAULT_DISK_MB))?,
            timeout_sec: validate::timeout_sec(request.timeout_sec.unwrap_or(0))?,
            metadata: request.metadata,
            public: request.public,
            // A snapshot's files are on the host that took it.
            pinned_host: template.host_id,
        };
        let capsule = self.store().create_capsule(new, self.config().host_reserve).await.map_err(admission_error)?;
        let agent_template = agent_template_name(template.team_id, &template.name, template.kind);
        let request = pb::CreateCapsuleRequest {
            capsule_id: capsule.id.to_string(),
            template: agent_template,
            vcpus: capsule.vcpus,
            memory_mb: capsule.memory_mb,
            disk_mb: capsule.disk_mb,
            timeout_sec: u32::try_from(capsule.timeout_sec).unwrap_or(u32::MAX),
            default_user: template.default_user.clone(),
            default_env: template.default_env.clone().into_iter().collect(),
            ..Default::default()
        };
        let app = self.clone();
        let caller = caller.clone();
        tokio::spawn(async move { app.finish_create(capsule.id, request, caller).await });
        Ok(capsule)
    }

    async fn finish_create(&self, id: CapsuleId, request: pb::CreateCapsuleRequest, caller: Caller) {
        let Ok(Some(capsule)) = self.store().transition(id, CapsuleOp::Start, "").await else {
            return; // destroyed before it started: nothing was made
        };
        self.state_changed(&capsule, CapsuleStatus::Pending).await;
        let created = async {
            let agent = self.agent_for(&capsule).await?;
            let options = connectrpc::client::CallOptions::default().with_timeout(self.config().create_timeout);
            let response = agent.create_capsule_with_options(request, options).await.map_err(AppError::from_agent)?;
            Ok::<_, AppError>(response.into_owned().capsule.into_option().map(|info| info.address).unwrap_or_default())
        }
        .await;
        match created {
            Ok(address) => {
                match self.store().transition_with(id, CapsuleOp::Started, "", Some(&address)).await {
                    Ok(Some(running)) => self.action(EventKind::CapsuleCreate, &caller, &running, Ok(())).await,
                    // Destroyed meanwhile: the destroy may have run before
                    // the agent had it, so make sure it is gone.
                    _ => self.destroy_on_agent(&capsule).await,
                }
            }
            Err(error) => {
                let reason = format!("create failed: {}", ErrorChain(&error));
                tracing::warn!(capsule_id = %id, %reason);
                // A timeout may have left a half-made capsule behind.
                self.destroy_on_agent(&capsule).await;
                if let Ok(Some(failed)) = self.store().transition(id, CapsuleOp::Fail, &reason).await {
                    self.action(EventKind::CapsuleCreate, &caller, &failed, Err(&reason)).await;
                }
            }
        }
    }

    /// Starts destroying a capsule. Idempotent: a capsule already stopping
    /// or stopped is answered as it is (clients retry DELETE).
    pub async fn destroy_capsule(&self, caller: &Caller, capsule_id: CapsuleId) -> Result<Capsule, AppError> {
        let capsule = self.team_capsule(caller.team_id, capsule_id).await?;
        match capsule.status {
            CapsuleStatus::Stopping | CapsuleStatus::Stopped => return Ok(capsule),
            CapsuleStatus::Error => {
                // Nothing runs (the failure cleaned up); make sure, then discard.
                self.destroy_on_agent(&capsule).await;
                return Ok(self
                    .store()
                    .transition(capsule_id, CapsuleOp::Discard, &capsule.reason)
                    .await?
                    .unwrap_or(capsule));
            }
            _ => {}
        }
        let Some(stopping) = self.store().transition(capsule_id, CapsuleOp::Stop, "destroy requested").await? else {
            // Lost a race: answer with where it is now.
            return self.team_capsule(caller.team_id, capsule_id).await;
        };
        self.state_changed(&stopping, capsule.status).await;
        let app = self.clone();
        let caller = caller.clone();
        let answer = stopping.clone();
        tokio::spawn(async move { app.finish_destroy(stopping, caller).await });
        Ok(answer)
    }

    async fn finish_destroy(&self, capsule: Capsule, caller: Caller) {
        let destroyed = async {
            let agent = self.agent_for(&capsule).await?;
            let request = pb::DestroyCapsuleRequest { capsule_id: capsule.id.to_string(), ..Default::default() };
            let options = connectrpc::client::CallOptions::default().with_timeout(self.config().operation_timeout);
            match agent.destroy_capsule_with_options(request, options).await {
                Ok(_) => Ok(()),
                // Never made, or already gone: destroyed all the same.
                Err(error) if error.code == connectrpc::ErrorCode::NotFound => Ok(()),
                Err(error) => Err(AppError::from_agent(error)),
            }
        }
        .await;
        match destroyed {
            Ok(()) => {
                if let Ok(Some(stopped)) = self.store().transition(capsule.id, CapsuleOp::Stopped, "destroyed").await {
                    self.action(EventKind::CapsuleDestroy, &caller, &stopped, Ok(())).await;
                }
            }
            Err(error) => {
                // Stays `stopping`: the reconciler retries once the host answers.
                let reason = format!("destroy failed, will retry: {}", ErrorChain(&error));
                tracing::warn!(capsule_id = %capsule.id, %reason);
                self.action(EventKind::CapsuleDestroy, &caller, &capsule, Err(&reason)).await;
            }
        }
    }

    /// Best effort: asks the agent to destroy a capsule, ignoring failures
    /// (the reconciler removes what the agent still has).
    pub(crate) async fn destroy_on_agent(&self, capsule: &Capsule) {
        let Ok(agent) = self.agent_for(capsule).await else { return };
        let request = pb::DestroyCapsuleRequest { capsule_id: capsule.id.to_string(), ..Default::default() };
        let options = connectrpc::client::CallOptions::default().with_timeout(self.config().operation_timeout);
        if let Err(error) = agent.destroy_capsule_with_options(request, options).await
            && error.code != connectrpc::ErrorCode::NotFound
        {
            tracing::warn!(capsule_id = %capsule.id, error = %error, "cleanup destroy failed");
        }
    }

    /// Starts pausing a running capsule (waiting for one still starting).
    pub async fn pause_capsule(&self, caller: &Caller, capsule_id: CapsuleId) -> Result<Capsule, AppError> {
        let capsule = self.running_capsule(caller.team_id, capsule_id, "pause").await?;
        let Some(pausing) = self.store().transition(capsule_id, CapsuleOp::Pause, "").await? else {
            return Err(self.lost_race(caller.team_id, capsule_id, "pause").await);
        };
        self.state_changed(&pausing, capsule.status).await;
        let app = self.clone();
        let caller = caller.clone();
        let answer = pausing.clone();
        tokio::spawn(async move {
            let request = pb::PauseCapsuleRequest { capsule_id: capsule_id.to_string(), ..Default::default() };
            let paused = async {
                let agent = app.agent_for(&pausing).await?;
                let options = connectrpc::client::CallOptions::default().with_timeout(app.config().operation_timeout);
                agent.pause_capsule_with_options(request, options).await.map_err(AppError::from_agent)
            }
            .await;
            app.finish_operation(
                &pausing,
                &caller,
                EventKind::CapsulePause,
                paused.map(|_| None),
                CapsuleOp::Paused,
                CapsuleOp::PauseFailed,
            )
            .await;
        });
        Ok(answer)
    }

    /// Starts resuming a paused (or hibernated) capsule.
    pub async fn resume_capsule(&self, caller: &Caller, capsule_id: CapsuleId) -> Result<Capsule, AppError> {
        let capsule = self.team_capsule(caller.team_id, capsule_id).await?;
        if !CapsuleOp::Resume.allows(capsule.status) {
            return Err(AppError::InvalidState {
                id: capsule_id.to_string(),
                status: capsule.status,
                operation: "resume",
            });
        }
        let Some(resuming) = self.store().transition(capsule_id, CapsuleOp::Resume, "").await? else {
            return Err(self.lost_race(caller.team_id, capsule_id, "resume").await);
        };
        self.state_changed(&resuming, capsule.status).await;
        let app = self.clone();
        let caller = caller.clone();
        let answer = resuming.clone();
        tokio::spawn(async move {
            let request = pb::ResumeCapsuleRequest {
                capsule_id: capsule_id.to_string(),
                timeout_sec: u32::try_from(resuming.timeout_sec).unwrap_or(u32::MAX),
                ..Default::default()
            };
            let resumed = async {
                let agent = app.agent_for(&resuming).await?;
                let options = connectrpc::client::CallOptions::default().with_timeout(app.config().operation_timeout);
                let response =
                    agent.resume_capsule_with_options(request, options).await.map_err(AppError::from_agent)?;
                Ok(response.into_owned().capsule.into_option().map(|info| info.address))
            }
            .await;
            app.finish_operation(
                &resuming,
                &caller,
                EventKind::CapsuleResume,
                resumed,
                CapsuleOp::Resumed,
                CapsuleOp::ResumeFailed,
            )
            .await;
        });
        Ok(answer)
    }

    /// Ends a pause or resume: `done` on success (recording the address
    /// the agent reported), `failed` back to where it came from otherwise.
    async fn finish_operation(
        &self,
        capsule: &Capsule,
        caller: &Caller,
        kind: EventKind,
        result: Result<Option<String>, AppError>,
        done: CapsuleOp,
        failed: CapsuleOp,
    ) {
        let before = capsule.status;
        match result {
            Ok(address) => {
                if let Ok(Some(after)) = self.store().transition_with(capsule.id, done, "", address.as_deref()).await {
                    self.action(kind, caller, &after, Ok(())).await;
                }
            }
            Err(error) => {
                let reason = format!("{} failed: {}", kind.as_str().trim_start_matches("capsule."), ErrorChain(&error));
                tracing::warn!(capsule_id = %capsule.id, %reason);
                if let Ok(Some(after)) = self.store().transition(capsule.id, failed, &reason).await {
                    self.state_changed(&after, before).await;
                    self.action(kind, caller, &after, Err(&reason)).await;
                }
            }
        }
    }

    /// Resets a running capsule's inactivity timer.
    pub async fn ping_capsule(&self, team_id: TeamId, capsule_id: CapsuleId) -> Result<(), AppError> {
        let capsule = self.running_capsule(team_id, capsule_id, "ping").await?;
        let agent = self.agent_for(&capsule).await?;
        let request = pb::PingCapsuleRequest { capsule_id: capsule_id.to_string(), ..Default::default() };
        agent.ping_capsule(request).await.map_err(AppError::from_agent)?;
        self.store().touch_capsule(capsule_id).await?;
        Ok(())
    }

    /// The error for a compare-and-set lost to a concurrent change.
    pub(crate) async fn lost_race(&self, team_id: TeamId, capsule_id: CapsuleId, operation: &'static str) -> AppError {
        match self.team_capsule(team_id, capsule_id).await {
            Ok(now) => AppError::InvalidState { id: capsule_id.to_string(), status: now.status, operation },
            Err(error) => error,
        }
    }

    /// `capsule.state.changed` from `from` to the capsule's status.
    pub(crate) async fn state_changed(&self, capsule: &Capsule, from: CapsuleStatus) {
        self.inner.transitions.changed(capsule.id);
        let mut event = Event::new(
            EventKind::CapsuleStateChanged,
            Some(capsule.team_id),
            Resource { id: capsule.id.to_string(), kind: ResourceKind::Sandbox },
            crate::events::Actor::system(),
        );
        event.metadata.insert("from".to_owned(), from.to_string());
        event.metadata.insert("to".to_owned(), capsule.status.to_string());
        if !capsule.reason.is_empty() {
            event.metadata.insert("reason".to_owned(), capsule.reason.clone());
        }
        event.sandbox = Some(crate::app::view::capsule_json(capsule));
        self.publish(event).await;
    }

    /// An action event (`capsule.create`, …) with its outcome.
    pub(crate) async fn action(&self, kind: EventKind, caller: &Caller, capsule: &Capsule, result: Result<(), &str>) {
        let mut event = Event::new(
            kind,
            Some(capsule.team_id),
            Resource { id: capsule.id.to_string(), kind: ResourceKind::Sandbox },
            caller.actor.clone(),
        );
        match result {
            Ok(()) => event.outcome = Some(Outcome::Success),
            Err(reason) => {
                event.outcome = Some(Outcome::Error);
                event.error = Some(reason.to_owned());
            }
        }
        if !capsule.host_ip.is_empty() {
            event.metadata.insert("host_ip".to_owned(), capsule.host_ip.clone());
        }
        event.sandbox = Some(crate::app::view::capsule_json(capsule));
        self.publish(event).await;
    }
}

/// What the agent calls a team's template: base templates by their own
/// name, snapshots prefixed by their team (two teams may both have a
/// snapshot `dev`).
pub(crate) fn agent_template_name(team_id: TeamId, name: &str, kind: TemplateKind) -> String {
    match kind {
        TemplateKind::Base => name.to_owned(),
        TemplateKind::Snapshot => format!("{team_id}-{name}"),
    }
}

/// Admission failures in the API's terms.
fn admission_error(error: crate::store::StoreError) -> AppError {
    use crate::store::StoreError;
    match error {
        StoreError::NoHosts { .. } => AppError::HostUnavailable("no host is online to run the capsule".to_owned()),
        StoreError::PinnedHostOffline { host_id } => AppError::HostUnavailable(format!(
            "the snapshot lives on host {host_id}, which is not online; try again when it is"
        )),
        StoreError::NoCapacity { memory_mb, disk_mb } => AppError::HostUnavailable(format!(
            "no host has room for {memory_mb} MiB of memory and {disk_mb} MiB of disk"
        )),
        other => AppError::Store(other),
    }
}
