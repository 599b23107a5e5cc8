//! `wrenn host-agent`: one host of a fleet. The first start registers with
//! the token an operator got from `POST /v1/hosts` and saves the
//! credentials it receives (`DIR/host-credentials.json`, 0600); later
//! starts run from them, and the token is no longer needed.
//!
//! While it serves, the agent heartbeats (every 10 s by default) and
//! refreshes its credentials (access token, refresh token and server
//! certificate, installed without a restart) every 30 minutes and
//! whenever the control plane refuses its token. A 404 to a heartbeat
//! means the host was deleted: the agent forgets its credentials and stops
//! (its capsules were destroyed by the delete). Capsules the agent pauses
//! for inactivity are reported at once (`/v1/hosts/sandbox-events`);
//! anything missed is caught by the control plane's reconciler.
//!
//! SIGTERM stops the agent and leaves its capsules running for the next
//! start to adopt, as `wrenn up` does.

mod credentials;
mod link;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use tokio::sync::{Mutex, broadcast};
use tokio_util::sync::CancellationToken;
use wrenn_agent::capsule::CapsuleEvent;
use wrenn_agent::daemon::{Daemon, DaemonConfig};
use wrenn_agent::rpc::TlsConfig;
use wrenn_agent::rpc::tls::ServerCert;

use crate::agent_args::AgentArgs;
use crate::host_agent::credentials::Credentials;
use crate::host_agent::link::{ControlPlane, Heartbeat, Registration, Report};

/// How often a failed capsule event report is retried.
const REPORT_ATTEMPTS: u32 = 3;

/// Flags of `wrenn host-agent`.
#[derive(Debug, Args)]
pub(crate) struct HostAgentArgs {
    /// The control plane's API, e.g. `http://10.0.0.1:8080`.
    #[arg(long, env = "WRENN_CONTROL_PLANE_URL")]
    control_plane: String,
    /// The registration token from `POST /v1/hosts`; needed on the first start only.
    #[arg(long, env = "WRENN_REGISTRATION_TOKEN", hide_env_values = true)]
    register: Option<String>,
    /// The agent's state: templates, capsules, `host-credentials.json`.
    #[arg(long, env = "WRENN_DATA_DIR", default_value = "/var/lib/wrenn/agent")]
    data_dir: PathBuf,
    /// Address of the agent's mTLS API, as the control plane dials it (a concrete IP and port).
    #[arg(long, env = "WRENN_AGENT_LISTEN")]
    listen: SocketAddr,
    #[command(flatten)]
    agent: AgentArgs,
    /// Seconds between heartbeats; keep it well below the control plane's --host-timeout-secs.
    #[arg(long, env = "WRENN_HEARTBEAT_INTERVAL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_interval_secs: u64,
    /// Seconds between credential refreshes (the access token lives an hour).
    #[arg(long, env = "WRENN_CREDENTIALS_REFRESH_SECS", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..3000))]
    credentials_refresh_secs: u64,
}

pub(crate) async fn run(args: HostAgentArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    if args.listen.ip().is_unspecified() || args.listen.port() == 0 {
        bail!("--listen {} must name the IP and port the control plane dials", args.listen);
    }
    let control_plane = ControlPlane::new(&args.control_plane)?;
    let data_dir = std::path::absolute(&args.data_dir)
        .with_context(|| format!("cannot resolve the data dir {}", args.data_dir.display()))?;
    let credentials_path = data_dir.join("host-credentials.json");
    let credentials = match Credentials::load(&credentials_path)? {
        Some(saved) => {
            if saved.address != args.listen.to_string() {
                bail!(
                    "host {} registered at {}, not {}: listen there, or remove {} and register as a new host",
                    saved.host_id,
                    saved.address,
                    args.listen,
                    credentials_path.display()
                );
            }
            tracing::info!(host_id = %saved.host_id, "running from saved credentials");
            saved
        }
        None => register(&control_plane, &args, &data_dir, &credentials_path).await?,
    };
    let heartbeat_interval = Duration::from_secs(args.heartbeat_interval_secs);
    let refresh_every = Duration::from_secs(args.credentials_refresh_secs);
    let daemon = Daemon::start(DaemonConfig {
        data_dir: data_dir.clone(),
        listen: args.listen,
        tls: tls_of(&credentials),
        launcher: args.agent.launcher()?,
        envd_binary: args.agent.envd()?,
        base_templates: args.agent.base_templates(),
        egress_interface: args.agent.egress_interface,
        mirror: args.agent.mirror,
    })
    .await
    .context("cannot start the host agent")?;
    let session = Arc::new(Session {
        heartbeat_interval,
        refresh_every,
        control_plane,
        path: credentials_path,
        credentials: Mutex::new(credentials),
        server_cert: Arc::clone(daemon.server_cert()),
    });
    tracing::info!(address = %daemon.local_addr(), "the host agent is serving");
    let events = daemon.manager().subscribe();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(daemon.serve(stop.clone().cancelled_owned()));
    let reporting = tokio::spawn(report_events(Arc::clone(&session), events, shutdown.clone()));
    let outcome = session.heartbeat_until(&shutdown).await;
    stop.cancel();
    reporting.abort();
    serving.await.context("the agent task ended abnormally")?.context("the host agent failed")?;
    tracing::info!("the host agent stopped; capsules keep running");
    outcome
}

async fn register(
    control_plane: &ControlPlane,
    args: &HostAgentArgs,
    data_dir: &std::path::Path,
    path: &std::path::Path,
) -> anyhow::Result<Credentials> {
    let Some(token) = args.register.as_deref() else {
        bail!("no saved credentials in {}: pass --register <token> from POST /v1/hosts", path.display());
    };
    let specs = wrenn_agent::daemon::local_specs(data_dir).context("cannot read this machine's specs")?;
    let address = args.listen.to_string();
    let registration = Registration {
        token,
        address: &address,
        arch: &specs.arch,
        cpu_cores: specs.cpu_cores,
        memory_mb: specs.memory_mb,
        disk_mb: specs.disk_mb,
    };
    let credentials = control_plane.register(&registration, now_ms()).await?;
    credentials.save(path)?;
    tracing::info!(host_id = %credentials.host_id, %address, "registered with the control plane");
    Ok(credentials)
}

fn tls_of(credentials: &Credentials) -> TlsConfig {
    TlsConfig {
        cert_pem: credentials.cert_pem.clone().into_bytes(),
        key_pem: credentials.key_pem.clone().into_bytes(),
        client_ca_pem: credentials.ca_cert_pem.clone().into_bytes(),
    }
}

/// The agent's standing with the control plane: its credentials (one
/// owner, behind a lock so a refresh is never raced by another) and where
/// a renewed certificate is installed.
struct Session {
    heartbeat_interval: Duration,
    refresh_every: Duration,
    control_plane: ControlPlane,
    path: PathBuf,
    credentials: Mutex<Credentials>,
    server_cert: Arc<ServerCert>,
}

impl Session {
    /// Heartbeats until `shutdown`, or until the host is deleted.
    async fn heartbeat_until(&self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let mut ticks = tokio::time::interval(self.heartbeat_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = ticks.tick() => {}
            }
            let due = {
                let credentials = self.credentials.lock().await;
                now_ms().saturating_sub(credentials.obtained_at_ms) >= duration_ms(self.refresh_every)
            };
            if due && let Err(err) = self.refresh().await {
                tracing::warn!(error = format!("{err:#}"), "cannot refresh the host's credentials");
            }
            match self.heartbeat().await {
                Ok(Heartbeat::Recorded) => {}
                Ok(Heartbeat::TokenRefused) => match self.refresh().await {
                    Ok(()) => {
                        if let Err(err) = self.heartbeat().await {
                            tracing::warn!(error = format!("{err:#}"), "heartbeat failed after a refresh");
                        }
                    }
                    Err(err) => tracing::error!(
                        error = format!("{err:#}"),
                        "the control plane refuses this host's credentials; register it again"
                    ),
                },
                Ok(Heartbeat::HostDeleted) => {
                    Credentials::remove(&self.path)?;
                    shutdown.cancel();
                    bail!("this host was deleted from the control plane; its credentials are forgotten");
                }
                Err(err) => tracing::warn!(error = format!("{err:#}"), "heartbeat failed"),
            }
        }
    }

    async fn heartbeat(&self) -> anyhow::Result<Heartbeat> {
        let credentials = self.credentials.lock().await.clone();
        self.control_plane.heartbeat(&credentials).await
    }

    /// New credentials: saved first (the old refresh token is spent), then
    /// the certificate installed for new connections.
    async fn refresh(&self) -> anyhow::Result<()> {
        let mut credentials = self.credentials.lock().await;
        let renewed = self.control_plane.refresh(&credentials, now_ms()).await?;
        renewed.save(&self.path)?;
        self.server_cert
            .replace(renewed.cert_pem.as_bytes(), renewed.key_pem.as_bytes())
            .context("cannot install the renewed certificate")?;
        *credentials = renewed;
        tracing::info!("refreshed the host's credentials and certificate");
        Ok(())
    }
}

/// Reports what the agent did to capsules on its own, as it happens.
async fn report_events(
    session: Arc<Session>,
    mut events: broadcast::Receiver<CapsuleEvent>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        let report = match event {
            Ok(CapsuleEvent::AutoPaused { id }) => {
                Report { capsule_id: id.to_string(), event: "auto_paused", reason: None }
            }
            Ok(CapsuleEvent::Died { id, reason }) => {
                Report { capsule_id: id.to_string(), event: "died", reason: Some(reason) }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "capsule events were missed; the reconciler will catch up");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let batch = [report];
        for attempt in 1..=REPORT_ATTEMPTS {
            let credentials = session.credentials.lock().await.clone();
            match session.control_plane.report(&credentials, &batch).await {
                Ok(true) => break,
                Ok(false) => {
                    if let Err(err) = session.refresh().await {
                        tracing::warn!(error = format!("{err:#}"), "cannot refresh to report a capsule event");
                    }
                }
                Err(err) => {
                    tracing::warn!(attempt, error = format!("{err:#}"), "cannot report a capsule event");
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, duration_ms)
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
