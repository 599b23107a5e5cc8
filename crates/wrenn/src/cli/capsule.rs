//! `wrenn capsule …`: the capsule lifecycle from a terminal. Changes wait
//! for their end by default (with a spinner), because that is what a person
//! at a prompt wants; `--no-wait` returns as soon as the server accepted.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use clap::{Args, Subcommand};
use wrenn_client::{Capsule, CapsuleStatus, CreateCapsule};

use crate::cli::context::Context;
use crate::cli::output::{human_mib, status_cell};
use crate::cli::{CliError, exec, shell};

/// How long a lifecycle change may take before the CLI gives up waiting.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// `wrenn capsule`.
#[derive(Debug, Subcommand)]
pub(crate) enum CapsuleCommand {
    /// Create a capsule and wait until it runs; prints its id.
    #[command(
        after_help = "Examples:\n  wrenn capsule create\n  wrenn capsule create --template python --memory 1024 --label job=ci-42\n  ID=$(wrenn capsule create --json | jq -r .id)"
    )]
    Create(CreateArgs),
    /// List the team's capsules.
    #[command(visible_alias = "list")]
    Ls,
    /// Show one capsule.
    Info(IdArg),
    /// Destroy capsules.
    #[command(visible_alias = "destroy")]
    Rm(RmArgs),
    /// Pause a running capsule (its memory is kept; it stops using CPU).
    Pause(WaitIdArg),
    /// Resume a paused capsule.
    Resume(WaitIdArg),
    /// Run a command in a capsule; its output streams here and its exit code becomes ours.
    Exec(exec::ExecArgs),
    /// Open an interactive shell in a capsule (a real terminal: colours, Ctrl-C, resizing).
    Shell(shell::ShellArgs),
    /// Show a capsule's CPU, memory and disk use: the latest sample and min/avg/max over a window.
    Metrics(crate::cli::metrics::MetricsArgs),
}

/// `wrenn capsule create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The template to start from (`wrenn template ls`) [default: the server's].
    #[arg(long, short)]
    template: Option<String>,
    /// Virtual CPUs.
    #[arg(long)]
    vcpus: Option<u32>,
    /// Memory limit in MiB.
    #[arg(long, value_name = "MiB")]
    memory: Option<u64>,
    /// Disk size in MiB.
    #[arg(long, value_name = "MiB")]
    disk: Option<u64>,
    /// Pause it after this many idle seconds (0: never).
    #[arg(long, value_name = "SECONDS")]
    idle_timeout: Option<u64>,
    /// A label, `key=value` (repeatable).
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    labels: Vec<(String, String)>,
    /// Make its ports reachable without credentials.
    #[arg(long)]
    public: bool,
    /// Return as soon as the server accepted it, without waiting for it to run.
    #[arg(long)]
    no_wait: bool,
}

/// A capsule id.
#[derive(Debug, Args)]
pub(crate) struct IdArg {
    /// The capsule's id (`cl-…`).
    id: String,
}

/// A capsule id and whether to wait.
#[derive(Debug, Args)]
pub(crate) struct WaitIdArg {
    /// The capsule's id (`cl-…`).
    id: String,
    /// Return as soon as the server accepted the change.
    #[arg(long)]
    no_wait: bool,
}

/// `wrenn capsule rm`.
#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// The capsules' ids.
    #[arg(required = true)]
    ids: Vec<String>,
    /// Return as soon as the server accepted each destroy.
    #[arg(long)]
    no_wait: bool,
}

/// `KEY=VALUE` (labels here, environment variables in `exec` and `shell`).
pub(crate) fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

pub(crate) async fn run(command: CapsuleCommand, ctx: &Context) -> Result<ExitCode, CliError> {
    match command {
        CapsuleCommand::Create(args) => create(args, ctx).await,
        CapsuleCommand::Ls => list(ctx).await,
        CapsuleCommand::Info(args) => info(&args.id, ctx).await,
        CapsuleCommand::Rm(args) => remove(args, ctx).await,
        CapsuleCommand::Pause(args) => change(ctx, &args.id, args.no_wait, Change::Pause).await,
        CapsuleCommand::Resume(args) => change(ctx, &args.id, args.no_wait, Change::Resume).await,
        CapsuleCommand::Exec(args) => exec::run(args, ctx).await,
        CapsuleCommand::Shell(args) => shell::run(args, ctx).await,
        CapsuleCommand::Metrics(args) => crate::cli::metrics::run(args, ctx).await,
    }
}

async fn create(args: CreateArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let mut spec = CreateCapsule::new();
    spec.template = args.template;
    spec.vcpus = args.vcpus;
    spec.memory_mb = args.memory;
    spec.disk_mb = args.disk;
    spec.timeout_sec = args.idle_timeout;
    spec.metadata = args.labels.into_iter().collect();
    spec.public = args.public;
    let started = Instant::now();
    let spinner = ctx.out.spinner("creating capsule");
    let mut capsule = ctx.client.capsules().create(&spec).await?;
    if !args.no_wait {
        if let Some(spinner) = &spinner {
            spinner.set_message(format!("starting {}", capsule.id));
        }
        capsule = ctx.client.capsules().wait_for(&capsule.id, CapsuleStatus::Running, WAIT_LIMIT).await?;
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    if ctx.out.is_json() {
        ctx.out.json(&capsule)?;
    } else if args.no_wait {
        ctx.out.line(&capsule.id)?;
    } else {
        ctx.out.line(&capsule.id)?;
        anstream::eprintln!(
            "{} from {} is {} ({} ms)",
            capsule.id,
            capsule.template,
            status_cell(capsule.status.as_str()),
            started.elapsed().as_millis()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(ctx: &Context) -> Result<ExitCode, CliError> {
    let capsules = ctx.client.capsules().list().await?;
    let now = SystemTime::now();
    let headers = ["ID", "STATUS", "TEMPLATE", "VCPUS", "MEMORY", "CREATED", "LABELS"];
    ctx.out.listing(&capsules, "No capsules. Create one with `wrenn capsule create`.", &headers, |capsule| {
        vec![
            capsule.id.clone(),
            status_cell(capsule.status.as_str()),
            capsule.template.clone(),
            capsule.vcpus.to_string(),
            human_mib(capsule.memory_mb),
            age(&capsule.created_at, now),
            labels(capsule),
        ]
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn info(id: &str, ctx: &Context) -> Result<ExitCode, CliError> {
    let capsule = ctx.client.capsules().get(id).await?;
    if ctx.out.is_json() {
        ctx.out.json(&capsule)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = SystemTime::now();
    let mut rows = vec![
        ("id", capsule.id.clone()),
        ("status", status_cell(capsule.status.as_str())),
        ("template", capsule.template.clone()),
        ("vcpus", capsule.vcpus.to_string()),
        ("memory", human_mib(capsule.memory_mb)),
        ("disk", human_mib(capsule.disk_size_mb)),
        (
            "idle timeout",
            if capsule.timeout_sec == 0 { "never".to_owned() } else { format!("{} s", capsule.timeout_sec) },
        ),
        ("public", capsule.public.to_string()),
        ("created", format!("{} ({})", capsule.created_at, age(&capsule.created_at, now))),
    ];
    if let Some(active) = &capsule.last_active_at {
        rows.push(("last active", format!("{active} ({})", age(active, now))));
    }
    if !capsule.reason.is_empty() {
        rows.push(("reason", capsule.reason.clone()));
    }
    if !capsule.metadata.is_empty() {
        rows.push(("labels", labels(&capsule)));
    }
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let bold = anstyle::Style::new().bold();
    for (name, value) in rows {
        ctx.out.line(&format!("{bold}{name:<width$}{bold:#}  {value}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Destroys each capsule in turn; one that fails is reported and the
/// others are still destroyed, and the exit code says something failed.
async fn remove(args: RmArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let mut destroyed = Vec::new();
    let mut failed = Vec::new();
    for id in &args.ids {
        let outcome = async {
            ctx.client.capsules().destroy(id).await?;
            if !args.no_wait {
                ctx.client.capsules().wait_gone(id, WAIT_LIMIT).await?;
            }
            Ok::<(), wrenn_client::Error>(())
        }
        .await;
        match outcome {
            Ok(()) => {
                if !ctx.out.is_json() {
                    ctx.out.line(&format!("Destroyed {id}"))?;
                }
                destroyed.push(id.clone());
            }
            Err(err) => {
                let failure = CliError::from(err);
                if !ctx.out.is_json() {
                    failure.report();
                }
                failed.push(serde_json::json!({ "id": id, "error": failure.message() }));
            }
        }
    }
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({ "destroyed": destroyed, "failed": failed }))?;
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Pause,
    Resume,
}

async fn change(ctx: &Context, id: &str, no_wait: bool, change: Change) -> Result<ExitCode, CliError> {
    let (verb, target) = match change {
        Change::Pause => ("pausing", CapsuleStatus::Paused),
        Change::Resume => ("resuming", CapsuleStatus::Running),
    };
    let spinner = ctx.out.spinner(format!("{verb} {id}"));
    let mut capsule = match change {
        Change::Pause => ctx.client.capsules().pause(id).await?,
        Change::Resume => ctx.client.capsules().resume(id).await?,
    };
    if !no_wait {
        capsule = ctx.client.capsules().wait_for(id, target, WAIT_LIMIT).await?;
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    if ctx.out.is_json() {
        ctx.out.json(&capsule)?;
    } else {
        ctx.out.line(&format!("{id} is {}", status_cell(capsule.status.as_str())))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn labels(capsule: &Capsule) -> String {
    capsule.metadata.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(",")
}

/// "12s ago", "5m ago", "3h ago", "2d ago" from an RFC 3339 time.
pub(crate) fn age(rfc3339: &str, now: SystemTime) -> String {
    let Ok(then) = humantime::parse_rfc3339_weak(rfc3339) else {
        return "-".to_owned();
    };
    let secs = now.duration_since(then).unwrap_or_default().as_secs();
    match secs {
        0..60 => format!("{secs}s ago"),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86400 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_parse() {
        assert_eq!(parse_key_value("a=b=c").unwrap(), ("a".to_owned(), "b=c".to_owned()));
        assert_eq!(parse_key_value("a=").unwrap(), ("a".to_owned(), String::new()));
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("nokey").is_err());
    }

    #[test]
    fn ages_read_well() {
        let now = humantime::parse_rfc3339("2026-11-30T12:00:00Z").unwrap();
        assert_eq!(age("2026-11-30T11:59:48.500Z", now), "11s ago");
        assert_eq!(age("2026-11-30T11:00:00Z", now), "1h ago");
        assert_eq!(age("2026-11-28T12:00:00Z", now), "2d ago");
        assert_eq!(age("garbage", now), "-");
    }
}
