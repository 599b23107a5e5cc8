//! Capsule admission and transitions: guarded, concurrent, releasing.

use futures::future::join_all;
use wrenn_cp::StoreError;
use wrenn_cp::store::{CapsuleOp, CapsuleStatus, HostKind, NewCapsule, NewHost};

use crate::harness::{Ctx, RESERVE, ask, both, online_host, online_host_of, team};

both! {
    transitions_change_only_from_their_states,
    concurrent_transitions_have_one_winner,
    concurrent_creates_never_over_admit,
    leaving_for_a_terminal_state_releases_once,
    byoc_teams_use_only_their_hosts,
    a_pinned_capsule_goes_to_its_host_or_nowhere,
    the_reconciler_finds_capsules_by_host_state_and_age,
}

async fn transitions_change_only_from_their_states(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    online_host(store, 8192, 51_200).await;
    let capsule = store.create_capsule(ask(team.id, 512, 1024), RESERVE).await.unwrap();
    assert_eq!(capsule.status, CapsuleStatus::Pending);
    assert_eq!(store.get_capsule(capsule.id).await.unwrap().as_ref(), Some(&capsule));

    ctx.clock.advance(5);
    assert_eq!(store.transition(capsule.id, CapsuleOp::Pause, "").await.unwrap(), None);
    assert_eq!(store.get_capsule(capsule.id).await.unwrap().as_ref(), Some(&capsule), "a lost CAS writes nothing");

    let starting = store.transition(capsule.id, CapsuleOp::Start, "").await.unwrap().unwrap();
    assert_eq!(starting.status, CapsuleStatus::Starting);
    assert_eq!(starting.started_at, None);
    let running = store.transition_with(capsule.id, CapsuleOp::Started, "", Some("10.11.0.2")).await.unwrap().unwrap();
    assert_eq!(running.status, CapsuleStatus::Running);
    assert_eq!(running.host_ip, "10.11.0.2");
    assert_eq!(running.started_at, Some(crate::harness::T0 + 5));
    assert_eq!(running.last_active_at, Some(crate::harness::T0 + 5));
    assert_eq!(running.metadata, capsule.metadata);

    let missing = store.transition(capsule.id, CapsuleOp::MarkMissing, "host gone").await.unwrap().unwrap();
    assert_eq!((missing.status, missing.reason.as_str()), (CapsuleStatus::Missing, "host gone"));
    let back = store.transition(capsule.id, CapsuleOp::RestoreRunning, "").await.unwrap().unwrap();
    assert_eq!((back.status, back.host_ip.as_str()), (CapsuleStatus::Running, "10.11.0.2"));

    let unknown = wrenn_types::CapsuleId::from_u128(1);
    assert_eq!(store.transition(unknown, CapsuleOp::Stop, "").await.unwrap(), None);
    let listed = store.list_team_capsules(team.id, &[CapsuleStatus::Running]).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(store.list_team_capsules(team.id, &[CapsuleStatus::Paused]).await.unwrap().is_empty());
}

async fn concurrent_transitions_have_one_winner(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    online_host(store, 8192, 51_200).await;
    let capsule = store.create_capsule(ask(team.id, 512, 1024), RESERVE).await.unwrap();
    let steps = [
        CapsuleOp::Started,
        CapsuleOp::Pause,
        CapsuleOp::Paused,
        CapsuleOp::Resume,
        CapsuleOp::Resumed,
        CapsuleOp::Stop,
        CapsuleOp::Stopped,
    ];
    for op in steps {
        let attempts = (0..20).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.transition(capsule.id, op, "race").await })
        });
        let results: Vec<_> = join_all(attempts).await.into_iter().map(|joined| joined.unwrap().unwrap()).collect();
        let winners = results.iter().filter(|result| result.is_some()).count();
        assert_eq!(winners, 1, "{op:?}: exactly one of 20 concurrent attempts wins");
        assert_eq!(store.get_capsule(capsule.id).await.unwrap().unwrap().status, op.to());
    }
    let host = &store.list_hosts().await.unwrap()[0];
    assert_eq!((host.reserved_memory_mb, host.reserved_disk_mb, host.reserved_vcpus), (0, 0, 0));
}

async fn concurrent_creates_never_over_admit(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    // Each host has room for 10 capsules of 256 MB once its reserve is kept back.
    let usable_mb = 10 * 256;
    for _ in 0..2 {
        online_host(store, RESERVE.memory_mb + usable_mb, RESERVE.disk_mb + 100_000).await;
    }
    let creates = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.create_capsule(ask(team.id, 256, 1024), RESERVE).await })
    });
    let results: Vec<_> = join_all(creates).await.into_iter().map(|joined| joined.unwrap()).collect();
    let admitted = results.iter().filter(|result| result.is_ok()).count();
    for result in &results {
        assert!(matches!(result, Ok(_) | Err(StoreError::NoCapacity { .. })), "{result:?}");
    }
    assert_eq!(admitted, 20, "admitted exactly the capacity");
    let hosts = store.list_hosts().await.unwrap();
    for host in &hosts {
        assert!(host.reserved_memory_mb <= usable_mb, "{host:?}");
        assert_eq!(host.reserved_memory_mb, usable_mb, "both hosts filled: {host:?}");
    }
    let stored = store.list_team_capsules(team.id, &[]).await.unwrap();
    assert_eq!(stored.len(), 20);
    for host in &hosts {
        let on_host: u64 = stored.iter().filter(|c| c.host_id == host.id).map(|c| c.memory_mb).sum();
        assert_eq!(on_host, host.reserved_memory_mb, "reservations match the capsule rows");
    }
}

async fn leaving_for_a_terminal_state_releases_once(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let host_id = online_host(store, RESERVE.memory_mb + 1024, RESERVE.disk_mb + 4096).await;
    let a = store.create_capsule(ask(team.id, 512, 2048), RESERVE).await.unwrap();
    let b = store.create_capsule(ask(team.id, 512, 2048), RESERVE).await.unwrap();
    let full = store.create_capsule(ask(team.id, 512, 0), RESERVE).await;
    assert!(matches!(full, Err(StoreError::NoCapacity { memory_mb: 512, disk_mb: 0 })), "{full:?}");

    // Stop → stopping keeps the reservation; stopping → stopped releases it.
    store.transition(a.id, CapsuleOp::Stop, "destroyed by user").await.unwrap().unwrap();
    assert_eq!(store.get_host(host_id).await.unwrap().unwrap().reserved_memory_mb, 1024);
    let stopped = store.transition(a.id, CapsuleOp::Stopped, "destroyed by user").await.unwrap().unwrap();
    assert_eq!((stopped.status, stopped.reason.as_str()), (CapsuleStatus::Stopped, "destroyed by user"));
    let host = store.get_host(host_id).await.unwrap().unwrap();
    assert_eq!((host.reserved_memory_mb, host.reserved_disk_mb, host.reserved_vcpus), (512, 2048, 1));
    let c = store.create_capsule(ask(team.id, 512, 2048), RESERVE).await.unwrap();

    // Fail releases; discarding the errored capsule later does not release again.
    store.transition(b.id, CapsuleOp::Fail, "agent refused: out of memory").await.unwrap().unwrap();
    store.transition(b.id, CapsuleOp::Discard, "destroyed by user").await.unwrap().unwrap();
    assert_eq!(store.get_host(host_id).await.unwrap().unwrap().reserved_memory_mb, 512);
    assert_eq!(store.transition(b.id, CapsuleOp::Lost, "").await.unwrap(), None);
    store.transition(c.id, CapsuleOp::Lost, "exited on its own").await.unwrap().unwrap();
    let host = store.get_host(host_id).await.unwrap().unwrap();
    assert_eq!((host.reserved_memory_mb, host.reserved_disk_mb, host.reserved_vcpus), (0, 0, 0));
}

async fn byoc_teams_use_only_their_hosts(ctx: Ctx) {
    let store = &ctx.store;
    let regular_team = team(store).await;
    let byoc = store.create_team("BYOC", "byoc-team", true).await.unwrap();
    let regular_host = online_host(store, 8192, 51_200).await;
    let no_own_host = store.create_capsule(ask(byoc.id, 256, 0), RESERVE).await;
    assert!(matches!(no_own_host, Err(StoreError::NoHosts { .. })), "{no_own_host:?}");

    let own = NewHost { kind: HostKind::Byoc, team_id: Some(byoc.id), created_by: None };
    let byoc_host = online_host_of(store, own, 8192, 51_200).await;
    for _ in 0..3 {
        let capsule = store.create_capsule(ask(byoc.id, 256, 0), RESERVE).await.unwrap();
        assert_eq!(capsule.host_id, byoc_host);
        let capsule = store.create_capsule(ask(regular_team.id, 256, 0), RESERVE).await.unwrap();
        assert_eq!(capsule.host_id, regular_host);
    }
}

/// A capsule from a snapshot runs only where the snapshot is: on its host
/// even when another is emptier, and nowhere while that host is away.
async fn a_pinned_capsule_goes_to_its_host_or_nowhere(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let busy = online_host(store, 8192, 51_200).await;
    let _idle = online_host(store, 65_536, 512_000).await;
    for _ in 0..3 {
        let pinned = NewCapsule { pinned_host: Some(busy), ..ask(team.id, 1024, 0) };
        assert_eq!(store.create_capsule(pinned, RESERVE).await.unwrap().host_id, busy);
    }
    let full = NewCapsule { pinned_host: Some(busy), ..ask(team.id, 8192, 0) };
    let refused = store.create_capsule(full, RESERVE).await;
    assert!(matches!(refused, Err(StoreError::NoCapacity { .. })), "{refused:?}");
    let away = NewCapsule { pinned_host: Some(wrenn_types::HostId::from_u128(9)), ..ask(team.id, 256, 0) };
    let refused = store.create_capsule(away, RESERVE).await;
    assert!(matches!(refused, Err(StoreError::PinnedHostOffline { .. })), "{refused:?}");
}

async fn the_reconciler_finds_capsules_by_host_state_and_age(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let host_id = online_host(store, 8192, 51_200).await;
    let stuck = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    store.transition(stuck.id, CapsuleOp::Start, "").await.unwrap().unwrap();
    ctx.clock.advance(60_000);
    let fresh = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    store.transition(fresh.id, CapsuleOp::Start, "").await.unwrap().unwrap();

    let transitional: Vec<CapsuleStatus> = CapsuleStatus::ALL.into_iter().filter(|s| s.is_transitional()).collect();
    let cutoff = crate::harness::T0 + 30_000;
    let found = store.list_capsules_in(None, &transitional, cutoff).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [stuck.id]);
    let on_host = store.list_capsules_in(Some(host_id), &[CapsuleStatus::Starting], i64::MAX).await.unwrap();
    assert_eq!(on_host.len(), 2);
    let elsewhere = wrenn_types::HostId::from_u128(9);
    assert!(store.list_capsules_in(Some(elsewhere), &transitional, i64::MAX).await.unwrap().is_empty());

    // Activity and labels.
    assert!(!store.touch_capsule(stuck.id).await.unwrap(), "only running capsules are touched");
    store.transition(stuck.id, CapsuleOp::Started, "").await.unwrap().unwrap();
    ctx.clock.advance(5);
    assert!(store.touch_capsule(stuck.id).await.unwrap());
    let labels = [("env".to_owned(), "prod".to_owned())].into();
    assert!(store.set_capsule_metadata(team.id, stuck.id, &labels).await.unwrap());
    let other = crate::harness::team(store).await;
    assert!(!store.set_capsule_metadata(other.id, stuck.id, &labels).await.unwrap(), "another team's capsule");
    let capsule = store.get_capsule(stuck.id).await.unwrap().unwrap();
    assert_eq!((capsule.metadata, capsule.last_active_at), (labels, Some(crate::harness::T0 + 60_005)));
}
