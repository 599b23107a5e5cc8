//! Concurrent pause, resume and destroy of one capsule: the store's guarded
//! transitions decide who wins, the losers are refused with the state they
//! found, and once the background work is done the capsule is in a stable
//! state that its agent agrees with.

use std::time::Duration;

use wrenn_cp::app::AppError;
use wrenn_cp::store::{Capsule, CapsuleStatus};
use wrenn_proto::agent::hostagent::CapsuleState;
use wrenn_types::CapsuleId;

use crate::harness::{Ctx, both};

both!(racing_pause_resume_and_destroy_settle_where_the_agent_agrees);

/// Fixed, so that a failure replays the same interleavings.
const SEED: u64 = 0x5eed_cafe_f00d_0001;
const ROUNDS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Pause,
    Resume,
    Destroy,
}

async fn racing_pause_resume_and_destroy_settle_where_the_agent_agrees(ctx: Ctx) {
    let capsule = ctx.running_capsule().await;
    let mut rng = XorShift(SEED);
    // Rounds of pause and resume, each racing the others and the previous
    // rounds' background tasks.
    for round in 0..ROUNDS {
        let third = if rng.below(2) == 0 { Op::Pause } else { Op::Resume };
        let mut ops = [Op::Pause, Op::Resume, third];
        rng.shuffle(&mut ops);
        let delays = [rng.below(20), rng.below(20), rng.below(20)];
        let (a, b, c) = tokio::join!(
            apply(&ctx, capsule.id, ops[0], delays[0]),
            apply(&ctx, capsule.id, ops[1], delays[1]),
            apply(&ctx, capsule.id, ops[2], delays[2]),
        );
        for (op, result) in ops.iter().zip([a, b, c]) {
            assert_refused_at_most(round, *op, &result);
        }
    }
    let settled = ctx.settled(capsule.id).await;
    let on_agent = ctx.on_agent().await;
    let agent_state = on_agent.get(&capsule.id.to_string()).copied();
    match settled.status {
        CapsuleStatus::Running => assert_eq!(agent_state, Some(CapsuleState::CAPSULE_STATE_RUNNING)),
        CapsuleStatus::Paused => assert_eq!(agent_state, Some(CapsuleState::CAPSULE_STATE_PAUSED)),
        other => panic!("settled in {other} ({:?}) after pause/resume races", settled.reason),
    }
    // Whatever state it settled in, it still works as that state says.
    if settled.status == CapsuleStatus::Paused {
        ctx.app.resume_capsule(&ctx.caller, capsule.id).await.unwrap();
    }
    let (_, agent) = ctx.app.capsule_agent(ctx.caller.team_id, capsule.id, "exec").await.unwrap();
    assert_eq!(Ctx::exec(&agent, capsule.id, "echo ok").await, "ok\n");

    // The last round races a destroy: it always wins in the end.
    let mut ops = [Op::Pause, Op::Resume, Op::Destroy];
    rng.shuffle(&mut ops);
    let (a, b, c) = tokio::join!(
        apply(&ctx, capsule.id, ops[0], 0),
        apply(&ctx, capsule.id, ops[1], rng.below(10)),
        apply(&ctx, capsule.id, ops[2], rng.below(10)),
    );
    for (op, result) in ops.iter().zip([a, b, c]) {
        assert_refused_at_most(ROUNDS, *op, &result);
    }
    let stopped = ctx.settled(capsule.id).await;
    assert_eq!(stopped.status, CapsuleStatus::Stopped, "{stopped:?}");
    ctx.assert_nothing_reserved().await;
    assert!(ctx.on_agent().await.is_empty(), "the agent still has the destroyed capsule");
}

async fn apply(ctx: &Ctx, id: CapsuleId, op: Op, delay_ms: u64) -> Result<Capsule, AppError> {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    match op {
        Op::Pause => ctx.app.pause_capsule(&ctx.caller, id).await,
        Op::Resume => ctx.app.resume_capsule(&ctx.caller, id).await,
        Op::Destroy => ctx.app.destroy_capsule(&ctx.caller, id).await,
    }
}

/// A racing request either wins or is refused for the state it found;
/// a destroy is never refused.
fn assert_refused_at_most(round: usize, op: Op, result: &Result<Capsule, AppError>) {
    match result {
        Ok(_) => {}
        Err(AppError::InvalidState { .. }) if op != Op::Destroy => {}
        Err(error) => panic!("round {round} (seed {SEED:#x}): {op:?} failed: {error:?}"),
    }
}

/// A tiny deterministic generator: the interleavings are varied but
/// reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.below(i as u64 + 1)).unwrap_or(0);
            items.swap(i, j);
        }
    }
}
