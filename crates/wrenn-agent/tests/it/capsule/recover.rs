//! An agent that dies without cleaning up (the manager is dropped, as with
//! `kill -9`) is followed by one that adopts the live capsules and removes
//! what nobody owns.

use std::process::Command;
use std::time::Duration;

use wrenn_agent::capsule::CapsuleState;

use crate::capsule::{harness, request};
use crate::container::unique_id;

#[tokio::test(flavor = "multi_thread")]
async fn a_new_manager_adopts_running_and_paused_capsules() {
    let Some(mut harness) = harness(|_| {}).await else { return };
    let (running, paused) = (unique_id(), unique_id());
    let running_info = harness.manager().create(request(running)).await.unwrap();
    let paused_info = harness.manager().create(request(paused)).await.unwrap();
    harness.manager().pause(paused).await.unwrap();
    // A network the old agent was still building when it died.
    let stale_slot = 77;
    let out = Command::new("ip").args(["netns", "add", &format!("wrenn-{stale_slot}")]).output().unwrap();
    assert!(out.status.success());

    drop(harness.manager.take());
    let manager = harness.new_manager();
    let recovery = manager.recover().await.unwrap();
    let mut adopted = recovery.adopted.clone();
    adopted.sort();
    let mut want = vec![running, paused];
    want.sort();
    assert_eq!(adopted, want);
    assert!(recovery.destroyed.is_empty());
    assert!(recovery.stale_slots.contains(&stale_slot), "{recovery:?}");
    assert_eq!(crate::network::leftovers(stale_slot), Vec::<String>::new());
    harness.manager = Some(manager);
    let manager = harness.manager();

    assert_eq!(manager.get(running).unwrap().state, CapsuleState::Running);
    assert_eq!(manager.get(paused).unwrap().state, CapsuleState::Paused);
    assert_eq!(harness.health(running_info.envd_addr.unwrap(), Duration::from_secs(2)).await.unwrap(), 200);
    manager.resume(paused).await.unwrap();
    assert_eq!(harness.health(paused_info.envd_addr.unwrap(), Duration::from_secs(2)).await.unwrap(), 200);

    // New capsules do not get the adopted capsules' slots.
    let fresh = unique_id();
    let fresh_info = manager.create(request(fresh)).await.unwrap();
    assert!(![running_info.slot, paused_info.slot].contains(&fresh_info.slot));
    // Oldest first: newer capsules must not pin older capsules' disks.
    for info in [running_info, paused_info, fresh_info] {
        manager.destroy(info.id).await.unwrap();
        harness.assert_gone(&info);
    }
}
