//! Snapshots: a capsule's disk state saved as a new template of its team.
//!
//! The capsule goes `snapshotting` while its agent copies the state, then
//! back to where it was. The request waits for the copy for a bounded time
//! ([`ANSWER_WAIT`]) so that a client can start capsules from the snapshot
//! as soon as it has its answer; a longer copy is answered `202` and ends
//! with a `template.snapshot.create` event.

use std::time::Duration;

use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{CapsuleId, ErrorChain, TeamId};

use crate::app::lifecycle::agent_template_name;
use crate::app::{App, AppError, Caller, validate};
use crate::events::{Event, EventKind, Outcome, Resource, ResourceKind};
use crate::store::{Capsule, CapsuleOp, CapsuleStatus, NewTemplate, Template, TemplateKind};

/// How long a create request waits for the snapshot to finish (the SDK
/// gives up after 60 s).
const ANSWER_WAIT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    pub capsule_id: CapsuleId,
    pub name: Option<String>,
    pub overwrite: bool,
}

/// What a snapshot request gets: the finished template, or the name it
/// will have and the capsule that is being copied.
#[derive(Debug, Clone)]
pub enum StartedSnapshot {
    Done(Template),
    InProgress { name: String, capsule: Capsule },
}

impl App {
    pub async fn create_snapshot(
        &self,
        caller: &Caller,
        request: SnapshotRequest,
    ) -> Result<StartedSnapshot, AppError> {
        let name = match request.name {
            Some(name) => {
                validate::snapshot_name(&name)?;
                name
            }
            None => generated_name()?,
        };
        if let Some(existing) = self.store().get_template(caller.team_id, &name).await? {
            if existing.team_id != caller.team_id {
                return Err(AppError::Conflict(format!("{name:?} is the name of a platform template")));
            }
            if !request.overwrite {
                return Err(AppError::Conflict(format!(
                    "template {name:?} already exists: pass overwrite=true to replace it"
                )));
            }
        }
        let capsule = self.team_capsule(caller.team_id, request.capsule_id).await?;
        let capsule = match capsule.status {
            CapsuleStatus::Paused => capsule,
            _ => self.running_capsule(caller.team_id, request.capsule_id, "snapshot").await?,
        };
        let Some(snapshotting) = self.store().transition(capsule.id, CapsuleOp::Snapshot, "").await? else {
            return Err(self.lost_race(caller.team_id, capsule.id, "snapshot").await);
        };
        self.state_changed(&snapshotting, capsule.status).await;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let app = self.clone();
        let caller = caller.clone();
        let was = capsule.status;
        let task_name = name.clone();
        let overwrite = request.overwrite;
        tokio::spawn(async move {
            let result = app.finish_snapshot(&caller, snapshotting, was, &task_name, overwrite).await;
            let _ = done_tx.send(result);
        });
        match tokio::time::timeout(ANSWER_WAIT, done_rx).await {
            Ok(Ok(Ok(template))) => Ok(StartedSnapshot::Done(template)),
            Ok(Ok(Err(error))) => Err(error),
            Ok(Err(_)) => Err(AppError::Internal("the snapshot task ended without an answer".to_owned())),
            Err(_) => {
                let capsule = self.team_capsule(capsule.team_id, capsule.id).await?;
                Ok(StartedSnapshot::InProgress { name, capsule })
            }
        }
    }

    async fn finish_snapshot(
        &self,
        caller: &Caller,
        capsule: Capsule,
        was: CapsuleStatus,
        name: &str,
        overwrite: bool,
    ) -> Result<Template, AppError> {
        let back =
            if was == CapsuleStatus::Paused { CapsuleOp::SnapshotDonePaused } else { CapsuleOp::SnapshotDoneRunning };
        let saved = self.snapshot_on_agent(&capsule, name, overwrite).await;
        let result = match saved {
            Ok(info) => {
                let new = NewTemplate {
                    team_id: capsule.team_id,
                    name: name.to_owned(),
                    kind: TemplateKind::Snapshot,
                    vcpus: capsule.vcpus,
                    memory_mb: capsule.memory_mb,
                    size_bytes: info.size_bytes,
                    default_user: String::new(),
                    default_env: Default::default(),
                    metadata: [("source_capsule".to_owned(), capsule.id.to_string())].into_iter().collect(),
                    host_id: Some(capsule.host_id),
                };
                self.store().upsert_template(&new).await.map_err(AppError::from)
            }
            Err(error) => Err(error),
        };
        let reason = match &result {
            Ok(_) => String::new(),
            Err(error) => format!("snapshot failed: {}", ErrorChain(error)),
        };
        if let Ok(Some(after)) = self.store().transition(capsule.id, back, &reason).await {
            self.state_changed(&after, CapsuleStatus::Snapshotting).await;
        }
        let mut event = Event::new(
            EventKind::TemplateSnapshotCreate,
            Some(capsule.team_id),
            Resource { id: name.to_owned(), kind: ResourceKind::Snapshot },
            caller.actor.clone(),
        );
        event.metadata.insert("capsule_id".to_owned(), capsule.id.to_string());
        match &result {
            Ok(_) => event.outcome = Some(Outcome::Success),
            Err(_) => {
                tracing::warn!(capsule_id = %capsule.id, %reason);
                event.outcome = Some(Outcome::Error);
                event.error = Some(reason);
            }
        }
        self.publish(event).await;
        result
    }

    async fn snapshot_on_agent(
        &self,
        capsule: &Capsule,
        name: &str,
        overwrite: bool,
    ) -> Result<pb::TemplateInfo, AppError> {
        let agent = self.agent_for(capsule).await?;
        let agent_name = agent_template_name(capsule.team_id, name, TemplateKind::Snapshot);
        let options = || connectrpc::client::CallOptions::default().with_timeout(self.config().operation_timeout);
        if overwrite {
            let request = pb::DeleteTemplateRequest { template: agent_name.clone(), ..Default::default() };
            match agent.delete_template_with_options(request, options()).await {
                Ok(_) => {}
                Err(error) if error.code == connectrpc::ErrorCode::NotFound => {}
                Err(error) => return Err(AppError::from_agent(error)),
            }
        }
        let request = pb::SnapshotCapsuleRequest {
            capsule_id: capsule.id.to_string(),
            template: agent_name,
            ..Default::default()
        };
        let response = agent.snapshot_capsule_with_options(request, options()).await.map_err(AppError::from_agent)?;
        Ok(response.into_owned().template.into_option().unwrap_or_default())
    }

    /// The team's templates and the platform's, optionally of one kind.
    pub async fn list_templates(&self, team_id: TeamId, kind: Option<TemplateKind>) -> Result<Vec<Template>, AppError> {
        let mut templates = self.store().list_templates(team_id).await?;
        templates.retain(|template| kind.is_none_or(|kind| template.kind == kind));
        Ok(templates)
    }

    /// Deletes one of the team's snapshots from every host that has it
    /// and from the catalog. Refused while a capsule stands on it.
    pub async fn delete_snapshot(&self, caller: &Caller, name: &str) -> Result<(), AppError> {
        validate::template_name(name)?;
        let template = self
            .store()
            .get_template(caller.team_id, name)
            .await?
            .filter(|template| template.team_id == caller.team_id)
            .ok_or_else(|| AppError::NotFound { what: "snapshot", id: name.to_owned() })?;
        let agent_name = agent_template_name(caller.team_id, &template.name, template.kind);
        for host in self.store().list_hosts().await? {
            if host.address.is_empty() || host.status != crate::store::HostStatus::Online {
                continue;
            }
            let agent = self.agents().client(&host)?;
            let request = pb::DeleteTemplateRequest { template: agent_name.clone(), ..Default::default() };
            match agent.delete_template(request).await {
                Ok(_) => {}
                Err(error) if error.code == connectrpc::ErrorCode::NotFound => {}
                Err(error) if error.code == connectrpc::ErrorCode::FailedPrecondition => {
                    return Err(AppError::Conflict(format!(
                        "snapshot {name:?} is in use by a capsule: destroy its capsules first"
                    )));
                }
                Err(error) => return Err(AppError::from_agent(error)),
            }
        }
        if !self.store().delete_template(caller.team_id, name).await? {
            return Err(AppError::NotFound { what: "snapshot", id: name.to_owned() });
        }
        let event = Event::new(
            EventKind::TemplateSnapshotDelete,
            Some(caller.team_id),
            Resource { id: name.to_owned(), kind: ResourceKind::Snapshot },
            caller.actor.clone(),
        );
        self.publish(Event { outcome: Some(Outcome::Success), ..event }).await;
        Ok(())
    }
}

/// `snap-` and 8 random base-36 characters.
fn generated_name() -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|error| AppError::Internal(format!("no randomness: {error}")))?;
    let suffix: String = bytes.iter().map(|b| char::from_digit(u32::from(*b % 36), 36).unwrap_or('0')).collect();
    Ok(format!("snap-{suffix}"))
}
