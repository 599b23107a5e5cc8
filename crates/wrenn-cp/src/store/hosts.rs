//! The host fleet: hosts and their lifecycle (`pending` → `online` ⇄
//! `unreachable`), heartbeats, staleness, tags, deletion, and the listing
//! of candidates the scheduler ranks.

use std::fmt;
use std::str::FromStr;

use sqlx::any::AnyRow;
use wrenn_types::{CapsuleId, HostId, TeamId, UserId};

use crate::store::host_tokens::IssuedSecret;
use crate::store::placement::HostLoad;
use crate::store::secret::random_u128;
use crate::store::sql::{big, get, parse, parse_opt, placeholders, unsigned};
use crate::store::{CapsuleOp, Store, StoreError};

/// Which pool a host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// The platform pool, for teams without BYOC.
    Regular,
    /// One BYOC team's own host.
    Byoc,
}

impl HostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HostKind::Regular => "regular",
            HostKind::Byoc => "byoc",
        }
    }
}

impl FromStr for HostKind {
    type Err = ();

    fn from_str(s: &str) -> Result<HostKind, ()> {
        match s {
            "regular" => Ok(HostKind::Regular),
            "byoc" => Ok(HostKind::Byoc),
            _ => Err(()),
        }
    }
}

/// `pending` (created, not registered) → `online` ⇄ `unreachable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Pending,
    Online,
    Unreachable,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Pending => "pending",
            HostStatus::Online => "online",
            HostStatus::Unreachable => "unreachable",
        }
    }
}

impl fmt::Display for HostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HostStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<HostStatus, ()> {
        match s {
            "pending" => Ok(HostStatus::Pending),
            "online" => Ok(HostStatus::Online),
            "unreachable" => Ok(HostStatus::Unreachable),
            _ => Err(()),
        }
    }
}

/// A host as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: HostId,
    pub kind: HostKind,
    pub team_id: Option<TeamId>,
    pub address: String,
    pub status: HostStatus,
    pub arch: String,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub reserved_vcpus: u64,
    pub reserved_memory_mb: u64,
    pub reserved_disk_mb: u64,
    pub last_heartbeat_at: Option<i64>,
    pub cert_fingerprint: String,
    pub cert_expires_at: Option<i64>,
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A host to create: a BYOC host names its team, a regular host none.
#[derive(Debug, Clone, Copy)]
pub struct NewHost {
    pub kind: HostKind,
    pub team_id: Option<TeamId>,
    pub created_by: Option<UserId>,
}

/// What an agent reports when it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpecs {
    pub address: String,
    pub arch: String,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub cert_fingerprint: String,
    pub cert_expires_at: i64,
}

/// A host just marked unreachable and the capsules that went `missing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleHost {
    pub host_id: HostId,
    pub missing: Vec<CapsuleId>,
}

pub(crate) const HOST_COLUMNS: &str = "id, kind, team_id, address, status, arch, cpu_cores, memory_mb, disk_mb, \
     reserved_vcpus, reserved_memory_mb, reserved_disk_mb, last_heartbeat_at, cert_fingerprint, cert_expires_at, \
     created_by, created_at, updated_at";

impl Store {
    /// Creates a `pending` host and its first registration token.
    pub async fn create_host(&self, new: NewHost, token_ttl_ms: i64) -> Result<(Host, IssuedSecret), StoreError> {
        let now = self.now();
        let host_id = HostId::from_u128(random_u128()?);
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        sqlx::query(
            "INSERT INTO hosts (id, kind, team_id, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4, $5, $5)",
        )
        .bind(host_id.to_string())
        .bind(new.kind.as_str())
        .bind(new.team_id.map(|id| id.to_string()))
        .bind(new.created_by.map(|id| id.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating a host"))?;
        let token = crate::store::host_tokens::insert_registration_token(&mut tx, host_id, now, token_ttl_ms).await?;
        tx.commit().await.map_err(StoreError::query("committing a new host"))?;
        let host = self
            .get_host(host_id)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "host", id: host_id.to_string() })?;
        Ok((host, token))
    }

    pub async fn get_host(&self, host_id: HostId) -> Result<Option<Host>, StoreError> {
        let row = sqlx::query(&format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = $1"))
            .bind(host_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("reading a host"))?;
        row.as_ref().map(host_from_row).transpose()
    }

    pub async fn list_hosts(&self) -> Result<Vec<Host>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("listing hosts"))?;
        rows.iter().map(host_from_row).collect()
    }

    /// Records a heartbeat of an `online` or `unreachable` host and makes it
    /// `online`. Returns the status it had before (so a host coming back
    /// from `unreachable` is reconciled at once), or `None` when no such
    /// registered host exists.
    pub async fn heartbeat(&self, host_id: HostId) -> Result<Option<HostStatus>, StoreError> {
        let now = self.now();
        // In SET, `status` is the old value on both backends, so
        // `previous_status` returns what this very statement replaced.
        let row = sqlx::query(
            "UPDATE hosts SET previous_status = status, status = 'online', last_heartbeat_at = $2, updated_at = $2 \
             WHERE id = $1 AND status IN ('online', 'unreachable') RETURNING previous_status",
        )
        .bind(host_id.to_string())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query("recording a heartbeat"))?;
        row.map(|row| parse(&row, "previous_status")).transpose()
    }

    /// Marks every `online` host whose last heartbeat is older than
    /// `silent_for_ms` as `unreachable`, and their capsules that live on
    /// the host `missing`, in one transaction.
    pub async fn mark_stale_hosts(&self, silent_for_ms: i64) -> Result<Vec<StaleHost>, StoreError> {
        let now = self.now();
        let cutoff = now.saturating_sub(silent_for_ms);
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let rows = sqlx::query(
            "UPDATE hosts SET previous_status = status, status = 'unreachable', updated_at = $2 \
             WHERE status = 'online' AND (last_heartbeat_at IS NULL OR last_heartbeat_at < $1) RETURNING id",
        )
        .bind(cutoff)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::query("marking hosts unreachable"))?;
        let mut stale = Vec::with_capacity(rows.len());
        for row in &rows {
            let host_id: HostId = parse(row, "id")?;
            let from = CapsuleOp::MarkMissing.from();
            let sql = format!(
                "UPDATE capsules SET status = 'missing', reason = $2, updated_at = $3 \
                 WHERE host_id = $1 AND status IN ({}) RETURNING id",
                placeholders(4, from.len())
            );
            let mut query =
                sqlx::query(&sql).bind(host_id.to_string()).bind(format!("host {host_id} stopped answering")).bind(now);
            for status in from {
                query = query.bind(status.as_str());
            }
            let capsule_rows =
                query.fetch_all(&mut *tx).await.map_err(StoreError::query("marking capsules missing"))?;
            let missing = capsule_rows.iter().map(|row| parse(row, "id")).collect::<Result<_, _>>()?;
            stale.push(StaleHost { host_id, missing });
        }
        tx.commit().await.map_err(StoreError::query("committing stale hosts"))?;
        Ok(stale)
    }

    /// Records the certificate just issued to a registered host (on a
    /// credential refresh). Whether the host exists.
    pub async fn update_host_cert(
        &self,
        host_id: HostId,
        fingerprint: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE hosts SET cert_fingerprint = $2, cert_expires_at = $3, updated_at = $4 \
             WHERE id = $1 AND status <> 'pending'",
        )
        .bind(host_id.to_string())
        .bind(fingerprint)
        .bind(expires_at)
        .bind(self.now())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("recording a host certificate"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn add_host_tag(&self, host_id: HostId, tag: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO host_tags (host_id, tag) VALUES ($1, $2) ON CONFLICT (host_id, tag) DO NOTHING")
            .bind(host_id.to_string())
            .bind(tag)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("tagging a host"))?;
        Ok(())
    }

    /// Whether the host had the tag.
    pub async fn remove_host_tag(&self, host_id: HostId, tag: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM host_tags WHERE host_id = $1 AND tag = $2")
            .bind(host_id.to_string())
            .bind(tag)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("untagging a host"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn list_host_tags(&self, host_id: HostId) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT tag FROM host_tags WHERE host_id = $1 ORDER BY tag")
            .bind(host_id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("listing host tags"))?;
        rows.iter().map(|row| get(row, "tag")).collect()
    }

    /// The capsules a delete of this host would stop (the preview).
    pub async fn active_capsules_on_host(&self, host_id: HostId) -> Result<Vec<CapsuleId>, StoreError> {
        let from = CapsuleOp::Lost.from();
        let sql = format!(
            "SELECT id FROM capsules WHERE host_id = $1 AND status IN ({}) ORDER BY created_at, id",
            placeholders(2, from.len())
        );
        let mut query = sqlx::query(&sql).bind(host_id.to_string());
        for status in from {
            query = query.bind(status.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query("listing a host's capsules"))?;
        rows.iter().map(|row| parse(row, "id")).collect()
    }

    /// Deletes the host (its tokens and tags go with it) and stops its
    /// active capsules with a reason, in one transaction. Returns the
    /// stopped capsules, or `None` when there was no such host.
    pub async fn delete_host(&self, host_id: HostId) -> Result<Option<Vec<CapsuleId>>, StoreError> {
        let now = self.now();
        let from = CapsuleOp::Lost.from();
        let sql = format!(
            "UPDATE capsules SET status = 'stopped', reason = $2, updated_at = $3 \
             WHERE host_id = $1 AND status IN ({}) RETURNING id",
            placeholders(4, from.len())
        );
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let mut query =
            sqlx::query(&sql).bind(host_id.to_string()).bind(format!("host {host_id} was deleted")).bind(now);
        for status in from {
            query = query.bind(status.as_str());
        }
        let rows = query.fetch_all(&mut *tx).await.map_err(StoreError::query("stopping a host's capsules"))?;
        let stopped = rows.iter().map(|row| parse(row, "id")).collect::<Result<Vec<_>, _>>()?;
        let done = sqlx::query("DELETE FROM hosts WHERE id = $1")
            .bind(host_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("deleting a host"))?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await.map_err(StoreError::query("committing a host delete"))?;
        Ok(Some(stopped))
    }

    /// The online hosts of the pool a team's capsules may run in: a BYOC
    /// team's own `byoc` hosts, every other team's `regular` hosts.
    pub async fn candidate_hosts(&self, team_id: TeamId, is_byoc: bool) -> Result<Vec<HostLoad>, StoreError> {
        // A BYOC team's own hosts, or the regular pool; `$1` is unused by
        // the latter but bound either way to keep one statement.
        let sql = format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE status = 'online' AND address <> '' \
             AND ((kind = 'byoc' AND team_id = $1 AND $2 = 1) OR (kind = 'regular' AND $2 = 0))"
        );
        let query = sqlx::query(&sql).bind(team_id.to_string()).bind(i64::from(is_byoc));
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query("listing candidate hosts"))?;
        rows.iter()
            .map(|row| {
                let host = host_from_row(row)?;
                Ok(HostLoad {
                    host_id: host.id,
                    created_at: host.created_at,
                    cpu_cores: host.cpu_cores,
                    memory_mb: host.memory_mb,
                    disk_mb: host.disk_mb,
                    reserved_vcpus: host.reserved_vcpus,
                    reserved_memory_mb: host.reserved_memory_mb,
                    reserved_disk_mb: host.reserved_disk_mb,
                })
            })
            .collect()
    }

    /// Registers a `pending` host: its specs, address and certificate, and
    /// makes it `online`. `None` when the host is not `pending`.
    pub(crate) async fn register_pending_host(
        &self,
        tx: &mut sqlx::AnyConnection,
        host_id: HostId,
        specs: &HostSpecs,
        now: i64,
    ) -> Result<Option<Host>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE hosts SET previous_status = status, status = 'online', address = $2, arch = $3, cpu_cores = $4, \
             memory_mb = $5, disk_mb = $6, cert_fingerprint = $7, cert_expires_at = $8, last_heartbeat_at = $9, \
             updated_at = $9 WHERE id = $1 AND status = 'pending' RETURNING {HOST_COLUMNS}"
        ))
        .bind(host_id.to_string())
        .bind(&specs.address)
        .bind(&specs.arch)
        .bind(i64::from(specs.cpu_cores))
        .bind(big(specs.memory_mb))
        .bind(big(specs.disk_mb))
        .bind(&specs.cert_fingerprint)
        .bind(specs.cert_expires_at)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query("registering a host"))?;
        row.as_ref().map(host_from_row).transpose()
    }
}

pub(crate) fn host_from_row(row: &AnyRow) -> Result<Host, StoreError> {
    Ok(Host {
        id: parse(row, "id")?,
        kind: parse(row, "kind")?,
        team_id: parse_opt(row, "team_id")?,
        address: get(row, "address")?,
        status: parse(row, "status")?,
        arch: get(row, "arch")?,
        cpu_cores: unsigned(row, "cpu_cores")?,
        memory_mb: unsigned(row, "memory_mb")?,
        disk_mb: unsigned(row, "disk_mb")?,
        reserved_vcpus: unsigned(row, "reserved_vcpus")?,
        reserved_memory_mb: unsigned(row, "reserved_memory_mb")?,
        reserved_disk_mb: unsigned(row, "reserved_disk_mb")?,
        last_heartbeat_at: get(row, "last_heartbeat_at")?,
        cert_fingerprint: get(row, "cert_fingerprint")?,
        cert_expires_at: get(row, "cert_expires_at")?,
        created_by: parse_opt(row, "created_by")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}
