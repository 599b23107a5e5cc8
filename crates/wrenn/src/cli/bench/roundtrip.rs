//! Exec round trip: `true` in a running capsule, one call after the other,
//! timed from the call to its answer. The fixed cost every command pays
//! (API, agent, envd, process start), with nothing of the command's own.

use std::time::Instant;

use crate::cli::bench::probe::{self, ms};
use crate::cli::bench::report::{Metric, Report};
use crate::cli::bench::{Bench, Phase};

pub(crate) async fn run(bench: &Bench<'_>, report: &mut Report) {
    let total = bench.sizes.exec;
    let spinner = bench.spinner(Phase::Exec, "starting a capsule");
    let mut metric = Metric::new("exec", "exec round trip (`true`)", "ms", total);
    let id = match bench.ready_capsule().await {
        Ok(id) => id,
        Err(error) => {
            metric.fail_rest(&error);
            report.metrics.push(metric);
            return;
        }
    };
    for done in 0..total {
        if done % 10 == 0 {
            spinner.set(format!("{done}/{total}"));
        }
        let started = Instant::now();
        metric.record(probe::exec_true(bench.client, &id).await.map(|()| ms(started.elapsed())));
    }
    let _ = bench.tracker.destroy(&id).await;
    report.metrics.push(metric);
}
