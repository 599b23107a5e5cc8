//! The fleet as an operator runs it: `wrenn control-plane` and two `wrenn
//! host-agent`s as separate processes, each agent on a simulated machine
//! of its own (`machine`). Hosts are created over the API, register with
//! their tokens and heartbeat; capsules spread over both; `kill -9` of one
//! agent turns its capsules `missing` while the other host serves on; the
//! restarted agent (from its saved credentials) gets them back `running`
//! at its first heartbeat, long before the reconciler's next pass; 50
//! concurrent creates never over-admit; a deleted host's agent forgets its
//! credentials and stops.
//!
//! Needs root, the built `wrenn-launch` and `envd` next to `wrenn`, and
//! `WRENN_TEST_TEMPLATE_CACHE` holding `templates/minimal`; skipped
//! otherwise (CI has all three).

#![allow(clippy::tests_outside_test_module, clippy::print_stderr, clippy::disallowed_methods)]

mod api;
mod machine;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::Api;
use crate::machine::{Machine, run};

const KEY: &str = "wrn_fleet_test_0123456789abcdef01";
const NETWORK_LOCK: &str = "/tmp/wrenn-network-tests.lock";
/// The control plane's host timeout; agents heartbeat every second.
const HOST_TIMEOUT_SECS: u64 = 3;
/// Longer than the whole test: a capsule back `running` within seconds of
/// its agent's restart was reconciled by the heartbeat, not by this pass.
const RECONCILE_INTERVAL_SECS: u64 = 600;
const AGENT_PORT: u16 = 7000;

struct Prerequisites {
    wrenn: PathBuf,
    envd: PathBuf,
    template: PathBuf,
}

fn prerequisites() -> Option<Prerequisites> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return None;
    }
    let wrenn = PathBuf::from(env!("CARGO_BIN_EXE_wrenn"));
    let (launcher, envd) = (wrenn.with_file_name("wrenn-launch"), wrenn.with_file_name("envd"));
    if !launcher.is_file() || !envd.is_file() {
        eprintln!("skipped: build wrenn-launch and envd first (cargo build -p wrenn-agent -p wrenn-envd)");
        return None;
    }
    let cache = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE").map(PathBuf::from);
    let Some(template) = cache.map(|cache| cache.join("templates/minimal")).filter(|path| path.is_dir()) else {
        eprintln!("skipped: set WRENN_TEST_TEMPLATE_CACHE to a dir holding templates/minimal");
        return None;
    };
    Some(Prerequisites { wrenn, envd, template })
}

/// The control plane process; killed on drop.
struct ControlPlane {
    child: Child,
    log: PathBuf,
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- control plane log ---\n{log}");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's private mounts; unmounted on drop (after the machines).
struct PrivateDir(PathBuf);

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Where the control plane keeps its state: SQLite in the test's dir, or
/// PostgreSQL and Redis Streams as a fleet runs it.
enum Backend {
    Sqlite,
    PostgresRedis,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sqlite_two_hosts_serve_survive_a_crash_and_never_over_admit() {
    fleet(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_and_redis_two_hosts_serve_survive_a_crash_and_never_over_admit() {
    fleet(Backend::PostgresRedis).await;
}

async fn fleet(backend: Backend) {
    let Some(prerequisites) = prerequisites() else { return };
    let begun = Instant::now();
    let _lock = network_lock().await;
    let dir = tempfile::Builder::new().prefix("wrenn-fleet-").tempdir_in("/var/tmp").expect("a temporary dir");
    let Some(database) = Database::create(&backend, dir.path()) else { return };
    run("chmod", &["755", &dir.path().to_string_lossy()]);
    let ns_dir = dir.path().join("ns");
    std::fs::create_dir(&ns_dir).expect("the namespace dir");
    let ns = ns_dir.to_string_lossy().into_owned();
    run("mount", &["--bind", &ns, &ns]);
    run("mount", &["--make-private", &ns]);
    let _private = PrivateDir(ns_dir.clone());
    let mut machines = [Machine::create(&ns_dir, dir.path(), 0), Machine::create(&ns_dir, dir.path(), 1)];
    let control_plane = start_control_plane(&prerequisites, dir.path(), &database, &machines[0].gateway);
    let api = Api::new(format!("http://{}", ready_address(&control_plane)), KEY);

    // Two hosts, registered by their agents.
    let mut hosts = Vec::new();
    for machine in &mut machines {
        let created = api.ok("POST", "/v1/hosts", Some(json!({"type": "regular"}))).await;
        let token = created["registration_token"].as_str().expect("a token").to_owned();
        seed_template(&prerequisites, machine);
        start_agent(&prerequisites, machine, &api, Some(&token));
        hosts.push(created["host"]["id"].as_str().expect("a host id").to_owned());
    }
    for host in &hosts {
        api.wait_host(host, "online", Duration::from_secs(30)).await;
    }
    // The control plane learns the agents' base templates at their first heartbeat.
    let started = Instant::now();
    while !api.ok("GET", "/v1/snapshots", None).await.to_string().contains("\"minimal\"") {
        assert!(started.elapsed() < Duration::from_secs(20), "the minimal template is not listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each agent keeps what registration gave it (written right after the answer).
    let started = Instant::now();
    while !machines.iter().all(|machine| machine.data_dir.join("host-credentials.json").is_file()) {
        assert!(started.elapsed() < Duration::from_secs(10), "an agent did not save its credentials");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    eprintln!("[{:?}] Capsules spread", begun.elapsed());
    // Capsules spread over both hosts (least loaded first).
    let mut capsules = create_capsules(&api, 4).await;
    api.wait_capsules(&capsules, "running", Duration::from_secs(60)).await;
    let (on_a, on_b) = (api.capsules_on(&hosts[0]).await, api.capsules_on(&hosts[1]).await);
    assert_eq!((on_a.len(), on_b.len()), (2, 2), "placement: {on_a:?} {on_b:?}");
    for capsule in &capsules {
        api.sh(capsule, &format!("echo {capsule} > /root/note")).await;
    }

    eprintln!("[{:?}] kill -9 of one agent", begun.elapsed());
    // kill -9 of one agent: its capsules go missing, the other host serves on.
    machines[0].kill_agent();
    api.wait_host(&hosts[0], "unreachable", Duration::from_secs(HOST_TIMEOUT_SECS + 10)).await;
    api.wait_capsules(&on_a, "missing", Duration::from_secs(5)).await;
    for capsule in &on_b {
        assert_eq!(api.capsule_status(capsule).await, "running");
        assert_eq!(api.sh(capsule, "cat /root/note").await.trim(), capsule);
    }
    let (status, refused) = api.call("POST", &format!("/v1/capsules/{}/exec", on_a[0]), Some(sh("true"))).await;
    assert!(status >= 400, "a missing capsule cannot run commands: {refused}");

    eprintln!("[{:?}] Restarted from its saved", begun.elapsed());
    // Restarted from its saved credentials: back at its first heartbeat.
    let restarted = Instant::now();
    start_agent(&prerequisites, &mut machines[0], &api, None);
    let back_in = api.wait_capsules(&on_a, "running", Duration::from_secs(30)).await;
    eprintln!(
        "missing -> running {back_in:?} after the agent's restart (reconciler pass every {RECONCILE_INTERVAL_SECS} s)"
    );
    assert!(restarted.elapsed() < Duration::from_secs(20), "reconciled at the heartbeat, not at a pass");
    for capsule in &on_a {
        assert_eq!(api.sh(capsule, "cat /root/note").await.trim(), capsule, "the same capsule, adopted");
    }

    eprintln!("[{:?}] A snapshot lives", begun.elapsed());
    // Credentials (token, refresh token, server certificate) are renewed
    // while the agent serves; the control plane trusts the new certificate.
    let credentials = machines[1].data_dir.join("host-credentials.json");
    let certificate = |path: &Path| -> String {
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("credentials")).expect("JSON");
        saved["cert_pem"].as_str().expect("a certificate").to_owned()
    };
    let before = certificate(&credentials);
    let started = Instant::now();
    while certificate(&credentials) == before {
        assert!(started.elapsed() < Duration::from_secs(15), "the agent did not renew its certificate");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(api.sh(&on_b[1], "cat /root/note").await.trim(), on_b[1], "mTLS with the renewed certificate");

    // An idle capsule (the shortest timeout, 60 s), checked at the end: the
    // agent pauses it on its own and says so at once.
    let idle = if matches!(backend, Backend::Sqlite) {
        let created = api.ok("POST", "/v1/capsules", Some(json!({"template": "minimal", "timeout_sec": 60}))).await;
        let idle = vec![created["id"].as_str().expect("an id").to_owned()];
        api.wait_capsules(&idle, "running", Duration::from_secs(30)).await;
        Some((idle, Instant::now()))
    } else {
        None
    };

    // A snapshot lives on the host that took it: capsules from it go there.
    let snapshot = api.ok("POST", "/v1/snapshots", Some(json!({"sandbox_id": on_b[0], "name": "fleet-note"}))).await;
    assert_eq!(snapshot["name"], "fleet-note", "{snapshot}");
    api.wait_capsules(&on_b[..1], "running", Duration::from_secs(60)).await;
    let started = Instant::now();
    while !api.ok("GET", "/v1/snapshots", None).await.to_string().contains("\"fleet-note\"") {
        assert!(started.elapsed() < Duration::from_secs(60), "the snapshot is not listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut from_snapshot = Vec::new();
    for _ in 0..2 {
        let created = api.ok("POST", "/v1/capsules", Some(json!({"template": "fleet-note"}))).await;
        from_snapshot.push(created["id"].as_str().expect("an id").to_owned());
    }
    api.wait_capsules(&from_snapshot, "running", Duration::from_secs(60)).await;
    let on_b_now = api.capsules_on(&hosts[1]).await;
    for capsule in &from_snapshot {
        assert!(on_b_now.contains(capsule), "{capsule} runs where its snapshot is");
        assert_eq!(api.sh(capsule, "cat /root/note").await.trim(), on_b[0], "with the snapshot's files");
        api.ok("DELETE", &format!("/v1/capsules/{capsule}"), None).await;
    }
    api.wait_capsules(&from_snapshot, "stopped", Duration::from_secs(60)).await;

    // A capsule whose init dies (killed from its host) is reported at once:
    // stopped with the reason, and its remains destroyed.
    let crashed = on_b[1].clone();
    let capsule_dir = machines[1].data_dir.join("capsules").join(&crashed);
    let init = std::fs::read_to_string(capsule_dir.join("init.pid")).expect("the capsule's init pid");
    run("kill", &["-9", init.trim()]);
    api.wait_capsules(std::slice::from_ref(&crashed), "stopped", Duration::from_secs(10)).await;
    let view = api.ok("GET", &format!("/v1/capsules/{crashed}"), None).await;
    assert!(view["reason"].as_str().is_some_and(|reason| reason.contains("died")), "{view}");
    let started = Instant::now();
    while capsule_dir.exists() {
        assert!(started.elapsed() < Duration::from_secs(10), "the dead capsule's remains are not removed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    capsules.retain(|capsule| *capsule != crashed);

    eprintln!("[{:?}] 50 concurrent creates never", begun.elapsed());
    // 50 concurrent creates never over-admit either host.
    over_admission(&api, &hosts).await;

    eprintln!("[{:?}] Clean up through the API", begun.elapsed());
    if let Some((idle, running_since)) = idle {
        api.wait_capsules(&idle, "paused", Duration::from_secs(90)).await;
        let after = running_since.elapsed();
        eprintln!("auto-pause seen {after:?} after the capsule ran (timeout 60 s, reconciler pass every 600 s)");
        assert!(after < Duration::from_secs(75), "the agent's report, not the reconciler, paused it");
        api.ok("DELETE", &format!("/v1/capsules/{}", idle[0]), None).await;
        api.wait_capsules(&idle, "stopped", Duration::from_secs(30)).await;
    }

    // Clean up through the API; a deleted host's agent forgets and stops.
    for capsule in &capsules {
        api.ok("DELETE", &format!("/v1/capsules/{capsule}"), None).await;
    }
    api.wait_capsules(&capsules, "stopped", Duration::from_secs(60)).await;
    for (machine, host) in machines.iter_mut().zip(&hosts) {
        api.ok("DELETE", &format!("/v1/hosts/{host}"), None).await;
        let agent = machine.agent.as_mut().expect("an agent");
        let status = wait_exit(agent, Duration::from_secs(15));
        assert!(!status.success(), "the agent of a deleted host stops with an error");
        assert!(!machine.data_dir.join("host-credentials.json").exists(), "and forgets its credentials");
        machine.agent = None;
        let leftovers = std::fs::read_dir(machine.data_dir.join("capsules")).map_or(0, Iterator::count);
        assert_eq!(leftovers, 0, "no capsule dir is left on {}", machine.name);
    }
    drop(control_plane);
}

/// Fills both hosts with big capsules from 50 concurrent creates: exactly
/// what fits is admitted, the rest refused with 503 and nothing stored.
async fn over_admission(api: &Api, hosts: &[String]) {
    const MEMORY_MB: u64 = 4096;
    const DISK_MB: u64 = 256;
    let mut room = 0;
    for host in hosts {
        let view = api.ok("GET", &format!("/v1/hosts/{host}"), None).await;
        let memory = view["memory_mb"].as_u64().expect("memory") - 512;
        let used = api.capsules_on(host).await.len() as u64 * 512;
        room += (memory - used) / MEMORY_MB;
    }
    let before = api.ok("GET", "/v1/capsules", None).await.as_array().expect("a list").len();
    let creates = (0..50).map(|_| {
        let api = api.clone();
        tokio::spawn(async move {
            let body = json!({"template": "minimal", "memory_mb": MEMORY_MB, "disk_mb": DISK_MB});
            api.call("POST", "/v1/capsules", Some(body)).await
        })
    });
    let answers = futures_join(creates).await;
    let admitted: Vec<String> = answers
        .iter()
        .filter(|(status, _)| *status == 202 || *status == 201)
        .map(|(_, body)| body["id"].as_str().expect("an id").to_owned())
        .collect();
    for (status, body) in answers.iter().filter(|(status, _)| *status != 202 && *status != 201) {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["error"]["code"], "host_unavailable", "{body}");
    }
    eprintln!("50 concurrent creates of {MEMORY_MB} MiB: {} admitted, room for {room}", admitted.len());
    assert_eq!(admitted.len() as u64, room, "exactly what fits is admitted");
    let after = api.ok("GET", "/v1/capsules", None).await.as_array().expect("a list").len();
    assert_eq!(after, before + admitted.len(), "a refused create leaves no row");
    api.wait_capsules(&admitted, "running", Duration::from_secs(120)).await;
    for host in hosts {
        let view = api.ok("GET", &format!("/v1/hosts/{host}"), None).await;
        let on_host = api.capsules_on(host).await;
        let big = on_host.iter().filter(|id| admitted.contains(id)).count() as u64;
        let small = on_host.len() as u64 - big;
        let limit = view["memory_mb"].as_u64().expect("memory") - 512;
        assert!(big * MEMORY_MB + small * 512 <= limit, "host {host} is over-admitted");
    }
    for capsule in &admitted {
        api.ok("DELETE", &format!("/v1/capsules/{capsule}"), None).await;
    }
    api.wait_capsules(&admitted, "stopped", Duration::from_secs(120)).await;
}

async fn futures_join<T: Send + 'static>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        out.push(task.await.expect("a create task"));
    }
    out
}

async fn create_capsules(api: &Api, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let created = api.ok("POST", "/v1/capsules", Some(json!({"template": "minimal"}))).await;
        ids.push(created["id"].as_str().expect("an id").to_owned());
    }
    ids
}

fn sh(script: &str) -> serde_json::Value {
    json!({"cmd": "/bin/sh", "args": ["-c", script], "timeout_sec": 5})
}

/// The control plane's database (and Redis, for PostgreSQL); a PostgreSQL
/// database is dropped on drop.
struct Database {
    url: String,
    redis_url: Option<String>,
    postgres: Option<(String, String)>,
}

impl Database {
    /// `None` (skipped) when PostgreSQL is not reachable outside CI.
    fn create(backend: &Backend, dir: &Path) -> Option<Database> {
        match backend {
            Backend::Sqlite => Some(Database {
                url: format!("sqlite://{}/cp.db?mode=rwc", dir.display()),
                redis_url: None,
                postgres: None,
            }),
            Backend::PostgresRedis => {
                let admin = std::env::var("WRENN_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let name = format!("wrenn_fleet_{}", std::process::id());
                let _ = psql(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                if let Err(error) = psql(&admin, &format!("CREATE DATABASE {name}")) {
                    assert!(std::env::var_os("CI").is_none(), "PostgreSQL is needed in CI: {error}");
                    eprintln!("skipped: no PostgreSQL at {admin}: {error}");
                    return None;
                }
                let (base, _) = admin.rsplit_once('/').expect("a database URL ends in /<database>");
                let redis =
                    std::env::var("WRENN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
                Some(Database { url: format!("{base}/{name}"), redis_url: Some(redis), postgres: Some((admin, name)) })
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            let _ = psql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|error| format!("psql: {error}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

fn start_control_plane(prerequisites: &Prerequisites, dir: &Path, database: &Database, gateway: &str) -> ControlPlane {
    let log = dir.join("control-plane.log");
    let mut command = std::process::Command::new(&prerequisites.wrenn);
    if let Some(redis) = &database.redis_url {
        command.env("REDIS_URL", redis);
    }
    let child = command
        .arg("control-plane")
        .args(["--listen", &format!("{gateway}:0")])
        .args(["--database-url", &database.url])
        .args(["--ca-dir", &dir.join("ca").to_string_lossy()])
        .args(["--api-key-file", &dir.join("api-key").to_string_lossy()])
        .args(["--host-timeout-secs", &HOST_TIMEOUT_SECS.to_string()])
        .args(["--reconcile-interval-secs", &RECONCILE_INTERVAL_SECS.to_string()])
        .env("WRENN_BOOTSTRAP_API_KEY", KEY)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("the control plane's log"))
        .spawn()
        .expect("start wrenn control-plane");
    ControlPlane { child, log }
}

/// The address from the control plane's ready line.
fn ready_address(control_plane: &ControlPlane) -> String {
    let stdout = control_plane.child.stdout.as_ref().expect("piped stdout").as_raw_fd();
    // SAFETY: dup gives this reader its own descriptor of the open pipe.
    let fd = unsafe { libc::dup(stdout) };
    assert!(fd >= 0, "dup the control plane's stdout");
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let reader = BufReader::new(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    for line in reader.lines() {
        let line = line.expect("read the control plane's stdout");
        if let Some(rest) = line.strip_prefix("wrenn is up: http://") {
            return rest.split_whitespace().next().expect("an address").to_owned();
        }
    }
    panic!(
        "the control plane exited before it was ready; log:\n{}",
        std::fs::read_to_string(&control_plane.log).unwrap_or_default()
    );
}

/// The minimal template, hard-linked from the cache (the agent replaces
/// files by rename, never in place).
fn seed_template(prerequisites: &Prerequisites, machine: &Machine) {
    let templates = machine.data_dir.join("templates");
    std::fs::create_dir_all(&templates).expect("the templates dir");
    let target = templates.join("minimal");
    let (source, target) = (prerequisites.template.to_string_lossy(), target.to_string_lossy());
    if std::process::Command::new("cp")
        .args(["-al", &source, &target])
        .status()
        .map_or(true, |status| !status.success())
    {
        run("cp", &["-a", &source, &target]);
    }
}

fn start_agent(prerequisites: &Prerequisites, machine: &mut Machine, api: &Api, token: Option<&str>) {
    // The template store may replace envd by rename: a copy keeps the build's.
    let envd = machine.data_dir.join("envd");
    std::fs::copy(&prerequisites.envd, &envd).expect("copy envd");
    let log = File::options().create(true).append(true).open(machine.data_dir.join("agent.log")).expect("a log");
    let mut command = machine.command(&prerequisites.wrenn);
    command
        .arg("host-agent")
        .args(["--control-plane", &api.base])
        .args(["--data-dir", &machine.data_dir.to_string_lossy()])
        .args(["--listen", &format!("{}:{AGENT_PORT}", machine.ip)])
        .args(["--envd", &envd.to_string_lossy()])
        .args(["--base-templates", "minimal"])
        .args(["--heartbeat-interval-secs", "1"])
        .args(["--credentials-refresh-secs", "2"])
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().expect("the log"))
        .stderr(log);
    if let Some(token) = token {
        command.args(["--register", token]);
    }
    machine.agent = Some(command.spawn().expect("start wrenn host-agent"));
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the agent's status") {
            return status;
        }
        assert!(started.elapsed() < limit, "the agent did not stop within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Takes the privileged tests' lock (released when the file closes).
async fn network_lock() -> File {
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(NETWORK_LOCK).unwrap();
    tokio::task::spawn_blocking(move || {
        // SAFETY: the descriptor is open for the whole call; flock only locks it.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {NETWORK_LOCK}: {}", std::io::Error::last_os_error());
        file
    })
    .await
    .unwrap()
}
