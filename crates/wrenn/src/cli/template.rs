//! `wrenn template …`: the templates a team can start capsules from — the
//! platform's base templates and the team's snapshots.

use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};
use wrenn_client::TemplateKind;

use crate::cli::CliError;
use crate::cli::capsule::age;
use crate::cli::context::Context;
use crate::cli::output::{human_bytes, human_mib};

/// `wrenn template`.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// List templates (base templates and snapshots).
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Delete snapshots (base templates are the platform's and cannot be deleted).
    #[command(visible_alias = "delete")]
    Rm(RmArgs),
}

/// `wrenn template ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Only this kind.
    #[arg(long = "type", value_enum)]
    kind: Option<KindArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Base,
    Snapshot,
}

/// `wrenn template rm`.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// The templates' names.
    #[arg(required = true)]
    names: Vec<String>,
}

pub(crate) async fn run(command: TemplateCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    match command {
        TemplateCommand::Ls(args) => {
            let kind = args.kind.map(|kind| match kind {
                KindArg::Base => TemplateKind::Base,
                KindArg::Snapshot => TemplateKind::Snapshot,
            });
            list(ctx, kind).await
        }
        TemplateCommand::Rm(args) => remove(ctx, &args.names).await,
    }
}

/// Lists templates (shared with `wrenn snapshot ls`).
pub(crate) async fn list(ctx: &Context, kind: Option<TemplateKind>) -> Result<ExitCode, CliError> {
    let templates = ctx.client.snapshots().list(kind).await?;
    let now = SystemTime::now();
    let headers = ["NAME", "TYPE", "VCPUS", "MEMORY", "SIZE", "CREATED", "PROTECTED"];
    ctx.out.listing(&templates, "No templates.", &headers, |template| {
        vec![
            template.name.clone(),
            template.kind.to_string(),
            template.vcpus.to_string(),
            human_mib(template.memory_mb),
            human_bytes(template.size_bytes),
            age(&template.created_at, now),
            if template.protected { "yes".to_owned() } else { "no".to_owned() },
        ]
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Deletes templates by name (shared with `wrenn snapshot rm`).
pub(crate) async fn remove(ctx: &Context, names: &[String]) -> Result<ExitCode, CliError> {
    for name in names {
        ctx.client.snapshots().delete(name).await?;
        if !ctx.out.is_json() {
            ctx.out.line(&format!("Deleted {name}"))?;
        }
    }
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({ "deleted": names }))?;
    }
    Ok(ExitCode::SUCCESS)
}
