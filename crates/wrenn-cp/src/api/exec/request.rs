//! The exec request: its JSON body, its checks, and the time budget of a
//! foreground command.
//!
//! The SDK gives a foreground exec `timeout_sec + 10` s of HTTP time. That
//! budget also pays for waiting on a capsule that is still starting, so the
//! command's own timeout shrinks by what the wait took: the client gets a
//! result or an error body in time, never a read timeout of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::app::AppError;

/// Foreground timeout when the request names none (the SDK's default).
pub(crate) const DEFAULT_TIMEOUT_SEC: u32 = 30;
/// Longest foreground command.
pub(crate) const MAX_TIMEOUT_SEC: u32 = 3600;
/// Most arguments and environment variables one command may have (the
/// body limit bounds their total size).
const MAX_ARGS: usize = 4096;
const MAX_ENVS: usize = 1024;
const MAX_TAG: usize = 256;

/// How much later than the command's timeout the whole answer is due; the
/// SDK waits `timeout_sec + 10` s.
const ANSWER_SLACK: Duration = Duration::from_secs(8);
/// How much later than the command's timeout the agent must answer: it
/// kills the command at the timeout and then replies.
pub(crate) const AGENT_SLACK: Duration = Duration::from_secs(5);

/// `POST /v1/capsules/{id}/exec`. Nulls count as absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecBody {
    cmd: Option<String>,
    args: Option<Vec<String>>,
    envs: Option<BTreeMap<String, String>>,
    cwd: Option<String>,
    timeout_sec: Option<i64>,
    tag: Option<String>,
    background: Option<bool>,
}

/// A checked exec request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub(crate) cmd: String,
    pub(crate) args: Vec<String>,
    pub(crate) envs: BTreeMap<String, String>,
    /// Empty: the capsule's default working directory.
    pub(crate) cwd: String,
    pub(crate) mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Wait for the exit, at most `timeout_sec`.
    Foreground { timeout_sec: u32 },
    /// Start and answer with the pid; the agent makes up a tag when empty.
    Background { tag: String },
}

impl ExecBody {
    /// Checks every field; the SDK's own values always pass.
    pub(crate) fn into_command(self) -> Result<Command, AppError> {
        let cmd = self.cmd.unwrap_or_default();
        if cmd.is_empty() {
            return Err(AppError::InvalidRequest("cmd is required".to_owned()));
        }
        let args = self.args.unwrap_or_default();
        if args.len() > MAX_ARGS {
            return Err(AppError::InvalidRequest(format!("at most {MAX_ARGS} args are allowed, not {}", args.len())));
        }
        let envs = self.envs.unwrap_or_default();
        if envs.len() > MAX_ENVS {
            return Err(AppError::InvalidRequest(format!("at most {MAX_ENVS} envs are allowed, not {}", envs.len())));
        }
        for name in envs.keys() {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(AppError::InvalidRequest(format!("environment variable name {name:?} is invalid")));
            }
        }
        let texts = std::iter::once(&cmd).chain(&args).chain(envs.values());
        if texts.into_iter().any(|text| text.contains('\0')) {
            return Err(AppError::InvalidRequest("cmd, args and envs must not contain NUL bytes".to_owned()));
        }
        let cwd = self.cwd.unwrap_or_default();
        check_cwd(&cwd)?;
        let mode = if self.background.unwrap_or(false) {
            let tag = self.tag.unwrap_or_default();
            if tag.len() > MAX_TAG || tag.contains('\0') {
                return Err(AppError::InvalidRequest(format!("tag must be at most {MAX_TAG} bytes without NUL")));
            }
            Mode::Background { tag }
        } else {
            Mode::Foreground { timeout_sec: timeout_sec(self.timeout_sec)? }
        };
        Ok(Command { cmd, args, envs, cwd, mode })
    }
}

/// The working directory: absolute, or under the user's home (`~`,
/// `~/x`). A relative path would depend on a default the client cannot see.
fn check_cwd(cwd: &str) -> Result<(), AppError> {
    let valid = cwd.is_empty() || cwd.starts_with('/') || cwd == "~" || cwd.starts_with("~/");
    if !valid || cwd.contains('\0') {
        return Err(AppError::InvalidRequest(format!("cwd {cwd:?} must be an absolute path (or start with ~/)")));
    }
    Ok(())
}

fn timeout_sec(requested: Option<i64>) -> Result<u32, AppError> {
    let Some(requested) = requested else {
        return Ok(DEFAULT_TIMEOUT_SEC);
    };
    match u32::try_from(requested) {
        Ok(secs) if (1..=MAX_TIMEOUT_SEC).contains(&secs) => Ok(secs),
        _ => Err(AppError::InvalidRequest(format!(
            "timeout_sec must be between 1 and {MAX_TIMEOUT_SEC}, not {requested}"
        ))),
    }
}

/// The time a foreground exec has, counted from the request's arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ExecBudget {
    timeout: Duration,
}

impl ExecBudget {
    pub(crate) fn new(timeout_sec: u32) -> ExecBudget {
        ExecBudget { timeout: Duration::from_secs(u64::from(timeout_sec)) }
    }

    /// Longest wait for the capsule to run: it must leave at least a
    /// second for the command and the agent's answer.
    pub(crate) fn wait_limit(self) -> Duration {
        (self.timeout + ANSWER_SLACK).saturating_sub(AGENT_SLACK + Duration::from_secs(1))
    }

    /// The command's timeout once `elapsed` went by before it could start:
    /// the requested one, cut so that the agent's answer (due
    /// [`AGENT_SLACK`] after it) still arrives in time. `None` when not even
    /// a second is left.
    pub(crate) fn command_timeout_sec(self, elapsed: Duration) -> Option<u32> {
        let left = (self.timeout + ANSWER_SLACK).saturating_sub(elapsed).saturating_sub(AGENT_SLACK);
        let secs = left.min(self.timeout).as_secs();
        u32::try_from(secs).ok().filter(|secs| *secs >= 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> Result<Command, AppError> {
        serde_json::from_value::<ExecBody>(json).expect("the body parses").into_command()
    }

    #[test]
    fn the_sdks_foreground_body_passes_with_its_defaults() {
        let command = body(serde_json::json!({
            "cmd": "/bin/sh", "args": ["-c", "echo hi"], "background": false, "timeout_sec": 30,
            "envs": {"GIT_TERMINAL_PROMPT": "0"}, "cwd": "/home/user/repo", "tag": "x"
        }))
        .unwrap();
        assert_eq!(command.cmd, "/bin/sh");
        assert_eq!(command.args, ["-c", "echo hi"]);
        assert_eq!(command.envs["GIT_TERMINAL_PROMPT"], "0");
        assert_eq!(command.cwd, "/home/user/repo");
        assert_eq!(command.mode, Mode::Foreground { timeout_sec: 30 });

        let command = body(serde_json::json!({"cmd": "ls", "timeout_sec": null, "envs": null})).unwrap();
        assert_eq!(command.mode, Mode::Foreground { timeout_sec: DEFAULT_TIMEOUT_SEC });
        assert!(command.envs.is_empty() && command.args.is_empty() && command.cwd.is_empty());
    }

    #[test]
    fn background_keeps_the_tag_and_ignores_the_timeout() {
        let command =
            body(serde_json::json!({"cmd": "sleep", "args": ["9"], "background": true, "tag": "web"})).unwrap();
        assert_eq!(command.mode, Mode::Background { tag: "web".to_owned() });
        let command = body(serde_json::json!({"cmd": "sleep", "background": true, "timeout_sec": 0})).unwrap();
        assert_eq!(command.mode, Mode::Background { tag: String::new() });
    }

    #[test]
    fn bad_bodies_are_refused() {
        let bad = [
            serde_json::json!({}),
            serde_json::json!({"cmd": ""}),
            serde_json::json!({"cmd": "ls", "timeout_sec": 0}),
            serde_json::json!({"cmd": "ls", "timeout_sec": -1}),
            serde_json::json!({"cmd": "ls", "timeout_sec": 3601}),
            serde_json::json!({"cmd": "ls", "cwd": "relative/dir"}),
            serde_json::json!({"cmd": "ls", "envs": {"A=B": "1"}}),
            serde_json::json!({"cmd": "ls", "envs": {"": "1"}}),
            serde_json::json!({"cmd": "ls\u{0}"}),
            serde_json::json!({"cmd": "ls", "args": vec!["a"; MAX_ARGS + 1]}),
            serde_json::json!({"cmd": "ls", "background": true, "tag": "t".repeat(MAX_TAG + 1)}),
        ];
        for json in bad {
            assert!(matches!(body(json.clone()), Err(AppError::InvalidRequest(_))), "{json}");
        }
        for cwd in ["/", "/tmp", "~", "~/src"] {
            assert!(body(serde_json::json!({"cmd": "ls", "cwd": cwd})).is_ok(), "{cwd}");
        }
        assert!(serde_json::from_value::<ExecBody>(serde_json::json!({"cmd": "ls", "signal": 9})).is_err());
    }

    #[test]
    fn the_budget_answers_within_timeout_plus_ten_seconds() {
        let budget = ExecBudget::new(30);
        assert_eq!(budget.command_timeout_sec(Duration::ZERO), Some(30));
        assert_eq!(budget.command_timeout_sec(Duration::from_secs(3)), Some(30));
        assert_eq!(budget.command_timeout_sec(Duration::from_millis(13_500)), Some(19));
        assert_eq!(budget.wait_limit(), Duration::from_secs(32));
        for timeout_sec in [1, 2, 30, 300, MAX_TIMEOUT_SEC] {
            let budget = ExecBudget::new(timeout_sec);
            for waited in 0..=u64::from(timeout_sec) + 10 {
                let waited = Duration::from_secs(waited);
                if let Some(command) = budget.command_timeout_sec(waited) {
                    let answer_due = waited + Duration::from_secs(u64::from(command)) + AGENT_SLACK;
                    assert!(command <= timeout_sec, "{timeout_sec} {waited:?}");
                    assert!(answer_due <= Duration::from_secs(u64::from(timeout_sec) + 8), "{timeout_sec} {waited:?}");
                }
            }
            assert!(budget.command_timeout_sec(budget.wait_limit()).is_some(), "{timeout_sec}");
        }
    }
}
