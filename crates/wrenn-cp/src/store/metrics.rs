//! Persisted capsule metrics: the agent's rings flushed at pause and
//! destroy, so a paused or stopped capsule still has its history. One row
//! per `(capsule, tier, second)`; a point flushed twice is kept once.

use std::fmt;

use wrenn_types::CapsuleId;

use crate::store::sql::{big, get, unsigned};
use crate::store::{Store, StoreError};

/// The resolution a point belongs to (as the agent's rings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricTier {
    /// 1 s points over 10 minutes.
    TenMinutes,
    /// 30 s points over 2 hours.
    TwoHours,
    /// 5 min points over 24 hours.
    Day,
}

impl MetricTier {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricTier::TenMinutes => "10m",
            MetricTier::TwoHours => "2h",
            MetricTier::Day => "24h",
        }
    }
}

impl fmt::Display for MetricTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// Unix seconds.
    pub ts: i64,
    pub cpu_pct: f64,
    pub mem_bytes: u64,
    pub disk_bytes: u64,
}

impl Store {
    pub async fn save_metric_points(
        &self,
        capsule_id: CapsuleId,
        tier: MetricTier,
        points: &[MetricPoint],
    ) -> Result<(), StoreError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(StoreError::query("starting a transaction"))?;
        for point in points {
            sqlx::query(
                "INSERT INTO capsule_metric_points (capsule_id, tier, ts, cpu_pct, mem_bytes, disk_bytes) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (capsule_id, tier, ts) DO NOTHING",
            )
            .bind(capsule_id.to_string())
            .bind(tier.as_str())
            .bind(point.ts)
            .bind(point.cpu_pct)
            .bind(big(point.mem_bytes))
            .bind(big(point.disk_bytes))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("saving metric points"))?;
        }
        tx.commit().await.map_err(StoreError::query("committing metric points"))?;
        Ok(())
    }

    /// A capsule's stored points of one tier, oldest first.
    pub async fn list_metric_points(
        &self,
        capsule_id: CapsuleId,
        tier: MetricTier,
    ) -> Result<Vec<MetricPoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT ts, cpu_pct, mem_bytes, disk_bytes FROM capsule_metric_points \
             WHERE capsule_id = $1 AND tier = $2 ORDER BY ts",
        )
        .bind(capsule_id.to_string())
        .bind(tier.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("listing metric points"))?;
        rows.iter()
            .map(|row| {
                Ok(MetricPoint {
                    ts: get(row, "ts")?,
                    cpu_pct: get(row, "cpu_pct")?,
                    mem_bytes: unsigned(row, "mem_bytes")?,
                    disk_bytes: unsigned(row, "disk_bytes")?,
                })
            })
            .collect()
    }
}
