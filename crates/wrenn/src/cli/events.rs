//! `wrenn events`: the team's events as they happen, until Ctrl-C or
//! `--count` of them. For people one line per event
//! (`TIME  KIND  RESOURCE  OUTCOME  detail`, coloured on a terminal); for
//! scripts `--json` prints JSON Lines, one event object per line, flushed
//! as it arrives.
//!
//! The stream is live only: events from before the command started are not
//! shown. A stream the server ends (a restart, a reader too slow for its
//! buffer) or a connection that breaks is a failure with one clear line,
//! so a script following events knows to start again.

use std::io::Write;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clap::Args;
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use wrenn_client::Event;

use crate::cli::CliError;
use crate::cli::context::Context;
use crate::cli::output::status_cell;

/// The exit code after Ctrl-C, as for any command a shell interrupts.
const INTERRUPTED: u8 = 130;
/// The width of the KIND column: the longest kind, `template.snapshot.create`.
const KIND_WIDTH: usize = 24;
/// The width of the RESOURCE column: a capsule id (`cl-` and 25 digits).
const RESOURCE_WIDTH: usize = 28;
/// The width of the OUTCOME column.
const OUTCOME_WIDTH: usize = 7;

/// `wrenn events`.
#[derive(Debug, Args)]
#[command(
    next_help_heading = "Which events",
    after_help = "With --json, the first line is the `connected` event: the stream is live from then on (it is not counted by --count).\n\nExamples:\n  wrenn events\n  wrenn events --capsule cl-… --count 1\n  wrenn events --json | jq -c 'select(.outcome == \"error\")'"
)]
pub(crate) struct EventsArgs {
    /// Stop after this many events.
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Only the events of this capsule (`cl-…`).
    #[arg(long, value_name = "ID")]
    capsule: Option<String>,
}

/// Follows the stream until Ctrl-C, `--count` events, or its end.
pub(crate) async fn run(args: EventsArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    // Listening before connecting: a Ctrl-C at any moment ends the command
    // cleanly, never in the middle of writing a line.
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let interrupted = async move {
        match interrupt.as_mut() {
            Some(interrupt) => {
                interrupt.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let mut interrupted = std::pin::pin!(interrupted);
    let events = ctx.client.events();
    let mut stream = tokio::select! {
        stream = events.stream() => stream?,
        () = &mut interrupted => return Ok(ExitCode::from(INTERRUPTED)),
    };
    let mut shown = 0_u64;
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = &mut interrupted => return Ok(ExitCode::from(INTERRUPTED)),
        };
        let event = match next {
            Some(Ok(event)) => event,
            // One unreadable event is skipped; the stream goes on.
            Some(Err(err)) if !stream.is_finished() => {
                anstream::eprintln!("warning: skipped an event: {}", CliError::from(err).message());
                continue;
            }
            Some(Err(err)) => return Err(lost(CliError::from(err).message())),
            None => return Err(lost("the server closed it")),
        };
        if event.is_connected() {
            if connected(&event, ctx)? == Printed::ReaderGone {
                return Ok(ExitCode::SUCCESS);
            }
            continue;
        }
        if !matches_filter(&event, args.capsule.as_deref()) {
            continue;
        }
        let line = if ctx.out.is_json() { json_line(&event)? } else { human_line(&event) };
        if print_line(&line)? == Printed::ReaderGone {
            return Ok(ExitCode::SUCCESS);
        }
        shown += 1;
        if args.count == Some(shown) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// The failure for a stream that ended before it was asked to.
fn lost(why: &str) -> CliError {
    CliError::new(format!("the event stream ended: {why}"))
        .hint("the server restarted or dropped this slow reader; run `wrenn events` again to follow on")
}

/// The stream is live: scripts get the `connected` event, people a header.
fn connected(event: &Event, ctx: &Context) -> Result<Printed, CliError> {
    if ctx.out.is_json() {
        return print_line(&json_line(event)?);
    }
    let bold = Style::new().bold();
    let header = format!(
        "{bold}{:<9}  {:<KIND_WIDTH$}  {:<RESOURCE_WIDTH$}  {:<OUTCOME_WIDTH$}  DETAIL{bold:#}",
        "TIME", "KIND", "RESOURCE", "OUTCOME"
    );
    print_line(&header)
}

/// Whether `--capsule` lets an event through.
fn matches_filter(event: &Event, capsule: Option<&str>) -> bool {
    capsule.is_none_or(|wanted| event.capsule_id() == Some(wanted))
}

fn json_line(event: &Event) -> Result<String, CliError> {
    serde_json::to_string(event).map_err(|err| CliError::new(format!("cannot encode an event as JSON: {err}")))
}

/// `TIME  KIND  RESOURCE  OUTCOME  detail`, in fixed columns so that lines
/// printed one at a time still line up.
fn human_line(event: &Event) -> String {
    let resource = event.resource.as_ref().map_or("-", |resource| resource.id.as_str());
    let outcome = match event.outcome.as_deref() {
        Some("success") => paint(AnsiColor::Green, "success", OUTCOME_WIDTH),
        Some("error") => paint(AnsiColor::Red, "error", OUTCOME_WIDTH),
        Some(other) => format!("{other:<OUTCOME_WIDTH$}"),
        None => paint(AnsiColor::BrightBlack, "-", OUTCOME_WIDTH),
    };
    let line = format!(
        "{}  {}  {resource:<RESOURCE_WIDTH$}  {outcome}  {}",
        clock(&event.timestamp),
        paint(kind_color(&event.event), &event.event, KIND_WIDTH),
        detail(event)
    );
    line.trim_end().to_owned()
}

/// The time of day in UTC (`14:03:07Z`); the date is in `--json`.
fn clock(timestamp: &str) -> String {
    match humantime::parse_rfc3339_weak(timestamp) {
        Ok(time) => {
            let text = humantime::format_rfc3339_seconds(time).to_string();
            text.get(11..19).map_or(text.clone(), |clock| format!("{clock}Z"))
        }
        Err(_) => format!("{timestamp:<9}"),
    }
}

fn kind_color(kind: &str) -> AnsiColor {
    match kind {
        "capsule.create" | "capsule.resume" | "host.up" => AnsiColor::Green,
        "capsule.destroy" | "template.snapshot.delete" | "host.down" => AnsiColor::Magenta,
        "capsule.pause" => AnsiColor::Blue,
        "template.snapshot.create" => AnsiColor::Cyan,
        _ => AnsiColor::Yellow,
    }
}

/// `text` coloured, padded to `width` visible characters.
fn paint(color: AnsiColor, text: &str, width: usize) -> String {
    let style = Style::new().fg_color(Some(color.into()));
    let pad = width.saturating_sub(text.chars().count());
    format!("{style}{text}{style:#}{}", " ".repeat(pad))
}

/// What changed, why, and who did it: `running → pausing`, the capsule's
/// state after an action, the error of a failed one, `by ci (api_key)`.
fn detail(event: &Event) -> String {
    let mut parts = Vec::new();
    match (event.metadata.get("from"), event.metadata.get("to")) {
        (Some(from), Some(to)) => parts.push(format!("{} → {}", status_cell(from), status_cell(to))),
        _ => {
            if let Some(capsule) = &event.sandbox {
                parts.push(status_cell(capsule.status.as_str()));
            }
        }
    }
    if let Some(error) = &event.error {
        let red = Style::new().fg_color(Some(AnsiColor::Red.into()));
        parts.push(format!("{red}{error}{red:#}"));
    }
    if let Some(reason) = event.metadata.get("reason").filter(|reason| !reason.is_empty()) {
        parts.push(format!("({reason})"));
    }
    if let Some(actor) = event.actor.as_ref().filter(|actor| actor.kind != "system") {
        let who = if actor.name.is_empty() { actor.id.as_str() } else { actor.name.as_str() };
        parts.push(if who.is_empty() { format!("by {}", actor.kind) } else { format!("by {who} ({})", actor.kind) });
    }
    parts.join("  ")
}

/// Whether a line reached its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Printed {
    Yes,
    /// Stdout was closed (`wrenn events | head -3`): stop quietly.
    ReaderGone,
}

/// Writes one line to stdout and flushes it, so each event shows at once
/// even through a pipe.
fn print_line(line: &str) -> Result<Printed, CliError> {
    let mut out = anstream::stdout();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(Printed::Yes),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(Printed::ReaderGone),
        Err(err) => Err(CliError::new(format!("cannot write to stdout: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        serde_json::from_str(json).unwrap()
    }

    /// The line without colours.
    fn plain(line: &str) -> String {
        crate::cli::output::strip_styles(line)
    }

    #[test]
    fn events_read_as_one_line_each() {
        let cases = [
            (
                r#"{"event":"capsule.create","outcome":"success","resource":{"id":"cl-000000000000000000000000z","type":"sandbox"},"actor":{"type":"api_key","id":"key-1","name":"ci"},"sandbox":{"id":"cl-000000000000000000000000z","status":"running"},"timestamp":"2026-09-21T14:13:20.123Z"}"#,
                "14:13:20Z  capsule.create            cl-000000000000000000000000z  success  running  by ci (api_key)",
            ),
            (
                r#"{"event":"capsule.state.changed","resource":{"id":"cl-000000000000000000000000z","type":"sandbox"},"actor":{"type":"system"},"metadata":{"from":"running","to":"pausing"},"timestamp":"2026-09-21T14:13:21Z"}"#,
                "14:13:21Z  capsule.state.changed     cl-000000000000000000000000z  -        running → pausing",
            ),
            (
                r#"{"event":"capsule.pause","outcome":"error","error":"pause failed: agent gone","resource":{"id":"cl-1","type":"sandbox"},"metadata":{"reason":"host_failure"},"timestamp":"2026-09-21T14:13:22Z"}"#,
                "14:13:22Z  capsule.pause             cl-1                          error    pause failed: agent gone  (host_failure)",
            ),
            (
                r#"{"event":"host.down","resource":{"id":"host-1","type":"host"},"timestamp":"not a time"}"#,
                "not a time  host.down                 host-1                        -",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(plain(&human_line(&event(json))), want, "{json}");
        }
    }

    #[test]
    fn the_capsule_filter_uses_the_resource_or_the_sandbox() {
        let by_resource = event(r#"{"event":"capsule.pause","resource":{"id":"cl-1","type":"sandbox"}}"#);
        let by_sandbox = event(r#"{"event":"capsule.pause","sandbox":{"id":"cl-1","status":"paused"}}"#);
        let host = event(r#"{"event":"host.up","resource":{"id":"cl-1","type":"host"}}"#);
        let cases = [
            (&by_resource, Some("cl-1"), true),
            (&by_resource, Some("cl-2"), false),
            (&by_sandbox, Some("cl-1"), true),
            (&host, Some("cl-1"), false),
            (&host, None, true),
        ];
        for (event, filter, want) in cases {
            assert_eq!(matches_filter(event, filter), want, "{event:?} {filter:?}");
        }
    }
}
