//! Who may reach a capsule's ports, and where a request that may goes.
//!
//! `{port}-{capsule_id}.{domain}` is authenticated by default. A request is
//! admitted when the capsule is public, or it carries the capsule's current
//! traffic token, or an API key of the capsule's team; another team's key
//! gets the same 404 as an unknown capsule, as in the rest of the API. The
//! API key is only looked up when nothing else admits the request (the
//! lookup is a write: it records the key's use).
//!
//! A traffic token is a per-capsule secret for clients that must not hold
//! the team's API key. The store keeps its SHA-256 only, so it is shown once,
//! when issued; issuing another replaces it (rotation and revocation).
//!
//! Once admitted, a capsule that is not running answers 503 (still starting,
//! paused, resuming: a client such as the SDK's code runner retries on
//! 5xx) or 409 once it is on its way out or gone. The forwarding itself is
//! [`PortClient`] (`forward`).
//!
//! The decisions ([`access`], [`reachability`]) are pure and table-tested.

mod forward;

use wrenn_types::{CapsuleId, TeamId};

use crate::app::{App, AppError};
use crate::store::{CapsuleStatus, StoreError, generate_traffic_token, sha256_hex};

pub use crate::app::ports::forward::{ForwardError, PortClient};

/// The header that carries a capsule's traffic token.
pub const TRAFFIC_TOKEN_HEADER: &str = "x-wrenn-traffic-token";
/// The same, under the name E2B's SDKs send it.
pub const E2B_TRAFFIC_TOKEN_HEADER: &str = "e2b-traffic-access-token";

/// Longer than any key or token we issue: refused without hashing it.
const MAX_SECRET_LEN: usize = 256;

/// The credentials a proxied request carries (either may be absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct PortCredentials<'a> {
    /// The `X-API-Key` header.
    pub api_key: Option<&'a str>,
    /// The traffic token header.
    pub traffic_token: Option<&'a str>,
}

/// Where an admitted request goes: a port of a running capsule, through
/// the agent at `agent_address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRoute {
    pub capsule_id: CapsuleId,
    pub port: u16,
    /// The agent's `ip:port`.
    pub agent_address: String,
}

/// Why a request does not reach the port.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// No credentials, or none that match.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// No such capsule, or another team's.
    #[error("capsule {0} not found")]
    NotFound(CapsuleId),
    /// The capsule is on its way to running, or paused: try again later.
    #[error("capsule {id} is {status}, not running")]
    NotRunning { id: CapsuleId, status: CapsuleStatus },
    /// The capsule is stopping or gone for good.
    #[error("capsule {id} is {status}")]
    Ended { id: CapsuleId, status: CapsuleStatus },
    /// The capsule's host has no address (not registered, or removed).
    #[error("the host of capsule {0} is not reachable")]
    HostUnavailable(CapsuleId),
    #[error("store")]
    Store(#[from] StoreError),
}

/// What a traffic token header amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Absent,
    Invalid,
    Valid,
}

/// What an `X-API-Key` header amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCheck {
    /// No key sent, or not looked up because something else admitted the request.
    Absent,
    Invalid,
    /// A valid key of this team.
    Team(TeamId),
}

/// Whether a running capsule would be reached: the three answers of
/// [`reachability`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    Open,
    /// Not now; retrying may succeed.
    Later,
    /// Not any more.
    Never,
}

/// Whether the credentials admit a request to a capsule of `owner`.
pub(crate) fn access(
    capsule_id: CapsuleId,
    owner: TeamId,
    public: bool,
    token: TokenCheck,
    key: KeyCheck,
) -> Result<(), PortError> {
    if public || token == TokenCheck::Valid {
        return Ok(());
    }
    match (key, token) {
        (KeyCheck::Team(team), _) if team == owner => Ok(()),
        (KeyCheck::Team(_), _) => Err(PortError::NotFound(capsule_id)),
        (KeyCheck::Invalid, _) => Err(PortError::Unauthorized("invalid API key")),
        (KeyCheck::Absent, TokenCheck::Invalid) => Err(PortError::Unauthorized("invalid traffic token")),
        (KeyCheck::Absent, _) => Err(PortError::Unauthorized(
            "missing credentials: send the team's API key in X-API-Key or the capsule's traffic token in \
             X-Wrenn-Traffic-Token",
        )),
    }
}

/// Whether a capsule in `status` can be reached now, later, or never.
pub(crate) fn reachability(status: CapsuleStatus) -> Reach {
    use CapsuleStatus::*;
    match status {
        Running => Reach::Open,
        Pending | Starting | Resuming | Pausing | Paused | Snapshotting | Hibernating | Hibernated | Missing => {
            Reach::Later
        }
        Stopping | Stopped | Error => Reach::Never,
    }
}

/// Compares a presented token with the stored hash (empty: none issued).
/// Both sides are SHA-256 digests, so the comparison's timing tells an
/// attacker nothing about the token.
fn check_token(presented: Option<&str>, stored_hash: &str) -> TokenCheck {
    let Some(token) = presented.map(str::trim) else { return TokenCheck::Absent };
    if token.is_empty() || token.len() > MAX_SECRET_LEN || stored_hash.is_empty() {
        return TokenCheck::Invalid;
    }
    if sha256_hex(token) == stored_hash { TokenCheck::Valid } else { TokenCheck::Invalid }
}

impl App {
    /// Admits a request for `port` of `capsule_id` with `credentials`, and
    /// says where it goes.
    pub async fn port_route(
        &self,
        capsule_id: CapsuleId,
        port: u16,
        credentials: PortCredentials<'_>,
    ) -> Result<PortRoute, PortError> {
        let target = self.store().port_target(capsule_id).await?.ok_or(PortError::NotFound(capsule_id))?;
        let token = check_token(credentials.traffic_token, &target.traffic_token_hash);
        let key = if target.public || token == TokenCheck::Valid {
            KeyCheck::Absent
        } else {
            self.check_key(credentials.api_key).await?
        };
        access(capsule_id, target.team_id, target.public, token, key)?;
        match reachability(target.status) {
            Reach::Open => {}
            Reach::Later => return Err(PortError::NotRunning { id: capsule_id, status: target.status }),
            Reach::Never => return Err(PortError::Ended { id: capsule_id, status: target.status }),
        }
        if target.host_address.is_empty() {
            return Err(PortError::HostUnavailable(capsule_id));
        }
        Ok(PortRoute { capsule_id, port, agent_address: target.host_address })
    }

    /// Issues a new traffic token for the team's capsule; the previous one
    /// stops working. The token is returned once and kept only as a hash.
    pub async fn issue_traffic_token(&self, team_id: TeamId, capsule_id: CapsuleId) -> Result<String, AppError> {
        let token = generate_traffic_token()?;
        if !self.store().set_traffic_token_hash(team_id, capsule_id, &sha256_hex(&token)).await? {
            return Err(AppError::NotFound { what: "capsule", id: capsule_id.to_string() });
        }
        Ok(token)
    }

    async fn check_key(&self, presented: Option<&str>) -> Result<KeyCheck, StoreError> {
        let Some(key) = presented.map(str::trim) else { return Ok(KeyCheck::Absent) };
        if key.is_empty() || key.len() > MAX_SECRET_LEN {
            return Ok(KeyCheck::Invalid);
        }
        Ok(match self.store().authenticate_api_key(key).await? {
            Some(found) => KeyCheck::Team(found.team_id),
            None => KeyCheck::Invalid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(result: Result<(), PortError>) -> &'static str {
        match result {
            Ok(()) => "ok",
            Err(PortError::NotFound(_)) => "404",
            Err(PortError::Unauthorized(message)) if message.starts_with("missing") => "401 missing",
            Err(PortError::Unauthorized("invalid API key")) => "401 key",
            Err(PortError::Unauthorized("invalid traffic token")) => "401 token",
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn credentials_admit_or_refuse() {
        use KeyCheck as K;
        use TokenCheck as T;
        let id = CapsuleId::from_u128(1);
        let (owner, other) = (TeamId::from_u128(10), TeamId::from_u128(11));
        let cases = [
            // public: anything goes, credentials or not
            (true, T::Absent, K::Absent, "ok"),
            (true, T::Invalid, K::Invalid, "ok"),
            (true, T::Absent, K::Team(other), "ok"),
            // the capsule's token
            (false, T::Valid, K::Absent, "ok"),
            (false, T::Valid, K::Team(other), "ok"),
            // the team's key
            (false, T::Absent, K::Team(owner), "ok"),
            (false, T::Invalid, K::Team(owner), "ok"),
            // another team's key: as if the capsule did not exist
            (false, T::Absent, K::Team(other), "404"),
            (false, T::Invalid, K::Team(other), "404"),
            // wrong or missing
            (false, T::Absent, K::Invalid, "401 key"),
            (false, T::Invalid, K::Invalid, "401 key"),
            (false, T::Invalid, K::Absent, "401 token"),
            (false, T::Absent, K::Absent, "401 missing"),
        ];
        for (public, token, key, want) in cases {
            assert_eq!(outcome(access(id, owner, public, token, key)), want, "public={public} {token:?} {key:?}");
        }
    }

    #[test]
    fn only_running_capsules_are_reached_now() {
        for status in CapsuleStatus::ALL {
            let want = match status {
                CapsuleStatus::Running => Reach::Open,
                CapsuleStatus::Stopping | CapsuleStatus::Stopped | CapsuleStatus::Error => Reach::Never,
                _ => Reach::Later,
            };
            assert_eq!(reachability(status), want, "{status}");
        }
        assert_eq!(reachability(CapsuleStatus::Starting), Reach::Later);
        assert_eq!(reachability(CapsuleStatus::Paused), Reach::Later);
    }

    #[test]
    fn tokens_match_their_hash_only() {
        let hash = sha256_hex("wrt_abc");
        let cases = [
            (None, hash.as_str(), TokenCheck::Absent),
            (Some("wrt_abc"), hash.as_str(), TokenCheck::Valid),
            (Some(" wrt_abc "), hash.as_str(), TokenCheck::Valid),
            (Some("wrt_abd"), hash.as_str(), TokenCheck::Invalid),
            (Some(""), hash.as_str(), TokenCheck::Invalid),
            // none issued: nothing matches, not even the hash of ""
            (Some(""), "", TokenCheck::Invalid),
            (Some("wrt_abc"), "", TokenCheck::Invalid),
        ];
        for (presented, stored, want) in cases {
            assert_eq!(check_token(presented, stored), want, "{presented:?} against {stored:?}");
        }
        let long = "x".repeat(MAX_SECRET_LEN + 1);
        assert_eq!(check_token(Some(&long), &sha256_hex(&long)), TokenCheck::Invalid);
    }
}
