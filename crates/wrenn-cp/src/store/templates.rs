//! Templates: the platform's base templates, visible to every team, and
//! each team's own (snapshots). A team template may not take the name of a
//! platform template, so `(team or platform, name)` is never ambiguous.

use std::collections::BTreeMap;
use std::str::FromStr;

use sqlx::any::AnyRow;
use wrenn_types::{HostId, TeamId, TemplateId};

use crate::store::secret::random_u128;
use crate::store::sql::{big, get, map_text, parse, parse_opt, string_map, unsigned};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// A root filesystem.
    Base,
    /// A capsule's saved state; fixes vcpus and memory.
    Snapshot,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Base => "base",
            TemplateKind::Snapshot => "snapshot",
        }
    }
}

impl FromStr for TemplateKind {
    type Err = ();

    fn from_str(s: &str) -> Result<TemplateKind, ()> {
        match s {
            "base" => Ok(TemplateKind::Base),
            "snapshot" => Ok(TemplateKind::Snapshot),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: TemplateId,
    pub team_id: TeamId,
    pub name: String,
    pub kind: TemplateKind,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub size_bytes: u64,
    pub default_user: String,
    pub default_env: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    /// The host holding a snapshot's files; `None` for base templates,
    /// which every host has.
    pub host_id: Option<HostId>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    pub team_id: TeamId,
    pub name: String,
    pub kind: TemplateKind,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub size_bytes: u64,
    pub default_user: String,
    pub default_env: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    pub host_id: Option<HostId>,
}

const TEMPLATE_COLUMNS: &str =
    "id, team_id, name, kind, vcpus, memory_mb, size_bytes, default_user, default_env, metadata, created_at, host_id";

impl Store {
    /// Inserts a template, or updates the team's template of that name
    /// (keeping its id). A team template named like a platform template is
    /// a [`StoreError::Conflict`].
    pub async fn upsert_template(&self, new: &NewTemplate) -> Result<Template, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO templates ({TEMPLATE_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13 \
             WHERE $2 = $12 OR NOT EXISTS (SELECT 1 FROM templates WHERE team_id = $12 AND name = $3) \
             ON CONFLICT (team_id, name) DO UPDATE SET kind = excluded.kind, vcpus = excluded.vcpus, \
             memory_mb = excluded.memory_mb, size_bytes = excluded.size_bytes, \
             default_user = excluded.default_user, default_env = excluded.default_env, \
             metadata = excluded.metadata, host_id = excluded.host_id RETURNING {TEMPLATE_COLUMNS}"
        ))
        .bind(TemplateId::from_u128(random_u128()?).to_string())
        .bind(new.team_id.to_string())
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(i64::from(new.vcpus))
        .bind(big(new.memory_mb))
        .bind(big(new.size_bytes))
        .bind(&new.default_user)
        .bind(map_text(&new.default_env))
        .bind(map_text(&new.metadata))
        .bind(self.now())
        .bind(TeamId::PLATFORM.to_string())
        .bind(new.host_id.map(|id| id.to_string()))
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("saving a template"))?;
        match row {
            Some(row) => template_from_row(&row),
            None => {
                Err(StoreError::Conflict { context: "saving a template named like a platform template", source: None })
            }
        }
    }

    /// The team's templates and the platform's, by name.
    pub async fn list_templates(&self, team_id: TeamId) -> Result<Vec<Template>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM templates WHERE team_id IN ($1, $2) ORDER BY name, team_id"
        ))
        .bind(team_id.to_string())
        .bind(TeamId::PLATFORM.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("listing templates"))?;
        rows.iter().map(template_from_row).collect()
    }

    /// The template a team means by `name`: its own, else the platform's.
    pub async fn get_template(&self, team_id: TeamId, name: &str) -> Result<Option<Template>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TEMPLATE_COLUMNS} FROM templates WHERE name = $3 AND team_id IN ($1, $2) \
             ORDER BY CASE WHEN team_id = $1 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(team_id.to_string())
        .bind(TeamId::PLATFORM.to_string())
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("reading a template"))?;
        row.as_ref().map(template_from_row).transpose()
    }

    /// Deletes one of the team's own templates; `false` when it had none.
    pub async fn delete_template(&self, team_id: TeamId, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM templates WHERE team_id = $1 AND name = $2")
            .bind(team_id.to_string())
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("deleting a template"))?;
        Ok(done.rows_affected() > 0)
    }
}

fn template_from_row(row: &AnyRow) -> Result<Template, StoreError> {
    Ok(Template {
        id: parse(row, "id")?,
        team_id: parse(row, "team_id")?,
        name: get(row, "name")?,
        kind: parse(row, "kind")?,
        vcpus: unsigned(row, "vcpus")?,
        memory_mb: unsigned(row, "memory_mb")?,
        size_bytes: unsigned(row, "size_bytes")?,
        default_user: get(row, "default_user")?,
        default_env: string_map(row, "default_env")?,
        metadata: string_map(row, "metadata")?,
        host_id: parse_opt(row, "host_id")?,
        created_at: get(row, "created_at")?,
    })
}
