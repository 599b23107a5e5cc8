//! A team sees only its own capsules: another team's capsule is "not
//! found" for every operation, and asking changes nothing.

use wrenn_cp::app::{AppError, Caller};
use wrenn_cp::store::CapsuleStatus;
use wrenn_proto::agent::hostagent::CapsuleState;

use crate::harness::{Ctx, api_key_actor, both, rand_u128};

both!(another_teams_capsule_is_not_found_for_any_operation);

async fn another_teams_capsule_is_not_found_for_any_operation(ctx: Ctx) {
    let slug = format!("t-{:x}", rand_u128());
    let other = ctx.store().create_team("Other team", &slug, false).await.unwrap();
    let stranger = Caller { team_id: other.id, actor: api_key_actor() };
    let capsule = ctx.app.create_capsule(&ctx.caller, crate::harness::small("minimal")).await.unwrap();

    // Asked while it starts and once it runs: the answer never leaks it.
    for _ in 0..2 {
        let id = capsule.id;
        let outcomes = [
            ("get", ctx.app.team_capsule(other.id, id).await.map(|_| ())),
            ("pause", ctx.app.pause_capsule(&stranger, id).await.map(|_| ())),
            ("resume", ctx.app.resume_capsule(&stranger, id).await.map(|_| ())),
            ("destroy", ctx.app.destroy_capsule(&stranger, id).await.map(|_| ())),
            ("exec", ctx.app.capsule_agent(other.id, id, "exec").await.map(|_| ())),
            ("ping", ctx.app.ping_capsule(other.id, id).await),
        ];
        for (operation, outcome) in outcomes {
            assert!(
                matches!(&outcome, Err(AppError::NotFound { what: "capsule", id: named }) if *named == id.to_string()),
                "{operation}: {outcome:?}"
            );
        }
        ctx.wait_for(id, "running", |status| status == CapsuleStatus::Running).await;
    }
    assert_eq!(ctx.on_agent().await.get(&capsule.id.to_string()), Some(&CapsuleState::CAPSULE_STATE_RUNNING));
    assert_eq!(ctx.app.team_capsule(ctx.caller.team_id, capsule.id).await.unwrap().status, CapsuleStatus::Running);
}
