//! The agent as a long-running service: builds every piece from one
//! [`DaemonConfig`], adopts what a previous agent left running, and serves
//! the API over mTLS until told to stop.
//!
//! Start-up order matters for crash safety: the TLS material is checked and
//! the port bound first (a misconfigured agent fails before touching the
//! host), then [`CapsuleManager::recover`] adopts the capsules a previous
//! agent left running and removes whatever nobody owns, and only then are
//! requests served. Base templates missing from the data dir are built in
//! the background meanwhile; creates naming them fail fast until they exist.
//!
//! Stopping (the caller's `shutdown` future: SIGTERM or SIGINT in the
//! binaries) closes the listener and gives open requests [`SHUTDOWN_GRACE`]
//! to finish. Capsules keep running, exactly as after a crash: stopping the
//! agent is never a reason to stop user work, and the next agent on the same
//! data dir adopts them. The host firewall stays for the same reason.
//!
//! What it deliberately does not do: parse flags or read the environment
//! (the `wrenn-agent` binary does), install a tracing subscriber, or listen
//! for signals.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::capsule::{CapsuleError, CapsuleManager, CapsuleManagerConfig, host_limits};
use crate::layout::Layout;
use crate::network::NetworkManager;
use crate::rpc::tls::ServerCert;
use crate::rpc::{self, HostSpec, TlsConfig, TlsError};
use crate::runtime::container::{ContainerConfig, ContainerRuntime};
use crate::template::{BuildProgress, TemplateStore, TemplateStoreOptions};

/// How long open requests (streams, terminals) may run on after shutdown
/// was asked for before they are cut.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything the agent needs to run on this host.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Root of the agent's state (`layout`): templates and capsules.
    pub data_dir: PathBuf,
    /// Address of the mTLS API; port 0 picks a free one ([`Daemon::local_addr`]).
    pub listen: SocketAddr,
    pub tls: TlsConfig,
    /// The `wrenn-launch` binary.
    pub launcher: PathBuf,
    /// The envd binary injected into templates (statically linked).
    pub envd_binary: PathBuf,
    /// Interface capsules reach the outside through (`None`: no egress).
    pub egress_interface: Option<String>,
    /// Debian mirror for template builds; `None` reads it from `/etc/apt`.
    pub mirror: Option<String>,
    /// Base templates to build in the background if they are missing.
    pub base_templates: Vec<String>,
}

/// Why the agent could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{what} {path} is not a file")]
    MissingBinary { what: &'static str, path: PathBuf },
    #[error("could not create the data dir {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not measure the disk holding {path}")]
    Disk {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid TLS configuration")]
    Tls(#[source] TlsError),
    #[error("could not listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not take over from the previous agent")]
    Recover(#[source] CapsuleError),
    #[error("the API server failed")]
    Serve {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A started agent: recovered, bound, not yet serving.
#[derive(Debug)]
pub struct Daemon {
    manager: Arc<CapsuleManager>,
    listener: TcpListener,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    server_cert: Arc<ServerCert>,
    host: HostSpec,
    base_templates: Vec<String>,
}

/// Starts the agent and serves until `shutdown` resolves.
pub async fn run(config: DaemonConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), DaemonError> {
    Daemon::start(config).await?.serve(shutdown).await
}

/// What this machine offers capsules, as a host reports it when it
/// registers (before its agent serves: registration brings the agent's
/// certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSpecs {
    pub arch: String,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    /// Size of the filesystem holding the data dir.
    pub disk_mb: u64,
}

/// Reads [`LocalSpecs`]; the data dir is created if missing.
pub fn local_specs(data_dir: &Path) -> Result<LocalSpecs, DaemonError> {
    std::fs::create_dir_all(data_dir).map_err(|source| DaemonError::DataDir { path: data_dir.to_owned(), source })?;
    let disk_mb = crate::sys::statfs::size_mb(data_dir)
        .map_err(|source| DaemonError::Disk { path: data_dir.to_owned(), source })?;
    let limits = host_limits();
    Ok(LocalSpecs {
        arch: std::env::consts::ARCH.to_owned(),
        cpu_cores: limits.cpus,
        memory_mb: limits.memory_mb,
        disk_mb,
    })
}

impl Daemon {
    /// Checks the configuration, binds the API port and recovers what a
    /// previous agent left on this data dir.
    pub async fn start(config: DaemonConfig) -> Result<Daemon, DaemonError> {
        for (what, path) in [("launcher", &config.launcher), ("envd binary", &config.envd_binary)] {
            if !path.is_file() {
                return Err(DaemonError::MissingBinary { what, path: path.clone() });
            }
        }
        let (tls, server_cert) = rpc::tls::server_config(&config.tls).map_err(DaemonError::Tls)?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| DaemonError::DataDir { path: config.data_dir.clone(), source })?;
        let disk_mb = crate::sys::statfs::size_mb(&config.data_dir)
            .map_err(|source| DaemonError::Disk { path: config.data_dir.clone(), source })?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| DaemonError::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| DaemonError::Listen { addr: config.listen, source })?;

        let manager = Arc::new(manager(&config));
        let recovery = manager.recover().await.map_err(DaemonError::Recover)?;
        tracing::info!(
            adopted = recovery.adopted.len(),
            destroyed = recovery.destroyed.len(),
            stale_slots = ?recovery.stale_slots,
            "recovered the previous agent's capsules"
        );
        let host = HostSpec { limits: host_limits(), disk_mb };
        Ok(Daemon { manager, listener, addr, tls, server_cert, host, base_templates: config.base_templates })
    }

    /// The address the API listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn manager(&self) -> &Arc<CapsuleManager> {
        &self.manager
    }

    /// The handle that installs a renewed server certificate while serving.
    pub fn server_cert(&self) -> &Arc<ServerCert> {
        &self.server_cert
    }

    /// Serves the API until `shutdown` resolves, then gives open requests
    /// [`SHUTDOWN_GRACE`]. Capsules are left running.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), DaemonError> {
        let Daemon { manager, listener, addr, tls, server_cert: _, host, base_templates } = self;
        let builds = build_missing(Arc::clone(&manager), base_templates);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down; capsules keep running");
            let _ = stopping_tx.send(());
        };
        tracing::info!(%addr, "serving the agent API");
        // The axum flavour of the TLS server: it also serves HTTP upgrades,
        // which the port proxy's WebSockets need.
        let serving = connectrpc::axum::serve_tls(listener, rpc::app(Arc::clone(&manager), host), tls)
            .with_graceful_shutdown(signal)
            .into_future();
        tokio::pin!(serving);
        let outcome = tokio::select! {
            // Serving first: once it returns, the dropped signal also ends `stopping_rx`.
            biased;
            outcome = &mut serving => outcome,
            Ok(()) = stopping_rx => match tokio::time::timeout(SHUTDOWN_GRACE, &mut serving).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still open after the grace period are cut");
                    Ok(())
                }
            },
        };
        builds.abort();
        outcome.map_err(|source| DaemonError::Serve { source: Box::new(source) })
    }
}

/// The capsule manager over this host's runtime, network and template store.
fn manager(config: &DaemonConfig) -> CapsuleManager {
    let layout = Layout::new(&config.data_dir);
    let runtime = ContainerRuntime::new(ContainerConfig::new(layout.clone(), config.launcher.clone()));
    let options = TemplateStoreOptions { envd_binary: config.envd_binary.clone(), mirror: config.mirror.clone() };
    let store = TemplateStore::new(layout.clone(), options);
    let manager_config = CapsuleManagerConfig::new(layout, config.egress_interface.clone());
    CapsuleManager::new(manager_config, Arc::new(runtime), NetworkManager::new(), store)
}

/// Builds the named base templates that are not on disk yet, one after the
/// other, logging progress. A failed build is logged and not retried: the
/// next agent start tries again.
fn build_missing(manager: Arc<CapsuleManager>, names: Vec<String>) -> JoinHandle<()> {
    tokio::spawn(async move {
        for name in names {
            let progress = |report: BuildProgress| {
                tracing::info!(template = %report.template, phase = ?report.phase, "{}", report.message);
            };
            match manager.templates().get(&name) {
                Ok(Some(_)) => continue,
                Ok(None) => tracing::info!(template = %name, "building a missing base template"),
                Err(err) => {
                    tracing::warn!(template = %name, error = &err as &dyn std::error::Error, "unusable template");
                    continue;
                }
            }
            match manager.templates().ensure(&name, &progress).await {
                Ok(_) => tracing::info!(template = %name, "template ready"),
                Err(err) => {
                    tracing::error!(template = %name, error = &err as &dyn std::error::Error, "template build failed");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path) -> DaemonConfig {
        let binary = dir.join("binary");
        std::fs::write(&binary, b"").unwrap();
        DaemonConfig {
            data_dir: dir.join("data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: TlsConfig { cert_pem: b"x".to_vec(), key_pem: b"x".to_vec(), client_ca_pem: b"x".to_vec() },
            launcher: binary.clone(),
            envd_binary: binary,
            egress_interface: None,
            mirror: None,
            base_templates: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_misconfigured_agent_fails_before_touching_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let mut missing = config(dir.path());
        missing.launcher = dir.path().join("no-launcher");
        let err = Daemon::start(missing).await.unwrap_err();
        assert!(matches!(err, DaemonError::MissingBinary { what: "launcher", .. }), "{err:?}");

        let err = Daemon::start(config(dir.path())).await.unwrap_err();
        assert!(matches!(err, DaemonError::Tls(_)), "{err:?}");
        assert!(!dir.path().join("data").exists());
    }
}
