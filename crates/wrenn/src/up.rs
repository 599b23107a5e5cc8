//! `wrenn up`: a whole node in one process — the control plane over a
//! SQLite file and an in-process event bus, and the host agent registered
//! with it as a regular host.
//!
//! Data dir layout (what scripts and the conformance suite rely on):
//!
//! ```text
//! DIR/wrenn.db     the control plane's database
//! DIR/ca/          the CA (generated on first start, never overwritten)
//! DIR/agent/       the agent's state; DIR/agent/templates/<name> the base templates
//! DIR/api-key      the bootstrap API key, mode 0600
//! DIR/node.json    the node's host id and team id, kept between starts
//! ```
//!
//! Start order: the API port is bound first (a taken port fails before the
//! host is touched), then the store, the bootstrap, the CA, the agent and
//! its registration; only then are requests served. Shutdown (SIGTERM or
//! SIGINT) drains the API first, so no request is left calling a stopped
//! agent, then stops the agent; capsules keep running for the next start
//! to adopt.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use tokio_util::sync::CancellationToken;
use wrenn_cp::app::{App, AppConfig};
use wrenn_cp::background::BackgroundConfig;
use wrenn_cp::events::{BusOptions, EventBus};
use wrenn_cp::store::Store;

use crate::agent_args::AgentArgs;
use crate::control_plane::{self, BootstrapArgs};
use crate::node::{Node, NodeConfig, NodeRecord};

/// Flags of `wrenn up`.
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Where everything lives: database, CA, templates, capsules, the API key.
    #[arg(long, env = "WRENN_DATA_DIR", default_value = "/var/lib/wrenn")]
    data_dir: PathBuf,
    /// Address of the HTTP API.
    #[arg(long, env = "WRENN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Address of the host agent's mTLS API; port 0: the port of the previous start, else a free one.
    #[arg(long, env = "WRENN_AGENT_LISTEN", default_value = "127.0.0.1:0")]
    agent_listen: SocketAddr,
    #[command(flatten)]
    agent: AgentArgs,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

pub(crate) async fn run(args: UpArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let data_dir = std::path::absolute(&args.data_dir)
        .with_context(|| format!("cannot resolve the data dir {}", args.data_dir.display()))?;
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create the data dir {}", data_dir.display()))?;
    let listener = control_plane::bind(args.listen).await?;
    let listen = listener.local_addr().unwrap_or(args.listen);

    let store = Store::connect(&database_url(&data_dir)?).await.context("cannot open the database")?;
    let record_path = data_dir.join("node.json");
    let mut record = NodeRecord::load(&record_path)?;
    let key_file = data_dir.join("api-key");
    let wanted = args.bootstrap.bootstrap_api_key.as_ref();
    let known_team = record.team_id()?;
    let bootstrapped = control_plane::install_bootstrap(&store, wanted, known_team, Some(&key_file)).await?;
    if let Some(team_id) = bootstrapped.team_id.filter(|&team_id| Some(team_id) != known_team) {
        record.team_id = Some(team_id.to_string());
        record.save(&record_path)?;
    }

    let ca = control_plane::load_ca(&data_dir.join("ca"))?;
    let (agents, rotation) = control_plane::agent_pool(&ca, &shutdown)?;
    let config = NodeConfig {
        agent_dir: data_dir.join("agent"),
        agent_listen: args.agent_listen,
        launcher: args.agent.launcher()?,
        envd: args.agent.envd()?,
        base_templates: args.agent.base_templates(),
        egress_interface: args.agent.egress_interface,
        mirror: args.agent.mirror,
        record_path,
    };
    let bus = EventBus::in_process(BusOptions::default()).context("cannot start the event bus")?;
    let app = App::new(store.clone(), bus, agents, Arc::clone(&ca), AppConfig::default());
    let node = Node::start(&app, &config, &mut record, &shutdown).await?;
    tracing::info!(host_id = %node.host_id, agent = %node.address, "the node's agent is serving");
    control_plane::announce_ready(listen, Some(&key_file));
    control_plane::serve_api(listener, app, BackgroundConfig::default(), &shutdown).await;

    // The API has drained: nothing calls the agent any more.
    shutdown.cancel();
    let stopped = node.stop().await;
    rotation.abort();
    store.close().await;
    stopped
}

/// The SQLite URL of the node's database file.
fn database_url(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("wrenn.db");
    let text = path.to_str().ok_or_else(|| anyhow!("the data dir {} is not valid UTF-8", data_dir.display()))?;
    if text.contains(['?', '#']) {
        return Err(anyhow!("the data dir {} may not contain '?' or '#'", data_dir.display()));
    }
    Ok(format!("sqlite://{text}?mode=rwc"))
}

/// `path`, or the binary `name` next to this executable.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_lives_in_the_data_dir() {
        assert_eq!(database_url(Path::new("/var/lib/wrenn")).unwrap(), "sqlite:///var/lib/wrenn/wrenn.db?mode=rwc");
        assert!(database_url(Path::new("/tmp/a?b")).is_err());
    }
}
