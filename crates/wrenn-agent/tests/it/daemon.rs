//! The `wrenn-agent` binary as a real child process, over real mTLS, with
//! real capsules: killed with SIGKILL, its capsules keep running; started
//! again on the same data dir, it adopts them (same init, same files, exec
//! works); destroying them through the API and stopping the agent then
//! leaves nothing on the host (`crate::leaks`).
//!
//! The agent installs the host firewall at start (as in production) and
//! keeps it when it stops; the test removes it afterwards if it was not
//! there before, and holds the network tests' lock throughout (through
//! `capsule::harness`) because the agent's recovery sweeps every stale
//! `wrenn-*` network on the host.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use wrenn_agent::capsule::ENVD_PORT;
use wrenn_agent::layout::Layout;
use wrenn_agent::network::NetworkManager;
use wrenn_agent::runtime::container::launch::PID_FILE;
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::CapsuleId;

use crate::capsule::{Harness, harness};
use crate::container::{is_alive, unique_id};
use crate::leaks::Census;
use crate::rpc::{Client, Pki, authorized, pki};

/// How long an agent may take from exec to serving (recovery included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_agent_is_restarted_and_adopts_its_capsules() {
    let Some(mut harness) = harness(|_| {}).await else { return };
    let Some(envd) = crate::built_envd() else { return };
    // The agent process is the manager here; this one only cleans up below.
    drop(harness.manager.take());
    let data_dir = harness.layout.data_dir().to_owned();
    let baseline = Census::take(&data_dir, &[]);
    let tls = tempfile::tempdir().unwrap();
    let pki = pki();
    write_pki(tls.path(), &pki);
    let ids = [unique_id(), unique_id()];

    let setup = Setup { harness: &harness, tls: tls.path(), pki: &pki, envd: &envd };
    let outcome = std::panic::AssertUnwindSafe(crash_and_adopt(&setup, &ids, &baseline)).catch_unwind().await;

    // Whatever failed (the agent child is killed by its drop): adopt and
    // destroy what is left, and put the firewall back as it was.
    let manager = harness.new_manager();
    if let Ok(recovery) = manager.recover().await {
        for id in recovery.adopted {
            let _ = manager.destroy(id).await;
        }
    }
    harness.manager = Some(manager);
    if baseline.firewall.is_empty() {
        NetworkManager::new().remove_host_rules().await.unwrap();
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(Census::take(&data_dir, &ids).added_since(&baseline), Vec::<String>::new());
}

struct Setup<'a> {
    harness: &'a Harness,
    tls: &'a Path,
    pki: &'a Pki,
    envd: &'a Path,
}

async fn crash_and_adopt(setup: &Setup<'_>, ids: &[CapsuleId; 2], baseline: &Census) {
    let data_dir = setup.harness.layout.data_dir();
    let agent = Agent::start(setup);
    // The agent's table, and no capsule yet.
    let installed = Census::take(data_dir, &[]);
    let client = authorized(agent.addr, setup.pki);
    for id in ids {
        let create = pb::CreateCapsuleRequest {
            capsule_id: id.to_string(),
            template: "minimal".into(),
            vcpus: 1,
            memory_mb: 256,
            disk_mb: 256,
            default_user: "root".into(),
            ..Default::default()
        };
        let capsule = client.create_capsule(create).await.unwrap().into_owned().capsule.into_option().unwrap();
        assert_eq!(capsule.state, pb::CapsuleState::CAPSULE_STATE_RUNNING);
    }
    assert_eq!(exec(&client, ids[0], "echo alive > /root/mark && echo ok").await, "ok\n");
    // The census sees running capsules in every kind it counts (so that an
    // empty difference at the end means something).
    let busy = Census::take(data_dir, ids).added_since(&installed);
    for kind in ["mount", "netns", "link", "cgroup", "loop", "capsule dir", "process"] {
        assert!(busy.iter().any(|line| line.starts_with(&format!("{kind}: "))), "no {kind} in {busy:#?}");
    }
    let pids: Vec<u32> = ids.iter().map(|id| init_pid(data_dir, id)).collect();
    let envds = envd_addrs(&client, ids).await;

    agent.kill();
    for (pid, envd) in pids.iter().zip(&envds) {
        assert!(is_alive(*pid), "capsule init {pid} died with the agent");
        let health = setup.harness.health(*envd, Duration::from_secs(2)).await;
        assert_eq!(health.ok(), Some(200), "envd at {envd} without an agent");
    }

    let agent = Agent::start(setup);
    assert!(agent.recovered.contains("adopted=2"), "{}", agent.recovered);
    let client = authorized(agent.addr, setup.pki);
    let listed = client.list_capsules(pb::ListCapsulesRequest::default()).await.unwrap().into_owned().capsules;
    let mut running: Vec<String> = listed
        .iter()
        .filter(|capsule| capsule.state == pb::CapsuleState::CAPSULE_STATE_RUNNING)
        .map(|capsule| capsule.capsule_id.clone())
        .collect();
    running.sort();
    let mut want: Vec<String> = ids.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!((running, listed.len()), (want, ids.len()), "{listed:?}");
    assert_eq!(exec(&client, ids[0], "cat /root/mark").await, "alive\n");
    assert_eq!(exec(&client, ids[1], "echo ok").await, "ok\n");
    for (id, pid) in ids.iter().zip(&pids) {
        assert_eq!(init_pid(data_dir, id), *pid, "capsule {id} has a new init");
    }

    for id in ids {
        let destroy = pb::DestroyCapsuleRequest { capsule_id: id.to_string(), ..Default::default() };
        client.destroy_capsule(destroy).await.unwrap();
    }
    let listed = client.list_capsules(pb::ListCapsulesRequest::default()).await.unwrap().into_owned().capsules;
    assert!(listed.is_empty(), "{listed:?}");
    agent.stop();
    for pid in &pids {
        assert!(!is_alive(*pid), "init {pid} outlived its capsule");
    }

    let after = Census::take(data_dir, ids);
    assert_eq!(after.added_since_except_firewall(baseline), Vec::<String>::new());
    assert_eq!(after.firewall, installed.firewall, "the firewall holds nothing per capsule");
}

/// A `wrenn-agent` child process, killed when dropped.
struct Agent {
    child: Child,
    addr: SocketAddr,
    /// The log line reporting what the agent recovered at start.
    recovered: String,
}

impl Agent {
    /// Starts the agent on a free port and waits until it serves.
    fn start(setup: &Setup<'_>) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wrenn-agent"))
            .arg("--data-dir")
            .arg(setup.harness.layout.data_dir())
            .args(["--listen", "127.0.0.1:0", "--base-templates", ""])
            .arg("--tls-cert")
            .arg(setup.tls.join("server.pem"))
            .arg("--tls-key")
            .arg(setup.tls.join("server.key"))
            .arg("--client-ca")
            .arg(setup.tls.join("ca.pem"))
            .arg("--launcher")
            .arg(env!("CARGO_BIN_EXE_wrenn-launch"))
            .arg("--envd")
            .arg(setup.envd)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[wrenn-agent] {line}");
                let _ = lines_tx.send(line);
            }
        });
        let mut agent = Agent { child, addr: SocketAddr::from(([0, 0, 0, 0], 0)), recovered: String::new() };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(wait).expect("the agent exited or did not serve in time");
            if line.contains("recovered") {
                agent.recovered = line;
            } else if line.contains("serving the agent API") {
                let addr = line.split_whitespace().find_map(|word| word.strip_prefix("addr="));
                agent.addr = addr.and_then(|addr| addr.parse().ok()).expect("the serving line names the address");
                return agent;
            }
        }
    }

    /// `kill -9`: the agent gets no chance to do anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and the agent exits cleanly in time.
    fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "agent exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "agent still running 15 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_pki(dir: &Path, pki: &Pki) {
    for (name, pem) in
        [("ca.pem", &pki.ca_pem), ("server.pem", &pki.server_cert_pem), ("server.key", &pki.server_key_pem)]
    {
        std::fs::write(dir.join(name), pem).unwrap();
    }
}

/// Runs `script` under `/bin/sh -c` in the capsule; returns its stdout.
async fn exec(client: &Client, id: CapsuleId, script: &str) -> String {
    let request = pb::ExecRequest {
        capsule_id: id.to_string(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        timeout_sec: 30,
        ..Default::default()
    };
    let output = client.exec(request).await.unwrap().into_owned();
    assert_eq!(output.exit_code, 0, "{script}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The host pid of the capsule's init, as the runtime recorded it.
fn init_pid(data_dir: &Path, id: &CapsuleId) -> u32 {
    let path: PathBuf = Layout::new(data_dir).capsule_dir(&id.to_string()).join(PID_FILE);
    std::fs::read_to_string(&path).unwrap().trim().parse().unwrap()
}

/// Where each capsule's envd listens, as the API reports it.
async fn envd_addrs(client: &Client, ids: &[CapsuleId]) -> Vec<SocketAddr> {
    let listed = client.list_capsules(pb::ListCapsulesRequest::default()).await.unwrap().into_owned().capsules;
    ids.iter()
        .map(|id| {
            let capsule = listed.iter().find(|capsule| capsule.capsule_id == id.to_string()).unwrap();
            SocketAddr::new(capsule.address.parse::<IpAddr>().unwrap(), ENVD_PORT)
        })
        .collect()
}
