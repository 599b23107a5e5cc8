//! The small timed acts every phase of `wrenn bench` is built from: run
//! `true` in a capsule, keep trying until it succeeds, watch a capsule
//! reach a state. A failure is a one-line message, because a failed
//! sample is counted and reported, not raised.
//!
//! States are polled every [`STATUS_POLL`] (through the SDK's
//! `wait_for_every`, not its 100 ms default), so the pause and resume
//! latencies are resolved to a few milliseconds.

use std::time::{Duration, Instant};

use wrenn_client::{CapsuleStatus, Client, ExecRequest};

use crate::cli::CliError;

/// How often a capsule's state is looked at while a latency is measured.
pub(crate) const STATUS_POLL: Duration = Duration::from_millis(10);
/// How long a capsule may take to answer its first command, or a state
/// change to finish, before the sample counts as failed.
pub(crate) const READY_LIMIT: Duration = Duration::from_secs(120);
/// The time limit the server gets for one `true`.
const EXEC_TIMEOUT_SEC: u64 = 30;
/// Pause between attempts while a capsule is not ready for commands.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// A duration in milliseconds, to the microsecond.
pub(crate) fn ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// One line saying what went wrong, causes included.
pub(crate) fn message(err: wrenn_client::Error) -> String {
    CliError::from(err).message().to_owned()
}

/// Runs `true` in the capsule once; anything but exit code 0 is a failure.
pub(crate) async fn exec_true(client: &Client, id: &str) -> Result<(), String> {
    let output =
        client.commands(id).run(&ExecRequest::shell("true").timeout_sec(EXEC_TIMEOUT_SEC)).await.map_err(message)?;
    if output.exit_code != 0 {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("`true` exited with {} in {id}: {}", output.exit_code, stderr.trim()));
    }
    Ok(())
}

/// Runs `true` until it succeeds: the first successful command is when a
/// new or resumed capsule is usable. Gives up after `limit`, or at once
/// when the capsule settled in a state it cannot leave by itself.
pub(crate) async fn exec_until_ok(client: &Client, id: &str, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let error = match exec_true(client, id).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if let Ok(capsule) = client.capsules().get(id).await
            && is_dead_end(&capsule.status)
        {
            let why = if capsule.reason.is_empty() { error } else { capsule.reason };
            return Err(format!("{id} is {}: {why}", capsule.status));
        }
        if Instant::now() >= deadline {
            return Err(format!("{id} answered no command within {limit:?}: {error}"));
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// A state from which no command will ever succeed without a new call.
fn is_dead_end(status: &CapsuleStatus) -> bool {
    matches!(status, CapsuleStatus::Stopped | CapsuleStatus::Stopping | CapsuleStatus::Error | CapsuleStatus::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_milliseconds_to_the_microsecond() {
        assert_eq!(ms(Duration::from_micros(1_234_567)), 1234.567);
        assert_eq!(ms(Duration::from_nanos(1_600)), 0.002);
        assert_eq!(ms(Duration::ZERO), 0.0);
    }

    #[test]
    fn only_states_a_command_cannot_fix_end_the_retries() {
        let cases = [
            (CapsuleStatus::Pending, false),
            (CapsuleStatus::Starting, false),
            (CapsuleStatus::Running, false),
            (CapsuleStatus::Resuming, false),
            (CapsuleStatus::Paused, false),
            (CapsuleStatus::Error, true),
            (CapsuleStatus::Stopping, true),
            (CapsuleStatus::Stopped, true),
            (CapsuleStatus::Missing, true),
        ];
        for (status, want) in cases {
            assert_eq!(is_dead_end(&status), want, "{status}");
        }
    }
}
