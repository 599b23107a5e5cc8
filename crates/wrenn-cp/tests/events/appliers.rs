//! The consumer group of appliers: one handler per event, acknowledgement
//! after handling, and nothing lost when a consumer fails or dies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wrenn_cp::events::{BusOptions, Handled};

use crate::harness::{CLAIM_IDLE, Ctx, PATIENCE, both, event, subject};

const GROUP: &str = "appliers";

both! {
    each_event_is_handled_by_one_applier => patient_claims,
    a_dead_consumers_events_are_reclaimed,
    a_failed_handler_is_retried,
    the_backlog_is_bounded => small_backlog,
}

/// Handling takes microseconds, but a loaded CI machine may pause a task
/// for longer than the usual test threshold: a duplicate here must mean a
/// bug, not a slow scheduler.
fn patient_claims(options: &mut BusOptions) {
    options.claim_idle = Duration::from_secs(2);
}

async fn each_event_is_handled_by_one_applier(ctx: Ctx) {
    let handled: Arc<Mutex<Vec<(&'static str, String)>>> = Arc::default();
    let mut workers = Vec::new();
    for name in ["a", "b"] {
        let mut consumer = ctx.bus.consumer(GROUP, name).await.unwrap();
        let handled = handled.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let outcome = consumer
                    .handle_next(|delivery| {
                        handled.lock().unwrap().push((name, subject(&delivery.event)));
                        async { Ok::<(), String>(()) }
                    })
                    .await
                    .unwrap();
                assert!(matches!(outcome, Handled::Acked(_)));
            }
        }));
    }
    let count = 40;
    for index in 0..count {
        ctx.bus.publish(&event(None, &format!("cl-{index}"))).await.unwrap();
    }
    let deadline = Instant::now() + PATIENCE;
    while handled.lock().unwrap().len() < count && Instant::now() < deadline {
        tokio::time::sleep(CLAIM_IDLE / 10).await;
    }
    // Long enough for any unacknowledged event to be claimed again.
    tokio::time::sleep(ctx.options.claim_idle * 2).await;
    for worker in &workers {
        worker.abort();
    }

    let handled = handled.lock().unwrap().clone();
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for (_, capsule) in &handled {
        *times.entry(capsule.clone()).or_default() += 1;
    }
    assert_eq!(times.len(), count, "every event was handled: {handled:?}");
    assert!(times.values().all(|&n| n == 1), "no event was handled twice: {times:?}");
    assert_eq!(ctx.bus.pending(GROUP).await.unwrap(), 0, "every event was acknowledged");
}

async fn a_dead_consumers_events_are_reclaimed(ctx: Ctx) {
    let mut doomed = ctx.bus.consumer(GROUP, "doomed").await.unwrap();
    let mut survivor = ctx.bus.consumer(GROUP, "survivor").await.unwrap();
    let published = ctx.bus.publish(&event(None, "cl-orphan")).await.unwrap();

    let before_taking = Instant::now();
    let taken = doomed.next().await.unwrap();
    assert_eq!((&taken.id, taken.attempt), (&published, 1));
    drop(doomed); // dies without acknowledging
    assert_eq!(ctx.bus.pending(GROUP).await.unwrap(), 1);

    let reclaimed = tokio::time::timeout(PATIENCE, survivor.next()).await.expect("the event is reclaimed").unwrap();
    assert!(before_taking.elapsed() >= CLAIM_IDLE, "claimed only after the idle threshold");
    assert_eq!(reclaimed.id, published);
    assert_eq!(reclaimed.attempt, 2);
    assert_eq!(reclaimed.event, taken.event);
    survivor.ack(&reclaimed).await.unwrap();
    assert_eq!(ctx.bus.pending(GROUP).await.unwrap(), 0);
}

async fn a_failed_handler_is_retried(ctx: Ctx) {
    let mut consumer = ctx.bus.consumer(GROUP, "flaky").await.unwrap();
    let published = ctx.bus.publish(&event(None, "cl-retry")).await.unwrap();

    let before_failing = Instant::now();
    let failed = consumer.handle_next(|_| async { Err("database unreachable") }).await.unwrap();
    let first = match failed {
        Handled::Failed(first, "database unreachable") => first,
        other => panic!("the handler failed: {other:?}"),
    };
    assert_eq!((&first.id, first.attempt), (&published, 1));
    assert_eq!(ctx.bus.pending(GROUP).await.unwrap(), 1, "a failed event stays pending");

    let retried = tokio::time::timeout(PATIENCE, consumer.handle_next(|_| async { Ok::<(), String>(()) }))
        .await
        .expect("the event is retried")
        .unwrap();
    let second = match retried {
        Handled::Acked(second) => second,
        other => panic!("the retry succeeded: {other:?}"),
    };
    assert!(before_failing.elapsed() >= CLAIM_IDLE, "retried after the idle threshold");
    assert_eq!((&second.id, second.attempt), (&published, 2));
    assert_eq!(ctx.bus.pending(GROUP).await.unwrap(), 0);
}

/// Redis only: a group that vanished with its stream is created again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vanished_group_is_recreated() {
    crate::harness::run(crate::harness::Kind::Redis, crate::harness::options(), |ctx: Ctx| async move {
        let mut conn = ctx.redis().await.expect("a Redis test");
        let mut consumer = ctx.bus.consumer(GROUP, "persistent").await.unwrap();
        let _: () = redis::cmd("DEL").arg(&ctx.options.stream).query_async(&mut conn).await.unwrap();
        let waiting = tokio::spawn(async move { consumer.next().await });
        // The consumer meets NOGROUP on its next read and creates the group.
        let deadline = Instant::now() + PATIENCE;
        loop {
            let groups: Result<redis::streams::StreamInfoGroupsReply, _> =
                redis::cmd("XINFO").arg("GROUPS").arg(&ctx.options.stream).query_async(&mut conn).await;
            if groups.is_ok_and(|groups| groups.groups.iter().any(|group| group.name == GROUP)) {
                break;
            }
            assert!(Instant::now() < deadline, "the group was not recreated");
            tokio::time::sleep(CLAIM_IDLE / 10).await;
        }
        let published = ctx.bus.publish(&event(None, "cl-after")).await.unwrap();
        let delivery = tokio::time::timeout(PATIENCE, waiting).await.expect("the event arrives").unwrap().unwrap();
        assert_eq!(delivery.id, published);
    })
    .await;
}

const SMALL_BACKLOG: usize = 50;

fn small_backlog(options: &mut BusOptions) {
    options.max_len = SMALL_BACKLOG;
}

async fn the_backlog_is_bounded(ctx: Ctx) {
    for index in 0..(SMALL_BACKLOG * 12) {
        ctx.bus.publish(&event(None, &format!("cl-{index}"))).await.unwrap();
    }
    let len = usize::try_from(ctx.bus.backlog_len().await.unwrap()).unwrap();
    // Redis trims approximately, whole nodes of up to 100 entries at a time.
    assert!((SMALL_BACKLOG..=SMALL_BACKLOG + 100).contains(&len), "backlog of {len} events");

    // A group joining now starts after the backlog, not inside it.
    let mut late = ctx.bus.consumer(GROUP, "late").await.unwrap();
    let newest = ctx.bus.publish(&event(None, "cl-newest")).await.unwrap();
    let delivery = tokio::time::timeout(PATIENCE, late.next()).await.expect("the new event arrives").unwrap();
    assert_eq!(delivery.id, newest);
}
