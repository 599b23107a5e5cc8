//! Hibernate through the capsule manager with the real, patched CRIU
//! (`scripts/build-criu.sh`) on real capsules of the `minimal` template:
//! a counter started through envd keeps its value across hibernate and
//! resume (its shell variable lives only in memory), nothing of the capsule
//! runs or stays charged while hibernated, and an agent restart keeps a
//! hibernated capsule hibernated.
//!
//! Outside CI a host without CRIU skips these tests; in CI (`CI` set) a
//! missing CRIU fails them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use connectrpc::ErrorCode;
use futures::FutureExt;
use wrenn_agent::capsule::{CapsuleError, CapsuleInfo, CapsuleState};
use wrenn_agent::cgroup::CGROUP_ROOT;
use wrenn_agent::runtime::container::{ContainerRuntime, DEFAULT_CRIU};
use wrenn_proto::agent::hostagent as pb;

use crate::capsule::{Harness, harness, request};
use crate::container::{is_alive, unique_id};
use wrenn_types::ErrorChain;

const CGROUP_CONTROLLERS: &[&str] = &["memory", "cpu", "cpuacct", "pids", "freezer", "devices"];
/// The counter: a shell variable, written to the overlay every 50 ms.
const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i > /root/counter; sleep 0.05; done";

/// The harness, or `None` (skip) without CRIU outside CI.
async fn criu_harness() -> Option<Harness> {
    if !Path::new(DEFAULT_CRIU).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must build CRIU first (scripts/build-criu.sh): {DEFAULT_CRIU}");
        eprintln!("skipped (no CRIU at {DEFAULT_CRIU}; run scripts/build-criu.sh)");
        return None;
    }
    harness(|_| {}).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hibernated_capsule_frees_its_memory_and_resumes_where_it_was() {
    let Some(harness) = criu_harness().await else { return };
    let manager = harness.manager();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    let addr = info.envd_addr.unwrap();
    start_background(&harness, addr, COUNTER).await;
    // A whiteout over a template file and a new directory: the restored
    // overlay must show the same tree.
    let changes = "rm /etc/issue && mkdir /etc/mine && touch /etc/mine/file && echo ok";
    assert_eq!(run(&harness, addr, changes).await, "ok\n");
    let counter = harness.layout.capsule_dir(&id.to_string()).join("layer/upper/root/counter");
    wait_counter(&counter, 5).await;
    let memory_before = memory_usage(&info);

    let hibernated = manager.hibernate(id).await.unwrap();
    assert_eq!(hibernated.state, CapsuleState::Hibernated);
    assert_eq!(hibernated.init_pid, None);
    assert_eq!(manager.hibernate(id).await.unwrap().state, CapsuleState::Hibernated, "hibernate is idempotent");
    assert!(!is_alive(info.init_pid.unwrap()), "init still running");
    assert_eq!(capsule_pids(&info), Vec::<String>::new());
    let memory_after = memory_usage(&info);
    eprintln!("capsule memory cgroup: {memory_before} bytes running, {memory_after} bytes hibernated");
    assert!(memory_after < 1 << 20, "{memory_after} bytes still charged");
    let frozen_at = read_counter(&counter);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(read_counter(&counter), frozen_at, "the counter ran while hibernated");
    assert!(harness.health(addr, Duration::from_millis(300)).await.is_err());
    assert!(matches!(manager.ping(id).await, Err(CapsuleError::InvalidState { .. })));

    let resumed = manager.resume(id).await.unwrap();
    assert_eq!(resumed.state, CapsuleState::Running);
    let pid = resumed.init_pid.unwrap();
    // Back in every cgroup of the capsule, under the same limits.
    for controller in CGROUP_CONTROLLERS {
        let procs = std::fs::read_to_string(cgroup_dir(&info, controller).join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|line| line == pid.to_string()), "{pid} not in {controller}: {procs}");
    }
    let limit = std::fs::read_to_string(cgroup_dir(&info, "memory").join("memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), (256u64 << 20).to_string());
    assert_eq!(harness.health(addr, Duration::from_secs(2)).await.unwrap(), 200);
    wait_counter(&counter, frozen_at + 5).await;
    assert_eq!(run(&harness, addr, "echo hello from $(hostname)").await, format!("hello from {id}\n"));
    assert_eq!(
        run(&harness, addr, "test ! -e /etc/issue && ls /etc/mine && touch /etc/new && echo ok").await,
        "file\nok\n"
    );
    assert!(!harness.layout.capsule_dir(&id.to_string()).join("hibernate").exists(), "image kept after restore");

    // A paused capsule hibernates as it is and resumes running.
    manager.pause(id).await.unwrap();
    let paused_at = read_counter(&counter);
    assert_eq!(manager.hibernate(id).await.unwrap().state, CapsuleState::Hibernated);
    assert!(!is_alive(pid));
    assert_eq!(manager.resume(id).await.unwrap().state, CapsuleState::Running);
    wait_counter(&counter, paused_at + 5).await;

    let last_pid = manager.get(id).unwrap().init_pid.unwrap();
    manager.hibernate(id).await.unwrap();
    manager.destroy(id).await.unwrap();
    assert!(!is_alive(last_pid));
    harness.assert_gone(&info);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_agent_keeps_a_hibernated_capsule_hibernated() {
    let Some(mut harness) = criu_harness().await else { return };
    let id = unique_id();
    let info = harness.manager().create(request(id)).await.unwrap();
    let addr = info.envd_addr.unwrap();
    start_background(&harness, addr, COUNTER).await;
    let counter = harness.layout.capsule_dir(&id.to_string()).join("layer/upper/root/counter");
    wait_counter(&counter, 5).await;
    harness.manager().hibernate(id).await.unwrap();
    let frozen_at = read_counter(&counter);

    drop(harness.manager.take());
    let manager = harness.new_manager();
    let recovery = manager.recover().await.unwrap();
    assert_eq!(recovery.adopted, vec![id]);
    harness.manager = Some(manager);
    let manager = harness.manager();
    let adopted = manager.get(id).unwrap();
    assert_eq!((adopted.state, adopted.init_pid), (CapsuleState::Hibernated, None));
    assert_eq!(capsule_pids(&info), Vec::<String>::new());

    assert_eq!(manager.resume(id).await.unwrap().state, CapsuleState::Running);
    wait_counter(&counter, frozen_at + 5).await;
    assert_eq!(run(&harness, addr, "echo back").await, "back\n");
    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_dumps_keep_the_capsule_and_failed_restores_leave_nothing_running() {
    let Some(harness) = criu_harness().await else { return };
    let manager = harness.manager();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    let addr = info.envd_addr.unwrap();

    // CRIU refuses to dump a process holding a file lock without
    // --file-locks, which the agent does not pass.
    start_background(&harness, addr, "exec flock /tmp/lock sleep 600").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = manager.hibernate(id).await.unwrap_err();
    eprintln!("failed dump: {}", ErrorChain(&err));
    assert!(ErrorChain(&err).to_string().contains("Error ("), "CRIU's reason is missing: {}", ErrorChain(&err));
    assert_eq!(manager.get(id).unwrap().state, CapsuleState::Running);
    assert!(is_alive(info.init_pid.unwrap()));
    assert_eq!(harness.health(addr, Duration::from_secs(2)).await.unwrap(), 200);
    let unlock = "pkill -x flock; pkill -x sleep; while pgrep -x flock || pgrep -x sleep; do sleep 0.05; done >/dev/null; echo ok";
    assert_eq!(run(&harness, addr, unlock).await, "ok\n");

    // A damaged image: restore fails, the capsule is in error with CRIU's
    // reason, and nothing of it runs or stays mounted.
    manager.hibernate(id).await.unwrap();
    let images = harness.layout.capsule_dir(&id.to_string()).join("hibernate");
    std::fs::remove_file(images.join("inventory.img")).unwrap();
    let err = manager.resume(id).await.unwrap_err();
    eprintln!("failed restore: {}", ErrorChain(&err));
    assert!(ErrorChain(&err).to_string().contains("Error ("), "CRIU's reason is missing: {}", ErrorChain(&err));
    assert_eq!(manager.get(id).unwrap().state, CapsuleState::Error);
    assert_eq!(capsule_pids(&info), Vec::<String>::new());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains("/rootfs"), "restore mount left: {mountinfo}");
    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}

/// `HibernateCapsule` and `ResumeCapsule` over the real API (mTLS).
#[tokio::test(flavor = "multi_thread")]
async fn a_capsule_hibernates_and_resumes_through_the_api() {
    let Some(mut harness) = criu_harness().await else { return };
    let manager = Arc::new(harness.manager.take().unwrap());
    let pki = crate::rpc::pki();
    let client = crate::rpc::authorized(crate::rpc::serve(Arc::clone(&manager), &pki).await, &pki);
    let outcome = std::panic::AssertUnwindSafe(api_cycle(&client)).catch_unwind().await;
    // Whatever failed, leave no capsule behind.
    for info in manager.list() {
        let _ = manager.destroy(info.id).await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn api_cycle(client: &crate::rpc::Client) {
    let id = unique_id().to_string();
    let create = pb::CreateCapsuleRequest {
        capsule_id: id.clone(),
        template: "minimal".into(),
        vcpus: 1,
        memory_mb: 256,
        disk_mb: 256,
        default_user: "root".into(),
        ..Default::default()
    };
    client.create_capsule(create).await.unwrap();
    let hibernate = pb::HibernateCapsuleRequest { capsule_id: id.clone(), ..Default::default() };
    let hibernated = client.hibernate_capsule(hibernate).await.unwrap().into_owned().capsule.into_option().unwrap();
    assert_eq!(hibernated.state, pb::CapsuleState::CAPSULE_STATE_HIBERNATED);
    let echo = pb::ExecRequest {
        capsule_id: id.clone(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "echo hi".into()],
        timeout_sec: 30,
        ..Default::default()
    };
    assert_eq!(client.exec(echo.clone()).await.unwrap_err().code, ErrorCode::FailedPrecondition);
    let ping = pb::PingCapsuleRequest { capsule_id: id.clone(), ..Default::default() };
    assert_eq!(client.ping_capsule(ping).await.unwrap_err().code, ErrorCode::FailedPrecondition);
    let resume = pb::ResumeCapsuleRequest { capsule_id: id.clone(), ..Default::default() };
    let resumed = client.resume_capsule(resume).await.unwrap().into_owned().capsule.into_option().unwrap();
    assert_eq!(resumed.state, pb::CapsuleState::CAPSULE_STATE_RUNNING);
    assert_eq!(client.exec(echo).await.unwrap().into_owned().stdout, b"hi\n");
    let unknown = pb::HibernateCapsuleRequest { capsule_id: unique_id().to_string(), ..Default::default() };
    assert_eq!(client.hibernate_capsule(unknown).await.unwrap_err().code, ErrorCode::NotFound);
    client.destroy_capsule(pb::DestroyCapsuleRequest { capsule_id: id, ..Default::default() }).await.unwrap();
}

/// Ten hibernate/resume cycles of an envd capsule: p50 of each step and the
/// capsule's memory before and after (printed; the numbers are in
/// `docs/dev/hibernate.md`). A capsule created before the cycles is
/// destroyed after them: the restores' mount namespaces must not pin its
/// disk mount (its loop device must be released).
#[tokio::test(flavor = "multi_thread")]
async fn hibernate_and_restore_times() {
    let Some(harness) = criu_harness().await else { return };
    let manager = harness.manager();
    let bystander = manager.create(request(unique_id())).await.unwrap();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    let (mut hibernates, mut resumes) = (Vec::new(), Vec::new());
    let (mut running_bytes, mut hibernated_bytes) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        running_bytes.push(memory_usage(&info));
        let started = Instant::now();
        manager.hibernate(id).await.unwrap();
        hibernates.push(started.elapsed());
        hibernated_bytes.push(memory_usage(&info));
        let started = Instant::now();
        manager.resume(id).await.unwrap();
        resumes.push(started.elapsed());
    }
    assert_eq!(harness.health(info.envd_addr.unwrap(), Duration::from_secs(2)).await.unwrap(), 200);
    hibernates.sort();
    resumes.sort();
    running_bytes.sort();
    hibernated_bytes.sort();
    eprintln!(
        "hibernate p50 {:?} max {:?}; resume (restore + envd ready) p50 {:?} max {:?}; \
         memory cgroup p50 {} bytes running, {} bytes hibernated",
        hibernates[hibernates.len() / 2],
        hibernates[hibernates.len() - 1],
        resumes[resumes.len() / 2],
        resumes[resumes.len() - 1],
        running_bytes[running_bytes.len() / 2],
        hibernated_bytes[hibernated_bytes.len() / 2],
    );
    manager.destroy(bystander.id).await.unwrap();
    harness.assert_gone(&bystander);
    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}

fn cgroup_dir(info: &CapsuleInfo, controller: &str) -> PathBuf {
    Path::new(CGROUP_ROOT).join(controller).join(ContainerRuntime::cgroup_name(&info.id))
}

/// Pids in any of the capsule's cgroups.
fn capsule_pids(info: &CapsuleInfo) -> Vec<String> {
    CGROUP_CONTROLLERS
        .iter()
        .filter_map(|controller| std::fs::read_to_string(cgroup_dir(info, controller).join("cgroup.procs")).ok())
        .flat_map(|procs| procs.lines().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

fn memory_usage(info: &CapsuleInfo) -> u64 {
    let path = cgroup_dir(info, "memory").join("memory.usage_in_bytes");
    std::fs::read_to_string(&path).unwrap().trim().parse().unwrap()
}

fn read_counter(path: &Path) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0)
}

async fn wait_counter(path: &Path, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while read_counter(path) < at_least {
        assert!(Instant::now() < deadline, "counter at {} after 10 s, want {at_least}", read_counter(path));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `script` in the background through envd's process service; the
/// shell that started it exits at once.
async fn start_background(harness: &Harness, addr: std::net::SocketAddr, script: &str) {
    let wrapped = format!("({script}) </dev/null >/dev/null 2>&1 &");
    run(harness, addr, &wrapped).await;
}

/// Runs `sh -c script` through envd (`process.Process/Start`, Connect
/// streaming with JSON) and returns its stdout once it ended with status 0.
async fn run(harness: &Harness, addr: std::net::SocketAddr, script: &str) -> String {
    let request = serde_json::json!({
        "process": { "cmd": "/bin/sh", "args": ["-c", script] },
        "stdin": false,
    });
    let payload = serde_json::to_vec(&request).unwrap();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    body.extend_from_slice(&payload);
    let response = harness
        .http
        .post(format!("http://{addr}/process.Process/Start"))
        .header("content-type", "application/connect+json")
        .header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("root:")))
        .timeout(Duration::from_secs(20))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let bytes = response.bytes().await.unwrap();
    let (mut stdout, mut stderr, mut rest) = (Vec::new(), Vec::new(), &bytes[..]);
    let mut exit = None;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        let (flags, message) = (rest[0], &rest[5..5 + len]);
        rest = &rest[5 + len..];
        let message: serde_json::Value = serde_json::from_slice(message).unwrap();
        if flags & 2 != 0 {
            assert!(message.get("error").is_none(), "{script}: stream ended with {message}");
            break;
        }
        let event = &message["event"];
        if let Some(data) = event["data"]["stdout"].as_str() {
            stdout.extend(base64::engine::general_purpose::STANDARD.decode(data).unwrap());
        }
        if let Some(data) = event["data"]["stderr"].as_str() {
            stderr.extend(base64::engine::general_purpose::STANDARD.decode(data).unwrap());
        }
        if event.get("end").is_some() {
            exit = Some(event["end"].clone());
        }
    }
    let exit = exit.expect("no end event");
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(exit.get("exitCode").is_none_or(|code| code == 0), "{script}: {exit} {stderr}");
    String::from_utf8(stdout).unwrap()
}
