//! The host fleet as operators manage it: create a host (and its
//! single-use registration token), list and read hosts, tag them, issue a
//! new token to a host that has not registered, and delete one.
//!
//! Who may do what. Regular hosts are the platform's shared pool: only a
//! platform admin's key manages them. A BYOC host belongs to one team
//! whose capsules run only on that team's hosts; the team's own keys
//! manage it (a team key stands for the team's owners until accounts
//! bring roles). A host the caller may not see is a 404, as another team's
//! capsule is.
//!
//! What agents do with their credentials (register, refresh, heartbeat,
//! capsule events) is `host_session`.

use std::time::Duration;

use wrenn_types::{CapsuleId, ErrorChain, HostId, TeamId, UserId};

use crate::app::{App, AppError};
use crate::events::{Actor, Event, EventKind, Resource, ResourceKind};
use crate::store::{Host, HostKind, HostStatus, IssuedSecret, NewHost};

/// How long a registration token lives.
pub(crate) const REGISTRATION_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Longest a host delete waits for its agent to destroy one capsule.
const DESTROY_ON_DELETE_TIMEOUT: Duration = Duration::from_secs(30);

/// Who is asking, as far as hosts are concerned.
#[derive(Debug, Clone, Copy)]
pub struct HostCaller {
    pub team_id: TeamId,
    /// A platform admin's key: sees and manages every host.
    pub is_admin: bool,
    pub user_id: Option<UserId>,
}

/// A host to create.
#[derive(Debug, Clone, Copy)]
pub struct CreateHost {
    pub kind: HostKind,
    /// The BYOC host's team (required for BYOC, refused for regular).
    pub team_id: Option<TeamId>,
}

impl App {
    /// Creates a `pending` host and its registration token.
    pub async fn create_host(
        &self,
        caller: &HostCaller,
        request: CreateHost,
    ) -> Result<(Host, IssuedSecret), AppError> {
        let team_id = match (request.kind, request.team_id) {
            (HostKind::Regular, Some(_)) => {
                return Err(AppError::InvalidRequest("a regular host belongs to no team; omit team_id".into()));
            }
            (HostKind::Regular, None) if !caller.is_admin => {
                return Err(AppError::Forbidden("only a platform admin may add regular hosts".into()));
            }
            (HostKind::Regular, None) => None,
            (HostKind::Byoc, None) => return Err(AppError::InvalidRequest("a byoc host needs team_id".into())),
            (HostKind::Byoc, Some(team_id)) => {
                if !caller.is_admin && team_id != caller.team_id {
                    return Err(AppError::Forbidden("a team key may add BYOC hosts only to its own team".into()));
                }
                let Some(team) = self.store().get_team(team_id).await?.filter(|team| team.deleted_at.is_none()) else {
                    return Err(AppError::InvalidRequest(format!("team {team_id} does not exist")));
                };
                if !team.is_byoc {
                    return Err(AppError::Forbidden(format!("team {team_id} does not bring its own hosts")));
                }
                Some(team_id)
            }
        };
        let new = NewHost { kind: request.kind, team_id, created_by: caller.user_id };
        let (host, token) = self.store().create_host(new, ttl_ms(REGISTRATION_TOKEN_TTL)).await?;
        tracing::info!(host_id = %host.id, kind = host.kind.as_str(), "created a host");
        Ok((host, token))
    }

    /// The hosts the caller may see: all for an admin, else its team's
    /// BYOC hosts.
    pub async fn list_hosts_for(&self, caller: &HostCaller) -> Result<Vec<Host>, AppError> {
        let hosts = self.store().list_hosts().await?;
        Ok(hosts.into_iter().filter(|host| visible(caller, host)).collect())
    }

    /// One host the caller may see.
    pub async fn host_for(&self, caller: &HostCaller, host_id: HostId) -> Result<Host, AppError> {
        match self.store().get_host(host_id).await? {
            Some(host) if visible(caller, &host) => Ok(host),
            _ => Err(AppError::NotFound { what: "host", id: host_id.to_string() }),
        }
    }

    /// A new registration token for a host that has not registered yet
    /// (e.g. its first token expired or a registration failed after
    /// consuming it).
    pub async fn new_registration_token(
        &self,
        caller: &HostCaller,
        host_id: HostId,
    ) -> Result<(Host, IssuedSecret), AppError> {
        let host = self.host_for(caller, host_id).await?;
        if host.status != HostStatus::Pending {
            return Err(AppError::InvalidRequest(format!(
                "host {host_id} is {}: only a pending host gets a registration token",
                host.status.as_str()
            )));
        }
        let token = self.store().create_registration_token(host_id, ttl_ms(REGISTRATION_TOKEN_TTL)).await?;
        Ok((host, token))
    }

    /// The capsules a delete would stop.
    pub async fn host_delete_preview(
        &self,
        caller: &HostCaller,
        host_id: HostId,
    ) -> Result<(Host, Vec<CapsuleId>), AppError> {
        let host = self.host_for(caller, host_id).await?;
        let active = self.store().active_capsules_on_host(host_id).await?;
        Ok((host, active))
    }

    /// Deletes a host. With active capsules it needs `force`, and then
    /// destroys them on the agent first (best effort: an agent that does
    /// not answer is being deleted anyway) and records them `stopped` with
    /// the reason. The agent learns at its next heartbeat (404) and stops.
    pub async fn delete_host(&self, caller: &HostCaller, host_id: HostId, force: bool) -> Result<(), AppError> {
        let (host, active) = self.host_delete_preview(caller, host_id).await?;
        if !active.is_empty() && !force {
            return Err(AppError::HostHasCapsules { host_id: host_id.to_string(), capsule_ids: active });
        }
        if host.status == HostStatus::Online {
            self.destroy_all_on(&host, &active).await;
        }
        let Some(stopped) = self.store().delete_host(host_id).await? else {
            return Err(AppError::NotFound { what: "host", id: host_id.to_string() });
        };
        tracing::info!(%host_id, stopped = stopped.len(), "deleted a host");
        let event = Event::new(
            EventKind::HostDown,
            host.team_id,
            Resource { id: host_id.to_string(), kind: ResourceKind::Host },
            Actor::system(),
        );
        self.publish(event).await;
        Ok(())
    }

    pub async fn host_tags(&self, caller: &HostCaller, host_id: HostId) -> Result<Vec<String>, AppError> {
        self.host_for(caller, host_id).await?;
        Ok(self.store().list_host_tags(host_id).await?)
    }

    /// Tags a host (idempotent).
    pub async fn tag_host(&self, caller: &HostCaller, host_id: HostId, tag: &str) -> Result<(), AppError> {
        validate_tag(tag)?;
        self.host_for(caller, host_id).await?;
        Ok(self.store().add_host_tag(host_id, tag).await?)
    }

    /// Removes a tag; removing a tag the host does not have is not an error.
    pub async fn untag_host(&self, caller: &HostCaller, host_id: HostId, tag: &str) -> Result<(), AppError> {
        self.host_for(caller, host_id).await?;
        self.store().remove_host_tag(host_id, tag).await?;
        Ok(())
    }

    async fn destroy_all_on(&self, host: &Host, capsules: &[CapsuleId]) {
        let agent = match self.agents().client(host) {
            Ok(agent) => agent,
            Err(error) => {
                tracing::warn!(host_id = %host.id, error = %ErrorChain(&error), "cannot reach a host being deleted");
                return;
            }
        };
        for capsule_id in capsules {
            let request = wrenn_proto::agent::hostagent::DestroyCapsuleRequest {
                capsule_id: capsule_id.to_string(),
                ..Default::default()
            };
            let call = tokio::time::timeout(DESTROY_ON_DELETE_TIMEOUT, agent.destroy_capsule(request)).await;
            match call {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%capsule_id, error = %ErrorChain(&error), "destroying a capsule of a deleted host failed");
                }
                Err(_) => tracing::warn!(%capsule_id, "destroying a capsule of a deleted host timed out"),
            }
        }
    }
}

fn visible(caller: &HostCaller, host: &Host) -> bool {
    caller.is_admin || (host.kind == HostKind::Byoc && host.team_id == Some(caller.team_id))
}

/// Tags are free text for operators: non-empty, short, printable.
fn validate_tag(tag: &str) -> Result<(), AppError> {
    let valid = !tag.is_empty() && tag.len() <= 64 && tag.chars().all(|c| c.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(AppError::InvalidRequest("a tag is 1 to 64 printable ASCII characters without spaces".into()))
    }
}

pub(crate) fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(kind: HostKind, team: Option<u128>) -> Host {
        Host {
            id: HostId::from_u128(1),
            kind,
            team_id: team.map(TeamId::from_u128),
            address: String::new(),
            status: HostStatus::Online,
            arch: String::new(),
            cpu_cores: 0,
            memory_mb: 0,
            disk_mb: 0,
            reserved_vcpus: 0,
            reserved_memory_mb: 0,
            reserved_disk_mb: 0,
            last_heartbeat_at: None,
            cert_fingerprint: String::new(),
            cert_expires_at: None,
            created_by: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn an_admin_sees_every_host_and_a_team_only_its_byoc_hosts() {
        let admin = HostCaller { team_id: TeamId::from_u128(9), is_admin: true, user_id: None };
        let team = HostCaller { team_id: TeamId::from_u128(7), is_admin: false, user_id: None };
        let cases = [
            (host(HostKind::Regular, None), true, false),
            (host(HostKind::Byoc, Some(7)), true, true),
            (host(HostKind::Byoc, Some(8)), true, false),
        ];
        for (host, by_admin, by_team) in cases {
            assert_eq!(visible(&admin, &host), by_admin, "{host:?}");
            assert_eq!(visible(&team, &host), by_team, "{host:?}");
        }
    }

    #[test]
    fn tags_are_short_printable_words() {
        for good in ["gpu", "zone=eu-1", "a"] {
            assert!(validate_tag(good).is_ok(), "{good}");
        }
        for bad in ["", "two words", "tab\t", &"x".repeat(65), "é"] {
            assert!(validate_tag(bad).is_err(), "{bad:?}");
        }
    }
}
