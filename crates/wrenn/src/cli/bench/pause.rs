//! Pause and resume latency on one running capsule. Each round times:
//!
//! - pause: the pause call until the server reports `paused`;
//! - resume: the resume call until it reports `running`;
//! - resume → exec: after a second, untimed pause, the resume call until
//!   the first command succeeds (no status polling in between), which is
//!   what a user whose capsule was paused waits for.

use std::time::Instant;

use wrenn_client::CapsuleStatus;

use crate::cli::bench::probe::{self, READY_LIMIT, STATUS_POLL, message, ms};
use crate::cli::bench::report::{Metric, Report};
use crate::cli::bench::{Bench, Phase};

pub(crate) async fn run(bench: &Bench<'_>, report: &mut Report) {
    let total = bench.sizes.pause;
    let spinner = bench.spinner(Phase::Pause, "starting a capsule");
    let mut pause = Metric::new("pause", "pause (call → paused)", "ms", total);
    let mut resume = Metric::new("resume", "resume (call → running)", "ms", total);
    let mut resume_exec = Metric::new("resume_exec", "resume → first exec", "ms", total);
    match bench.ready_capsule().await {
        Ok(id) => {
            for round in 1..=total {
                spinner.set(format!("{round}/{total}"));
                let paused = timed_pause(bench, &id).await;
                let ok = paused.is_ok();
                pause.record(paused);
                if !ok {
                    let skipped = "skipped: the pause before it failed".to_owned();
                    resume.record(Err(skipped.clone()));
                    resume_exec.record(Err(skipped));
                    // Put it back to running for the next round, if it can be.
                    let _ = probe::exec_until_ok(bench.client, &id, READY_LIMIT).await;
                    continue;
                }
                resume.record(timed_resume(bench, &id).await);
                resume_exec.record(match timed_pause(bench, &id).await {
                    Ok(_) => timed_resume_to_exec(bench, &id).await,
                    Err(error) => Err(format!("skipped: the pause before it failed: {error}")),
                });
            }
            let _ = bench.tracker.destroy(&id).await;
        }
        Err(error) => {
            for metric in [&mut pause, &mut resume, &mut resume_exec] {
                metric.fail_rest(&error);
            }
        }
    }
    report.metrics.extend([pause, resume, resume_exec]);
}

async fn timed_pause(bench: &Bench<'_>, id: &str) -> Result<f64, String> {
    timed_change(bench, id, CapsuleStatus::Paused).await
}

async fn timed_resume(bench: &Bench<'_>, id: &str) -> Result<f64, String> {
    timed_change(bench, id, CapsuleStatus::Running).await
}

/// From the pause or resume call (by `target`) until the capsule is in
/// `target`; the server may already answer with it.
async fn timed_change(bench: &Bench<'_>, id: &str, target: CapsuleStatus) -> Result<f64, String> {
    let capsules = bench.client.capsules();
    let started = Instant::now();
    let answer = if target == CapsuleStatus::Paused { capsules.pause(id).await } else { capsules.resume(id).await };
    if answer.map_err(message)?.status != target {
        capsules.wait_for_every(id, target, READY_LIMIT, STATUS_POLL).await.map_err(message)?;
    }
    Ok(ms(started.elapsed()))
}

async fn timed_resume_to_exec(bench: &Bench<'_>, id: &str) -> Result<f64, String> {
    let started = Instant::now();
    bench.client.capsules().resume(id).await.map_err(message)?;
    probe::exec_until_ok(bench.client, id, READY_LIMIT).await?;
    Ok(ms(started.elapsed()))
}
