//! Bad input and failing steps get clear errors and leave nothing behind.

use std::time::Duration;

use wrenn_agent::capsule::{CapsuleError, CapsuleState, CreateCapsule, SpecProblem};

use crate::capsule::{harness, request};
use crate::container::unique_id;

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_and_leave_nothing() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();

    let id = unique_id();
    let err = manager.create(CreateCapsule { template: "no-such-template".into(), ..request(id) }).await.unwrap_err();
    assert!(matches!(&err, CapsuleError::UnknownTemplate { name } if name == "no-such-template"), "{err:?}");
    assert_eq!(err.to_string(), "template no-such-template does not exist on this host");
    let err = manager.create(CreateCapsule { memory_mb: 1 << 40, ..request(id) }).await.unwrap_err();
    assert!(matches!(err, CapsuleError::InvalidSpec { problem: SpecProblem::TooMuchMemory { .. }, .. }), "{err:?}");
    let err = manager.create(CreateCapsule { vcpus: 0, ..request(id) }).await.unwrap_err();
    assert!(matches!(err, CapsuleError::InvalidSpec { problem: SpecProblem::NoVcpus, .. }), "{err:?}");
    harness.assert_nothing_of(&id);

    // A duplicate id is refused and leaves the first capsule alone.
    let info = manager.create(request(id)).await.unwrap();
    let err = manager.create(request(id)).await.unwrap_err();
    assert!(matches!(err, CapsuleError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(manager.get(id).unwrap().state, CapsuleState::Running);
    assert_eq!(harness.health(info.envd_addr.unwrap(), Duration::from_secs(2)).await.unwrap(), 200);

    // Two destroys at once: one does it, the other is told so.
    let (first, second) = tokio::join!(manager.destroy(id), manager.destroy(id));
    let outcomes = [first, second];
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().any(|r| matches!(r, Err(CapsuleError::AlreadyStopping { .. }))), "{outcomes:?}");
    harness.assert_gone(&info);
    assert!(manager.list().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_rolls_back_everything() {
    let Some(harness) = harness(|config| config.ready_timeout = Duration::from_millis(500)).await else {
        return;
    };
    let manager = harness.manager();
    // envd never listens: the readiness wait times out after the runtime,
    // network and record were made.
    harness.broken_template("silent", Some("#!/bin/sh\nexec sleep 600\n"));
    let id = unique_id();
    let err = manager.create(CreateCapsule { template: "silent".into(), ..request(id) }).await.unwrap_err();
    assert!(matches!(err, CapsuleError::NotReady { .. }), "{err:?}");
    harness.assert_nothing_of(&id);
    // No envd at all: the runtime's create fails after the network was made.
    harness.broken_template("headless", None);
    let err = manager.create(CreateCapsule { template: "headless".into(), ..request(id) }).await.unwrap_err();
    assert!(matches!(err, CapsuleError::Runtime { .. }), "{err:?}");
    harness.assert_nothing_of(&id);
    for slot in 1..=3 {
        assert_eq!(crate::network::leftovers(slot), Vec::<String>::new());
    }
    // The id is free again; slots rotate, so the next one is 3, not the
    // just-released 1 or 2.
    let info = manager.create(request(id)).await.unwrap();
    assert_eq!(info.slot, 3);
    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}
