//! The host fleet: registration tokens, refresh rotation, heartbeats,
//! staleness, tags and deletion.

use futures::future::join_all;
use wrenn_cp::store::{CapsuleOp, CapsuleStatus, HostKind, HostStatus, NewHost, Registration};

use crate::harness::{Ctx, HOUR_MS, RESERVE, ask, both, online_host, specs, team};

const REGULAR: NewHost = NewHost { kind: HostKind::Regular, team_id: None, created_by: None };

both! {
    registration_tokens_work_once_and_expire,
    refresh_tokens_rotate,
    silent_hosts_lose_their_capsules_and_heartbeats_bring_them_back,
    tags_and_deletion,
}

async fn registration_tokens_work_once_and_expire(ctx: Ctx) {
    let store = &ctx.store;
    let (host, token) = store.create_host(REGULAR, HOUR_MS).await.unwrap();
    assert_eq!(host.status, HostStatus::Pending);
    assert_eq!(token.secret.len(), 64);
    assert_eq!(token.expires_at, crate::harness::T0 + HOUR_MS);
    assert_eq!(store.heartbeat(host.id).await.unwrap(), None, "a pending host cannot heartbeat");

    // Ten agents race with the same token: one registers.
    let attempts = (0..10).map(|_| {
        let (store, secret) = (store.clone(), token.secret.clone());
        tokio::spawn(async move { store.register_host(&secret, &specs(16_384, 102_400)).await })
    });
    let results: Vec<_> = join_all(attempts).await.into_iter().map(|joined| joined.unwrap().unwrap()).collect();
    let registered: Vec<_> =
        results.iter().filter_map(|r| if let Registration::Registered(h) = r { Some(h) } else { None }).collect();
    assert_eq!(registered.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Registration::Registered(_) | Registration::InvalidToken)));
    let online = registered[0];
    assert_eq!(
        (online.status, online.memory_mb, online.address.as_str()),
        (HostStatus::Online, 16_384, "127.0.0.1:7000")
    );
    assert_eq!(online.last_heartbeat_at, Some(crate::harness::T0));

    // A second token for a host that is no longer pending is left unused.
    let again = store.create_registration_token(host.id, HOUR_MS).await.unwrap();
    assert_eq!(store.register_host(&again.secret, &specs(1, 1)).await.unwrap(), Registration::HostNotPending(host.id));
    assert_eq!(store.get_host(host.id).await.unwrap().unwrap().memory_mb, 16_384);

    // Expiry.
    let (late, late_token) = store.create_host(REGULAR, HOUR_MS).await.unwrap();
    ctx.clock.advance(HOUR_MS);
    assert_eq!(store.register_host(&late_token.secret, &specs(1, 1)).await.unwrap(), Registration::InvalidToken);
    assert_eq!(store.get_host(late.id).await.unwrap().unwrap().status, HostStatus::Pending);
    assert_eq!(store.register_host("not a token", &specs(1, 1)).await.unwrap(), Registration::InvalidToken);
}

async fn refresh_tokens_rotate(ctx: Ctx) {
    let store = &ctx.store;
    let host_id = online_host(store, 8192, 51_200).await;
    let first = store.issue_refresh_token(host_id, 60 * 24 * HOUR_MS).await.unwrap();

    let attempts = (0..10).map(|_| {
        let (store, secret) = (store.clone(), first.secret.clone());
        tokio::spawn(async move { store.rotate_refresh_token(&secret, 60 * 24 * HOUR_MS).await })
    });
    let results: Vec<_> = join_all(attempts).await.into_iter().map(|joined| joined.unwrap().unwrap()).collect();
    let rotated: Vec<_> = results.into_iter().flatten().collect();
    assert_eq!(rotated.len(), 1, "a refresh token rotates once");
    let (owner, second) = &rotated[0];
    assert_eq!(*owner, host_id);
    assert_ne!(second.secret, first.secret);

    assert_eq!(store.rotate_refresh_token(&first.secret, HOUR_MS).await.unwrap(), None, "the old one is revoked");
    let (_, third) = store.rotate_refresh_token(&second.secret, HOUR_MS).await.unwrap().unwrap();
    ctx.clock.advance(HOUR_MS);
    assert_eq!(store.rotate_refresh_token(&third.secret, HOUR_MS).await.unwrap(), None, "expired");
}

async fn silent_hosts_lose_their_capsules_and_heartbeats_bring_them_back(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let silent = online_host(store, 8192, 51_200).await;
    let running = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    store.transition(running.id, CapsuleOp::Started, "").await.unwrap().unwrap();
    let stopping = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    store.transition(stopping.id, CapsuleOp::Stop, "").await.unwrap().unwrap();
    let stopped = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    store.transition(stopped.id, CapsuleOp::Lost, "exited").await.unwrap().unwrap();

    ctx.clock.advance(60_000);
    let chatty = online_host(store, 8192, 51_200).await;
    ctx.clock.advance(40_000);
    assert_eq!(store.heartbeat(chatty).await.unwrap(), Some(HostStatus::Online));

    let stale = store.mark_stale_hosts(90_000).await.unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!((stale[0].host_id, stale[0].missing.clone()), (silent, vec![running.id]));
    assert_eq!(store.mark_stale_hosts(90_000).await.unwrap(), vec![], "marking is done once");
    let capsule = store.get_capsule(running.id).await.unwrap().unwrap();
    assert_eq!(capsule.status, CapsuleStatus::Missing);
    assert!(capsule.reason.contains("stopped answering"), "{}", capsule.reason);
    assert_eq!(store.get_capsule(stopping.id).await.unwrap().unwrap().status, CapsuleStatus::Stopping);
    assert_eq!(store.get_capsule(stopped.id).await.unwrap().unwrap().status, CapsuleStatus::Stopped);
    assert_eq!(store.get_host(silent).await.unwrap().unwrap().status, HostStatus::Unreachable);
    // Unreachable hosts take no new capsules.
    let placed = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    assert_eq!(placed.host_id, chatty);

    assert_eq!(store.heartbeat(silent).await.unwrap(), Some(HostStatus::Unreachable), "back: reconcile now");
    assert_eq!(store.heartbeat(silent).await.unwrap(), Some(HostStatus::Online));
    assert_eq!(store.get_host(silent).await.unwrap().unwrap().status, HostStatus::Online);
    assert_eq!(store.heartbeat(wrenn_types::HostId::from_u128(7)).await.unwrap(), None);
}

async fn tags_and_deletion(ctx: Ctx) {
    let store = &ctx.store;
    let team = team(store).await;
    let host_id = online_host(store, 8192, 51_200).await;
    store.add_host_tag(host_id, "gpu").await.unwrap();
    store.add_host_tag(host_id, "eu").await.unwrap();
    store.add_host_tag(host_id, "gpu").await.unwrap();
    assert_eq!(store.list_host_tags(host_id).await.unwrap(), ["eu", "gpu"]);
    assert!(store.remove_host_tag(host_id, "eu").await.unwrap());
    assert!(!store.remove_host_tag(host_id, "eu").await.unwrap());

    let live = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    let gone = store.create_capsule(ask(team.id, 256, 0), RESERVE).await.unwrap();
    store.transition(gone.id, CapsuleOp::Lost, "exited").await.unwrap().unwrap();
    assert_eq!(store.active_capsules_on_host(host_id).await.unwrap(), [live.id]);
    assert_eq!(store.delete_host(host_id).await.unwrap(), Some(vec![live.id]));
    assert_eq!(store.get_host(host_id).await.unwrap(), None);
    assert_eq!(store.list_host_tags(host_id).await.unwrap(), Vec::<String>::new());
    let capsule = store.get_capsule(live.id).await.unwrap().unwrap();
    assert_eq!(capsule.status, CapsuleStatus::Stopped);
    assert!(capsule.reason.contains("deleted"), "{}", capsule.reason);
    assert_eq!(store.delete_host(host_id).await.unwrap(), None);
}
