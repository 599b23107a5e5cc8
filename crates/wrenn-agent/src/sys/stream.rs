//! Running a long external tool (`debootstrap`, `apt-get` in a chroot) whose
//! output is progress: every stdout and stderr line is handed to the caller
//! as it arrives, instead of being buffered until exit as `sys::cmd` does.
//!
//! The last lines are kept so that a failure still says why.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::sys::cmd::CmdError;

/// How many trailing output lines a failure reports.
const TAIL_LINES: usize = 20;

/// Runs `program args…` with `envs` added to the environment, calling
/// `on_line` with each output line (stdout and stderr interleaved as they
/// come), waiting at most `timeout`. The child is killed on timeout or drop.
pub(crate) async fn run_lines<I, S>(
    program: &str,
    args: I,
    envs: &[(&str, &str)],
    timeout: Duration,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<(), CmdError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    #[expect(clippy::disallowed_methods, reason = "sys is the agent's one place that spawns tools")]
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    tracing::debug!(?command, "running");
    let spawn_error = |source| CmdError::Spawn { program: program.to_owned(), source };
    let mut child = command.spawn().map_err(spawn_error)?;
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let pump = async {
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            unreachable!("both pipes were requested above");
        };
        let mut stdout = BufReader::new(stdout).lines();
        let mut stderr = BufReader::new(stderr).lines();
        let (mut stdout_open, mut stderr_open) = (true, true);
        while stdout_open || stderr_open {
            let (from_stdout, line) = tokio::select! {
                line = stdout.next_line(), if stdout_open => (true, line),
                line = stderr.next_line(), if stderr_open => (false, line),
            };
            match line {
                Ok(Some(line)) => {
                    on_line(&line);
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                // This pipe closed (or became unreadable); keep draining the other.
                Ok(None) | Err(_) if from_stdout => stdout_open = false,
                Ok(None) | Err(_) => stderr_open = false,
            }
        }
        child.wait().await
    };
    let status = match tokio::time::timeout(timeout, pump).await {
        Ok(status) => status.map_err(spawn_error)?,
        Err(_) => return Err(CmdError::TimedOut { program: program.to_owned(), timeout }),
    };
    if !status.success() {
        let stderr = Vec::from(tail).join("\n");
        return Err(CmdError::Failed { program: program.to_owned(), status, stderr });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_lines_and_reports_the_tail() {
        let mut lines = Vec::new();
        let script = "echo one; echo two >&2; printf 'three'; echo \"$X\"";
        run_lines("sh", ["-c", script], &[("X", "four")], Duration::from_secs(5), &mut |l| lines.push(l.to_owned()))
            .await
            .unwrap();
        lines.sort();
        assert_eq!(lines, ["one", "threefour", "two"]);

        let err = run_lines("sh", ["-c", "echo a; echo b >&2; exit 2"], &[], Duration::from_secs(5), &mut |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CmdError::Failed { stderr, .. } if stderr.contains('a') && stderr.contains('b')),
            "{err:?}"
        );
        let err = run_lines("sleep", ["5"], &[], Duration::from_millis(50), &mut |_| {}).await.unwrap_err();
        assert!(matches!(err, CmdError::TimedOut { .. }));
    }
}
