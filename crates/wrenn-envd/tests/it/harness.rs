//! One envd per test: `TestEnvd::start()` binds 127.0.0.1:0 with a fresh
//! temporary `--root`, and hands out clients for every surface.
//!
//! Most tests serve envd inside the test process. Tests that measure envd's
//! own memory use `TestEnvd::spawn_process()` instead: the test binary runs
//! many tests at once, so its RSS says nothing about one envd.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use connectrpc::client::{ClientConfig, HttpClient};
use tokio::sync::oneshot;
use wrenn_envd::config::Config;
use wrenn_envd::server::Envd;
use wrenn_proto::envd::{filesystem, process};

pub(crate) struct TestEnvd {
    pub(crate) addr: SocketAddr,
    root: tempfile::TempDir,
    server: Server,
}

enum Server {
    InProcess { stop: Option<oneshot::Sender<()>>, task: Option<tokio::task::JoinHandle<anyhow::Result<()>>> },
    Child(std::process::Child),
}

impl TestEnvd {
    pub(crate) async fn start() -> TestEnvd {
        let root = tempfile::tempdir().expect("temp dir");
        let config = Config::for_dev("127.0.0.1:0".parse().unwrap(), Some(root.path().to_path_buf())).expect("config");
        let envd = Envd::bind(config).await.expect("bind");
        let addr = envd.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(envd.serve(async move {
            let _ = stopped.await;
        }));
        TestEnvd { addr, root, server: Server::InProcess { stop: Some(stop), task: Some(task) } }
    }

    /// Runs the `envd` binary as a child process, ready when this returns.
    pub(crate) async fn spawn_process() -> TestEnvd {
        let root = tempfile::tempdir().expect("temp dir");
        // The port is picked by binding and releasing it: a race with other
        // binders is possible but needs another process to pick the same
        // ephemeral port within milliseconds.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_envd"))
            .args(["--dev", "--listen", "127.0.0.1", "--port", &port.to_string(), "--root"])
            .arg(root.path())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("spawning envd");
        let envd = TestEnvd { addr: SocketAddr::from(([127, 0, 0, 1], port)), root, server: Server::Child(child) };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while envd.http().get(envd.url("/health")).send().await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "envd did not answer /health in 20 s");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        envd
    }

    /// The envd process's resident memory now, for envds from `spawn_process`.
    pub(crate) fn child_rss_kib(&self) -> u64 {
        self.child_status_kib("VmRSS:")
    }

    /// The envd process's peak resident memory so far.
    pub(crate) fn child_peak_rss_kib(&self) -> u64 {
        self.child_status_kib("VmHWM:")
    }

    fn child_status_kib(&self, field: &str) -> u64 {
        let Server::Child(child) = &self.server else { panic!("envd runs in the test process") };
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let line = status.lines().find_map(|l| l.strip_prefix(field)).unwrap_or_else(|| panic!("no {field} line"));
        line.trim().trim_end_matches("kB").trim().parse().expect("a size in kB")
    }

    /// The default user's home (`--root`), canonical.
    pub(crate) fn root(&self) -> PathBuf {
        std::fs::canonicalize(self.root.path()).unwrap()
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    pub(crate) fn http(&self) -> reqwest::Client {
        reqwest::Client::builder().http1_only().build().unwrap()
    }

    fn config(&self, user: Option<&str>) -> ClientConfig {
        let mut config = ClientConfig::new(self.url("").parse().unwrap());
        if let Some(user) = user {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:"));
            config = config.with_default_header("authorization", format!("Basic {encoded}"));
        }
        config
    }

    pub(crate) fn process(&self) -> process::ProcessClient<HttpClient> {
        process::ProcessClient::new(HttpClient::plaintext(), self.config(None))
    }

    pub(crate) fn process_as(&self, user: &str) -> process::ProcessClient<HttpClient> {
        process::ProcessClient::new(HttpClient::plaintext(), self.config(Some(user)))
    }

    pub(crate) fn filesystem(&self) -> filesystem::FilesystemClient<HttpClient> {
        filesystem::FilesystemClient::new(HttpClient::plaintext(), self.config(None))
    }

    pub(crate) fn filesystem_as(&self, user: &str) -> filesystem::FilesystemClient<HttpClient> {
        filesystem::FilesystemClient::new(HttpClient::plaintext(), self.config(Some(user)))
    }

    /// Stops the server and checks it shut down cleanly.
    pub(crate) async fn stop(mut self) {
        let Server::InProcess { stop, task } = &mut self.server else { panic!("stop is for in-process envds") };
        stop.take().unwrap().send(()).unwrap();
        task.take().unwrap().await.unwrap().unwrap();
    }
}

impl Drop for TestEnvd {
    fn drop(&mut self) {
        match &mut self.server {
            Server::InProcess { task, .. } => {
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
            Server::Child(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Whether the tests run as root (user switching is only testable then).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub(crate) fn write(path: &Path, contents: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, contents).unwrap();
}
