//! Time to interactive: from the create call to the first command that
//! succeeds in the new capsule, which is what a user waits for before
//! their code runs. Measured one capsule at a time, then with a batch
//! started at once (each capsule's own time, and the batch's wall clock).
//!
//! One untimed capsule warms the server up first: the first start after a
//! server starts pays for cold caches no later user sees.

use std::time::Instant;

use futures::future::join_all;

use crate::cli::bench::probe::{self, READY_LIMIT, message, ms};
use crate::cli::bench::report::{Metric, Report};
use crate::cli::bench::{Bench, Phase};

pub(crate) async fn run(bench: &Bench<'_>, report: &mut Report) {
    let spinner = bench.spinner(Phase::Tti, "warming up");
    if let (_, Some(id)) = time_to_interactive(bench).await {
        let _ = bench.tracker.destroy(&id).await;
    }

    let total = bench.sizes.sequential;
    let mut sequential = Metric::new("tti_sequential", "time to interactive, one at a time", "ms", total);
    for done in 0..total {
        spinner.set(format!("one at a time {}/{total}", done + 1));
        let (sample, id) = time_to_interactive(bench).await;
        sequential.record(sample);
        if let Some(id) = id {
            // Not timed; a failed call leaves it to the tracker's cleanup.
            let _ = bench.tracker.destroy(&id).await;
        }
    }
    report.metrics.push(sequential);
    // The batch starts on a quiet host: the one-at-a-time capsules are gone.
    let _ = bench.tracker.settle(READY_LIMIT).await;

    let total = bench.sizes.concurrent;
    spinner.set(format!("{total} at once"));
    let mut concurrent = Metric::new("tti_concurrent", format!("time to interactive, {total} at once"), "ms", total);
    let wall = Instant::now();
    let outcomes = join_all((0..total).map(|_| time_to_interactive(bench))).await;
    report.tti_concurrent_wall_ms = Some(ms(wall.elapsed()));
    let mut ids = Vec::new();
    for (sample, id) in outcomes {
        concurrent.record(sample);
        ids.extend(id);
    }
    // Destroyed only once all are timed, so no teardown overlaps a start.
    join_all(ids.iter().map(|id| bench.tracker.destroy(id))).await;
    report.metrics.push(concurrent);
}

/// Creates a capsule and runs `true` in it until it succeeds; the sample
/// and the capsule's id if it was created (the caller destroys it).
async fn time_to_interactive(bench: &Bench<'_>) -> (Result<f64, String>, Option<String>) {
    let started = Instant::now();
    let id = match bench.tracker.create(bench.template).await {
        Ok(id) => id,
        Err(err) => return (Err(message(err)), None),
    };
    let sample = probe::exec_until_ok(bench.client, &id, READY_LIMIT).await.map(|()| ms(started.elapsed()));
    (sample, Some(id))
}
