//! A new agent adopts the capsules an old one left running and removes
//! those that died while no agent was watching.

use std::time::{Duration, Instant};

use wrenn_agent::runtime::Runtime;
use wrenn_agent::runtime::container::ContainerRuntime;

use crate::container::{Fixture, assert_cleaned, is_alive, is_root};

#[tokio::test(flavor = "multi_thread")]
async fn a_new_runtime_adopts_live_capsules_and_cleans_dead_ones() {
    if !is_root() {
        return;
    }
    let fixture = Fixture::with_init(vec!["/bin/sleep".into(), "600".into()]);
    let (live, live_pid) = fixture.start(64).await;
    let (dead, dead_pid) = fixture.start(64).await;
    // The old agent is gone (its in-memory state with it); one capsule dies
    // while nobody watches.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(dead_pid as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(dead_pid) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }

    let restarted = ContainerRuntime::new(fixture.runtime.config().clone());
    let adopted = restarted.recover().await.unwrap();
    assert_eq!(adopted, vec![live]);
    assert_eq!(restarted.init_pid(&live), Some(live_pid));
    assert_cleaned(fixture.dir.path(), &dead, dead_pid);

    restarted.pause(&live).await.unwrap();
    restarted.resume(&live).await.unwrap();
    restarted.destroy(&live).await.unwrap();
    fixture.started.lock().unwrap().clear();
    assert_cleaned(fixture.dir.path(), &live, live_pid);
}
