//! Launch latency, independence from the launching process, and errors.

use std::time::Instant;

use wrenn_agent::runtime::container::launch::read_pid_file;
use wrenn_agent::runtime::{Runtime, RuntimeError};

use crate::container::{Fixture, assert_cleaned, is_alive, is_root, median};

#[tokio::test(flavor = "multi_thread")]
async fn twenty_launches_and_their_latency() {
    if !is_root() {
        return;
    }
    let fixture = Fixture::with_init(vec!["/bin/sleep".into(), "600".into()]);
    for disk_mb in [0, 1024] {
        let (mut exec_ms, mut create_ms, mut destroy_ms) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..20 {
            let mut spec = fixture.spec(128);
            spec.disk_mb = disk_mb;
            fixture.started.lock().unwrap().push(spec.id);
            let started = Instant::now();
            let report = fixture.runtime.create_timed(&spec).await.unwrap();
            create_ms.push(started.elapsed().as_secs_f64() * 1e3);
            exec_ms.push(report.exec_us as f64 / 1e3);
            // The launcher is gone; the init runs on its own and left its pid
            // where a restarted agent finds it.
            assert!(is_alive(report.pid));
            let capsule_dir = wrenn_agent::layout::Layout::new(fixture.dir.path()).capsule_dir(&spec.id.to_string());
            assert_eq!(read_pid_file(&capsule_dir), Some(report.pid));
            let started = Instant::now();
            fixture.runtime.destroy(&spec.id).await.unwrap();
            destroy_ms.push(started.elapsed().as_secs_f64() * 1e3);
            fixture.started.lock().unwrap().retain(|id| *id != spec.id);
            assert_cleaned(fixture.dir.path(), &spec.id, report.pid);
        }
        eprintln!(
            "20 launches, disk_mb={disk_mb}: launcher start→init exec p50 {:.2} ms, runtime.create p50 {:.2} ms, \
             runtime.destroy p50 {:.2} ms",
            median(&mut exec_ms),
            median(&mut create_ms),
            median(&mut destroy_ms)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_init_and_duplicate_ids_leave_nothing_behind() {
    if !is_root() {
        return;
    }
    let fixture = Fixture::with_init(vec!["/no/such/init".into()]);
    let spec = fixture.spec(64);
    let err = fixture.runtime.create(&spec).await.unwrap_err();
    let chain = format!("{err:?}");
    assert!(chain.contains("execve"), "{chain}");
    assert_cleaned(fixture.dir.path(), &spec.id, u32::MAX);

    let fixture = Fixture::with_init(vec!["/bin/sleep".into(), "600".into()]);
    let (id, pid) = fixture.start(64).await;
    let mut spec = fixture.spec(64);
    spec.id = id;
    let err = fixture.runtime.create(&spec).await.unwrap_err();
    assert!(matches!(err, RuntimeError::AlreadyExists { .. }), "{err:?}");
    fixture.destroy_and_check(&id, pid).await;
    let err = fixture.runtime.destroy(&id).await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotFound { .. }), "{err:?}");
}
