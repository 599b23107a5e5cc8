//! What the port proxy needs from the store: one read per proxied request
//! (the capsule's owner, status, public flag and traffic-token hash, with
//! its host's address) and the write that replaces a capsule's traffic
//! token. Tokens are kept as SHA-256 hex only, like API keys.

use sqlx::any::AnyRow;
use wrenn_types::{CapsuleId, TeamId};

use crate::store::sql::{flag, get, parse};
use crate::store::{CapsuleStatus, Store, StoreError};

/// A capsule as the port proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortTarget {
    pub capsule_id: CapsuleId,
    pub team_id: TeamId,
    pub status: CapsuleStatus,
    /// Reachable without credentials.
    pub public: bool,
    /// SHA-256 hex of the current traffic token; empty while none was issued.
    pub traffic_token_hash: String,
    /// The agent's `ip:port`; empty when the host is gone or not registered.
    pub host_address: String,
}

impl Store {
    /// The capsule `capsule_id` and its host's address, in one query.
    pub async fn port_target(&self, capsule_id: CapsuleId) -> Result<Option<PortTarget>, StoreError> {
        let row = sqlx::query(
            "SELECT c.id, c.team_id, c.status, c.public, c.traffic_token_hash, \
             COALESCE(h.address, '') AS host_address \
             FROM capsules c LEFT JOIN hosts h ON h.id = c.host_id WHERE c.id = $1",
        )
        .bind(capsule_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("reading a capsule's port target"))?;
        row.as_ref().map(port_target_from_row).transpose()
    }

    /// Makes `token_hash` the capsule's only valid traffic token; `false`
    /// when the team has no such capsule.
    pub async fn set_traffic_token_hash(
        &self,
        team_id: TeamId,
        capsule_id: CapsuleId,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE capsules SET traffic_token_hash = $3 WHERE id = $1 AND team_id = $2")
            .bind(capsule_id.to_string())
            .bind(team_id.to_string())
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("replacing a capsule's traffic token"))?;
        Ok(done.rows_affected() > 0)
    }
}

fn port_target_from_row(row: &AnyRow) -> Result<PortTarget, StoreError> {
    Ok(PortTarget {
        capsule_id: parse(row, "id")?,
        team_id: parse(row, "team_id")?,
        status: parse(row, "status")?,
        public: flag(row, "public")?,
        traffic_token_hash: get(row, "traffic_token_hash")?,
        host_address: get(row, "host_address")?,
    })
}
