//! A `wrenn up` for the CLI tests: its own data dir under `/var/tmp`, the
//! cached `minimal` template hard-linked in, a free port and a known key.
//! Dropping it destroys every capsule it still has, stops the server and
//! removes the data dir.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const KEY: &str = "wrn_cli_test_0123456789abcdef0123";
const NETWORK_LOCK: &str = "/tmp/wrenn-network-tests.lock";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running node and a client for it.
pub(crate) struct Node {
    child: Child,
    pub(crate) base_url: String,
    data_dir: PathBuf,
    /// An empty config dir, so no developer profile leaks into the tests.
    pub(crate) config_dir: tempfile::TempDir,
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) client: wrenn_client::Client,
    _lock: File,
}

impl Node {
    /// Starts the node, or says why the test is skipped and returns `None`.
    pub(crate) fn start() -> Option<Node> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            assert!(std::env::var_os("CI").is_none(), "CI runs this test as root");
            eprintln!("skipped: needs root");
            return None;
        }
        let wrenn = wrenn_bin();
        if !wrenn.with_file_name("wrenn-launch").is_file() || !wrenn.with_file_name("envd").is_file() {
            assert!(std::env::var_os("CI").is_none(), "CI builds wrenn-launch and envd before the tests");
            eprintln!("skipped: build wrenn-launch and envd first (cargo build -p wrenn-agent -p wrenn-envd)");
            return None;
        }
        let cache = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE").map(PathBuf::from);
        let Some(template) = cache.map(|cache| cache.join("templates/minimal")).filter(|path| path.is_dir()) else {
            assert!(std::env::var_os("CI").is_none(), "CI sets WRENN_TEST_TEMPLATE_CACHE");
            eprintln!("skipped: set WRENN_TEST_TEMPLATE_CACHE to a dir holding templates/minimal");
            return None;
        };
        let lock = network_lock();
        let data_dir = PathBuf::from(format!("/var/tmp/wrenn-cli-test-{}", std::process::id()));
        let templates = data_dir.join("agent/templates");
        std::fs::create_dir_all(&templates).unwrap();
        let linked = Command::new("cp").arg("-al").arg(&template).arg(&templates).status().unwrap();
        if !linked.success() {
            assert!(Command::new("cp").arg("-a").arg(&template).arg(&templates).status().unwrap().success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = File::create(data_dir.join("wrenn.log")).unwrap();
        let child = Command::new(&wrenn)
            .args(["up", "--data-dir"])
            .arg(&data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--base-templates", "minimal"])
            .env("WRENN_BOOTSTRAP_API_KEY", KEY)
            .env("WRENN_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let base_url = format!("http://127.0.0.1:{port}");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let client = wrenn_client::Client::builder().base_url(&base_url).api_key(KEY).build().unwrap();
        let node =
            Node { child, base_url, data_dir, config_dir: tempfile::tempdir().unwrap(), runtime, client, _lock: lock };
        node.wait_ready();
        Some(node)
    }

    /// `wrenn` with this node's URL and key in the environment, and no
    /// profile of the developer's.
    pub(crate) fn wrenn(&self) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(wrenn_bin());
        command
            .env("WRENN_BASE_URL", &self.base_url)
            .env("WRENN_API_KEY", KEY)
            .env("WRENN_CONFIG_DIR", self.config_dir.path())
            .env_remove("WRENN_PROFILE")
            .env_remove("WRENN_LOG")
            .timeout(Duration::from_secs(120));
        command
    }

    /// Runs a client call on the node's runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The server's log so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("wrenn.log")).unwrap_or_default()
    }

    /// The capsule ids the team has that are not stopped.
    pub(crate) fn live_capsules(&self) -> Vec<String> {
        let capsules = self.block_on(self.client.capsules().list()).unwrap();
        capsules.into_iter().filter(|capsule| capsule.status.as_str() != "stopped").map(|capsule| capsule.id).collect()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ready = self.block_on(async {
                let templates = self.client.snapshots().list(None).await.ok()?;
                templates.iter().any(|template| template.name == "minimal").then_some(())
            });
            if ready.is_some() {
                return;
            }
            assert!(Instant::now() < deadline, "wrenn up not ready in {START_TIMEOUT:?}; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let client = self.client.clone();
        let leftover = self.runtime.block_on(async move {
            let ids: Vec<String> =
                client.capsules().list().await.map(|all| all.into_iter().map(|c| c.id).collect()).unwrap_or_default();
            for id in &ids {
                let _ = client.capsules().destroy(id).await;
            }
            for id in &ids {
                let _ =
                    client.capsules().wait_for(id, wrenn_client::CapsuleStatus::Stopped, Duration::from_secs(30)).await;
            }
            ids
        });
        if !leftover.is_empty() {
            eprintln!("destroyed capsules a scenario left behind: {leftover:?}");
        }
        // SAFETY: kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("rm").arg("-rf").arg("--one-file-system").arg(&self.data_dir).status();
    }
}

pub(crate) fn wrenn_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wrenn"))
}

/// Takes the agent tests' network lock (released when the file closes).
fn network_lock() -> File {
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(NETWORK_LOCK).unwrap();
    // SAFETY: the descriptor is open for the whole call; flock only locks it.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {NETWORK_LOCK}: {}", std::io::Error::last_os_error());
    file
}

/// Creates a capsule through the CLI and returns its id.
pub(crate) fn create_capsule(node: &Node) -> String {
    let output = node.wrenn().args(["capsule", "create", "--template", "minimal", "--json"]).output().unwrap();
    assert!(output.status.success(), "create failed: {}\n{}", String::from_utf8_lossy(&output.stderr), node.log());
    let capsule: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(capsule["status"], "running", "{capsule}");
    capsule["id"].as_str().unwrap().to_owned()
}

/// A failed command's output: a non-zero exit, exactly one line on stderr
/// starting with `error:`, nothing that looks like a panic or backtrace.
pub(crate) fn assert_one_error_line(output: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{what}: expected a failure, got {:?}; stderr {stderr}", output.status);
    assert_eq!(stderr.lines().count(), 1, "{what}: expected one line, got:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{what}: {stderr}");
}
