//! Create → envd ready → ping, metrics, pause/resume → destroy, and the
//! inactivity timeout.

use std::time::{Duration, Instant};

use wrenn_agent::capsule::{CapsuleError, CapsuleEvent, CapsuleState};
use wrenn_agent::metrics::MetricRange;

use crate::capsule::{harness, request};
use crate::container::unique_id;

#[tokio::test(flavor = "multi_thread")]
async fn create_pause_resume_destroy_leaves_nothing() {
    let Some(harness) = harness(|config| config.tick = Duration::from_millis(200)).await else { return };
    let manager = harness.manager();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    assert_eq!(info.state, CapsuleState::Running);
    let addr = info.envd_addr.unwrap();
    assert_eq!(harness.health(addr, Duration::from_secs(2)).await.unwrap(), 200);
    assert_eq!(manager.list(), vec![info.clone()]);
    assert_eq!(manager.ping(id).await.unwrap().state, CapsuleState::Running);

    // Samples arrive every tick; memory is the capsule's (envd's) own.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let points = manager.metrics(id, MetricRange::FiveMinutes).unwrap();
    assert!(points.len() >= 2, "{points:?}");
    assert!(points.iter().all(|p| p.mem_bytes > 0 && (0.0..=100.0).contains(&p.cpu_pct)), "{points:?}");

    // Frozen: the kernel still completes the handshake, envd never answers.
    assert_eq!(manager.pause(id).await.unwrap().state, CapsuleState::Paused);
    assert_eq!(manager.pause(id).await.unwrap().state, CapsuleState::Paused, "pause is idempotent");
    tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(harness.health(addr, Duration::from_millis(300)).await.is_err());
    assert_eq!(manager.resume(id).await.unwrap().state, CapsuleState::Running);
    assert_eq!(harness.health(addr, Duration::from_secs(2)).await.unwrap(), 200);

    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
    assert!(matches!(manager.get(id), Err(CapsuleError::NotFound { .. })));
    assert!(matches!(manager.destroy(id).await, Err(CapsuleError::NotFound { .. })));
    assert!(manager.list().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_capsule_is_paused_and_reported() {
    let Some(harness) = harness(|config| config.tick = Duration::from_millis(100)).await else { return };
    let manager = harness.manager();
    let mut events = manager.subscribe();
    let id = unique_id();
    let info = manager.create(wrenn_agent::capsule::CreateCapsule { timeout_sec: 1, ..request(id) }).await.unwrap();
    let started = Instant::now();
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert_eq!(event, CapsuleEvent::AutoPaused { id });
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    let paused = manager.get(id).unwrap();
    assert_eq!(paused.state, CapsuleState::Paused);
    assert!(paused.reason.as_deref().is_some_and(|reason| reason.starts_with("inactivity")), "{paused:?}");
    assert!(harness.health(info.envd_addr.unwrap(), Duration::from_millis(300)).await.is_err());
    // The next successful operation clears the reason.
    assert_eq!(manager.resume(id).await.unwrap().reason, None);
    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}
