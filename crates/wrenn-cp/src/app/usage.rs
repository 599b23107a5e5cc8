//! What a team's capsules used: one capsule's samples
//! (`/v1/capsules/{id}/metrics`), the team's running counts over time
//! (`/v1/capsules/stats`) and its usage per day (`/v1/capsules/usage`).
//!
//! Metrics come from the capsule's host agent, which keeps them in rings
//! (1 s for 10 min, 30 s for 2 h, 5 min for 24 h); the store's copy is the
//! fallback once the agent no longer has the capsule. Stats and usage are
//! computed from the capsule rows alone: each row gives one
//! [`RunInterval`], from `started_at` to the last status change that took
//! the capsule out of the running states (`updated_at`), or to "now" while
//! it still runs. No sampler or rollup job is needed, at the price of
//! approximations the row cannot tell apart: a capsule paused and
//! resumed counts as running through its pause, and one paused and later
//! destroyed counts as running until it was destroyed. A capsule that is
//! paused now stops counting at its pause.

mod daily;
mod ranges;
mod series;

use std::time::{SystemTime, UNIX_EPOCH};

use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{CapsuleId, TeamId};

pub use crate::app::usage::daily::{DayUsage, UsageDays, format_date};
pub use crate::app::usage::ranges::{MetricsRange, StatsRange};
pub use crate::app::usage::series::{Occupancy, TeamStats};
use crate::app::{App, AppError};
use crate::store::{Capsule, CapsuleStatus, MetricPoint};

/// How long a metrics read may wait for the agent.
const METRICS_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The stretch of time a capsule ran, in unix ms: `[start_ms, end_ms)`,
/// open ended while it still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunInterval {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub vcpus: u64,
    pub memory_mb: u64,
}

impl RunInterval {
    /// The interval of a stored capsule; `None` for one that never ran.
    pub fn of(capsule: &Capsule) -> Option<RunInterval> {
        let start_ms = capsule.started_at?;
        let end_ms = if runs(capsule.status) { None } else { Some(capsule.updated_at.max(start_ms)) };
        Some(RunInterval { start_ms, end_ms, vcpus: u64::from(capsule.vcpus), memory_mb: capsule.memory_mb })
    }

    fn covers(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && self.end_ms.is_none_or(|end| at_ms < end)
    }
}

/// States in which the capsule's VM is up and holds its vCPUs: running,
/// and the transitions that start from running (or end in it).
fn runs(status: CapsuleStatus) -> bool {
    matches!(
        status,
        CapsuleStatus::Running
            | CapsuleStatus::Pausing
            | CapsuleStatus::Resuming
            | CapsuleStatus::Snapshotting
            | CapsuleStatus::Hibernating
            | CapsuleStatus::Stopping
    )
}

impl App {
    /// A capsule's samples over `range`, oldest first. A destroyed
    /// capsule (`stopped`, `error`) is not found, like one that never
    /// existed; any other capsule answers what its agent still has, or
    /// what the store kept, possibly nothing.
    pub async fn capsule_metrics(
        &self,
        team_id: TeamId,
        capsule_id: CapsuleId,
        range: MetricsRange,
    ) -> Result<Vec<MetricPoint>, AppError> {
        let capsule = self.team_capsule(team_id, capsule_id).await?;
        if capsule.status.is_terminal() {
            return Err(AppError::NotFound { what: "capsule", id: capsule_id.to_string() });
        }
        // A pending capsule is not on its agent yet; a missing one's host
        // does not answer.
        let asks_agent = !matches!(capsule.status, CapsuleStatus::Pending | CapsuleStatus::Missing);
        let points = if asks_agent {
            match self.agent_metrics(&capsule, range).await {
                Ok(points) => points,
                Err(error) if error.is_not_found() => self.stored_metrics(capsule_id, range).await?,
                Err(error) => return Err(error),
            }
        } else {
            self.stored_metrics(capsule_id, range).await?
        };
        Ok(range.trim(points, now_ms().div_euclid(1000)))
    }

    /// The team's running counts over `range`, ending now.
    pub async fn team_stats(&self, team_id: TeamId, range: StatsRange) -> Result<TeamStats, AppError> {
        let intervals = self.run_intervals(team_id).await?;
        Ok(series::team_stats(&intervals, range, now_ms()))
    }

    /// The team's usage on each day of `days`.
    pub async fn team_usage(&self, team_id: TeamId, days: UsageDays) -> Result<Vec<DayUsage>, AppError> {
        let intervals = self.run_intervals(team_id).await?;
        Ok(daily::daily_usage(&intervals, days, now_ms()))
    }

    /// The UTC day of "now": what `/v1/capsules/usage` defaults to.
    pub fn today_utc(&self) -> time::Date {
        daily::utc_date(now_ms())
    }

    async fn run_intervals(&self, team_id: TeamId) -> Result<Vec<RunInterval>, AppError> {
        // No status filter: stopped capsules are the history.
        let capsules = self.store().list_team_capsules(team_id, &[]).await?;
        Ok(capsules.iter().filter_map(RunInterval::of).collect())
    }

    async fn agent_metrics(&self, capsule: &Capsule, range: MetricsRange) -> Result<Vec<MetricPoint>, AppError> {
        let agent = self.agent_for(capsule).await?;
        let request = pb::GetCapsuleMetricsRequest {
            capsule_id: capsule.id.to_string(),
            range: range.as_str().to_owned(),
            ..Default::default()
        };
        let options = connectrpc::client::CallOptions::default().with_timeout(METRICS_CALL_TIMEOUT);
        let response =
            agent.get_capsule_metrics_with_options(request, options).await.map_err(AppError::from_agent)?.into_owned();
        Ok(response
            .points
            .iter()
            .map(|point| MetricPoint {
                ts: point.timestamp_unix,
                cpu_pct: point.cpu_pct,
                mem_bytes: point.mem_bytes,
                disk_bytes: point.disk_bytes,
            })
            .collect())
    }

    async fn stored_metrics(&self, capsule_id: CapsuleId, range: MetricsRange) -> Result<Vec<MetricPoint>, AppError> {
        Ok(self.store().list_metric_points(capsule_id, range.tier()).await?)
    }
}

fn now_ms() -> i64 {
    // Before 1970 or after year 292 million is a broken host; clamp.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use wrenn_types::HostId;

    use super::*;

    fn capsule(status: CapsuleStatus, started_at: Option<i64>, updated_at: i64) -> Capsule {
        Capsule {
            id: CapsuleId::from_u128(1),
            team_id: TeamId::from_u128(2),
            host_id: HostId::from_u128(3),
            template: "minimal".to_owned(),
            template_id: None,
            status,
            reason: String::new(),
            vcpus: 2,
            memory_mb: 512,
            disk_mb: 2048,
            timeout_sec: 0,
            metadata: BTreeMap::new(),
            host_ip: String::new(),
            public: false,
            created_at: 100,
            started_at,
            last_active_at: None,
            updated_at,
        }
    }

    #[test]
    fn a_capsule_row_gives_its_run_interval() {
        use CapsuleStatus::*;
        let open = Some(None);
        let ended = |end| Some(Some(end));
        let cases = [
            (Pending, None, 150, None),
            (Starting, None, 150, None),
            (Error, None, 150, None),
            (Running, Some(200), 300, open),
            (Pausing, Some(200), 300, open),
            (Resuming, Some(200), 300, open),
            (Snapshotting, Some(200), 300, open),
            (Hibernating, Some(200), 300, open),
            (Stopping, Some(200), 300, open),
            (Paused, Some(200), 300, ended(300)),
            (Hibernated, Some(200), 300, ended(300)),
            (Missing, Some(200), 300, ended(300)),
            (Stopped, Some(200), 900, ended(900)),
            (Error, Some(200), 900, ended(900)),
            // A row changed before it started (clock step): empty, not negative.
            (Stopped, Some(200), 150, ended(200)),
        ];
        for (status, started_at, updated_at, expected) in cases {
            let got = RunInterval::of(&capsule(status, started_at, updated_at));
            let expected = expected.map(|end_ms| RunInterval { start_ms: 200, end_ms, vcpus: 2, memory_mb: 512 });
            assert_eq!(got, expected, "{status} started {started_at:?} updated {updated_at}");
        }
        for status in CapsuleStatus::ALL.into_iter().filter(|status| status.is_terminal()) {
            assert!(!runs(status), "{status} is terminal");
        }
    }

    #[test]
    fn intervals_are_half_open() {
        let interval = RunInterval { start_ms: 10, end_ms: Some(20), vcpus: 1, memory_mb: 1 };
        let cases = [(9, false), (10, true), (19, true), (20, false)];
        for (at, expected) in cases {
            assert_eq!(interval.covers(at), expected, "{at}");
        }
        assert!(RunInterval { end_ms: None, ..interval }.covers(i64::MAX));
    }
}
