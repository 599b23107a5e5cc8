//! Capsules: admission onto a host, compare-and-set transitions, reads.
//!
//! Creating a capsule is one transaction: the guarded reservation on the
//! chosen host (`reserved + asked <= usable`, or nothing changes) and the
//! insert of the `pending` row. A transition is one guarded `UPDATE …
//! WHERE status IN (from)`; when it leads out of the states that hold
//! resources, the release on the host happens in the same transaction.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use wrenn_types::{CapsuleId, HostId, TeamId, TemplateId};

use crate::store::placement::{self, Ask, HostReserve};
use crate::store::secret::random_u128;
use crate::store::sql::{big, flag, flag_value, get, map_text, parse, parse_opt, placeholders, string_map, unsigned};
use crate::store::{CapsuleOp, CapsuleStatus, Store, StoreError};

/// A capsule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capsule {
    pub id: CapsuleId,
    pub team_id: TeamId,
    pub host_id: HostId,
    pub template: String,
    pub template_id: Option<TemplateId>,
    pub status: CapsuleStatus,
    /// Why it is in its state; every terminal state has one.
    pub reason: String,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub timeout_sec: u64,
    pub metadata: BTreeMap<String, String>,
    pub host_ip: String,
    pub public: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub last_active_at: Option<i64>,
    pub updated_at: i64,
}

/// What a create request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCapsule {
    pub team_id: TeamId,
    pub template: String,
    pub template_id: Option<TemplateId>,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub timeout_sec: u64,
    pub metadata: BTreeMap<String, String>,
    pub public: bool,
    /// The only host the capsule may run on (the one holding its
    /// snapshot); `None`: any host of the team's pool.
    pub pinned_host: Option<HostId>,
}

const CAPSULE_COLUMNS: &str = "id, team_id, host_id, template, template_id, status, reason, vcpus, memory_mb, \
     disk_mb, timeout_sec, metadata, host_ip, public, created_at, started_at, last_active_at, updated_at";

impl Store {
    /// Admits a capsule onto the least-loaded host of its team's pool that
    /// has room and stores it `pending`. Fails with
    /// [`StoreError::NoHosts`] or [`StoreError::NoCapacity`].
    pub async fn create_capsule(&self, new: NewCapsule, reserve: HostReserve) -> Result<Capsule, StoreError> {
        let team = self
            .get_team(new.team_id)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "team", id: new.team_id.to_string() })?;
        let mut hosts = self.candidate_hosts(team.id, team.is_byoc).await?;
        if let Some(pinned) = new.pinned_host {
            hosts.retain(|host| host.host_id == pinned);
            if hosts.is_empty() {
                return Err(StoreError::PinnedHostOffline { host_id: pinned.to_string() });
            }
        }
        if hosts.is_empty() {
            return Err(StoreError::NoHosts { team_id: team.id.to_string() });
        }
        let ask = Ask { vcpus: new.vcpus, memory_mb: new.memory_mb, disk_mb: new.disk_mb };
        let id = CapsuleId::from_u128(random_u128()?);
        // The ranking is from a snapshot that may already be stale; the
        // guarded reservation decides, and a host that filled up meanwhile
        // just sends us to the next one.
        for host_id in placement::rank(&hosts, ask, reserve) {
            if let Some(capsule) = self.admit_on(id, &new, host_id, reserve).await? {
                return Ok(capsule);
            }
        }
        Err(StoreError::NoCapacity { memory_mb: new.memory_mb, disk_mb: new.disk_mb })
    }

    async fn admit_on(
        &self,
        id: CapsuleId,
        new: &NewCapsule,
        host_id: HostId,
        reserve: HostReserve,
    ) -> Result<Option<Capsule>, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let reserved = sqlx::query(
            "UPDATE hosts SET reserved_vcpus = reserved_vcpus + $2, reserved_memory_mb = reserved_memory_mb + $3, \
             reserved_disk_mb = reserved_disk_mb + $4, updated_at = $5 \
             WHERE id = $1 AND status = 'online' \
             AND reserved_memory_mb + $3 <= memory_mb - $6 AND reserved_disk_mb + $4 <= disk_mb - $7",
        )
        .bind(host_id.to_string())
        .bind(i64::from(new.vcpus))
        .bind(big(new.memory_mb))
        .bind(big(new.disk_mb))
        .bind(now)
        .bind(big(reserve.memory_mb))
        .bind(big(reserve.disk_mb))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("reserving host resources"))?;
        if reserved.rows_affected() == 0 {
            return Ok(None);
        }
        let capsule = Capsule {
            id,
            team_id: new.team_id,
            host_id,
            template: new.template.clone(),
            template_id: new.template_id,
            status: CapsuleStatus::Pending,
            reason: String::new(),
            vcpus: new.vcpus,
            memory_mb: new.memory_mb,
            disk_mb: new.disk_mb,
            timeout_sec: new.timeout_sec,
            metadata: new.metadata.clone(),
            host_ip: String::new(),
            public: new.public,
            created_at: now,
            started_at: None,
            last_active_at: None,
            updated_at: now,
        };
        sqlx::query(&format!(
            "INSERT INTO capsules ({CAPSULE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(capsule.id.to_string())
        .bind(capsule.team_id.to_string())
        .bind(capsule.host_id.to_string())
        .bind(&capsule.template)
        .bind(capsule.template_id.map(|id| id.to_string()))
        .bind(capsule.status.as_str())
        .bind(&capsule.reason)
        .bind(i64::from(capsule.vcpus))
        .bind(big(capsule.memory_mb))
        .bind(big(capsule.disk_mb))
        .bind(big(capsule.timeout_sec))
        .bind(map_text(&capsule.metadata))
        .bind(&capsule.host_ip)
        .bind(flag_value(capsule.public))
        .bind(capsule.created_at)
        .bind(capsule.started_at)
        .bind(capsule.last_active_at)
        .bind(capsule.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("inserting a capsule"))?;
        tx.commit().await.map_err(StoreError::query("committing a capsule admission"))?;
        Ok(Some(capsule))
    }

    /// Applies `op` if the capsule is in one of its `from` states. Returns
    /// the updated capsule, or `None` when the capsule does not exist or was
    /// in another state (someone else's change won; nothing was written).
    pub async fn transition(
        &self,
        capsule_id: CapsuleId,
        op: CapsuleOp,
        reason: &str,
    ) -> Result<Option<Capsule>, StoreError> {
        self.transition_with(capsule_id, op, reason, None).await
    }

    /// [`Store::transition`] that also records the capsule's address on its
    /// host (for `started`, `resumed`, `restore`).
    pub async fn transition_with(
        &self,
        capsule_id: CapsuleId,
        op: CapsuleOp,
        reason: &str,
        host_ip: Option<&str>,
    ) -> Result<Option<Capsule>, StoreError> {
        let now = self.now();
        let to = op.to();
        let from = op.from();
        // Entering `running` starts the activity clock; the first time also
        // stamps `started_at`.
        let running = i64::from(to == CapsuleStatus::Running);
        let sql = format!(
            "UPDATE capsules SET status = $2, reason = $3, updated_at = $4, host_ip = COALESCE($5, host_ip), \
             started_at = CASE WHEN $6 = 1 AND started_at IS NULL THEN $4 ELSE started_at END, \
             last_active_at = CASE WHEN $6 = 1 THEN $4 ELSE last_active_at END \
             WHERE id = $1 AND status IN ({}) RETURNING {CAPSULE_COLUMNS}",
            placeholders(7, from.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(capsule_id.to_string())
            .bind(to.as_str())
            .bind(reason)
            .bind(now)
            .bind(host_ip.map(str::to_owned))
            .bind(running);
        for status in from {
            query = query.bind(status.as_str());
        }
        if !op.releases() {
            let row =
                query.fetch_optional(&self.pool).await.map_err(StoreError::query("changing a capsule's status"))?;
            return row.as_ref().map(capsule_from_row).transpose();
        }
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        let row = query.fetch_optional(&mut *tx).await.map_err(StoreError::query("changing a capsule's status"))?;
        let Some(row) = row else { return Ok(None) };
        let capsule = capsule_from_row(&row)?;
        // Never below zero, whatever happened to the host row meanwhile.
        sqlx::query(
            "UPDATE hosts SET \
             reserved_vcpus = CASE WHEN reserved_vcpus > $2 THEN reserved_vcpus - $2 ELSE 0 END, \
             reserved_memory_mb = CASE WHEN reserved_memory_mb > $3 THEN reserved_memory_mb - $3 ELSE 0 END, \
             reserved_disk_mb = CASE WHEN reserved_disk_mb > $4 THEN reserved_disk_mb - $4 ELSE 0 END, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(capsule.host_id.to_string())
        .bind(i64::from(capsule.vcpus))
        .bind(big(capsule.memory_mb))
        .bind(big(capsule.disk_mb))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("releasing host resources"))?;
        tx.commit().await.map_err(StoreError::query("committing a capsule release"))?;
        Ok(Some(capsule))
    }

    pub async fn get_capsule(&self, capsule_id: CapsuleId) -> Result<Option<Capsule>, StoreError> {
        let row = sqlx::query(&format!("SELECT {CAPSULE_COLUMNS} FROM capsules WHERE id = $1"))
            .bind(capsule_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("reading a capsule"))?;
        row.as_ref().map(capsule_from_row).transpose()
    }

    /// A team's capsules in any of `statuses` (all when empty), oldest first.
    pub async fn list_team_capsules(
        &self,
        team_id: TeamId,
        statuses: &[CapsuleStatus],
    ) -> Result<Vec<Capsule>, StoreError> {
        let filter = if statuses.is_empty() {
            String::new()
        } else {
            format!(" AND status IN ({})", placeholders(2, statuses.len()))
        };
        let sql = format!("SELECT {CAPSULE_COLUMNS} FROM capsules WHERE team_id = $1{filter} ORDER BY created_at, id");
        let mut query = sqlx::query(&sql).bind(team_id.to_string());
        for status in statuses {
            query = query.bind(status.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query("listing capsules"))?;
        rows.iter().map(capsule_from_row).collect()
    }

    /// Capsules in any of `statuses` not changed since `before` (unix ms):
    /// what the reconciler looks at on a host, or stuck in a transition.
    pub async fn list_capsules_in(
        &self,
        host_id: Option<HostId>,
        statuses: &[CapsuleStatus],
        before: i64,
    ) -> Result<Vec<Capsule>, StoreError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        // `$2` is bound either way so the placeholders keep their numbers.
        let host_filter = if host_id.is_some() { " AND host_id = $2" } else { " AND $2 = ''" };
        let sql = format!(
            "SELECT {CAPSULE_COLUMNS} FROM capsules WHERE updated_at < $1{host_filter} AND status IN ({}) \
             ORDER BY created_at, id",
            placeholders(3, statuses.len())
        );
        let mut query = sqlx::query(&sql).bind(before).bind(host_id.map_or(String::new(), |id| id.to_string()));
        for status in statuses {
            query = query.bind(status.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query("listing capsules by state"))?;
        rows.iter().map(capsule_from_row).collect()
    }

    /// Records activity (keeps the capsule from being seen as idle).
    pub async fn touch_capsule(&self, capsule_id: CapsuleId) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE capsules SET last_active_at = $2 WHERE id = $1 AND status = 'running'")
            .bind(capsule_id.to_string())
            .bind(self.now())
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("touching a capsule"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Replaces a capsule's metadata labels; `false` when the team has no
    /// such capsule.
    pub async fn set_capsule_metadata(
        &self,
        team_id: TeamId,
        capsule_id: CapsuleId,
        metadata: &BTreeMap<String, String>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE capsules SET metadata = $3, updated_at = $4 WHERE id = $1 AND team_id = $2")
            .bind(capsule_id.to_string())
            .bind(team_id.to_string())
            .bind(map_text(metadata))
            .bind(self.now())
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("updating capsule metadata"))?;
        Ok(done.rows_affected() > 0)
    }
}

fn capsule_from_row(row: &AnyRow) -> Result<Capsule, StoreError> {
    Ok(Capsule {
        id: parse(row, "id")?,
        team_id: parse(row, "team_id")?,
        host_id: parse(row, "host_id")?,
        template: get(row, "template")?,
        template_id: parse_opt(row, "template_id")?,
        status: parse(row, "status")?,
        reason: get(row, "reason")?,
        vcpus: unsigned(row, "vcpus")?,
        memory_mb: unsigned(row, "memory_mb")?,
        disk_mb: unsigned(row, "disk_mb")?,
        timeout_sec: unsigned(row, "timeout_sec")?,
        metadata: string_map(row, "metadata")?,
        host_ip: get(row, "host_ip")?,
        public: flag(row, "public")?,
        created_at: get(row, "created_at")?,
        started_at: get(row, "started_at")?,
        last_active_at: get(row, "last_active_at")?,
        updated_at: get(row, "updated_at")?,
    })
}
