//! `wrenn up` as an operator runs it: the built binary on a fresh data dir,
//! with the bootstrap key from the environment. It serves the API with that
//! key, keeps the key in a private file, and stops cleanly on SIGTERM.
//!
//! Needs root (the agent sets up capsule networking at start): skipped
//! otherwise, but CI must run it. Starts no capsule (the SDK conformance
//! suite does), so no base template is built.

#![allow(clippy::tests_outside_test_module, clippy::print_stderr, clippy::disallowed_methods)]

use std::fs::File;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "wrn_up_test_0123456789abcdef0123";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// The lock the agent's privileged tests hold while they change the host's
/// network: the agent started here installs its firewall too.
const NETWORK_LOCK: &str = "/tmp/wrenn-network-tests.lock";

/// The server process; killed if the test ends without stopping it.
struct Server {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("wrenn exited with {status} during the test; log:\n{}", self.log());
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Takes the agent tests' network lock (released when the file closes).
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A stand-in for a binary the agent only checks for: this test starts no capsule.
fn placeholder(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, b"").unwrap();
    path
}

#[tokio::test]
async fn up_serves_the_api_with_the_bootstrap_key_and_stops_on_sigterm() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs this test as root");
        eprintln!("skipped (needs root)");
        return;
    }
    let _lock = network_lock().await;
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let port = free_port();
    let log = scratch.path().join("wrenn.log");
    let child = Command::new(env!("CARGO_BIN_EXE_wrenn"))
        .arg("up")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--base-templates", ""])
        .arg("--launcher")
        .arg(placeholder(scratch.path(), "wrenn-launch"))
        .arg("--envd")
        .arg(placeholder(scratch.path(), "envd"))
        .env("WRENN_BOOTSTRAP_API_KEY", KEY)
        .env("WRENN_LOG", "info")
        .stdin(Stdio::null())
        .stdout(File::create(&log).unwrap())
        .stderr(File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server { child, log };
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        server.assert_running();
        match http.get(format!("{base}/health")).send().await {
            Ok(response) if response.status() == 200 => break,
            _ => {}
        }
        assert!(Instant::now() < deadline, "no /health in {START_TIMEOUT:?}; log:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let listed = http.get(format!("{base}/v1/capsules")).header("X-API-Key", KEY).send().await.unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.json::<serde_json::Value>().await.unwrap(), serde_json::json!([]));
    let anonymous = http.get(format!("{base}/v1/capsules")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = http.get(format!("{base}/v1/capsules")).header("X-API-Key", "wrn_not_the_key_000000").send().await;
    assert_eq!(wrong.unwrap().status(), 401);

    let key_file = data_dir.join("api-key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), KEY);
    let log_text = server.log();
    assert!(log_text.contains(&format!("wrenn is up: http://127.0.0.1:{port}")), "no ready line in:\n{log_text}");
    assert!(!log_text.contains(KEY), "the operator's key must not be logged");
    assert!(data_dir.join("agent").is_dir());
    assert!(data_dir.join("node.json").is_file());

    let pid = libc::pid_t::try_from(server.child.id()).unwrap();
    // SAFETY: plain kill(2) of our own child, which has not been reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + STOP_TIMEOUT;
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running {STOP_TIMEOUT:?} after SIGTERM; log:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "wrenn exited with {status}; log:\n{}", server.log());
}
