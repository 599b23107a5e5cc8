//! The time windows `/v1/capsules/{id}/metrics` and `/v1/capsules/stats`
//! accept, what each one means (its length, the agent ring that covers it,
//! the width of a stats bucket), and trimming a capsule's samples to one.
//!
//! Pure: the caller passes "now", so every rule is table-tested.

use crate::app::AppError;
use crate::store::{MetricPoint, MetricTier};

/// A window of a capsule's metrics (`range=` of `/v1/capsules/{id}/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsRange {
    FiveMinutes,
    TenMinutes,
    OneHour,
    TwoHours,
    SixHours,
    TwelveHours,
    Day,
}

/// A window of a team's capsule counts (`range=` of `/v1/capsules/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsRange {
    FiveMinutes,
    OneHour,
    SixHours,
    Day,
    ThirtyDays,
}

const MINUTE_SECS: i64 = 60;
const HOUR_SECS: i64 = 3600;
const DAY_SECS: i64 = 24 * HOUR_SECS;

impl MetricsRange {
    pub const ALL: [MetricsRange; 7] = [
        MetricsRange::FiveMinutes,
        MetricsRange::TenMinutes,
        MetricsRange::OneHour,
        MetricsRange::TwoHours,
        MetricsRange::SixHours,
        MetricsRange::TwelveHours,
        MetricsRange::Day,
    ];

    /// What a request that names no range gets.
    pub const DEFAULT: MetricsRange = MetricsRange::TenMinutes;

    /// The range a `range=` value names; the error lists the allowed ones.
    pub fn parse(text: &str) -> Result<MetricsRange, AppError> {
        MetricsRange::ALL
            .into_iter()
            .find(|range| range.as_str() == text)
            .ok_or_else(|| invalid_range(text, MetricsRange::ALL.map(MetricsRange::as_str)))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetricsRange::FiveMinutes => "5m",
            MetricsRange::TenMinutes => "10m",
            MetricsRange::OneHour => "1h",
            MetricsRange::TwoHours => "2h",
            MetricsRange::SixHours => "6h",
            MetricsRange::TwelveHours => "12h",
            MetricsRange::Day => "24h",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            MetricsRange::FiveMinutes => 5 * MINUTE_SECS,
            MetricsRange::TenMinutes => 10 * MINUTE_SECS,
            MetricsRange::OneHour => HOUR_SECS,
            MetricsRange::TwoHours => 2 * HOUR_SECS,
            MetricsRange::SixHours => 6 * HOUR_SECS,
            MetricsRange::TwelveHours => 12 * HOUR_SECS,
            MetricsRange::Day => DAY_SECS,
        }
    }

    /// The finest ring that still reaches back over the whole range: 1 s
    /// points are kept 10 minutes, 30 s points 2 hours, 5 min points a day.
    pub fn tier(self) -> MetricTier {
        match self.seconds() {
            secs if secs <= 10 * MINUTE_SECS => MetricTier::TenMinutes,
            secs if secs <= 2 * HOUR_SECS => MetricTier::TwoHours,
            _ => MetricTier::Day,
        }
    }

    /// The points inside the range ending at `now_unix` (seconds), oldest
    /// first, one per second, with the CPU share kept within 0–100 (a
    /// sample taken across a vCPU change or a clock step can overshoot).
    /// Points a little in the future (another host's clock) are kept.
    pub fn trim(self, mut points: Vec<MetricPoint>, now_unix: i64) -> Vec<MetricPoint> {
        let oldest = now_unix - self.seconds();
        points.retain(|point| point.ts >= oldest);
        points.sort_by_key(|point| point.ts);
        points.dedup_by_key(|point| point.ts);
        for point in &mut points {
            point.cpu_pct = if point.cpu_pct.is_finite() { point.cpu_pct.clamp(0.0, 100.0) } else { 0.0 };
        }
        points
    }
}

impl StatsRange {
    pub const ALL: [StatsRange; 5] =
        [StatsRange::FiveMinutes, StatsRange::OneHour, StatsRange::SixHours, StatsRange::Day, StatsRange::ThirtyDays];

    /// What a request that names no range gets.
    pub const DEFAULT: StatsRange = StatsRange::OneHour;

    /// The range a `range=` value names; the error lists the allowed ones.
    pub fn parse(text: &str) -> Result<StatsRange, AppError> {
        StatsRange::ALL
            .into_iter()
            .find(|range| range.as_str() == text)
            .ok_or_else(|| invalid_range(text, StatsRange::ALL.map(StatsRange::as_str)))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatsRange::FiveMinutes => "5m",
            StatsRange::OneHour => "1h",
            StatsRange::SixHours => "6h",
            StatsRange::Day => "24h",
            StatsRange::ThirtyDays => "30d",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            StatsRange::FiveMinutes => 5 * MINUTE_SECS,
            StatsRange::OneHour => HOUR_SECS,
            StatsRange::SixHours => 6 * HOUR_SECS,
            StatsRange::Day => DAY_SECS,
            StatsRange::ThirtyDays => 30 * DAY_SECS,
        }
    }

    /// The width of one point of the series: 30 to 60 points per range,
    /// on round boundaries (10 s, 1 min, 10 min, 30 min, 12 h).
    pub fn bucket_seconds(self) -> i64 {
        match self {
            StatsRange::FiveMinutes => 10,
            StatsRange::OneHour => MINUTE_SECS,
            StatsRange::SixHours => 10 * MINUTE_SECS,
            StatsRange::Day => 30 * MINUTE_SECS,
            StatsRange::ThirtyDays => 12 * HOUR_SECS,
        }
    }

    /// How many points the series has.
    pub fn n_buckets(self) -> usize {
        usize::try_from(self.seconds() / self.bucket_seconds()).unwrap_or(1)
    }
}

fn invalid_range<const N: usize>(text: &str, allowed: [&str; N]) -> AppError {
    AppError::InvalidRequest(format!("range {text:?} is not one of {}", allowed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(ts: i64, cpu_pct: f64) -> MetricPoint {
        MetricPoint { ts, cpu_pct, mem_bytes: 1, disk_bytes: 2 }
    }

    #[test]
    fn metrics_ranges_round_trip_and_pick_the_ring_that_covers_them() {
        let table = [
            ("5m", 300, MetricTier::TenMinutes),
            ("10m", 600, MetricTier::TenMinutes),
            ("1h", 3600, MetricTier::TwoHours),
            ("2h", 7200, MetricTier::TwoHours),
            ("6h", 21_600, MetricTier::Day),
            ("12h", 43_200, MetricTier::Day),
            ("24h", 86_400, MetricTier::Day),
        ];
        for (text, seconds, tier) in table {
            let range = MetricsRange::parse(text).unwrap();
            assert_eq!(range.as_str(), text);
            assert_eq!(range.seconds(), seconds, "{text}");
            assert_eq!(range.tier(), tier, "{text}");
        }
        assert_eq!(MetricsRange::DEFAULT.as_str(), "10m");
    }

    #[test]
    fn unknown_ranges_are_refused_with_the_allowed_values() {
        for text in ["", "7y", "30d", "10M", " 10m", "1d"] {
            let error = MetricsRange::parse(text).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("range {text:?} is not one of 5m, 10m, 1h, 2h, 6h, 12h, 24h"),
                "{text:?}"
            );
        }
        for text in ["", "7y", "10m", "2h", "12h", "1H"] {
            let error = StatsRange::parse(text).unwrap_err();
            assert_eq!(error.to_string(), format!("range {text:?} is not one of 5m, 1h, 6h, 24h, 30d"), "{text:?}");
        }
    }

    #[test]
    fn stats_ranges_have_30_to_60_round_buckets() {
        let table = [("5m", 10, 30), ("1h", 60, 60), ("6h", 600, 36), ("24h", 1800, 48), ("30d", 43_200, 60)];
        for (text, bucket, n_buckets) in table {
            let range = StatsRange::parse(text).unwrap();
            assert_eq!(range.as_str(), text);
            assert_eq!(range.bucket_seconds(), bucket, "{text}");
            assert_eq!(range.n_buckets(), n_buckets, "{text}");
            assert_eq!(range.seconds() % range.bucket_seconds(), 0, "{text}");
        }
        assert_eq!(StatsRange::DEFAULT.as_str(), "1h");
    }

    #[test]
    fn trim_keeps_the_window_sorted_unique_and_cpu_within_bounds() {
        let now = 10_000;
        let cases: [(&str, MetricsRange, Vec<MetricPoint>, Vec<MetricPoint>); 4] = [
            ("empty stays empty", MetricsRange::FiveMinutes, vec![], vec![]),
            (
                "older than the window is dropped, the edge is kept",
                MetricsRange::FiveMinutes,
                vec![point(now - 301, 1.0), point(now - 300, 2.0), point(now, 3.0)],
                vec![point(now - 300, 2.0), point(now, 3.0)],
            ),
            (
                "out of order and repeated points",
                MetricsRange::TenMinutes,
                vec![point(now - 5, 1.0), point(now - 10, 2.0), point(now - 5, 1.0), point(now + 2, 4.0)],
                vec![point(now - 10, 2.0), point(now - 5, 1.0), point(now + 2, 4.0)],
            ),
            (
                "cpu is clamped and NaN becomes 0",
                MetricsRange::Day,
                vec![point(now - 3, -4.0), point(now - 2, 180.0), point(now - 1, f64::NAN)],
                vec![point(now - 3, 0.0), point(now - 2, 100.0), point(now - 1, 0.0)],
            ),
        ];
        for (name, range, points, expected) in cases {
            assert_eq!(range.trim(points, now), expected, "{name}");
        }
    }
}
