//! `wrenn capsule metrics ID`: what a capsule uses. For people, the latest
//! CPU, memory and disk sample and the min/avg/max over the window; for
//! scripts (`--json`), the server's whole metrics object with every sample.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use wrenn_client::MetricPoint;

use crate::cli::CliError;
use crate::cli::context::Context;
use crate::cli::output::human_bytes;

/// `wrenn capsule metrics`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wrenn capsule metrics cl-…\n  wrenn capsule metrics cl-… --range 1h --json | jq '.points[-1]'"
)]
pub(crate) struct MetricsArgs {
    /// The capsule's id (`cl-…`).
    id: String,
    /// The window: 5m, 10m (500 ms samples), 1h, 2h (30 s averages), 6h, 12h or 24h (5 min averages) [default: the server's, 10m].
    #[arg(long, value_name = "RANGE")]
    range: Option<String>,
}

pub(crate) async fn run(args: MetricsArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let metrics = ctx.client.capsules().metrics(&args.id, args.range.as_deref()).await?;
    if ctx.out.is_json() {
        ctx.out.json(&metrics)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(summary) = summarize(&metrics.points) else {
        ctx.out.line(&format!(
            "No samples of {} in the last {} yet: they are taken while it runs.",
            metrics.sandbox_id, metrics.range
        ))?;
        return Ok(ExitCode::SUCCESS);
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    let age = now.saturating_sub(u64::try_from(summary.latest.timestamp_unix).unwrap_or(0));
    let samples = if summary.count == 1 { "1 sample".to_owned() } else { format!("{} samples", summary.count) };
    ctx.out.line(&format!("{}  last {}: {samples}, the latest {age}s ago", metrics.sandbox_id, metrics.range))?;
    let percent = |value: f64| format!("{value:.1}%");
    // Averages of byte counts are whole bytes for display.
    let bytes = |value: f64| human_bytes(value.round() as u64);
    let rows = vec![
        spread_row("cpu", summary.latest.cpu_pct, summary.cpu, percent),
        spread_row("memory", summary.latest.mem_bytes as f64, summary.memory, bytes),
        spread_row("disk", summary.latest.disk_bytes as f64, summary.disk, bytes),
    ];
    ctx.out.table(&["", "LATEST", "MIN", "AVG", "MAX"], &rows)?;
    Ok(ExitCode::SUCCESS)
}

fn spread_row(name: &str, latest: f64, spread: Spread, show: impl Fn(f64) -> String) -> Vec<String> {
    vec![name.to_owned(), show(latest), show(spread.min), show(spread.avg), show(spread.max)]
}

/// The lowest, mean and highest value of one measure.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    min: f64,
    avg: f64,
    max: f64,
}

impl Spread {
    fn of(values: impl Iterator<Item = f64>) -> Option<Spread> {
        let mut count = 0_u32;
        let mut spread = Spread { min: f64::INFINITY, avg: 0.0, max: f64::NEG_INFINITY };
        for value in values {
            count += 1;
            spread.min = spread.min.min(value);
            spread.max = spread.max.max(value);
            spread.avg += value;
        }
        (count > 0).then(|| Spread { avg: spread.avg / f64::from(count), ..spread })
    }
}

/// The latest sample and the spread of each measure over all of them.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    count: usize,
    latest: MetricPoint,
    cpu: Spread,
    memory: Spread,
    disk: Spread,
}

fn summarize(points: &[MetricPoint]) -> Option<Summary> {
    let latest = *points.iter().max_by_key(|point| point.timestamp_unix)?;
    Some(Summary {
        count: points.len(),
        latest,
        cpu: Spread::of(points.iter().map(|point| point.cpu_pct))?,
        memory: Spread::of(points.iter().map(|point| point.mem_bytes as f64))?,
        disk: Spread::of(points.iter().map(|point| point.disk_bytes as f64))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(timestamp_unix: i64, cpu_pct: f64, mem_bytes: u64, disk_bytes: u64) -> MetricPoint {
        MetricPoint { timestamp_unix, cpu_pct, mem_bytes, disk_bytes }
    }

    #[test]
    fn summaries_take_the_newest_sample_and_the_spread() {
        assert_eq!(summarize(&[]), None);
        let one = summarize(&[point(5, 10.0, 100, 7)]).unwrap();
        assert_eq!((one.count, one.latest.cpu_pct), (1, 10.0));
        assert_eq!(one.cpu, Spread { min: 10.0, avg: 10.0, max: 10.0 });

        // Out of order on purpose: the latest is the newest, not the last.
        let points = [point(3, 50.0, 300, 10), point(1, 0.0, 100, 10), point(2, 10.0, 200, 10)];
        let summary = summarize(&points).unwrap();
        assert_eq!(summary.count, 3);
        assert_eq!(summary.latest, points[0]);
        assert_eq!(summary.cpu, Spread { min: 0.0, avg: 20.0, max: 50.0 });
        assert_eq!(summary.memory, Spread { min: 100.0, avg: 200.0, max: 300.0 });
        assert_eq!(summary.disk, Spread { min: 10.0, avg: 10.0, max: 10.0 });
    }
}
