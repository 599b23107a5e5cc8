//! `wrenn`: the one binary an operator runs. `wrenn up` is a whole node
//! (control plane and host agent in one process, SQLite, in-process
//! events); `wrenn control-plane` is the control plane alone for a fleet
//! (PostgreSQL, Redis Streams); `wrenn host-agent` is one host of that
//! fleet.
//!
//! Thin on purpose: flags (each with a `WRENN_*` variable) become the
//! configuration of the `wrenn-cp` and `wrenn-agent` libraries, which hold
//! all behaviour. This file parses, sets up logging and the shutdown signal,
//! and dispatches.

mod agent_args;
mod bootstrap;
mod control_plane;
mod host_agent;
mod logging;
mod node;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(version, about = "Wrenn: isolated sandboxes (capsules) for untrusted code")]
struct Cli {
    #[command(flatten)]
    log: logging::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole node: the control plane and the host agent in one process (needs root).
    Up(up::UpArgs),
    /// Run the control plane alone, for a fleet of hosts (PostgreSQL or SQLite; Redis optional).
    ControlPlane(control_plane::ControlPlaneArgs),
    /// Run one host of a fleet: register with a token once, then heartbeat and serve capsules (needs root).
    HostAgent(host_agent::HostAgentArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log);
    let shutdown = shutdown_on_signal();
    let outcome = match cli.command {
        Command::Up(args) => up::run(args, shutdown).await,
        Command::ControlPlane(args) => control_plane::run(args, shutdown).await,
        Command::HostAgent(args) => host_agent::run(args, shutdown).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "wrenn stopped");
            ExitCode::FAILURE
        }
    }
}

/// A token cancelled at the first SIGTERM or SIGINT. Installed before
/// anything starts, so a signal during start-up also stops cleanly.
fn shutdown_on_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot listen for signals; stop wrenn with SIGKILL");
        return shutdown;
    };
    let token = shutdown.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down");
        token.cancel();
    });
    shutdown
}
