//! Creating and destroying capsules: the answer comes at once (`pending`),
//! the background work ends in `running` with an event, a destroy gives
//! the host its resources back, a create the agent refuses ends `error`
//! with a reason and leaves nothing, and the data plane waits for a
//! capsule that is still starting.

use std::sync::Arc;
use std::time::Duration;

use wrenn_cp::events::{Audience, Event, EventKind, Outcome, Subscription};
use wrenn_cp::store::CapsuleStatus;
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::CapsuleId;

use wrenn_cp::background::base_template;

use crate::harness::{Ctx, PATIENCE, both, rand_u128, small};

both!(
    a_created_capsule_runs_is_announced_and_its_destroy_frees_the_host,
    a_create_the_agent_refuses_ends_in_error_and_leaves_nothing,
    exec_right_after_create_waits_for_the_capsule_to_run,
    a_capsule_destroyed_while_it_starts_leaves_nothing_on_the_agent,
);

async fn a_created_capsule_runs_is_announced_and_its_destroy_frees_the_host(ctx: Ctx) {
    let mut events = ctx.app.bus().subscribe(Audience::Team(ctx.caller.team_id));
    let capsule = ctx.app.create_capsule(&ctx.caller, small("minimal")).await.unwrap();
    assert_eq!(capsule.status, CapsuleStatus::Pending, "a create answers before the agent works");
    assert_eq!(capsule.host_id, ctx.host_id);
    let host = ctx.host().await;
    assert_eq!((host.reserved_vcpus, host.reserved_memory_mb, host.reserved_disk_mb), (1, 256, 256));

    let running = ctx.wait_for(capsule.id, "running", |status| status == CapsuleStatus::Running).await;
    assert!(!running.host_ip.is_empty(), "a running capsule has the address its agent reported");
    assert!(running.started_at.is_some());
    let created = next_action(&mut events, EventKind::CapsuleCreate, capsule.id).await;
    assert_eq!(created.outcome, Some(Outcome::Success), "{created:?}");
    assert_eq!(created.actor.as_ref().map(|actor| actor.id.as_str()), Some("key-lifecycle"));
    let sandbox = created.sandbox.as_ref().expect("the event renders the capsule");
    assert_eq!(
        (&sandbox["id"], &sandbox["status"]),
        (&serde_json::json!(capsule.id.to_string()), &serde_json::json!("running"))
    );
    assert_eq!(
        ctx.on_agent().await.get(&capsule.id.to_string()),
        Some(&wrenn_proto::agent::hostagent::CapsuleState::CAPSULE_STATE_RUNNING)
    );

    let stopping = ctx.app.destroy_capsule(&ctx.caller, capsule.id).await.unwrap();
    assert_eq!(stopping.status, CapsuleStatus::Stopping);
    let stopped = ctx.wait_for(capsule.id, "stopped", |status| status == CapsuleStatus::Stopped).await;
    assert_eq!(stopped.reason, "destroyed");
    let destroyed = next_action(&mut events, EventKind::CapsuleDestroy, capsule.id).await;
    assert_eq!(destroyed.outcome, Some(Outcome::Success), "{destroyed:?}");
    ctx.assert_nothing_reserved().await;
    assert!(ctx.on_agent().await.is_empty(), "the agent still has the capsule");
    // A repeated destroy answers with the capsule as it is.
    let again = ctx.app.destroy_capsule(&ctx.caller, capsule.id).await.unwrap();
    assert_eq!(again.status, CapsuleStatus::Stopped);
}

async fn a_create_the_agent_refuses_ends_in_error_and_leaves_nothing(ctx: Ctx) {
    // Listed by the control plane, unknown to the agent.
    ctx.store().upsert_template(&base_template("ghost", 0)).await.unwrap();
    let mut events = ctx.app.bus().subscribe(Audience::Team(ctx.caller.team_id));
    let capsule = ctx.app.create_capsule(&ctx.caller, small("ghost")).await.unwrap();
    assert_eq!(capsule.status, CapsuleStatus::Pending);

    let failed = ctx.wait_for(capsule.id, "error", |status| status.is_terminal()).await;
    assert_eq!(failed.status, CapsuleStatus::Error, "{failed:?}");
    // The reason is what the agent says about such a create, as it says it.
    let refusal = ctx
        .agent
        .create_capsule(pb::CreateCapsuleRequest {
            capsule_id: CapsuleId::from_u128(rand_u128()).to_string(),
            template: "ghost".to_owned(),
            vcpus: 1,
            memory_mb: 256,
            disk_mb: 256,
            ..Default::default()
        })
        .await
        .err()
        .and_then(|error| error.message)
        .expect("the agent refuses an unknown template with a message");
    assert!(refusal.contains("ghost"), "{refusal:?}");
    assert_eq!(failed.reason, format!("create failed: {refusal}"));
    let event = next_action(&mut events, EventKind::CapsuleCreate, capsule.id).await;
    assert_eq!(event.outcome, Some(Outcome::Error), "{event:?}");
    assert_eq!(event.error.as_deref(), Some(failed.reason.as_str()));
    ctx.assert_nothing_reserved().await;
    assert!(ctx.on_agent().await.is_empty(), "the failed create left a capsule on the agent");

    // Destroying it discards it: stopped, with the failure as its reason.
    let discarded = ctx.app.destroy_capsule(&ctx.caller, capsule.id).await.unwrap();
    assert_eq!((discarded.status, discarded.reason.as_str()), (CapsuleStatus::Stopped, failed.reason.as_str()));
    ctx.assert_nothing_reserved().await;
}

async fn exec_right_after_create_waits_for_the_capsule_to_run(ctx: Ctx) {
    let capsule = ctx.app.create_capsule(&ctx.caller, small("minimal")).await.unwrap();
    // No sleep: the capsule is pending or starting now.
    let (running, agent) = ctx.app.capsule_agent(ctx.caller.team_id, capsule.id, "exec").await.unwrap();
    assert_eq!(running.status, CapsuleStatus::Running);
    assert_eq!(Ctx::exec(&agent, capsule.id, "echo hello from $(hostname)").await.lines().count(), 1);
    assert_eq!(Ctx::exec(&agent, capsule.id, "echo ok").await, "ok\n");

    ctx.app.destroy_capsule(&ctx.caller, capsule.id).await.unwrap();
    ctx.wait_for(capsule.id, "stopped", |status| status == CapsuleStatus::Stopped).await;
    // A stopped capsule is refused, not waited for.
    let Err(refused) = ctx.app.capsule_agent(ctx.caller.team_id, capsule.id, "exec").await else {
        panic!("the data plane served a capsule that does not run");
    };
    assert!(matches!(refused, wrenn_cp::app::AppError::InvalidState { .. }), "{refused:?}");
}

async fn a_capsule_destroyed_while_it_starts_leaves_nothing_on_the_agent(ctx: Ctx) {
    // At once (pending: the create never reaches the agent, or is undone)
    // and a little later (starting: the agent is making it).
    for delay in [Duration::ZERO, Duration::from_millis(150)] {
        let capsule = ctx.app.create_capsule(&ctx.caller, small("minimal")).await.unwrap();
        tokio::time::sleep(delay).await;
        let stopping = ctx.app.destroy_capsule(&ctx.caller, capsule.id).await.unwrap();
        assert!(
            matches!(stopping.status, CapsuleStatus::Stopping | CapsuleStatus::Stopped),
            "a destroy wins over a create in progress: {stopping:?}"
        );
        let stopped = ctx.settled(capsule.id).await;
        assert_eq!(stopped.status, CapsuleStatus::Stopped, "{stopped:?}");
        ctx.assert_nothing_reserved().await;
        // The create's own task removes what the agent made after the destroy.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let on_agent = ctx.on_agent().await;
            if on_agent.is_empty() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "left on the agent after {delay:?}: {on_agent:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The next action event of `kind` about `capsule` the subscriber sees.
pub(crate) async fn next_action(events: &mut Subscription, kind: EventKind, capsule: CapsuleId) -> Arc<Event> {
    let wanted = capsule.to_string();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = events.next().await.expect("the subscription ended");
            if event.event == kind && event.resource.as_ref().is_some_and(|resource| resource.id == wanted) {
                return event;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {kind} event for {capsule} within {PATIENCE:?}"))
}
