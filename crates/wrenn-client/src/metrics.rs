//! What capsules use: one capsule's CPU, memory and disk samples
//! (`/v1/capsules/{id}/metrics`), the team's running counts over time
//! (`/v1/capsules/stats`) and its usage per UTC day
//! (`/v1/capsules/usage`), typed as the SDK contract's `CapsuleMetrics`,
//! `CapsuleStats` and `UsageResponse` (§5, §6.2).
//!
//! Ranges and dates are passed through as text: the server owns the list
//! of ranges it accepts and says which ones in its error.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::capsules::{Capsules, capsule_path};
use crate::error::Error;

/// One capsule's samples over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapsuleMetrics {
    /// The capsule's id.
    #[serde(default)]
    pub sandbox_id: String,
    /// The window: `5m`, `10m` (500 ms samples), `1h`, `2h` (30 s
    /// averages), `6h`, `12h` or `24h` (5 min averages).
    #[serde(default)]
    pub range: String,
    /// The samples, oldest first.
    #[serde(default)]
    pub points: Vec<MetricPoint>,
}

impl CapsuleMetrics {
    /// The newest sample, if any.
    pub fn latest(&self) -> Option<&MetricPoint> {
        self.points.iter().max_by_key(|point| point.timestamp_unix)
    }
}

/// One sample of a capsule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// When it was taken, in unix seconds.
    #[serde(default)]
    pub timestamp_unix: i64,
    /// CPU use in percent of the capsule's vCPUs (0–100).
    #[serde(default)]
    pub cpu_pct: f64,
    /// Memory in use, in bytes.
    #[serde(default)]
    pub mem_bytes: u64,
    /// Disk in use, in bytes.
    #[serde(default)]
    pub disk_bytes: u64,
}

/// The team's running capsules over a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapsuleStats {
    /// The window: `5m`, `1h`, `6h`, `24h` or `30d`.
    #[serde(default)]
    pub range: String,
    /// What runs now.
    pub current: StatsCurrent,
    /// The highest levels within the window.
    pub peaks: StatsPeaks,
    /// The levels bucket by bucket.
    pub series: StatsSeries,
}

/// What the team runs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsCurrent {
    /// Capsules running.
    #[serde(default)]
    pub running_count: u64,
    /// vCPUs they reserve.
    #[serde(default)]
    pub vcpus_reserved: u64,
    /// Memory they reserve, in MiB.
    #[serde(default)]
    pub memory_mb_reserved: u64,
}

/// The highest levels of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsPeaks {
    /// Most capsules running at once.
    #[serde(default)]
    pub running_count: u64,
    /// Most vCPUs reserved at once.
    #[serde(default)]
    pub vcpus: u64,
    /// Most memory reserved at once, in MiB.
    #[serde(default)]
    pub memory_mb: u64,
}

/// Levels per bucket: the vectors are parallel, one entry per label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSeries {
    /// Each bucket's start (RFC 3339).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Capsules running in each bucket.
    #[serde(default)]
    pub running: Vec<u64>,
    /// vCPUs reserved in each bucket.
    #[serde(default)]
    pub vcpus: Vec<u64>,
    /// Memory reserved in each bucket, in MiB.
    #[serde(default)]
    pub memory_mb: Vec<u64>,
}

/// The team's usage per UTC day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// The first day (`YYYY-MM-DD`).
    pub from: String,
    /// The last day (`YYYY-MM-DD`).
    pub to: String,
    /// One entry per day.
    #[serde(default)]
    pub points: Vec<UsageDay>,
}

/// One day of usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageDay {
    /// The day (`YYYY-MM-DD`, UTC).
    pub date: String,
    /// vCPU-minutes of running capsules.
    #[serde(default)]
    pub cpu_minutes: f64,
    /// MiB-minutes of memory of running capsules.
    #[serde(default)]
    pub ram_mb_minutes: f64,
}

impl Capsules<'_> {
    /// A capsule's samples over `range` (the server's default is `10m`).
    /// A destroyed or unknown capsule is [`Error::Api`] with `not_found`.
    ///
    /// ```no_run
    /// # async fn demo(client: &wrenn_client::Client) -> Result<(), wrenn_client::Error> {
    /// let metrics = client.capsules().metrics("cl-…", Some("10m")).await?;
    /// if let Some(latest) = metrics.latest() {
    ///     println!("{:.1}% CPU, {} bytes of memory", latest.cpu_pct, latest.mem_bytes);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn metrics(&self, id: &str, range: Option<&str>) -> Result<CapsuleMetrics, Error> {
        let request = self.client.request(Method::GET, &capsule_path(id, "/metrics"));
        self.client.json(with_query(request, &[("range", range)])).await
    }

    /// The team's running capsules over `range` (the server's default is `1h`).
    pub async fn stats(&self, range: Option<&str>) -> Result<CapsuleStats, Error> {
        let request = self.client.request(Method::GET, "v1/capsules/stats");
        self.client.json(with_query(request, &[("range", range)])).await
    }

    /// The team's usage per day from `from` to `to` (`YYYY-MM-DD`, both
    /// included; the server's defaults are 30 days ago and today).
    pub async fn usage(&self, from: Option<&str>, to: Option<&str>) -> Result<Usage, Error> {
        let request = self.client.request(Method::GET, "v1/capsules/usage");
        self.client.json(with_query(request, &[("from", from), ("to", to)])).await
    }
}

/// Adds the query parameters that are set; the server refuses unknown and
/// empty ones, so nothing is sent for `None`.
fn with_query(request: reqwest::RequestBuilder, pairs: &[(&str, Option<&str>)]) -> reqwest::RequestBuilder {
    let set: Vec<(&str, &str)> = pairs.iter().filter_map(|&(name, value)| value.map(|value| (name, value))).collect();
    if set.is_empty() { request } else { request.query(&set) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;

    #[test]
    fn only_the_given_parameters_are_sent() {
        let client = Client::builder().base_url("http://127.0.0.1:1").api_key("k").build().unwrap();
        type Pairs<'a> = &'a [(&'a str, Option<&'a str>)];
        let cases: &[(Pairs<'_>, &str)] = &[
            (&[("range", None)], "http://127.0.0.1:1/v1/capsules/stats"),
            (&[("range", Some("5m"))], "http://127.0.0.1:1/v1/capsules/stats?range=5m"),
            (&[("from", Some("2026-01-01")), ("to", None)], "http://127.0.0.1:1/v1/capsules/stats?from=2026-01-01"),
            (&[("from", Some("a b")), ("to", Some("x&y"))], "http://127.0.0.1:1/v1/capsules/stats?from=a+b&to=x%26y"),
        ];
        for (pairs, want) in cases {
            let request = with_query(client.request(Method::GET, "v1/capsules/stats"), pairs).build().unwrap();
            assert_eq!(request.url().as_str(), *want, "{pairs:?}");
        }
    }

    #[test]
    fn server_answers_parse() {
        let metrics: CapsuleMetrics = serde_json::from_str(
            r#"{"sandbox_id":"cl-1","range":"10m","points":[
                {"timestamp_unix":100,"cpu_pct":12.5,"mem_bytes":1048576,"disk_bytes":4096},
                {"timestamp_unix":101,"cpu_pct":0.0,"mem_bytes":2097152,"disk_bytes":4096}]}"#,
        )
        .unwrap();
        assert_eq!((metrics.sandbox_id.as_str(), metrics.range.as_str(), metrics.points.len()), ("cl-1", "10m", 2));
        assert_eq!(metrics.latest().map(|point| point.mem_bytes), Some(2_097_152));
        let empty: CapsuleMetrics = serde_json::from_str(r#"{"sandbox_id":"cl-1","range":"5m","points":[]}"#).unwrap();
        assert!(empty.latest().is_none());

        let stats: CapsuleStats = serde_json::from_value(serde_json::json!({
            "range": "5m",
            "current": {"running_count": 2, "vcpus_reserved": 3, "memory_mb_reserved": 1024},
            "peaks": {"running_count": 4, "vcpus": 5, "memory_mb": 2048},
            "series": {"labels": ["1970-01-01T00:00:00.000Z"], "running": [0], "vcpus": [0], "memory_mb": [0]},
        }))
        .unwrap();
        assert_eq!((stats.current.running_count, stats.peaks.memory_mb, stats.series.labels.len()), (2, 2048, 1));

        let usage: Usage = serde_json::from_str(
            r#"{"from":"2026-01-01","to":"2026-01-02","points":[{"date":"2026-01-01","cpu_minutes":1.5,"ram_mb_minutes":768.0}]}"#,
        )
        .unwrap();
        assert_eq!((usage.from.as_str(), usage.points[0].cpu_minutes), ("2026-01-01", 1.5));
    }
}
