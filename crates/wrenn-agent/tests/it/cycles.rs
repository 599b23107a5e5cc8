//! 100 capsules created (envd ready and initialised) and destroyed one after
//! the other leave nothing behind on the host: the leak census
//! (`crate::leaks`) after the last cycle shows nothing the first one did not.
//! Cycle times are printed for the record, not asserted.

use std::time::{Duration, Instant};

use crate::capsule::{harness, request};
use crate::container::unique_id;
use crate::leaks::Census;

const N_CYCLES: usize = 100;

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_create_destroy_cycles_leave_nothing_behind() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();
    let data_dir = harness.layout.data_dir();
    let before = Census::take(data_dir, &[]);

    let mut ids = Vec::with_capacity(N_CYCLES);
    let (mut creates, mut destroys, mut cycles) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for _ in 0..N_CYCLES {
        let id = unique_id();
        ids.push(id);
        let cycle = Instant::now();
        let info = manager.create(request(id)).await.unwrap();
        let created = cycle.elapsed();
        manager.destroy(info.id).await.unwrap();
        creates.push(created);
        destroys.push(cycle.elapsed() - created);
        cycles.push(cycle.elapsed());
    }
    let total = started.elapsed();

    let after = Census::take(data_dir, &ids);
    assert_eq!(after.added_since(&before), Vec::<String>::new(), "left behind after {N_CYCLES} cycles");
    assert!(manager.list().is_empty());

    for samples in [&mut creates, &mut destroys, &mut cycles] {
        samples.sort();
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    eprintln!(
        "{N_CYCLES} create→ready→destroy cycles in {:.2} s; cycle p50 {} p95 {} max {}; create p50 {} p95 {}; destroy p50 {} p95 {}",
        total.as_secs_f64(),
        ms(percentile(&cycles, 50)),
        ms(percentile(&cycles, 95)),
        ms(cycles[cycles.len() - 1]),
        ms(percentile(&creates, 50)),
        ms(percentile(&creates, 95)),
        ms(percentile(&destroys, 50)),
        ms(percentile(&destroys, 95)),
    );
}

fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    sorted[(sorted.len() * pct / 100).min(sorted.len() - 1)]
}
