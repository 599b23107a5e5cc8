//! cgroup limits hold inside a capsule and the host is unharmed.

use wrenn_agent::runtime::Runtime;

use crate::container::{Fixture, is_root, v1_file};

#[tokio::test(flavor = "multi_thread")]
async fn memory_hog_is_oom_killed_inside_the_capsule() {
    if !is_root() {
        return;
    }
    let script = r#"
        sh -c 'x=$(head -c 400000000 /dev/zero | tr "\0" a); echo survived'
        echo "rc=$?" > /out
        : > /done
        exec sleep 600
    "#;
    let fixture = Fixture::new(script);
    let (id, pid) = fixture.start(32).await;
    fixture.wait_done(&id);
    let out = fixture.read_upper(&id, "out");
    assert_eq!(out.trim(), "rc=137", "the hog was not killed by SIGKILL");
    assert_eq!(v1_file(&id, "memory", "memory.limit_in_bytes").trim(), (32u64 << 20).to_string());
    let oom = v1_file(&id, "memory", "memory.oom_control");
    let kills: u64 = oom.lines().find_map(|l| l.strip_prefix("oom_kill ")).unwrap().trim().parse().unwrap();
    assert!(kills >= 1, "{oom}");
    // The capsule's init survived its child's OOM kill.
    assert!(crate::container::is_alive(pid));
    fixture.destroy_and_check(&id, pid).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fork_bomb_is_stopped_by_the_pids_limit() {
    if !is_root() {
        return;
    }
    let script = r#"
        ( i=0; while [ $i -lt 300 ]; do sleep 600 & i=$((i+1)); done ) 2>/dev/null
        n=0; for p in /proc/[0-9]*; do n=$((n+1)); done
        echo "n=$n" > /out
        : > /done
        exec sleep 600
    "#;
    let fixture = Fixture::new(script);
    let (id, pid) = fixture.start(256).await;
    fixture.wait_done(&id);
    let out = fixture.read_upper(&id, "out");
    let n: u32 = out.trim().strip_prefix("n=").unwrap().parse().unwrap();
    assert!((50..=64).contains(&n), "{n} processes with pids.max=64");
    assert_eq!(v1_file(&id, "pids", "pids.max").trim(), "64");
    let events = v1_file(&id, "pids", "pids.events");
    let refused: u64 = events.trim().strip_prefix("max ").unwrap().parse().unwrap();
    assert!(refused > 0, "{events}");
    let current: u64 = v1_file(&id, "pids", "pids.current").trim().parse().unwrap();
    assert!(current <= 64);
    fixture.destroy_and_check(&id, pid).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_limit_holds() {
    if !is_root() {
        return;
    }
    let script = r#"
        dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null
        rc=$?
        size=$(wc -c < /big)
        rm /big
        echo "rc=$rc size=$size" > /out
        : > /done
        exec sleep 600
    "#;
    let fixture = Fixture::new(script);
    let mut spec = fixture.spec(256);
    spec.disk_mb = 16;
    fixture.started.lock().unwrap().push(spec.id);
    let started = std::time::Instant::now();
    let pid = fixture.runtime.create(&spec).await.unwrap();
    eprintln!("create with a 16 MiB disk: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    fixture.wait_done(&spec.id);
    let out = fixture.read_upper(&spec.id, "out");
    let (rc, size) = out.trim().split_once(' ').unwrap();
    assert_ne!(rc, "rc=0", "writing 64 MiB into a 16 MiB disk succeeded");
    let size: u64 = size.strip_prefix("size=").unwrap().parse().unwrap();
    assert!(size > 8 << 20 && size <= 16 << 20, "{size} bytes written");
    let stats = fixture.runtime.stats(&spec.id).await.unwrap();
    assert!(stats.disk_bytes > 0 && stats.disk_bytes < 16 << 20, "{stats:?}");
    fixture.destroy_and_check(&spec.id, pid).await;
}
