//! `wrenn bench`: measures a running server the way a user of the SDK
//! feels it, through `wrenn-client` only. Phases (each one optional with
//! `--only`):
//!
//! - `tti`: time to interactive, create → first successful exec, one at a
//!   time and N at once ([`tti`]);
//! - `exec`: exec round trip of `true` ([`roundtrip`]);
//! - `files`: upload and download throughput ([`transfer`]);
//! - `pause`: pause and resume latency, and resume → first exec ([`pause`]);
//! - `density`: memory per idle capsule, from its cgroup and from the
//!   host ([`density`]).
//!
//! Prints a table (p50/p95/p99, nearest rank) and writes every sample to a
//! JSON file. A failed sample is counted, not fatal; the run stops only
//! when every sample of a metric failed. Every capsule it starts is
//! destroyed before it exits, on Ctrl-C and SIGTERM too (exit code 130).

mod cleanup;
mod density;
mod host;
mod pause;
mod probe;
mod report;
mod roundtrip;
mod stats;
mod transfer;
mod tti;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use serde::Serialize;
use wrenn_client::Client;

use crate::cli::CliError;
use crate::cli::context::Context;
use crate::cli::output::Output;
use cleanup::{Interrupts, Tracker};
use probe::{READY_LIMIT, message};
use report::Report;

/// How long the capsules of a finished phase may take to stop.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);
/// How long cleanup after Ctrl-C may take before giving up.
const INTERRUPT_CLEANUP_LIMIT: Duration = Duration::from_secs(60);
/// The exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT).
const INTERRUPTED: u8 = 130;

/// `wrenn bench`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wrenn bench\n  wrenn bench --quick --json > bench.json\n  wrenn bench --only exec,files --exec 1000 --file-mib 256"
)]
pub(crate) struct BenchArgs {
    /// The template every capsule starts from.
    #[arg(long, short, default_value = "minimal")]
    template: String,
    /// Capsules started one at a time for time to interactive [default: 20, --quick 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    sequential: Option<u32>,
    /// Capsules started at once for time to interactive [default: 20, --quick 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    concurrent: Option<u32>,
    /// Exec round trips [default: 200, --quick 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    exec: Option<u32>,
    /// Size of the file uploaded and downloaded, held in memory here [default: 64, --quick 8].
    #[arg(long, value_name = "MiB", value_parser = clap::value_parser!(u32).range(1..=4_096))]
    file_mib: Option<u32>,
    /// Pause/resume rounds [default: 10, --quick 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pause: Option<u32>,
    /// Idle capsules started at once for the memory per capsule [default: 20, --quick 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    density: Option<u32>,
    /// Memory limit of every capsule in MiB [default: the server's]. The
    /// server admits capsules by their limits, so a smaller one lets
    /// `--density` start more idle capsules on the same host.
    #[arg(long, value_name = "MiB", value_parser = clap::value_parser!(u64).range(64..=65_536))]
    memory: Option<u64>,
    /// Run only these phases (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PHASES")]
    only: Vec<Phase>,
    /// Where to write every sample as JSON [default: wrenn-bench-<unix time>.json].
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Small sizes for CI (explicit sizes still win).
    #[arg(long)]
    quick: bool,
}

/// One part of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Phase {
    /// Time to interactive, one at a time and at once.
    Tti,
    /// Exec round trip.
    Exec,
    /// File upload and download throughput.
    Files,
    /// Pause and resume latency.
    Pause,
    /// Memory per idle capsule.
    Density,
}

impl Phase {
    const ALL: [Phase; 5] = [Phase::Tti, Phase::Exec, Phase::Files, Phase::Pause, Phase::Density];

    fn name(self) -> &'static str {
        match self {
            Phase::Tti => "tti",
            Phase::Exec => "exec",
            Phase::Files => "files",
            Phase::Pause => "pause",
            Phase::Density => "density",
        }
    }

    /// The phases to run, in their fixed order, once each; all when none
    /// is named.
    fn selected(only: &[Phase]) -> Vec<Phase> {
        Phase::ALL.into_iter().filter(|phase| only.is_empty() || only.contains(phase)).collect()
    }
}

/// How much each phase measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Sizes {
    pub(crate) sequential: usize,
    pub(crate) concurrent: usize,
    pub(crate) exec: usize,
    pub(crate) file_mib: usize,
    pub(crate) file_rounds: usize,
    pub(crate) pause: usize,
    pub(crate) density: usize,
}

impl Sizes {
    const FULL: Sizes = Sizes {
        sequential: 20,
        concurrent: 20,
        exec: 200,
        file_mib: 64,
        file_rounds: transfer::ROUNDS,
        pause: 10,
        density: 20,
    };
    pub(crate) const QUICK: Sizes = Sizes {
        sequential: 3,
        concurrent: 4,
        exec: 20,
        file_mib: 8,
        file_rounds: transfer::ROUNDS,
        pause: 3,
        density: 4,
    };

    /// The sizes of `--quick` or the full run, each overridden by its flag.
    fn resolve(args: &BenchArgs) -> Sizes {
        let base = if args.quick { Sizes::QUICK } else { Sizes::FULL };
        let pick = |flag: Option<u32>, default: usize| flag.map_or(default, |n| n as usize);
        Sizes {
            sequential: pick(args.sequential, base.sequential),
            concurrent: pick(args.concurrent, base.concurrent),
            exec: pick(args.exec, base.exec),
            file_mib: pick(args.file_mib, base.file_mib),
            file_rounds: base.file_rounds,
            pause: pick(args.pause, base.pause),
            density: pick(args.density, base.density),
        }
    }
}

/// What every phase works with.
#[derive(Debug)]
pub(crate) struct Bench<'a> {
    pub(crate) client: &'a Client,
    pub(crate) tracker: &'a Tracker,
    pub(crate) template: &'a str,
    pub(crate) sizes: Sizes,
    out: Output,
}

impl Bench<'_> {
    /// A capsule that has answered its first command (untimed set-up).
    pub(crate) async fn ready_capsule(&self) -> Result<String, String> {
        let id = self.tracker.create(self.template).await.map_err(message)?;
        probe::exec_until_ok(self.client, &id, READY_LIMIT).await?;
        Ok(id)
    }

    /// A spinner on stderr for the phase (only on a terminal).
    pub(crate) fn spinner(&self, phase: Phase, message: impl Into<String>) -> PhaseSpinner {
        let message = message.into();
        PhaseSpinner { phase, bar: self.out.spinner(format!("{}: {message}", phase.name())) }
    }

    /// Runs the phases in order; `Err` with the reason when one failed
    /// entirely or its capsules would not stop.
    async fn run_phases(&self, phases: &[Phase], report: &mut Report) -> Result<(), String> {
        for phase in phases {
            let before = report.metrics.len();
            match phase {
                Phase::Tti => tti::run(self, report).await,
                Phase::Exec => roundtrip::run(self, report).await,
                Phase::Files => transfer::run(self, report).await,
                Phase::Pause => pause::run(self, report).await,
                Phase::Density => density::run(self, report).await,
            }
            // Each phase starts with none of the run's capsules left.
            let left = self.tracker.settle(SETTLE_LIMIT).await;
            if let Some(reason) = report.failed_phase_since(before) {
                return Err(reason);
            }
            if !left.is_empty() {
                return Err(format!("capsules {} did not stop within {SETTLE_LIMIT:?}", left.join(", ")));
            }
        }
        Ok(())
    }
}

/// A phase's spinner, cleared when the phase ends (or is cut off).
#[derive(Debug)]
pub(crate) struct PhaseSpinner {
    phase: Phase,
    bar: Option<ProgressBar>,
}

impl PhaseSpinner {
    pub(crate) fn set(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: {}", self.phase.name(), message.into()));
        }
    }
}

impl Drop for PhaseSpinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub(crate) async fn run(args: BenchArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let sizes = Sizes::resolve(&args);
    let phases = Phase::selected(&args.only);
    let started_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64);
    let output = args.output.unwrap_or_else(|| PathBuf::from(format!("wrenn-bench-{}.json", started_ms / 1000)));
    check_template(&ctx.client, &args.template).await?;
    let tracker = Tracker::new(ctx.client.clone(), format!("{started_ms:x}-{}", std::process::id()), args.memory);
    let mut interrupts = Interrupts::install()?;
    let mut report = Report {
        tool: "wrenn bench",
        version: env!("CARGO_PKG_VERSION"),
        server: ctx.client.base_url().to_string(),
        template: args.template.clone(),
        memory_mb: args.memory,
        run_id: tracker.run_id().to_owned(),
        started_unix_ms: started_ms,
        started_at: humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(started_ms)).to_string(),
        duration_ms: 0.0,
        sizes,
        phases: phases.iter().map(|phase| phase.name()).collect(),
        output: output.display().to_string(),
        aborted: None,
        metrics: Vec::new(),
        tti_concurrent_wall_ms: None,
        throughput: Vec::new(),
        density: None,
    };
    // An output file we cannot write fails now, not after the whole run.
    report.write(&output)?;
    let bench = Bench { client: &ctx.client, tracker: &tracker, template: &args.template, sizes, out: ctx.out };
    let clock = Instant::now();
    let finished = tokio::select! {
        outcome = async {
            let outcome = bench.run_phases(&phases, &mut report).await;
            (outcome, tracker.settle(SETTLE_LIMIT).await)
        } => Some(outcome),
        () = interrupts.next() => None,
    };
    let Some((outcome, left)) = finished else {
        // Keep what was measured before the interruption.
        report.duration_ms = probe::ms(clock.elapsed());
        report.aborted = Some("interrupted".to_owned());
        report.finish();
        if let Err(err) = report.write(&output) {
            err.report();
        }
        return Ok(interrupted(&tracker, &mut interrupts).await);
    };
    report.duration_ms = probe::ms(clock.elapsed());
    report.aborted = outcome.err();
    report.finish();
    report.write(&output)?;
    if ctx.out.is_json() {
        ctx.out.json(&report)?;
    } else {
        ctx.out.table(&["METRIC", "N", "P50", "P95", "P99", "MEAN", "UNIT"], &report.rows())?;
        for line in report.notes() {
            ctx.out.line(&line)?;
        }
    }
    if !left.is_empty() {
        return Err(CliError::new(format!("capsules {} did not stop", left.join(", ")))
            .hint("destroy them with `wrenn capsule rm`"));
    }
    match report.aborted {
        Some(reason) => {
            Err(CliError::new(format!("bench stopped: {reason}"))
                .hint(format!("every sample is in {}", output.display())))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Fails at once, with the usual hints, when the server cannot be reached,
/// refuses the key, or has no such template: otherwise every sample of the
/// first phase would fail with the same message.
async fn check_template(client: &Client, template: &str) -> Result<(), CliError> {
    let templates = client.snapshots().list(None).await?;
    if templates.iter().any(|known| known.name == template) {
        return Ok(());
    }
    Err(CliError::usage(format!("there is no template {template:?}")).hint("`wrenn template ls` shows the templates"))
}

/// After SIGINT or SIGTERM: destroys every capsule of the run and waits
/// until they stopped; a second signal gives up waiting.
async fn interrupted(tracker: &Tracker, interrupts: &mut Interrupts) -> ExitCode {
    anstream::eprintln!("interrupted: destroying the capsules this run started (again to stop waiting)");
    let left = tokio::select! {
        left = tracker.sweep(INTERRUPT_CLEANUP_LIMIT) => left,
        () = interrupts.next() => tracker.known(),
    };
    if !left.is_empty() {
        anstream::eprintln!("warning: capsules not confirmed stopped: {} (`wrenn capsule rm` them)", left.join(" "));
    }
    ExitCode::from(INTERRUPTED)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Harness {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn parse(line: &[&str]) -> BenchArgs {
        let mut argv = vec!["bench"];
        argv.extend_from_slice(line);
        Harness::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn sizes_come_from_quick_or_full_and_flags_win() {
        let cases: &[(&[&str], Sizes)] = &[
            (&[], Sizes::FULL),
            (&["--quick"], Sizes::QUICK),
            (&["--quick", "--exec", "7"], Sizes { exec: 7, ..Sizes::QUICK }),
            (&["--density", "2", "--file-mib", "1"], Sizes { density: 2, file_mib: 1, ..Sizes::FULL }),
        ];
        for (line, want) in cases {
            assert_eq!(Sizes::resolve(&parse(line)), *want, "{line:?}");
        }
    }

    #[test]
    fn phases_run_in_a_fixed_order_once() {
        let cases: &[(&[&str], &[Phase])] = &[
            (&[], &Phase::ALL),
            (&["--only", "density,tti"], &[Phase::Tti, Phase::Density]),
            (&["--only", "exec", "--only", "exec"], &[Phase::Exec]),
        ];
        for (line, want) in cases {
            assert_eq!(Phase::selected(&parse(line).only), *want, "{line:?}");
        }
    }

    #[test]
    fn bad_flags_are_refused() {
        for line in [&["--only", "warp"][..], &["--exec", "0"], &["--file-mib", "5000"]] {
            let mut argv = vec!["bench"];
            argv.extend_from_slice(line);
            assert!(Harness::try_parse_from(argv).is_err(), "{line:?}");
        }
    }
}
