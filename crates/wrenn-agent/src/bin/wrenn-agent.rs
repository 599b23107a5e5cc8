//! `wrenn-agent`: the host agent as a standalone service. Flags (or their
//! `WRENN_*` variables) become a `DaemonConfig`; `daemon::run` serves until
//! SIGTERM or SIGINT, leaving capsules running for the next agent to adopt.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use tokio::signal::unix::{SignalKind, signal};
use wrenn_agent::daemon::{self, DaemonConfig};
use wrenn_agent::rpc::TlsConfig;
use wrenn_types::ErrorChain;

#[derive(Debug, Parser)]
#[command(version, about = "Wrenn's host agent: runs capsules on this machine for the control plane")]
struct Args {
    /// Where templates and capsule state live.
    #[arg(long, env = "WRENN_DATA_DIR", default_value = "/var/lib/wrenn")]
    data_dir: PathBuf,
    /// Address of the mTLS API for the control plane.
    #[arg(long, env = "WRENN_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// PEM certificate chain of this agent, leaf first.
    #[arg(long, env = "WRENN_TLS_CERT")]
    tls_cert: PathBuf,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "WRENN_TLS_KEY")]
    tls_key: PathBuf,
    /// PEM CA whose client certificates are accepted (the control plane's).
    #[arg(long, env = "WRENN_CLIENT_CA")]
    client_ca: PathBuf,
    /// The `wrenn-launch` binary [default: next to this executable].
    #[arg(long, env = "WRENN_LAUNCHER")]
    launcher: Option<PathBuf>,
    /// The envd binary injected into templates [default: `envd` next to this executable].
    #[arg(long, env = "WRENN_ENVD")]
    envd: Option<PathBuf>,
    /// Interface capsules reach the outside through; none: no outbound traffic.
    #[arg(long, env = "WRENN_EGRESS_INTERFACE")]
    egress_interface: Option<String>,
    /// Debian mirror for template builds [default: the host's apt mirror].
    #[arg(long, env = "WRENN_MIRROR")]
    mirror: Option<String>,
    /// Base templates built in the background when missing (comma-separated; empty: none).
    #[arg(long, env = "WRENN_BASE_TEMPLATES", value_delimiter = ',', default_value = "minimal,python")]
    base_templates: Vec<String>,
    /// Log lines as human-readable text or as JSON objects.
    #[arg(long, env = "WRENN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log filter (`tracing` directives).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log_filter: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args);
    let config = match config(args) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!(error = %err, "invalid configuration");
            return ExitCode::from(2);
        }
    };
    match daemon::run(config, terminated()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %ErrorChain(&err), "wrenn-agent stopped");
            ExitCode::FAILURE
        }
    }
}

fn config(args: Args) -> Result<DaemonConfig, String> {
    let read = |path: &Path| std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()));
    let sibling = |name: &str| {
        let exe = std::env::current_exe().map_err(|err| format!("cannot locate this executable: {err}"))?;
        Ok::<_, String>(exe.with_file_name(name))
    };
    Ok(DaemonConfig {
        tls: TlsConfig {
            cert_pem: read(&args.tls_cert)?,
            key_pem: read(&args.tls_key)?,
            client_ca_pem: read(&args.client_ca)?,
        },
        launcher: args.launcher.map_or_else(|| sibling("wrenn-launch"), Ok)?,
        envd_binary: args.envd.map_or_else(|| sibling("envd"), Ok)?,
        data_dir: args.data_dir,
        listen: args.listen,
        egress_interface: args.egress_interface,
        mirror: args.mirror,
        base_templates: args.base_templates.into_iter().filter(|name| !name.is_empty()).collect(),
    })
}

fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves at the first SIGTERM or SIGINT.
async fn terminated() {
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot listen for signals; stop the agent with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
