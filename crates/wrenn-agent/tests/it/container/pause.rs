//! The freezer stops a capsule in place and lets it continue.

use std::time::{Duration, Instant};

use wrenn_agent::runtime::Runtime;

use crate::container::{Fixture, is_root, median};

#[tokio::test(flavor = "multi_thread")]
async fn pause_stops_a_counter_and_resume_continues_it() {
    if !is_root() {
        return;
    }
    let fixture = Fixture::new(": > /done; i=0; while :; do i=$((i+1)); echo $i > /count; done");
    let (id, pid) = fixture.start(256).await;
    fixture.wait_done(&id);
    // The shell truncates before it writes, so a read may see nothing;
    // while frozen the raw content must stay put, empty or not.
    let raw = || fixture.read_upper(&id, "count");
    let number = || raw().trim().parse::<u64>().ok();
    let (mut freeze_ms, mut thaw_ms) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let before = wait_for(number).expect("counter is not running");
        let started = Instant::now();
        fixture.runtime.pause(&id).await.unwrap();
        freeze_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let frozen = raw();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(raw(), frozen, "counter moved while frozen");

        let started = Instant::now();
        fixture.runtime.resume(&id).await.unwrap();
        thaw_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let after = wait_for(|| number().filter(|&n| n > before));
        assert!(after.is_some(), "counter did not continue after resume");
    }
    let stats = fixture.runtime.stats(&id).await.unwrap();
    assert!(stats.cpu_usage_ns > 0 && stats.memory_bytes > 0, "{stats:?}");
    eprintln!(
        "freeze p50 {:.3} ms, thaw p50 {:.3} ms (5 cycles, runtime.pause/resume incl. spawn_blocking)",
        median(&mut freeze_ms),
        median(&mut thaw_ms)
    );
    fixture.destroy_and_check(&id, pid).await;
}

/// Polls `probe` for up to five seconds.
fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(value) = probe() {
            return Some(value);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}
