//! Running external tools (`nft`, `ip`, `debootstrap`, …): argv logged,
//! stderr captured into the error, a timeout applied, never a shell.

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

/// A failed external command, with what it printed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CmdError {
    #[error("could not start {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed with {status}: {stderr}")]
    Failed { program: String, status: std::process::ExitStatus, stderr: String },
    #[error("{program} did not finish within {timeout:?}")]
    TimedOut { program: String, timeout: Duration },
}

/// Output of a successful command.
#[derive(Debug)]
pub(crate) struct CmdOutput {
    pub(crate) stdout: Vec<u8>,
}

/// Runs `program args…` with `stdin` fed in, waiting at most `timeout`.
pub(crate) async fn run<I, S>(
    program: &str,
    args: I,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<CmdOutput, CmdError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use tokio::io::AsyncWriteExt;

    #[expect(clippy::disallowed_methods, reason = "sys::cmd is the agent's one place that spawns tools")]
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    tracing::debug!(?command, "running");
    let mut child = command.spawn().map_err(|source| CmdError::Spawn { program: program.to_owned(), source })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A tool that exits early closes its stdin; its status tells why.
        let _ = pipe.write_all(input).await;
    }
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(output) => output.map_err(|source| CmdError::Spawn { program: program.to_owned(), source })?,
        Err(_) => return Err(CmdError::TimedOut { program: program.to_owned(), timeout }),
    };
    if !output.status.success() {
        return Err(CmdError::Failed {
            program: program.to_owned(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(CmdOutput { stdout: output.stdout })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_output_failure_and_timeout() {
        let out = run("sh", ["-c", "cat; echo done"], Some(b"in "), Duration::from_secs(5)).await.unwrap();
        assert_eq!(out.stdout, b"in done\n");
        let err = run("sh", ["-c", "echo oops >&2; exit 3"], None, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(&err, CmdError::Failed { stderr, .. } if stderr == "oops"), "{err:?}");
        let err = run("sleep", ["5"], None, Duration::from_millis(50)).await.unwrap_err();
        assert!(matches!(err, CmdError::TimedOut { .. }));
        let err = run("/no/such/tool", [""; 0], None, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, CmdError::Spawn { .. }));
    }
}
