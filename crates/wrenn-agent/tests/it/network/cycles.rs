//! Many create/destroy cycles leave nothing behind; timing is reported.

use std::time::{Duration, Instant};

use wrenn_agent::network::NetworkManager;
use wrenn_agent::network::slots::SlotAddrs;

use super::{FirewallRestore, SlotCleanup, leftovers, privileged, wrenn_table};

#[tokio::test]
async fn hundred_cycles_leave_nothing_behind() {
    let Some(_serial) = privileged().await else { return };
    let _restore = FirewallRestore::save();
    let concurrent: Vec<u16> = (16100..16120).collect();
    let _cleanup = SlotCleanup([vec![16010], concurrent.clone()].concat());
    let manager = NetworkManager::new();
    manager.ensure_host_rules(None).await.unwrap();
    let table_before = wrenn_table();

    let mut create_times = Vec::new();
    let mut cycle_times = Vec::new();
    for _ in 0..100 {
        let start = Instant::now();
        manager.create(SlotAddrs::of(16010)).await.unwrap();
        create_times.push(start.elapsed());
        manager.destroy(16010).await.unwrap();
        cycle_times.push(start.elapsed());
        assert_eq!(leftovers(16010), Vec::<String>::new());
    }
    eprintln!("create p50 {:?} p95 {:?}", percentile(&mut create_times, 50), percentile(&mut create_times, 95));
    eprintln!("create+destroy p50 {:?} p95 {:?}", percentile(&mut cycle_times, 50), percentile(&mut cycle_times, 95));

    // Different slots at the same time, several rounds.
    let start = Instant::now();
    for _ in 0..5 {
        let creates = concurrent.iter().map(|&slot| manager.create(SlotAddrs::of(slot)));
        for result in futures_join_all(creates).await {
            result.unwrap();
        }
        let destroys = concurrent.iter().map(|&slot| manager.destroy(slot));
        for result in futures_join_all(destroys).await {
            result.unwrap();
        }
    }
    eprintln!("5 rounds of {} concurrent create+destroy: {:?}", concurrent.len(), start.elapsed());
    for &slot in &concurrent {
        assert_eq!(leftovers(slot), Vec::<String>::new(), "slot {slot}");
    }
    assert_eq!(wrenn_table(), table_before);
}

fn percentile(times: &mut [Duration], p: usize) -> Duration {
    times.sort();
    times[(times.len() - 1) * p / 100]
}

/// Polls all futures together on this task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|output| output.expect("every future finished")).collect()
}
