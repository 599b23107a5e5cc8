//! `wrenn snapshot …`: turn a capsule into a template of the team, and
//! manage those snapshots. Capsules created from a snapshot start with its
//! files (`wrenn capsule create --template NAME`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use wrenn_client::{SnapshotOutcome, TemplateKind};

use crate::cli::context::Context;
use crate::cli::{CliError, template};

/// `wrenn snapshot`.
#[derive(Debug, Subcommand)]
pub(crate) enum SnapshotCommand {
    /// Snapshot a running or paused capsule into a template.
    #[command(
        after_help = "Example:\n  wrenn snapshot create cl-abc… --name with-deps\n  wrenn capsule create --template with-deps"
    )]
    Create(CreateArgs),
    /// List the team's snapshots.
    #[command(visible_alias = "list")]
    Ls,
    /// Delete snapshots.
    #[command(visible_alias = "delete")]
    Rm(RmArgs),
}

/// `wrenn snapshot create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The capsule to snapshot.
    capsule: String,
    /// The template's name [default: chosen by the server].
    #[arg(long)]
    name: Option<String>,
    /// Replace an existing snapshot of the same name.
    #[arg(long)]
    overwrite: bool,
}

/// `wrenn snapshot rm`.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// The snapshots' names.
    #[arg(required = true)]
    names: Vec<String>,
}

pub(crate) async fn run(command: SnapshotCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    match command {
        SnapshotCommand::Create(args) => create(args, ctx).await,
        SnapshotCommand::Ls => template::list(ctx, Some(TemplateKind::Snapshot)).await,
        SnapshotCommand::Rm(args) => template::remove(ctx, &args.names).await,
    }
}

async fn create(args: CreateArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let spinner = ctx.out.spinner(format!("snapshotting {}", args.capsule));
    let outcome = ctx.client.snapshots().create(&args.capsule, args.name.as_deref(), args.overwrite).await?;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    match (&outcome, ctx.out.is_json()) {
        (SnapshotOutcome::Done(template), true) => ctx.out.json(template)?,
        (SnapshotOutcome::InProgress { name }, true) => {
            ctx.out.json(&serde_json::json!({ "name": name, "type": "snapshot", "in_progress": true }))?;
        }
        (SnapshotOutcome::Done(template), false) => ctx.out.line(&template.name)?,
        (SnapshotOutcome::InProgress { name }, false) => {
            ctx.out.line(name)?;
            anstream::eprintln!("still copying in the background; `wrenn snapshot ls` shows it when it is done");
        }
    }
    Ok(ExitCode::SUCCESS)
}
