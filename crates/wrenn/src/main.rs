//! `wrenn`: the one binary an operator runs. `wrenn up` is a whole node
//! (control plane and host agent in one process, SQLite, in-process
//! events); `wrenn control-plane` is the control plane alone for a fleet
//! (PostgreSQL, Redis Streams); `wrenn host-agent` is one host of that
//! fleet. The other subcommands (`login`, `capsule`, `cp`, …) are the
//! client side: a developer's CLI over `wrenn-client` (`cli.rs`).
//!
//! Thin on purpose: flags (each with a `WRENN_*` variable) become the
//! configuration of the `wrenn-cp` and `wrenn-agent` libraries, which hold
//! all behaviour. This file parses, sets up logging and the shutdown signal,
//! and dispatches.

mod agent_args;
mod bootstrap;
mod cli;
mod control_plane;
mod host_agent;
mod logging;
mod node;
mod up;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Wrenn: isolated sandboxes (capsules) for untrusted code",
    after_help = "Getting started:\n  sudo wrenn up                      run a whole node on this machine\n  sudo cat /var/lib/wrenn/api-key | wrenn login\n  wrenn capsule create               prints the new capsule's id\n  wrenn capsule shell <id>           an interactive shell in it\n  wrenn cp ./src <id>:/work          copy a directory in"
)]
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
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    // Client commands log only warnings unless asked (`--log` or `WRENN_LOG`):
    // their output is for people and scripts.
    let log_defaulted = matches!(matches.value_source("filter"), None | Some(ValueSource::DefaultValue));
    if matches!(cli.command, Command::Client(_)) && log_defaulted {
        cli.log.filter = "warn".to_owned();
    }
    logging::init(&cli.log);
    let outcome = match cli.command {
        Command::Up(args) => up::run(args, shutdown_on_signal()).await,
        Command::ControlPlane(args) => control_plane::run(args, shutdown_on_signal()).await,
        Command::HostAgent(args) => host_agent::run(args, shutdown_on_signal()).await,
        Command::Client(command) => return cli::run(command).await,
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
