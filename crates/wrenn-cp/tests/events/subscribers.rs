//! Fan-out to live subscribers: every replica's subscribers see every
//! replica's events, each audience only its own, and a subscriber that
//! falls behind is told so.

use std::time::Duration;

use wrenn_cp::events::{Audience, BusOptions, Subscription, SubscriptionEnd};
use wrenn_types::TeamId;

use crate::harness::{Ctx, PATIENCE, both, event, rand_u128, subject};

both! {
    every_replica_sees_every_event_filtered_by_team,
    a_lagging_subscriber_is_told => tiny_fanout,
}

/// The subjects of the next `n` events of `subscription`.
async fn next_subjects(subscription: &mut Subscription, n: usize) -> Vec<String> {
    let mut subjects = Vec::new();
    for _ in 0..n {
        let event = tokio::time::timeout(PATIENCE, subscription.next()).await.expect("an event arrives").unwrap();
        subjects.push(subject(&event));
    }
    subjects
}

async fn assert_quiet(subscription: &mut Subscription) {
    let more = tokio::time::timeout(Duration::from_millis(500), subscription.next()).await;
    assert!(more.is_err(), "no further event: {more:?}");
}

async fn every_replica_sees_every_event_filtered_by_team(ctx: Ctx) {
    let first = &ctx.bus;
    let second = ctx.replica().await;
    let (team_a, team_b) = (TeamId::from_u128(rand_u128()), TeamId::from_u128(rand_u128()));
    let mut a_on_first = first.subscribe(Audience::Team(team_a));
    let mut a_on_second = second.subscribe(Audience::Team(team_a));
    let mut b_on_first = first.subscribe(Audience::Team(team_b));
    let mut everyone_on_second = second.subscribe(Audience::Everyone);

    first.publish(&event(Some(team_a), "cl-a1")).await.unwrap();
    first.publish(&event(Some(team_b), "cl-b1")).await.unwrap();
    second.publish(&event(Some(team_a), "cl-a2")).await.unwrap();
    second.publish(&event(None, "host-platform")).await.unwrap();

    assert_eq!(next_subjects(&mut a_on_first, 2).await, ["cl-a1", "cl-a2"]);
    assert_eq!(next_subjects(&mut a_on_second, 2).await, ["cl-a1", "cl-a2"]);
    assert_eq!(next_subjects(&mut b_on_first, 1).await, ["cl-b1"]);
    assert_eq!(next_subjects(&mut everyone_on_second, 4).await, ["cl-a1", "cl-b1", "cl-a2", "host-platform"]);
    assert_quiet(&mut a_on_first).await;
    assert_quiet(&mut b_on_first).await;

    // The payload survives the trip intact.
    let sent = event(Some(team_b), "cl-b2");
    first.publish(&sent).await.unwrap();
    let received = tokio::time::timeout(PATIENCE, b_on_first.next()).await.unwrap().unwrap();
    assert_eq!(*received, sent);
}

const FANOUT: usize = 4;

fn tiny_fanout(options: &mut BusOptions) {
    options.fanout_capacity = FANOUT;
}

async fn a_lagging_subscriber_is_told(ctx: Ctx) {
    let mut slow = ctx.bus.subscribe(Audience::Everyone);
    let mut keeping_up = ctx.bus.subscribe(Audience::Everyone);
    let count = 10;
    for index in 0..count {
        ctx.bus.publish(&event(None, &format!("cl-{index}"))).await.unwrap();
    }
    // Once the last event reached one subscriber it is in every buffer.
    let mut last = String::new();
    while last != format!("cl-{}", count - 1) {
        last = match tokio::time::timeout(PATIENCE, keeping_up.next()).await.expect("events arrive") {
            Ok(event) => subject(&event),
            Err(SubscriptionEnd::Lagged { .. }) => continue,
            Err(SubscriptionEnd::Closed) => panic!("the bus closed"),
        };
    }

    let missed = (count - FANOUT) as u64;
    assert_eq!(slow.next().await.unwrap_err(), SubscriptionEnd::Lagged { missed });
    assert_eq!(next_subjects(&mut slow, FANOUT).await, ["cl-6", "cl-7", "cl-8", "cl-9"]);
}
