//! Density: what an idle capsule costs in memory. `--density` capsules are
//! started at once and left idle for [`SETTLE`]; then each one's memory is
//! read two ways:
//!
//! - its cgroup, as the agent samples it every second (`mem_bytes` of the
//!   metrics API): the capsule's own processes and page cache, per capsule;
//! - the host, when the server is on this machine: how much `MemAvailable`
//!   dropped from before the first start, divided by the capsules started.
//!   This also counts what the cgroup does not (runtime, network, kernel
//!   objects), and any other activity on the host, so it is an estimate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::join_all;

use crate::cli::bench::host::{self, drop_per_capsule_mib};
use crate::cli::bench::probe::message;
use crate::cli::bench::report::{Density, Metric, Report};
use crate::cli::bench::stats::median;
use crate::cli::bench::{Bench, Phase};

/// How long the capsules sit idle before they are measured.
const SETTLE: Duration = Duration::from_secs(3);
/// How long to wait for each capsule's first sample taken after the settle.
const SAMPLE_LIMIT: Duration = Duration::from_secs(15);
const SAMPLE_POLL: Duration = Duration::from_millis(250);
const CGROUP_VIEW: &str =
    "mem_bytes of each capsule's latest metrics sample (its cgroup's memory use, read by the agent)";

pub(crate) async fn run(bench: &Bench<'_>, report: &mut Report) {
    let total = bench.sizes.density;
    let spinner = bench.spinner(Phase::Density, format!("starting {total} capsules"));
    let mut metric = Metric::new("density_mem", "memory per idle capsule (cgroup)", "MiB", total);
    let local = bench.client.base_url().host_str().is_some_and(host::is_loopback_host);
    let before_kib = if local { host::mem_available_kib() } else { None };

    let started = join_all((0..total).map(|_| bench.ready_capsule())).await;
    let mut ids = Vec::new();
    for outcome in started {
        match outcome {
            Ok(id) => ids.push(id),
            Err(error) => metric.record(Err(error)),
        }
    }
    spinner.set(format!("{} idle capsules settling", ids.len()));
    tokio::time::sleep(SETTLE).await;
    let after_kib = if local { host::mem_available_kib() } else { None };
    let since_unix = unix_now() - SETTLE.as_secs() as i64 / 2;
    spinner.set("reading each capsule's memory");
    for sample in join_all(ids.iter().map(|id| cgroup_mib(bench, id, since_unix))).await {
        metric.record(sample);
    }
    join_all(ids.iter().map(|id| bench.tracker.destroy(id))).await;

    let host_drop = match (before_kib, after_kib) {
        (Some(before), Some(after)) => drop_per_capsule_mib(before, after, ids.len()),
        _ => None,
    };
    let host_view = match (local, host_drop) {
        (false, _) => "the server is not on this machine (not a loopback URL)".to_owned(),
        (true, None) if ids.is_empty() => "no capsule started".to_owned(),
        (true, None) => "cannot read /proc/meminfo".to_owned(),
        (true, Some(_)) => {
            "loopback server: MemAvailable of /proc/meminfo, before the first start and with all idle".to_owned()
        }
    };
    report.density = Some(Density {
        capsules: total,
        started: ids.len(),
        cgroup_view: CGROUP_VIEW,
        cgroup_median_mib: median(&metric.samples),
        host_view,
        host_mem_available_before_kib: before_kib,
        host_mem_available_after_kib: after_kib,
        host_drop_mib_per_capsule: host_drop.map(|mib| (mib * 10.0).round() / 10.0),
    });
    report.metrics.push(metric);
}

/// The capsule's memory in MiB from its latest sample taken at or after
/// `since_unix`, waiting for one up to [`SAMPLE_LIMIT`].
async fn cgroup_mib(bench: &Bench<'_>, id: &str, since_unix: i64) -> Result<f64, String> {
    let deadline = tokio::time::Instant::now() + SAMPLE_LIMIT;
    loop {
        let metrics = bench.client.capsules().metrics(id, Some("5m")).await.map_err(message)?;
        let latest = metrics
            .points
            .iter()
            .filter(|point| point.timestamp_unix >= since_unix)
            .max_by_key(|point| point.timestamp_unix);
        if let Some(point) = latest {
            return Ok((point.mem_bytes as f64 / f64::from(1u32 << 20) * 1000.0).round() / 1000.0);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{id} has no metrics sample within {SAMPLE_LIMIT:?}"));
        }
        tokio::time::sleep(SAMPLE_POLL).await;
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}
