//! `wrenn control-plane`: the control plane alone, over the same library
//! and the same start-up pieces as `wrenn up` (which also uses the helpers
//! here): the store, the CA and the control plane's client certificate for
//! the mTLS to agents, the bootstrap, the event bus, and the API server
//! with its graceful shutdown.
//!
//! Hosts join over HTTP: an operator creates one (`POST /v1/hosts`) and
//! starts `wrenn host-agent --register <token>` on it; until one has
//! registered, creates answer that no host is online.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wrenn_cp::app::{AgentPool, App, AppConfig};
use wrenn_cp::background::BackgroundConfig;
use wrenn_cp::events::{BusOptions, EventBus};
use wrenn_cp::pki::{self, CertificateAuthority, ClientCert};
use wrenn_cp::server::Server;
use wrenn_cp::store::Store;
use wrenn_types::TeamId;

use crate::bootstrap::{self, Bootstrap, BootstrapKey};

/// Flags of `wrenn control-plane`.
#[derive(Debug, Args)]
pub(crate) struct ControlPlaneArgs {
    /// Address of the HTTP API.
    #[arg(long, env = "WRENN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The database: `postgres://…`, or `sqlite:///path/wrenn.db?mode=rwc`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Redis for the event bus shared by replicas (`redis://…`); none: in-process (one replica only).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// The CA (`ca.pem`, `ca-key.pem`) that signs host and control plane certificates; generated when empty.
    #[arg(long, env = "WRENN_CA_DIR", default_value = "/var/lib/wrenn/ca")]
    ca_dir: PathBuf,
    /// Where the first start writes the bootstrap API key (mode 0600); none: only printed.
    #[arg(long, env = "WRENN_API_KEY_FILE")]
    api_key_file: Option<PathBuf>,
    /// Seconds without a heartbeat after which a host is unreachable and its capsules `missing`.
    #[arg(long, env = "WRENN_HOST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    host_timeout_secs: u64,
    /// Seconds between two reconciler passes over every online host (silent hosts are looked for every second).
    #[arg(long, env = "WRENN_RECONCILE_INTERVAL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    reconcile_interval_secs: u64,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

/// The bootstrap flags both server commands share.
#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    /// The API key the bootstrap installs (20-256 printable ASCII characters); installed on later starts
    /// too when missing [default: a generated key, printed once].
    #[arg(long, env = "WRENN_BOOTSTRAP_API_KEY", hide_env_values = true)]
    pub(crate) bootstrap_api_key: Option<BootstrapKey>,
}

pub(crate) async fn run(args: ControlPlaneArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = bind(args.listen).await?;
    let store = Store::connect(&args.database_url).await.context("cannot open the database")?;
    tracing::info!(backend = %store.backend(), "database ready");
    install_bootstrap(&store, args.bootstrap.bootstrap_api_key.as_ref(), None, args.api_key_file.as_deref()).await?;
    let ca = load_ca(&args.ca_dir)?;
    let (agents, rotation) = agent_pool(&ca, &shutdown)?;
    let bus = match &args.redis_url {
        Some(url) => EventBus::redis(url, BusOptions::default()).await.context("cannot connect to Redis")?,
        None => EventBus::in_process(BusOptions::default()).context("cannot start the event bus")?,
    };
    let app = App::new(store.clone(), bus, agents, Arc::clone(&ca), AppConfig::default());
    announce_ready(listener.local_addr().unwrap_or(args.listen), None);
    let background = BackgroundConfig {
        reconcile_every: Duration::from_secs(args.reconcile_interval_secs),
        host_silence: Duration::from_secs(args.host_timeout_secs),
        ..BackgroundConfig::default()
    };
    serve_api(listener, app, background, &shutdown).await;
    rotation.abort();
    store.close().await;
    Ok(())
}

/// Binds the API port first, so a taken port fails before anything else
/// starts.
pub(crate) async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))
}

pub(crate) fn load_ca(dir: &Path) -> anyhow::Result<Arc<CertificateAuthority>> {
    let ca = CertificateAuthority::load_or_generate(dir)
        .with_context(|| format!("cannot load or create the CA in {}", dir.display()))?;
    tracing::info!(fingerprint = %ca.fingerprint_sha256(), "CA ready");
    Ok(Arc::new(ca))
}

/// The client for agents, presenting the control plane's certificate, and
/// the task that renews that certificate until `shutdown`.
pub(crate) fn agent_pool(
    ca: &Arc<CertificateAuthority>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(AgentPool, JoinHandle<()>)> {
    let cert = ClientCert::issue(ca).context("cannot issue the control plane's client certificate")?;
    let tls = pki::client_config(ca, Arc::clone(&cert)).context("cannot configure mTLS to agents")?;
    let rotation =
        tokio::spawn(pki::rotate_client_certificate(Arc::clone(ca), cert, shutdown.clone().cancelled_owned()));
    Ok((AgentPool::new(tls), rotation))
}

/// Runs the bootstrap and hands a newly installed key to the operator:
/// a generated one is printed once, and either is written to `key_file`.
pub(crate) async fn install_bootstrap(
    store: &Store,
    wanted: Option<&BootstrapKey>,
    known_team: Option<TeamId>,
    key_file: Option<&Path>,
) -> anyhow::Result<Bootstrap> {
    let outcome = bootstrap::bootstrap(store, wanted, known_team).await.context("bootstrap failed")?;
    if let Some(installed) = &outcome.installed {
        if let Some(path) = key_file {
            bootstrap::write_key_file(path, &installed.secret)?;
        }
        if installed.generated {
            say(&format!("API key: {}", installed.secret));
        } else {
            say("API key: the one in WRENN_BOOTSTRAP_API_KEY");
        }
    }
    Ok(outcome)
}

/// Serves the whole API until `shutdown`, then drains. The host monitor
/// and reconciler run beside it (their first pass at once: a restart
/// reconciles every host before the first tick).
pub(crate) async fn serve_api(
    listener: TcpListener,
    app: App,
    background: BackgroundConfig,
    shutdown: &CancellationToken,
) {
    Server::builder(app).background(background).build().serve(listener, shutdown.clone().cancelled_owned()).await;
}

/// The operator's one line that the server is ready.
pub(crate) fn announce_ready(addr: SocketAddr, key_file: Option<&Path>) {
    match key_file {
        Some(path) => say(&format!("wrenn is up: http://{addr} (API key in {})", path.display())),
        None => say(&format!("wrenn is up: http://{addr}")),
    }
}

/// A line for the operator on stdout (logs go to stderr).
#[expect(clippy::print_stdout, reason = "the operator's output: the API key and the ready line")]
fn say(line: &str) {
    println!("{line}");
}
