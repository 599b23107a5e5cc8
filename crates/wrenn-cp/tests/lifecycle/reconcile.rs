//! The reconciler against a real agent: what happens to capsules behind
//! the control plane's back (destroyed, paused for inactivity, created by
//! someone else) is brought into the store by `reconcile_host`, and a host
//! that went silent gets its capsules back as soon as it answers again.

use std::time::Duration;

use wrenn_cp::background::{ReconcileReport, reconcile_host};
use wrenn_cp::events::{Audience, EventKind};
use wrenn_cp::store::{CapsuleStatus, Host, HostStatus};
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::CapsuleId;

use crate::harness::{Ctx, PATIENCE, both, rand_u128};
use crate::proxy::DelayingProxy;

both!(
    a_capsule_destroyed_behind_the_control_planes_back_becomes_stopped,
    a_capsule_paused_by_its_agent_becomes_paused_and_resumes,
    a_capsule_the_store_does_not_know_is_destroyed,
    a_silent_host_makes_its_capsules_missing_until_it_answers_again,
);

/// What the control plane uses in production: only transitions older than
/// this are the reconciler's to finish.
const STALE_AFTER: Duration = Duration::from_secs(300);

async fn reconcile(ctx: &Ctx) -> ReconcileReport {
    reconcile_host(&ctx.app, &ctx.host().await, STALE_AFTER).await.expect("reconcile the host")
}

async fn a_capsule_destroyed_behind_the_control_planes_back_becomes_stopped(ctx: Ctx) {
    let capsule = ctx.running_capsule().await;
    let request = pb::DestroyCapsuleRequest { capsule_id: capsule.id.to_string(), ..Default::default() };
    ctx.agent.destroy_capsule(request).await.unwrap();
    let mut events = ctx.app.bus().subscribe(Audience::Team(ctx.caller.team_id));

    assert_eq!(reconcile(&ctx).await, ReconcileReport { transitions: 1, destroyed_orphans: 0 });
    let stopped = ctx.capsule(capsule.id).await;
    assert_eq!(stopped.status, CapsuleStatus::Stopped);
    assert_eq!(stopped.reason, "the capsule is gone from its host");
    ctx.assert_nothing_reserved().await;
    let changed = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = events.next().await.expect("the subscription ended");
            if event.event == EventKind::CapsuleStateChanged
                && event.metadata.get("to").is_some_and(|to| to == "stopped")
            {
                return event;
            }
        }
    })
    .await
    .expect("a state change to stopped");
    assert_eq!(changed.metadata.get("from").map(String::as_str), Some("running"));
    assert_eq!(changed.metadata.get("reason").map(String::as_str), Some("the capsule is gone from its host"));
    // Reconciling again finds nothing to do.
    assert_eq!(reconcile(&ctx).await, ReconcileReport::default());
}

async fn a_capsule_paused_by_its_agent_becomes_paused_and_resumes(ctx: Ctx) {
    let capsule = ctx.running_capsule().await;
    let request = pb::PauseCapsuleRequest { capsule_id: capsule.id.to_string(), ..Default::default() };
    ctx.agent.pause_capsule(request).await.unwrap();

    assert_eq!(reconcile(&ctx).await, ReconcileReport { transitions: 1, destroyed_orphans: 0 });
    let paused = ctx.capsule(capsule.id).await;
    assert_eq!(paused.status, CapsuleStatus::Paused);
    assert_eq!(paused.reason, "paused by its host after the inactivity timeout");
    assert_eq!(reconcile(&ctx).await, ReconcileReport::default());

    // The store and the agent agree, so a resume through the API works.
    ctx.app.resume_capsule(&ctx.caller, capsule.id).await.unwrap();
    let (_, agent) = ctx.app.capsule_agent(ctx.caller.team_id, capsule.id, "exec").await.unwrap();
    assert_eq!(Ctx::exec(&agent, capsule.id, "echo back").await, "back\n");
    assert_eq!(ctx.on_agent().await.get(&capsule.id.to_string()), Some(&pb::CapsuleState::CAPSULE_STATE_RUNNING));
    ctx.app.destroy_capsule(&ctx.caller, capsule.id).await.unwrap();
    ctx.wait_for(capsule.id, "stopped", |status| status == CapsuleStatus::Stopped).await;
}

async fn a_capsule_the_store_does_not_know_is_destroyed(ctx: Ctx) {
    let known = ctx.running_capsule().await;
    let orphan = CapsuleId::from_u128(rand_u128());
    let request = pb::CreateCapsuleRequest {
        capsule_id: orphan.to_string(),
        template: "minimal".to_owned(),
        vcpus: 1,
        memory_mb: 256,
        disk_mb: 256,
        ..Default::default()
    };
    ctx.agent.create_capsule(request).await.unwrap();
    assert_eq!(ctx.on_agent().await.len(), 2);

    assert_eq!(reconcile(&ctx).await, ReconcileReport { transitions: 0, destroyed_orphans: 1 });
    let on_agent = ctx.on_agent().await;
    assert!(!on_agent.contains_key(&orphan.to_string()), "the orphan still runs: {on_agent:?}");
    // The capsule the store knows is left alone.
    assert_eq!(on_agent.get(&known.id.to_string()), Some(&pb::CapsuleState::CAPSULE_STATE_RUNNING));
    assert_eq!(ctx.capsule(known.id).await.status, CapsuleStatus::Running);
}

async fn a_silent_host_makes_its_capsules_missing_until_it_answers_again(ctx: Ctx) {
    let capsule = ctx.running_capsule().await;
    // A minute without heartbeats, for a monitor that allows 30 s.
    ctx.clock.advance(60_000);
    let stale = ctx.store().mark_stale_hosts(30_000).await.unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!((stale[0].host_id, stale[0].missing.as_slice()), (ctx.host_id, [capsule.id].as_slice()));
    assert_eq!(ctx.host().await.status, HostStatus::Unreachable);
    let missing = ctx.capsule(capsule.id).await;
    assert_eq!(missing.status, CapsuleStatus::Missing);
    assert!(missing.reason.contains("stopped answering"), "{:?}", missing.reason);
    // A missing capsule keeps its reservation, and the data plane refuses it.
    assert_eq!(ctx.host().await.reserved_memory_mb, 256);
    let Err(refused) = ctx.app.capsule_agent(ctx.caller.team_id, capsule.id, "exec").await else {
        panic!("the data plane served a capsule that does not run");
    };
    assert!(matches!(refused, wrenn_cp::app::AppError::InvalidState { .. }), "{refused:?}");

    // The host's next heartbeat says it was unreachable: reconcile at once.
    assert_eq!(ctx.store().heartbeat(ctx.host_id).await.unwrap(), Some(HostStatus::Unreachable));
    assert_eq!(reconcile(&ctx).await, ReconcileReport { transitions: 1, destroyed_orphans: 0 });
    let back = ctx.capsule(capsule.id).await;
    assert_eq!((back.status, back.reason.as_str()), (CapsuleStatus::Running, "its host is back"));
    let (_, agent) = ctx.app.capsule_agent(ctx.caller.team_id, capsule.id, "exec").await.unwrap();
    assert_eq!(Ctx::exec(&agent, capsule.id, "echo still here").await, "still here\n");
}

both!(a_resume_during_a_slow_agent_answer_is_not_taken_for_an_auto_pause);

/// The reconciler's view of the agent is older than the store's changes
/// that happen while the answer travels: a capsule the API resumed in that
/// time is still running afterwards, not "paused by its host".
async fn a_resume_during_a_slow_agent_answer_is_not_taken_for_an_auto_pause(ctx: Ctx) {
    let capsule = ctx.running_capsule().await;
    ctx.app.pause_capsule(&ctx.caller, capsule.id).await.unwrap();
    assert_eq!(ctx.settled(capsule.id).await.status, CapsuleStatus::Paused);
    // The same host, reached through a proxy that delivers the agent's
    // answers a second late (its own connection: the pool keys by address).
    let host = ctx.host().await;
    let proxy = DelayingProxy::start(&host.address, Duration::from_secs(1)).await;
    let slow = Host { address: proxy.address.clone(), ..host };
    assert_eq!(reconcile_host(&ctx.app, &slow, STALE_AFTER).await.unwrap(), ReconcileReport::default());

    let reconciling = {
        let app = ctx.app.clone();
        tokio::spawn(async move { reconcile_host(&app, &slow, STALE_AFTER).await })
    };
    // The agent has answered "paused"; the answer is on its way.
    tokio::time::sleep(Duration::from_millis(200)).await;
    ctx.app.resume_capsule(&ctx.caller, capsule.id).await.unwrap();
    let resumed = ctx.settled(capsule.id).await;
    assert!(!reconciling.is_finished(), "the resume took longer than the delay: the test proves nothing");
    assert_eq!(resumed.status, CapsuleStatus::Running);

    let report = reconciling.await.unwrap().unwrap();
    let after = ctx.capsule(capsule.id).await;
    assert_eq!(
        (after.status, after.reason.as_str(), report),
        (CapsuleStatus::Running, "", ReconcileReport::default()),
        "the reconciler undid the resume"
    );
    assert_eq!(ctx.on_agent().await.get(&capsule.id.to_string()), Some(&pb::CapsuleState::CAPSULE_STATE_RUNNING));
}
