//! The client side of the `wrenn` binary: the commands a developer runs
//! against a Wrenn server (`login`, `capsule …`, `cp`, `snapshot`,
//! `template`, `events`, `bench`, `completions`). Each is a thin layer over
//! `wrenn-client`: parse, call, show.
//!
//! Output rules: tables and colours for people on a terminal, `--json` for
//! scripts (one JSON document on stdout, nothing else there); progress and
//! spinners go to stderr and only on a terminal; a failure is one line on
//! stderr with a hint, and a non-zero exit code, never a backtrace.

mod bench;
mod capsule;
mod context;
mod cp;
mod events;
mod exec;
mod failure;
mod login;
mod metrics;
mod output;
mod profile;
mod shell;
mod snapshot;
mod template;
mod terminal;

use std::process::ExitCode;

use clap::{Args, Subcommand};

use context::{ClientArgs, Context};
pub(crate) use failure::CliError;

/// The client commands, as subcommands of `wrenn`. Each carries the
/// connection and output flags ([`ClientArgs`]), so they show only where
/// they mean something.
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Save a server URL and API key as a profile (checked against the server first).
    Login {
        #[command(flatten)]
        conn: ClientArgs,
    },
    /// Create, list, inspect, pause, resume and destroy capsules; run commands and shells in them.
    #[command(visible_alias = "capsules")]
    Capsule {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: capsule::CapsuleCommand,
    },
    /// Copy files and directories between this machine and a capsule (`CAPSULE:PATH`).
    Cp {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(flatten)]
        args: cp::CpArgs,
    },
    /// Snapshot a capsule into a template, or list and delete snapshots.
    Snapshot {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: snapshot::SnapshotCommand,
    },
    /// List and delete templates.
    Template {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: template::TemplateCommand,
    },
    /// Follow the team's events live (capsule and template changes) until Ctrl-C or `--count`.
    Events {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(flatten)]
        args: events::EventsArgs,
    },
    /// Measure a running server: start-up, exec, file transfer, pause/resume, density.
    Bench {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(flatten)]
        args: bench::BenchArgs,
    },
    /// Print a shell completion script (`wrenn completions bash > /etc/bash_completion.d/wrenn`).
    Completions(CompletionsArgs),
}

/// `wrenn completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

/// Runs one client command; the exit code is the command's (a remote
/// process's for `exec` and `shell`), 1 for a failure, 2 for bad usage.
pub(crate) async fn run(command: ClientCommand) -> ExitCode {
    match dispatch(command).await {
        Ok(code) => code,
        Err(err) => {
            err.report();
            err.exit_code()
        }
    }
}

async fn dispatch(command: ClientCommand) -> Result<ExitCode, CliError> {
    match command {
        ClientCommand::Login { conn } => login::run(&conn).await,
        ClientCommand::Capsule { conn, command } => capsule::run(command, &Context::new(&conn)?).await,
        ClientCommand::Cp { conn, args } => cp::run(args, &Context::new(&conn)?).await,
        ClientCommand::Snapshot { conn, command } => snapshot::run(command, &Context::new(&conn)?).await,
        ClientCommand::Template { conn, command } => template::run(command, &Context::new(&conn)?).await,
        ClientCommand::Events { conn, args } => events::run(args, &Context::new(&conn)?).await,
        ClientCommand::Bench { conn, args } => bench::run(args, &Context::new(&conn)?).await,
        ClientCommand::Completions(completions) => {
            print_completions(completions.shell);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_completions(shell: clap_complete::Shell) {
    let mut command = <crate::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "wrenn", &mut std::io::stdout());
}
