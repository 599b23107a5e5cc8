//! `wrenn capsule exec`: runs one command in a capsule as if it ran here.
//! Its stdout and stderr stream to ours as it writes them (the
//! `exec/stream` WebSocket) and its exit code becomes ours, so it fits in
//! scripts and pipelines. `--json` waits for the end instead and prints
//! one document with both outputs and the exit code.
//!
//! Ctrl-C (SIGINT) while streaming kills the remote process (SIGKILL
//! through the stream's `stop`), waits for its end and exits with 130,
//! as a local command interrupted by Ctrl-C would; a second Ctrl-C exits
//! at once. A reader that goes away (`| head`) stops it too (exit 141). In
//! `--json` mode nothing is caught: the remote command runs on until its
//! timeout.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use wrenn_client::{ExecRequest, ProcessEvent, ProcessStream};

use crate::cli::CliError;
use crate::cli::capsule::parse_key_value;
use crate::cli::context::Context;
use crate::cli::terminal::{INTERRUPTED, next_signal};

/// The longest foreground command the server runs: what `--json` waits
/// for when no `--timeout` is given.
const LONGEST_FOREGROUND_SEC: u64 = 3600;
/// The exit code when our stdout went away (128 + SIGPIPE).
const BROKEN_PIPE: u8 = 141;

/// `wrenn capsule exec`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wrenn capsule exec cl-… -- ls -la /\n  wrenn capsule exec cl-… 'make -j4 && ./test > /tmp/log'\n  wrenn capsule exec cl-… --env DEBUG=1 --cwd /src -- python3 main.py\n  wrenn capsule exec cl-… --json -- uname -a | jq -r .stdout"
)]
pub(crate) struct ExecArgs {
    /// The capsule's id (`cl-…`).
    id: String,
    /// An environment variable for the command, `KEY=VALUE` (repeatable).
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    envs: Vec<(String, String)>,
    /// The working directory (absolute, or `~/…`) [default: the user's home].
    #[arg(long, value_name = "DIR")]
    cwd: Option<String>,
    /// Kill the command after this many seconds [default: never; with --json, the server's limit of an hour].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=LONGEST_FOREGROUND_SEC))]
    timeout: Option<u64>,
    /// The command and its arguments. A single argument with spaces or shell syntax runs through `/bin/sh -c`.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    command: Vec<String>,
}

pub(crate) async fn run(args: ExecArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let mut request = exec_request(&args.command);
    request.envs = args.envs.into_iter().collect();
    request.cwd = args.cwd;
    request.timeout_sec = args.timeout;
    if ctx.out.is_json() {
        request.timeout_sec = Some(args.timeout.unwrap_or(LONGEST_FOREGROUND_SEC));
        return run_for_json(&args.id, &request, ctx).await;
    }
    let events = ctx.client.commands(&args.id).stream(&request).await?;
    relay(events).await
}

/// What to run: the words as given, or one shell line through `/bin/sh -c`.
fn exec_request(command: &[String]) -> ExecRequest {
    match command {
        [line] if is_shell_line(line) => ExecRequest::shell(line.as_str()),
        [cmd, args @ ..] => ExecRequest::new(cmd.as_str(), args.iter().map(String::as_str)),
        // clap requires at least one word.
        [] => ExecRequest::shell(""),
    }
}

/// A lone argument that only a shell can run: `'make && ./test'`,
/// `'echo $HOME'`, `'ls *.txt'`.
fn is_shell_line(line: &str) -> bool {
    line.chars().any(|ch| ch.is_whitespace() || ";|&<>()$`\\\"'*?[]{}~#".contains(ch))
}

/// Our exit code for the remote one: 0–255 as they are; anything else
/// (-1 when a signal killed it) becomes 255, never a false success.
pub(crate) fn exit_status(exit_code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(exit_code).unwrap_or(u8::MAX))
}

async fn run_for_json(id: &str, request: &ExecRequest, ctx: &Context) -> Result<ExitCode, CliError> {
    let output = ctx.client.commands(id).run(request).await?;
    ctx.out.json(&serde_json::json!({
        "stdout": output.stdout_lossy(),
        "stderr": output.stderr_lossy(),
        "exit_code": output.exit_code,
        "duration_ms": output.duration_ms,
    }))?;
    Ok(exit_status(output.exit_code))
}

/// Copies the remote output to ours until the process ends.
async fn relay(mut events: ProcessStream) -> Result<ExitCode, CliError> {
    let mut interrupts = signal(SignalKind::interrupt()).ok();
    let mut interrupted = false;
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            () = next_signal(&mut interrupts) => {
                if interrupted {
                    return Ok(ExitCode::from(INTERRUPTED));
                }
                interrupted = true;
                if events.stop().await.is_err() {
                    return Ok(ExitCode::from(INTERRUPTED));
                }
                continue;
            }
        };
        let written = match event {
            Some(Ok(ProcessEvent::Start { .. })) => Ok(()),
            Some(Ok(ProcessEvent::Stdout(text))) => write_all(&mut std::io::stdout().lock(), text.as_bytes()),
            Some(Ok(ProcessEvent::Stderr(text))) => write_all(&mut std::io::stderr().lock(), text.as_bytes()),
            Some(Ok(ProcessEvent::Exit { exit_code })) => {
                // Let the stream finish its Close (it ends right after).
                while events.next().await.is_some() {}
                return Ok(if interrupted { ExitCode::from(INTERRUPTED) } else { exit_status(exit_code) });
            }
            Some(Ok(ProcessEvent::Error(message))) => {
                return Err(CliError::new(format!("the command failed: {message}")));
            }
            Some(Err(err)) => return Err(err.into()),
            None => return Err(CliError::new("the command's output ended without its exit status")),
        };
        if let Err(err) = written {
            // Whoever reads our output is gone: the command has no one to
            // write to either.
            drop(events.stop().await);
            if err.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::from(BROKEN_PIPE));
            }
            return Err(CliError::new(format!("cannot write the command's output: {err}")));
        }
    }
}

fn write_all(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn one_shell_line_runs_through_sh_and_words_run_as_they_are() {
        let cases: &[(&[&str], &str, &[&str])] = &[
            (&["ls"], "ls", &[]),
            (&["ls", "-la", "/"], "ls", &["-la", "/"]),
            (&["echo out; exit 7"], "/bin/sh", &["-c", "echo out; exit 7"]),
            (&["ls|wc"], "/bin/sh", &["-c", "ls|wc"]),
            (&["echo", "a b"], "echo", &["a b"]),
            (&["/usr/bin/env"], "/usr/bin/env", &[]),
            (&["$HOME"], "/bin/sh", &["-c", "$HOME"]),
        ];
        for (command, cmd, args) in cases {
            let request = exec_request(&words(command));
            assert_eq!((request.cmd.as_str(), request.args), (*cmd, words(args)), "{command:?}");
        }
    }

    #[test]
    fn exit_codes_outside_a_byte_are_failures() {
        for (remote, local) in [(0, 0u8), (7, 7), (255, 255), (256, 255), (-1, 255), (i32::MIN, 255)] {
            assert_eq!(exit_status(remote), ExitCode::from(local), "{remote}");
        }
    }
}
