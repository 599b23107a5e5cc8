//! The audit log: append-only entries per team, read newest first in pages
//! keyed by `(created_at, id)`, so entries with the same millisecond are
//! neither skipped nor repeated across pages.

use sqlx::any::AnyRow;
use wrenn_types::{AuditLogId, TeamId};

use crate::store::secret::random_u128;
use crate::store::sql::{get, parse};
use crate::store::{Store, StoreError};

/// An entry to append; `metadata` is any JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub team_id: TeamId,
    /// `user`, `api_key` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub action: String,
    /// `team` or `admin`.
    pub scope: String,
    /// `success`, `info`, `warning` or `error`.
    pub status: String,
    pub metadata: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditLogId,
    pub created_at: i64,
    pub entry: NewAuditEntry,
}

/// Where the next page starts: just after this entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub created_at: i64,
    pub id: AuditLogId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// `None` on the last page.
    pub next: Option<AuditCursor>,
}

const AUDIT_COLUMNS: &str = "id, team_id, actor_type, actor_id, actor_name, resource_type, resource_id, action, \
     scope, status, metadata, created_at";

impl Store {
    pub async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let id = AuditLogId::from_u128(random_u128()?);
        let created_at = self.now();
        sqlx::query(&format!(
            "INSERT INTO audit_logs ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(id.to_string())
        .bind(entry.team_id.to_string())
        .bind(&entry.actor_type)
        .bind(entry.actor_id.clone())
        .bind(&entry.actor_name)
        .bind(&entry.resource_type)
        .bind(entry.resource_id.clone())
        .bind(&entry.action)
        .bind(&entry.scope)
        .bind(&entry.status)
        .bind(entry.metadata.to_string())
        .bind(created_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("appending an audit entry"))?;
        Ok(AuditEntry { id, created_at, entry })
    }

    /// Up to `limit` entries of the team, newest first, after `cursor`.
    pub async fn list_audit(
        &self,
        team_id: TeamId,
        limit: u32,
        cursor: Option<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let limit = limit.max(1);
        // Without a cursor the bounds sit above every real entry.
        let (created_at, id) = cursor.map_or((i64::MAX, "~".to_owned()), |c| (c.created_at, c.id.to_string()));
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_logs WHERE team_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(team_id.to_string())
        .bind(created_at)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("listing audit entries"))?;
        let mut entries = rows.iter().map(audit_from_row).collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next = if more {
            entries.last().map(|last| AuditCursor { created_at: last.created_at, id: last.id })
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let metadata: String = get(row, "metadata")?;
    let metadata =
        serde_json::from_str(&metadata).map_err(|_| StoreError::Corrupt { column: "metadata", value: metadata })?;
    Ok(AuditEntry {
        id: parse(row, "id")?,
        created_at: get(row, "created_at")?,
        entry: NewAuditEntry {
            team_id: parse(row, "team_id")?,
            actor_type: get(row, "actor_type")?,
            actor_id: get(row, "actor_id")?,
            actor_name: get(row, "actor_name")?,
            resource_type: get(row, "resource_type")?,
            resource_id: get(row, "resource_id")?,
            action: get(row, "action")?,
            scope: get(row, "scope")?,
            status: get(row, "status")?,
            metadata,
        },
    })
}
