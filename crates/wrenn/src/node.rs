//! The host agent of `wrenn up`, in the control plane's process, registered
//! the way a fleet host is: a host row created with a registration token,
//! a certificate from the control plane's CA for the address the control
//! plane dials, the specs the agent reports over its mTLS API, then a
//! heartbeat every [`HEARTBEAT_INTERVAL`].
//!
//! Going through the same path as a remote host keeps one code path in the
//! control plane (it only ever talks to agents over mTLS) and makes `wrenn
//! up` an honest test of the fleet's registration.
//!
//! The node remembers its host id in `node.json`, so a restart keeps the
//! host and with it the capsules the agent adopts. A registered host
//! cannot register again in the store, so its address must not change: an
//! agent on port 0 listens again on the port the host registered with.
//!
//! Also here: the platform's base templates (`minimal`, `python`) as the
//! control plane lists them (their size once the agent has built them), and
//! the renewal of the agent's server certificate at half life.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wrenn_agent::capsule::CapsuleEvent;
use wrenn_agent::daemon::{Daemon, DaemonConfig, DaemonError};
use wrenn_agent::rpc::TlsConfig;
use wrenn_agent::rpc::tls::ServerCert;
use wrenn_cp::app::{AgentPool, App, HostCapsuleEvent, HostCapsuleEventKind};
use wrenn_cp::background::base_template;
use wrenn_cp::pki::{CertificateAuthority, IssuedCertificate};
use wrenn_cp::store::{Host, HostKind, HostSpecs, HostStatus, NewHost, Registration, Store};
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{ErrorChain, HostId, TeamId};

/// How often the node tells the store it is alive.
pub(crate) const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// How long a registration token of the node's own host lives.
const REGISTRATION_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
/// How long the node waits for its agent to answer the first call.
const AGENT_ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest single sleep of the certificate renewal (re-reads the clock).
const RENEW_RECHECK: Duration = Duration::from_secs(600);
const RENEW_RETRY: Duration = Duration::from_secs(60);

/// What `wrenn up` remembers between starts (`DIR/node.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeRecord {
    /// The host row of this node's agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) host_id: Option<String>,
    /// The default team, made by the first start's bootstrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) team_id: Option<String>,
}

impl NodeRecord {
    /// Reads the record; a missing file is an empty record (first start).
    pub(crate) fn load(path: &Path) -> anyhow::Result<NodeRecord> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(NodeRecord::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the record whole (temporary file, then rename).
    pub(crate) fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut text = serde_json::to_string_pretty(self).context("cannot encode the node record")?;
        text.push('\n');
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, path))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub(crate) fn host_id(&self) -> anyhow::Result<Option<HostId>> {
        self.host_id
            .as_deref()
            .map(|id| id.parse().map_err(|_| anyhow!("node.json names an invalid host id {id:?}")))
            .transpose()
    }

    pub(crate) fn team_id(&self) -> anyhow::Result<Option<TeamId>> {
        self.team_id
            .as_deref()
            .map(|id| id.parse().map_err(|_| anyhow!("node.json names an invalid team id {id:?}")))
            .transpose()
    }
}

/// How to run this node's agent.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    /// The agent's own state (`DIR/agent`).
    pub(crate) agent_dir: PathBuf,
    /// Where the agent listens; port 0 reuses the registered port, or
    /// picks a free one on the first start.
    pub(crate) agent_listen: SocketAddr,
    pub(crate) launcher: PathBuf,
    pub(crate) envd: PathBuf,
    pub(crate) egress_interface: Option<String>,
    pub(crate) mirror: Option<String>,
    /// Built in the background when missing, and listed as platform templates.
    pub(crate) base_templates: Vec<String>,
    /// `DIR/node.json`.
    pub(crate) record_path: PathBuf,
}

/// The running agent and the node's background work.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) host_id: HostId,
    pub(crate) address: String,
    agent: JoinHandle<Result<(), DaemonError>>,
    stop_agent: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Node {
    /// Starts the agent and registers it as this node's host. The agent
    /// serves until [`Node::stop`]; the background work runs until
    /// `shutdown` is cancelled.
    pub(crate) async fn start(
        app: &App,
        config: &NodeConfig,
        record: &mut NodeRecord,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Node> {
        let (store, ca, agents) = (app.store(), app.ca(), app.agents());
        if config.agent_listen.ip().is_unspecified() {
            bail!(
                "--agent-listen {} must name the address the control plane dials, not a wildcard",
                config.agent_listen
            );
        }
        let (host, token) = find_or_create_host(store, record, &config.record_path).await?;
        let listen = listen_address(config.agent_listen, &host);
        // An IP SAN names the IP only, so the certificate can be issued
        // before the port is known.
        let issued = ca
            .issue_host_certificate(host.id, &listen.ip().to_string())
            .context("cannot issue the agent's server certificate")?;
        let daemon = Daemon::start(DaemonConfig {
            data_dir: config.agent_dir.clone(),
            listen,
            tls: TlsConfig {
                cert_pem: issued.cert_pem.clone().into_bytes(),
                key_pem: issued.key_pem.clone().into_bytes(),
                client_ca_pem: ca.cert_pem().as_bytes().to_vec(),
            },
            launcher: config.launcher.clone(),
            envd_binary: config.envd.clone(),
            egress_interface: config.egress_interface.clone(),
            mirror: config.mirror.clone(),
            base_templates: config.base_templates.clone(),
        })
        .await
        .context("cannot start the host agent")?;
        let address = daemon.local_addr().to_string();
        let server_cert = Arc::clone(daemon.server_cert());
        let capsule_events = daemon.manager().subscribe();
        let stop_agent = CancellationToken::new();
        let agent = tokio::spawn(serve_agent(daemon, stop_agent.clone(), shutdown.clone()));
        let node = Node { host_id: host.id, address: address.clone(), agent, stop_agent, tasks: Vec::new() };
        if let Err(err) = node.register(store, agents, &host, token, &issued).await {
            if let Err(stop_err) = node.stop().await {
                tracing::error!(error = %ErrorChain(stop_err.as_ref()), "while giving up on the node");
            }
            return Err(err);
        }
        let mut node = node;
        let client = agents.client_at(&address).context("cannot reach the agent")?;
        let templates = PlatformTemplates { store: store.clone(), client, names: config.base_templates.clone() };
        let all_sized = templates.sync().await;
        node.tasks.push(tokio::spawn(heartbeat(app.clone(), host.id, templates, all_sized, shutdown.clone())));
        node.tasks.push(tokio::spawn(forward_capsule_events(app.clone(), host.id, capsule_events)));
        let renewal =
            ServerCertRenewal { ca: Arc::clone(ca), host_id: host.id, ip: listen.ip().to_string(), server_cert };
        node.tasks.push(tokio::spawn(renewal.run(issued, shutdown.clone())));
        Ok(node)
    }

    /// Registers a pending host with the agent's specs, or checks that a
    /// registered one is still where the control plane dials it.
    async fn register(
        &self,
        store: &Store,
        agents: &AgentPool,
        host: &Host,
        token: Option<String>,
        issued: &IssuedCertificate,
    ) -> anyhow::Result<()> {
        let info = host_info(agents, &self.address).await?;
        if host.status != HostStatus::Pending {
            if host.address != self.address {
                bail!(
                    "host {} is registered at {}, but its agent now listens at {}; a registered host cannot \
                     register again yet, so keep the address (or remove {} to start as a new host)",
                    host.id,
                    host.address,
                    self.address,
                    "node.json"
                );
            }
            store.heartbeat(host.id).await.context("cannot record the host's heartbeat")?;
            tracing::info!(host_id = %host.id, address = %self.address, "host is back");
            return Ok(());
        }
        let token = match token {
            Some(token) => token,
            None => {
                store
                    .create_registration_token(host.id, REGISTRATION_TOKEN_TTL_MS)
                    .await
                    .context("cannot issue a registration token")?
                    .secret
            }
        };
        let specs = HostSpecs {
            address: self.address.clone(),
            arch: info.arch,
            cpu_cores: info.cpu_cores,
            memory_mb: info.memory_mb,
            disk_mb: info.disk_mb,
            cert_fingerprint: issued.fingerprint_sha256.clone(),
            cert_expires_at: issued.expires_at_ms(),
        };
        match store.register_host(&token, &specs).await.context("cannot register the host")? {
            Registration::Registered(host) => {
                tracing::info!(
                    host_id = %host.id, address = %host.address, cpu_cores = host.cpu_cores,
                    memory_mb = host.memory_mb, disk_mb = host.disk_mb, "registered the host"
                );
                Ok(())
            }
            Registration::InvalidToken => bail!("the host's registration token was refused"),
            Registration::HostNotPending(id) => bail!("host {id} registered meanwhile from elsewhere"),
        }
    }

    /// Stops the agent (capsules keep running for the next start to adopt)
    /// and waits for it; the background work ends with `shutdown`. Errs
    /// when the agent had failed.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.stop_agent.cancel();
        for task in &self.tasks {
            task.abort();
        }
        match self.agent.await {
            Ok(Ok(())) => {
                tracing::info!("the host agent stopped; capsules keep running");
                Ok(())
            }
            Ok(Err(err)) => Err(err).context("the host agent failed"),
            Err(err) => Err(err).context("the host agent task ended abnormally"),
        }
    }
}

/// Serves the agent's API until `stop`; an agent that fails on its own
/// stops the whole process (`shutdown`), since `wrenn up` without its
/// agent cannot run a capsule.
async fn serve_agent(daemon: Daemon, stop: CancellationToken, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let outcome = daemon.serve(stop.cancelled_owned()).await;
    if let Err(err) = &outcome {
        tracing::error!(error = %ErrorChain(err), "the host agent failed; shutting down");
        shutdown.cancel();
    }
    outcome
}

/// The node's host row, created (with its first registration token) when
/// the record names none or the store no longer has it.
async fn find_or_create_host(
    store: &Store,
    record: &mut NodeRecord,
    record_path: &Path,
) -> anyhow::Result<(Host, Option<String>)> {
    if let Some(host_id) = record.host_id()? {
        match store.get_host(host_id).await.context("cannot read the node's host")? {
            Some(host) => return Ok((host, None)),
            None => tracing::warn!(%host_id, "the node's host is gone from the store; creating a new one"),
        }
    }
    let new = NewHost { kind: HostKind::Regular, team_id: None, created_by: None };
    let (host, token) =
        store.create_host(new, REGISTRATION_TOKEN_TTL_MS).await.context("cannot create the node's host")?;
    record.host_id = Some(host.id.to_string());
    record.save(record_path)?;
    tracing::info!(host_id = %host.id, "created the node's host");
    Ok((host, Some(token.secret)))
}

/// Port 0 means "the port the host registered with", when it has one on
/// the same IP: its address must not change (module docs).
fn listen_address(wanted: SocketAddr, host: &Host) -> SocketAddr {
    if wanted.port() != 0 || host.status == HostStatus::Pending {
        return wanted;
    }
    match host.address.parse::<SocketAddr>() {
        Ok(registered) if registered.ip() == wanted.ip() => registered,
        _ => wanted,
    }
}

/// The agent's own account of the host, once it answers.
async fn host_info(agents: &AgentPool, address: &str) -> anyhow::Result<pb::GetHostInfoResponse> {
    let client = agents.client_at(address).context("cannot reach the agent")?;
    let deadline = tokio::time::Instant::now() + AGENT_ANSWER_TIMEOUT;
    loop {
        match client.get_host_info(pb::GetHostInfoRequest::default()).await {
            Ok(response) => return Ok(response.into_owned()),
            Err(err) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = %ErrorChain(&err), "the agent does not answer yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => return Err(err).context(format!("the agent at {address} does not answer over mTLS")),
        }
    }
}

/// The base templates as platform templates of the control plane.
struct PlatformTemplates {
    store: Store,
    client: wrenn_cp::app::AgentClient,
    names: Vec<String>,
}

impl std::fmt::Debug for PlatformTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformTemplates").field("names", &self.names).finish_non_exhaustive()
    }
}

impl PlatformTemplates {
    /// Lists every base template, with its size when the agent has built
    /// it. Returns whether every size was known.
    async fn sync(&self) -> bool {
        let built = match self.client.list_templates(pb::ListTemplatesRequest::default()).await {
            Ok(response) => response.into_owned().templates,
            Err(err) => {
                tracing::warn!(error = %ErrorChain(&err), "cannot list the agent's templates");
                Vec::new()
            }
        };
        let mut all_sized = true;
        for name in &self.names {
            let size_bytes = built.iter().find(|template| &template.name == name).map(|template| template.size_bytes);
            all_sized &= size_bytes.is_some();
            let template = base_template(name, size_bytes.unwrap_or(0));
            if let Err(err) = self.store.upsert_template(&template).await {
                tracing::warn!(template = %name, error = %ErrorChain(&err), "cannot list a platform template");
                all_sized = false;
            }
        }
        all_sized
    }
}

/// Heartbeats until `shutdown`; meanwhile fills in the sizes of base
/// templates the agent finishes building.
async fn heartbeat(
    app: App,
    host_id: HostId,
    templates: PlatformTemplates,
    mut all_sized: bool,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(HEARTBEAT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        // Through the same call as a fleet host's heartbeat: a node back
        // from `unreachable` is reconciled at once.
        if let Err(err) = app.host_heartbeat(host_id).await {
            tracing::warn!(%host_id, error = %ErrorChain(&err), "cannot record a heartbeat");
        }
        if !all_sized {
            all_sized = templates.sync().await;
        }
    }
}

/// Hands what happens to capsules on their own (auto-pause, death) to the
/// control plane as it happens, in-process: what a fleet host posts to
/// `/v1/hosts/sandbox-events`.
async fn forward_capsule_events(app: App, host_id: HostId, mut events: broadcast::Receiver<CapsuleEvent>) {
    loop {
        let event = match events.recv().await {
            Ok(CapsuleEvent::AutoPaused { id }) => {
                HostCapsuleEvent { capsule_id: id, kind: HostCapsuleEventKind::AutoPaused, reason: None }
            }
            Ok(CapsuleEvent::Died { id, reason }) => {
                HostCapsuleEvent { capsule_id: id, kind: HostCapsuleEventKind::Died, reason: Some(reason) }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "capsule events were missed; the reconciler will catch up");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Err(err) = app.host_capsule_events(host_id, &[event]).await {
            tracing::warn!(%host_id, error = %ErrorChain(&err), "cannot apply a capsule event");
        }
    }
}

/// Renews the agent's server certificate at half life, in place.
#[derive(Debug)]
struct ServerCertRenewal {
    ca: Arc<CertificateAuthority>,
    host_id: HostId,
    ip: String,
    server_cert: Arc<ServerCert>,
}

impl ServerCertRenewal {
    async fn run(self, mut current: IssuedCertificate, shutdown: CancellationToken) {
        loop {
            let lifetime = current.expires_at.duration_since(current.issued_at).unwrap_or(Duration::ZERO);
            let renew_at = current.issued_at + lifetime / 2;
            let due_in = renew_at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            if !due_in.is_zero() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(due_in.min(RENEW_RECHECK)) => continue,
                }
            }
            match self.renew() {
                Ok(issued) => {
                    tracing::info!(serial = %issued.serial, "renewed the agent's server certificate");
                    current = issued;
                }
                Err(err) => {
                    tracing::warn!(error = %ErrorChain(err.as_ref()), retry_in = ?RENEW_RETRY, "cannot renew the agent's server certificate");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(RENEW_RETRY) => {}
                    }
                }
            }
        }
    }

    fn renew(&self) -> Result<IssuedCertificate, Box<dyn std::error::Error + Send + Sync>> {
        let issued = self.ca.issue_host_certificate(self.host_id, &self.ip)?;
        self.server_cert.replace(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes())?;
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(status: HostStatus, address: &str) -> Host {
        Host {
            id: HostId::from_u128(7),
            kind: HostKind::Regular,
            team_id: None,
            address: address.to_owned(),
            status,
            arch: String::new(),
            cpu_cores: 0,
            memory_mb: 0,
            disk_mb: 0,
            reserved_vcpus: 0,
            reserved_memory_mb: 0,
            reserved_disk_mb: 0,
            last_heartbeat_at: None,
            cert_fingerprint: String::new(),
            cert_expires_at: None,
            created_by: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_registered_host_keeps_its_port_when_any_port_would_do() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let registered = host(HostStatus::Unreachable, "127.0.0.1:41000");
        assert_eq!(listen_address(any, &registered), "127.0.0.1:41000".parse().unwrap());
        // An explicit port, a pending host or another IP: as asked.
        let explicit: SocketAddr = "127.0.0.1:42000".parse().unwrap();
        assert_eq!(listen_address(explicit, &registered), explicit);
        assert_eq!(listen_address(any, &host(HostStatus::Pending, "")), any);
        let other_ip: SocketAddr = "127.0.0.2:0".parse().unwrap();
        assert_eq!(listen_address(other_ip, &registered), other_ip);
    }

    #[test]
    fn the_node_record_survives_a_round_trip_and_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.json");
        assert_eq!(NodeRecord::load(&path).unwrap(), NodeRecord::default());
        let record = NodeRecord {
            host_id: Some(HostId::from_u128(7).to_string()),
            team_id: Some(TeamId::from_u128(9).to_string()),
        };
        record.save(&path).unwrap();
        let loaded = NodeRecord::load(&path).unwrap();
        assert_eq!(loaded, record);
        assert_eq!(loaded.host_id().unwrap(), Some(HostId::from_u128(7)));
        assert_eq!(loaded.team_id().unwrap(), Some(TeamId::from_u128(9)));
        std::fs::write(&path, "{\"host_id\":\"nope\"}").unwrap();
        assert!(NodeRecord::load(&path).unwrap().host_id().is_err());
    }
}
