//! Processes started by envd: spawn, fan out output, accept input, reap.
//!
//! A process outlives the request that started it. It lives in the
//! [`table::ProcessTable`] from spawn until its output has been delivered
//! and it has exited; any number of clients may attach to it by pid or tag.
//!
//! ```text
//!  spawn ──▶ running ──(exit + pipes drained)──▶ ended (End sent to every subscriber, removed)
//! ```
//!
//! Memory stays bounded whatever the process prints: output is never kept
//! for late joiners (attach sees output from that moment on, as in E2B), and
//! each subscriber has a small queue (see [`hub`]). A subscriber that stops
//! reading delays the process for at most a grace period, then is cut off.

pub(crate) mod handle;
pub(crate) mod hub;
pub(crate) mod table;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::users::Identity;

/// What to run and how, already validated and resolved.
#[derive(Debug, Clone)]
pub(crate) struct ProcessSpec {
    pub(crate) cmd: String,
    pub(crate) args: Vec<String>,
    /// The complete environment of the process.
    pub(crate) env: BTreeMap<String, String>,
    /// Requested environment only, echoed back by `List`.
    pub(crate) requested_envs: BTreeMap<String, String>,
    pub(crate) requested_cwd: Option<String>,
    pub(crate) cwd: std::path::PathBuf,
    pub(crate) identity: Identity,
    pub(crate) tag: Option<String>,
    pub(crate) stdin: bool,
    pub(crate) pty: Option<PtySize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PtySize {
    pub(crate) cols: u16,
    pub(crate) rows: u16,
}

/// A chunk of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    Stdout(Bytes),
    Stderr(Bytes),
    Pty(Bytes),
}

/// How a process ended, in the terms of E2B's `EndEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExitInfo {
    /// The exit code, or -1 when the process was killed by a signal.
    pub(crate) exit_code: i32,
    pub(crate) exited: bool,
    /// `exit status N` or `signal: <name>`, as Go's `ProcessState` prints it.
    pub(crate) status: String,
    pub(crate) error: Option<String>,
}

impl ExitInfo {
    pub(crate) fn from_code(code: i32) -> ExitInfo {
        ExitInfo { exit_code: code, exited: true, status: format!("exit status {code}"), error: None }
    }

    pub(crate) fn from_signal(signal: i32) -> ExitInfo {
        ExitInfo {
            exit_code: -1,
            exited: false,
            status: format!("signal: {}", signal_description(signal)),
            error: None,
        }
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcessEvent {
    Data(Output),
    End(ExitInfo),
}

fn signal_description(signal: i32) -> String {
    match signal {
        1 => "hangup".to_owned(),
        2 => "interrupt".to_owned(),
        3 => "quit".to_owned(),
        6 => "aborted".to_owned(),
        9 => "killed".to_owned(),
        11 => "segmentation fault".to_owned(),
        13 => "broken pipe".to_owned(),
        15 => "terminated".to_owned(),
        other => format!("signal {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_descriptions_match_go() {
        assert_eq!(ExitInfo::from_code(3).status, "exit status 3");
        let killed = ExitInfo::from_signal(9);
        assert_eq!((killed.exit_code, killed.exited, killed.status.as_str()), (-1, false, "signal: killed"));
        assert_eq!(ExitInfo::from_signal(64).status, "signal: signal 64");
    }
}
