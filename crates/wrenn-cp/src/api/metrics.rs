//! `/v1/capsules/{id}/metrics` (one capsule's samples),
//! `/v1/capsules/stats` (the team's running counts over time) and
//! `/v1/capsules/usage` (the team's usage per UTC day), shaped as the SDK's
//! `CapsuleMetrics`, `CapsuleStats` and `UsageResponse` models.
//!
//! `stats` and `usage` are static segments, so axum routes them here and
//! not to `/v1/capsules/{id}` (static segments win over captures).

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::app::usage::{DayUsage, MetricsRange, Occupancy, StatsRange, TeamStats, UsageDays, format_date};
use crate::app::validate;
use crate::events::Timestamp;
use crate::http::{ApiError, AppState, AuthContext, Json, Path, Query};
use crate::store::MetricPoint;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/capsules/stats", get(stats))
        .route("/v1/capsules/usage", get(usage))
        .route("/v1/capsules/{id}/metrics", get(metrics))
}

/// `?range=` of metrics and stats; anything else in the query is refused
/// so that a typo is not silently the default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    range: Option<String>,
}

/// `?from=&to=` of usage, `YYYY-MM-DD` each.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageQuery {
    #[serde(rename = "from")]
    from_date: Option<String>,
    #[serde(rename = "to")]
    to_date: Option<String>,
}

/// The SDK's `CapsuleMetrics`.
#[derive(Debug, Serialize)]
struct MetricsView {
    sandbox_id: String,
    range: &'static str,
    points: Vec<MetricPointView>,
}

/// The SDK's `MetricPoint`.
#[derive(Debug, Serialize)]
struct MetricPointView {
    timestamp_unix: i64,
    cpu_pct: f64,
    mem_bytes: u64,
    disk_bytes: u64,
}

/// The SDK's `CapsuleStats`.
#[derive(Debug, Serialize)]
struct StatsView {
    range: &'static str,
    current: CurrentView,
    peaks: PeaksView,
    series: SeriesView,
}

#[derive(Debug, Serialize)]
struct CurrentView {
    running_count: u64,
    vcpus_reserved: u64,
    memory_mb_reserved: u64,
}

#[derive(Debug, Serialize)]
struct PeaksView {
    running_count: u64,
    vcpus: u64,
    memory_mb: u64,
}

#[derive(Debug, Serialize)]
struct SeriesView {
    labels: Vec<Timestamp>,
    running: Vec<u64>,
    vcpus: Vec<u64>,
    memory_mb: Vec<u64>,
}

/// The SDK's `UsageResponse`.
#[derive(Debug, Serialize)]
struct UsageView {
    from: String,
    to: String,
    points: Vec<DayUsageView>,
}

#[derive(Debug, Serialize)]
struct DayUsageView {
    date: String,
    cpu_minutes: f64,
    ram_mb_minutes: f64,
}

async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Json<MetricsView>, ApiError> {
    let capsule_id = validate::capsule_id(&id)?;
    let range = query.range.as_deref().map_or(Ok(MetricsRange::DEFAULT), MetricsRange::parse)?;
    let points = state.app().capsule_metrics(auth.team_id, capsule_id, range).await?;
    Ok(Json(MetricsView {
        sandbox_id: capsule_id.to_string(),
        range: range.as_str(),
        points: points.iter().map(MetricPointView::from).collect(),
    }))
}

async fn stats(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Query(query): Query<RangeQuery>,
) -> Result<Json<StatsView>, ApiError> {
    let range = query.range.as_deref().map_or(Ok(StatsRange::DEFAULT), StatsRange::parse)?;
    let stats = state.app().team_stats(auth.team_id, range).await?;
    Ok(Json(StatsView::from(&stats)))
}

async fn usage(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Query(query): Query<UsageQuery>,
) -> Result<Json<UsageView>, ApiError> {
    let today = state.app().today_utc();
    let days = UsageDays::parse(query.from_date.as_deref(), query.to_date.as_deref(), today)?;
    let points = state.app().team_usage(auth.team_id, days).await?;
    Ok(Json(UsageView {
        from: format_date(days.from),
        to: format_date(days.to),
        points: points.iter().map(DayUsageView::from).collect(),
    }))
}

impl From<&MetricPoint> for MetricPointView {
    fn from(point: &MetricPoint) -> MetricPointView {
        MetricPointView {
            timestamp_unix: point.ts,
            cpu_pct: point.cpu_pct,
            mem_bytes: point.mem_bytes,
            disk_bytes: point.disk_bytes,
        }
    }
}

impl From<&TeamStats> for StatsView {
    fn from(stats: &TeamStats) -> StatsView {
        let levels = || stats.series.iter().map(|&(_, level)| level);
        StatsView {
            range: stats.range.as_str(),
            current: CurrentView {
                running_count: stats.current.running,
                vcpus_reserved: stats.current.vcpus,
                memory_mb_reserved: stats.current.memory_mb,
            },
            peaks: PeaksView {
                running_count: stats.peaks.running,
                vcpus: stats.peaks.vcpus,
                memory_mb: stats.peaks.memory_mb,
            },
            series: SeriesView {
                labels: stats.series.iter().map(|&(start_ms, _)| Timestamp::from_unix_ms(start_ms)).collect(),
                running: levels().map(|level: Occupancy| level.running).collect(),
                vcpus: levels().map(|level| level.vcpus).collect(),
                memory_mb: levels().map(|level| level.memory_mb).collect(),
            },
        }
    }
}

impl From<&DayUsage> for DayUsageView {
    fn from(day: &DayUsage) -> DayUsageView {
        DayUsageView { date: format_date(day.date), cpu_minutes: day.cpu_minutes, ram_mb_minutes: day.ram_mb_minutes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the route's `Query` extractor makes of `uri`'s query string.
    async fn query<T: serde::de::DeserializeOwned>(uri: &str) -> Result<T, String> {
        use axum::extract::FromRequestParts;
        let (mut parts, ()) = axum::http::Request::builder().uri(uri).body(()).unwrap().into_parts();
        Query::<T>::from_request_parts(&mut parts, &())
            .await
            .map(|Query(value)| value)
            .map_err(|error| error.to_string())
    }

    #[tokio::test]
    async fn queries_take_their_names_and_refuse_others() {
        let range: RangeQuery = query("/v1/capsules/stats?range=1h").await.unwrap();
        assert_eq!(range.range.as_deref(), Some("1h"));
        assert!(query::<RangeQuery>("/v1/capsules/stats").await.unwrap().range.is_none());
        let error = query::<RangeQuery>("/v1/capsules/stats?window=1h").await.unwrap_err();
        assert!(error.contains("unknown field `window`"), "{error}");

        let usage: UsageQuery = query("/v1/capsules/usage?from=2025-01-01&to=2025-01-31").await.unwrap();
        assert_eq!((usage.from_date.as_deref(), usage.to_date.as_deref()), (Some("2025-01-01"), Some("2025-01-31")));
        let error = query::<UsageQuery>("/v1/capsules/usage?from_=2025-01-01").await.unwrap_err();
        assert!(error.contains("unknown field `from_`"), "{error}");
    }

    #[test]
    fn stats_become_the_sdk_shape() {
        let level = Occupancy { running: 2, vcpus: 3, memory_mb: 1024 };
        let stats = TeamStats {
            range: StatsRange::FiveMinutes,
            current: level,
            peaks: Occupancy { running: 4, vcpus: 5, memory_mb: 2048 },
            series: vec![(0, Occupancy::default()), (10_000, level)],
        };
        let json = serde_json::to_value(StatsView::from(&stats)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "range": "5m",
                "current": {"running_count": 2, "vcpus_reserved": 3, "memory_mb_reserved": 1024},
                "peaks": {"running_count": 4, "vcpus": 5, "memory_mb": 2048},
                "series": {
                    "labels": ["1970-01-01T00:00:00.000Z", "1970-01-01T00:00:10.000Z"],
                    "running": [0, 2],
                    "vcpus": [0, 3],
                    "memory_mb": [0, 1024],
                },
            })
        );
    }
}
