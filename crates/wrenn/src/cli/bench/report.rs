//! What a `wrenn bench` run found, in two forms: the JSON document (on
//! stdout with `--json`, and always in the output file) with every sample,
//! and the table and lines a person reads. Building the rows is pure, so
//! the layout is tested without a server.

use std::path::Path;

use serde::Serialize;

use crate::cli::CliError;
use crate::cli::bench::Sizes;
use crate::cli::bench::stats::{Summary, median};

/// How many distinct failure messages a metric keeps.
const KEPT_ERRORS: usize = 5;

/// One measured quantity and every sample of it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Metric {
    /// Stable key for scripts (`tti_sequential`, `exec`, …).
    pub(crate) name: &'static str,
    /// What it measures, for people.
    pub(crate) label: String,
    /// The unit of the samples (`ms` or `MiB`).
    pub(crate) unit: &'static str,
    /// How many samples were asked for.
    pub(crate) planned: usize,
    /// How many of them failed.
    pub(crate) failed: usize,
    /// The first few distinct failure messages.
    pub(crate) errors: Vec<String>,
    /// The samples' percentiles, set by [`Report::finish`]; `None` when
    /// every sample failed.
    pub(crate) summary: Option<Summary>,
    /// Every successful sample, in the order taken.
    pub(crate) samples: Vec<f64>,
}

impl Metric {
    pub(crate) fn new(name: &'static str, label: impl Into<String>, unit: &'static str, planned: usize) -> Metric {
        Metric {
            name,
            label: label.into(),
            unit,
            planned,
            failed: 0,
            errors: Vec::new(),
            summary: None,
            samples: Vec::with_capacity(planned),
        }
    }

    /// Adds one sample, or counts its failure.
    pub(crate) fn record(&mut self, sample: Result<f64, String>) {
        match sample {
            Ok(value) => self.samples.push(value),
            Err(error) => {
                self.failed += 1;
                if self.errors.len() < KEPT_ERRORS && !self.errors.contains(&error) {
                    self.errors.push(error);
                }
            }
        }
    }

    /// Counts every planned sample not yet taken as failed, for a phase
    /// that could not start (its capsule would not run).
    pub(crate) fn fail_rest(&mut self, error: &str) {
        let missing = self.planned.saturating_sub(self.samples.len() + self.failed);
        for _ in 0..missing {
            self.record(Err(error.to_owned()));
        }
    }

    /// Computes the percentiles once, when the samples are all in (doing
    /// it per sample would sort the whole set each time).
    fn summarize(&mut self) {
        self.summary = Summary::of(&self.samples);
    }

    /// True when samples were asked for and none succeeded.
    pub(crate) fn all_failed(&self) -> bool {
        self.planned > 0 && self.samples.is_empty()
    }
}

/// Transfer speed of one direction, from the timed rounds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Throughput {
    /// `upload` or `download`.
    pub(crate) direction: &'static str,
    /// The size of the file moved each round.
    pub(crate) bytes: u64,
    /// MiB/s of each successful round.
    pub(crate) mib_per_s: Vec<f64>,
    /// Their median (nearest rank).
    pub(crate) median_mib_per_s: Option<f64>,
}

impl Throughput {
    pub(crate) fn new(direction: &'static str, bytes: u64, round_ms: &[f64]) -> Throughput {
        let mib = bytes as f64 / f64::from(1u32 << 20);
        let mib_per_s: Vec<f64> =
            round_ms.iter().filter(|ms| **ms > 0.0).map(|ms| (mib / (ms / 1000.0) * 10.0).round() / 10.0).collect();
        Throughput { direction, bytes, median_mib_per_s: median(&mib_per_s), mib_per_s }
    }
}

/// What idle capsules cost, seen from two sides.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Density {
    /// How many were asked for.
    pub(crate) capsules: usize,
    /// How many ran and were measured.
    pub(crate) started: usize,
    /// Where the per-capsule numbers come from.
    pub(crate) cgroup_view: &'static str,
    /// Median of the `density_mem` samples (MiB).
    pub(crate) cgroup_median_mib: Option<f64>,
    /// Why the host view is there or not.
    pub(crate) host_view: String,
    /// `MemAvailable` before the capsules started (KiB), loopback only.
    pub(crate) host_mem_available_before_kib: Option<u64>,
    /// `MemAvailable` with them idle (KiB), loopback only.
    pub(crate) host_mem_available_after_kib: Option<u64>,
    /// The drop divided by the capsules started (MiB), loopback only.
    pub(crate) host_drop_mib_per_capsule: Option<f64>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) tool: &'static str,
    pub(crate) version: &'static str,
    /// The server's base URL.
    pub(crate) server: String,
    pub(crate) template: String,
    /// The memory limit asked for each capsule (`None`: the server's default).
    pub(crate) memory_mb: Option<u64>,
    /// The value of the `wrenn-bench` label on this run's capsules.
    pub(crate) run_id: String,
    pub(crate) started_unix_ms: u64,
    /// The same instant in RFC 3339 (UTC).
    pub(crate) started_at: String,
    pub(crate) duration_ms: f64,
    pub(crate) sizes: Sizes,
    /// The phases asked for, in the order run.
    pub(crate) phases: Vec<&'static str>,
    /// The file the report was written to.
    pub(crate) output: String,
    /// Why the run stopped early, if it did.
    pub(crate) aborted: Option<String>,
    pub(crate) metrics: Vec<Metric>,
    /// Wall clock of the concurrent time-to-interactive batch.
    pub(crate) tti_concurrent_wall_ms: Option<f64>,
    pub(crate) throughput: Vec<Throughput>,
    pub(crate) density: Option<Density>,
}

impl Report {
    /// The first metric from index `from` on whose samples all failed, as
    /// the reason to stop the run.
    pub(crate) fn failed_phase_since(&self, from: usize) -> Option<String> {
        let metric = self.metrics.iter().skip(from).find(|metric| metric.all_failed())?;
        let first = metric.errors.first().map_or("no detail", String::as_str);
        Some(format!(
            "every sample of {} failed ({}/{}); first error: {first}",
            metric.name, metric.failed, metric.planned
        ))
    }

    /// Computes every metric's summary; called before the report is shown
    /// or written.
    pub(crate) fn finish(&mut self) {
        for metric in &mut self.metrics {
            metric.summarize();
        }
    }

    /// Writes the JSON document to `path`.
    pub(crate) fn write(&self, path: &Path) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|err| CliError::new(format!("cannot encode the report: {err}")))?;
        std::fs::write(path, format!("{text}\n"))
            .map_err(|err| CliError::new(format!("cannot write the report to {}: {err}", path.display())))
    }

    /// The table's rows: metric, n, p50, p95, p99, mean, unit.
    pub(crate) fn rows(&self) -> Vec<Vec<String>> {
        self.metrics
            .iter()
            .map(|metric| {
                let mut row = vec![metric.label.clone(), format!("{}", metric.samples.len())];
                match &metric.summary {
                    Some(summary) => {
                        row.extend(
                            [summary.p50, summary.p95, summary.p99, summary.mean].map(|value| format!("{value:.1}")),
                        );
                    }
                    None => row.extend(["-", "-", "-", "-"].map(str::to_owned)),
                }
                row.push(metric.unit.to_owned());
                row
            })
            .collect()
    }

    /// The lines under the table: wall clock, throughput, density, failures.
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(wall) = self.tti_concurrent_wall_ms {
            lines.push(format!("{} capsules at once: all interactive after {:.0} ms", self.sizes.concurrent, wall));
        }
        for throughput in &self.throughput {
            let mib = throughput.bytes as f64 / f64::from(1u32 << 20);
            match throughput.median_mib_per_s {
                Some(speed) => lines.push(format!(
                    "{}: {speed:.1} MiB/s (median of {} × {mib:.0} MiB)",
                    throughput.direction,
                    throughput.mib_per_s.len()
                )),
                None => lines.push(format!("{}: no successful round", throughput.direction)),
            }
        }
        if let Some(density) = &self.density {
            lines.extend(density_lines(density));
        }
        for metric in self.metrics.iter().filter(|metric| metric.failed > 0) {
            let first = metric.errors.first().map_or("", String::as_str);
            lines.push(format!("failed: {} {}/{} ({first})", metric.name, metric.failed, metric.planned));
        }
        if let Some(reason) = &self.aborted {
            lines.push(format!("stopped early: {reason}"));
        }
        lines.push(format!("samples: {}", self.output));
        lines
    }
}

fn density_lines(density: &Density) -> Vec<String> {
    let mut lines = vec![format!("density: {} of {} idle capsules running at once", density.started, density.capsules)];
    match density.cgroup_median_mib {
        Some(mib) => {
            lines.push(format!("  memory per capsule, its cgroup (metrics API mem_bytes): {mib:.1} MiB median"))
        }
        None => lines.push("  memory per capsule, its cgroup (metrics API mem_bytes): no sample".to_owned()),
    }
    match density.host_drop_mib_per_capsule {
        Some(mib) => {
            lines.push(format!("  memory per capsule, host MemAvailable drop / {}: {mib:.1} MiB", density.started))
        }
        None => lines.push(format!("  memory per capsule, host view: not measured ({})", density.host_view)),
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(metrics: Vec<Metric>) -> Report {
        Report {
            tool: "wrenn bench",
            version: "0",
            server: "http://127.0.0.1:8080/".into(),
            template: "minimal".into(),
            memory_mb: None,
            run_id: "r".into(),
            started_unix_ms: 0,
            started_at: "1970-01-01T00:00:00.000Z".into(),
            duration_ms: 0.0,
            sizes: Sizes::QUICK,
            phases: vec!["exec"],
            output: "b.json".into(),
            aborted: None,
            metrics,
            tti_concurrent_wall_ms: None,
            throughput: Vec::new(),
            density: None,
        }
    }

    #[test]
    fn samples_and_failures_are_counted() {
        let mut metric = Metric::new("exec", "exec", "ms", 4);
        metric.record(Ok(2.0));
        metric.record(Err("boom".into()));
        metric.record(Err("boom".into()));
        metric.record(Ok(4.0));
        assert_eq!((metric.samples.len(), metric.failed, metric.errors.len()), (2, 2, 1));
        metric.summarize();
        assert_eq!(metric.summary.map(|summary| summary.p50), Some(2.0));
        assert!(!metric.all_failed());

        let mut never = Metric::new("pause", "pause", "ms", 3);
        never.record(Err("first".into()));
        never.fail_rest("capsule would not run");
        assert_eq!((never.failed, never.errors.len()), (3, 2));
        assert!(never.all_failed());
        let stopped = report(vec![metric, never]).failed_phase_since(0).unwrap();
        assert!(stopped.contains("every sample of pause failed (3/3)") && stopped.contains("first"), "{stopped}");
    }

    #[test]
    fn rows_show_percentiles_or_dashes() {
        let mut exec = Metric::new("exec", "exec round trip", "ms", 3);
        for value in [3.0, 1.0, 2.0] {
            exec.record(Ok(value));
        }
        let mut failed = Metric::new("upload", "upload 8 MiB", "ms", 1);
        failed.record(Err("x".into()));
        let mut report = report(vec![exec, failed]);
        report.finish();
        let rows = report.rows();
        assert_eq!(rows[0], ["exec round trip", "3", "2.0", "3.0", "3.0", "2.0", "ms"]);
        assert_eq!(rows[1], ["upload 8 MiB", "0", "-", "-", "-", "-", "ms"]);
    }

    #[test]
    fn throughput_is_mib_per_second() {
        let throughput = Throughput::new("upload", 64 << 20, &[500.0, 250.0, 0.0]);
        assert_eq!(throughput.mib_per_s, [128.0, 256.0]);
        assert_eq!(throughput.median_mib_per_s, Some(128.0));
    }

    #[test]
    fn notes_name_both_memory_views() {
        let mut full = report(Vec::new());
        full.density = Some(Density {
            capsules: 4,
            started: 4,
            cgroup_view: "x",
            cgroup_median_mib: Some(12.3),
            host_view: "loopback".into(),
            host_mem_available_before_kib: Some(100 << 10),
            host_mem_available_after_kib: Some(40 << 10),
            host_drop_mib_per_capsule: Some(15.0),
        });
        let notes = full.notes().join("\n");
        assert!(notes.contains("its cgroup (metrics API mem_bytes): 12.3 MiB median"), "{notes}");
        assert!(notes.contains("host MemAvailable drop / 4: 15.0 MiB"), "{notes}");
        assert!(notes.ends_with("samples: b.json"), "{notes}");
        let mut remote = full.clone();
        if let Some(density) = remote.density.as_mut() {
            density.host_drop_mib_per_capsule = None;
            density.host_view = "the server is not on this machine".into();
        }
        assert!(remote.notes().join("\n").contains("host view: not measured (the server is not on this machine)"));
    }
}
