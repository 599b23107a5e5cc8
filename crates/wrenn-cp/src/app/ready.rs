//! Getting to a capsule that runs: the data plane (exec, files, PTY,
//! streams) and pause/ping wait for a capsule that is still starting or
//! resuming instead of refusing it, because the SDK's default is to use a
//! capsule right after asking for it (`wait=False`).
//!
//! Waiting reads the store, the one owner of a capsule's status, again at
//! every transition this process makes to the capsule (`transitions`),
//! and at a growing interval for changes another replica makes.

use std::time::Duration;

use wrenn_types::{CapsuleId, TeamId};

use crate::app::{AgentClient, App, AppError};
use crate::store::{Capsule, CapsuleStatus};

const FIRST_POLL: Duration = Duration::from_millis(10);
const LONGEST_POLL: Duration = Duration::from_millis(200);

impl App {
    /// The team's capsule once it runs; waits (bounded) while it is on its
    /// way to running and refuses any other state.
    pub async fn running_capsule(
        &self,
        team_id: TeamId,
        capsule_id: CapsuleId,
        operation: &'static str,
    ) -> Result<Capsule, AppError> {
        let deadline = tokio::time::Instant::now() + self.config().ready_wait;
        let mut poll = FIRST_POLL;
        let transitions = self.inner.transitions.watch(capsule_id);
        loop {
            // Registered before the read, so a change right after it wakes us.
            let changed = transitions.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let capsule = self.team_capsule(team_id, capsule_id).await?;
            match capsule.status {
                CapsuleStatus::Running => return Ok(capsule),
                CapsuleStatus::Pending | CapsuleStatus::Starting | CapsuleStatus::Resuming
                    if tokio::time::Instant::now() < deadline => {}
                CapsuleStatus::Pending | CapsuleStatus::Starting | CapsuleStatus::Resuming => {
                    return Err(AppError::Timeout(format!(
                        "capsule {capsule_id} is still {} after {} s",
                        capsule.status,
                        self.config().ready_wait.as_secs()
                    )));
                }
                status => return Err(AppError::InvalidState { id: capsule_id.to_string(), status, operation }),
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep(poll) => poll = (poll * 2).min(LONGEST_POLL),
            }
        }
    }

    /// The agent of the host a capsule is on.
    pub async fn agent_for(&self, capsule: &Capsule) -> Result<AgentClient, AppError> {
        let host = self
            .store()
            .get_host(capsule.host_id)
            .await?
            .ok_or_else(|| AppError::HostUnavailable(format!("the host of capsule {} is gone", capsule.id)))?;
        self.agents().client(&host)
    }

    /// A running capsule of the team and its agent: what every data-plane
    /// call starts with.
    pub async fn capsule_agent(
        &self,
        team_id: TeamId,
        capsule_id: CapsuleId,
        operation: &'static str,
    ) -> Result<(Capsule, AgentClient), AppError> {
        let capsule = self.running_capsule(team_id, capsule_id, operation).await?;
        let agent = self.agent_for(&capsule).await?;
        Ok((capsule, agent))
    }
}
