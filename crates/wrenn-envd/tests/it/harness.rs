//! One envd per test: `TestEnvd::start()` binds 127.0.0.1:0 with a fresh
//! temporary `--root`, and hands out clients for every surface.

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
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestEnvd {
    pub(crate) async fn start() -> TestEnvd {
        let root = tempfile::tempdir().expect("temp dir");
        let config = Config::for_dev("127.0.0.1:0".parse().unwrap(), Some(root.path().to_path_buf())).expect("config");
        let envd = Envd::bind(config).await.expect("bind");
        let addr = envd.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(envd.serve(async move {
            let _ = stopped.await;
        }));
        TestEnvd { addr, root, stop: Some(stop), server: Some(server) }
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
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

impl Drop for TestEnvd {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
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
