//! Timing of create → envd ready (sequential and 20 at once) and of pause
//! and resume, printed for the closing note (run with `--nocapture`); also
//! the 20-concurrent create/destroy check.

use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::capsule::{harness, percentile, request};
use crate::container::unique_id;

const N: usize = 20;

#[tokio::test(flavor = "multi_thread")]
async fn twenty_at_once_and_latencies() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();

    let mut sequential = Vec::new();
    for _ in 0..N {
        let id = unique_id();
        let started = Instant::now();
        let info = manager.create(request(id)).await.unwrap();
        sequential.push(started.elapsed());
        manager.destroy(id).await.unwrap();
        harness.assert_gone(&info);
    }

    let ids: Vec<_> = (0..N).map(|_| unique_id()).collect();
    let started = Instant::now();
    let timed = join_all(ids.iter().map(|&id| async move {
        let info = manager.create(request(id)).await;
        (info, started.elapsed())
    }))
    .await;
    let wall = started.elapsed();
    let mut concurrent = Vec::new();
    let mut infos = Vec::new();
    for (info, elapsed) in timed {
        infos.push(info.unwrap());
        concurrent.push(elapsed);
    }
    assert_eq!(manager.list().len(), N);
    let mut slots: Vec<u16> = infos.iter().map(|info| info.slot).collect();
    slots.sort_unstable();
    slots.dedup();
    assert_eq!(slots.len(), N);
    for info in &infos {
        assert_eq!(harness.health(info.envd_addr.unwrap(), Duration::from_secs(2)).await.unwrap(), 200);
    }

    let (mut pauses, mut resumes) = (Vec::new(), Vec::new());
    for info in &infos {
        let started = Instant::now();
        manager.pause(info.id).await.unwrap();
        pauses.push(started.elapsed());
        let started = Instant::now();
        manager.resume(info.id).await.unwrap();
        resumes.push(started.elapsed());
    }

    let results = join_all(infos.iter().map(|info| manager.destroy(info.id))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for info in &infos {
        harness.assert_gone(info);
    }
    assert!(manager.list().is_empty());

    for (name, samples) in [
        ("create → envd ready, sequential", &mut sequential),
        ("create → envd ready, 20 concurrent", &mut concurrent),
        ("pause", &mut pauses),
        ("resume (thaw + envd /init)", &mut resumes),
    ] {
        samples.sort();
        eprintln!(
            "{name}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (n={})",
            percentile(samples, 50).as_secs_f64() * 1e3,
            percentile(samples, 95).as_secs_f64() * 1e3,
            percentile(samples, 99).as_secs_f64() * 1e3,
            samples.len()
        );
    }
    eprintln!("20 concurrent creates: all ready after {:.1} ms", wall.as_secs_f64() * 1e3);
}
