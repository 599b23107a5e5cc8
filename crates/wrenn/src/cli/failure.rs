//! How a client command fails: one line on stderr saying what went wrong
//! and, where we can tell, what to do about it. Every `wrenn_client::Error`
//! is translated here, so the hints stay consistent across commands.

use std::process::ExitCode;

use wrenn_client::{Error, ErrorCode};

/// A failure of a client command, ready to show.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
    hint: Option<String>,
    code: u8,
}

impl CliError {
    /// A failure with a message only.
    pub(crate) fn new(message: impl Into<String>) -> CliError {
        CliError { message: message.into(), hint: None, code: 1 }
    }

    /// Adds what the user can do about it.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    /// A failure caused by how the command was called (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError { message: message.into(), hint: None, code: 2 }
    }

    /// The message without the hint (for tests and JSON).
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// Prints the one line.
    pub(crate) fn report(&self) {
        let style = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Red.into()));
        // Messages may carry a server's or a remote process's text: one line, always.
        let message = self.message.replace(['\n', '\r'], " ");
        let line = match &self.hint {
            Some(hint) => format!("{style}error:{style:#} {message} (hint: {hint})"),
            None => format!("{style}error:{style:#} {message}"),
        };
        anstream::eprintln!("{line}");
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> CliError {
        // Transport failures carry useful causes; the others say it all.
        let message = match &err {
            Error::Transport { .. } | Error::WebSocket { .. } | Error::Io { .. } => one_line(&err),
            _ => err.to_string().replace('\n', " "),
        };
        let hint = match &err {
            Error::Connect { .. } => Some("is the server running? Check --base-url, WRENN_BASE_URL or `wrenn login`"),
            Error::Config(_) => {
                Some("check --base-url and --api-key, WRENN_BASE_URL and WRENN_API_KEY, or `wrenn login`")
            }
            Error::Api { code: ErrorCode::Unauthorized, .. } => {
                Some("the server refused the API key; run `wrenn login` or set WRENN_API_KEY")
            }
            Error::Api { code: ErrorCode::Forbidden, .. } => Some("this key's team may not do that"),
            Error::Api { code: ErrorCode::NotFound, .. } => {
                Some("`wrenn capsule ls` and `wrenn template ls` show what exists")
            }
            Error::Api { code: ErrorCode::Conflict, .. } => Some("`wrenn capsule info <id>` shows its state"),
            Error::Api { code: ErrorCode::HostUnavailable, .. } => {
                Some("no host has room now; destroy idle capsules or ask for less memory")
            }
            _ => None,
        };
        CliError { message, hint: hint.map(str::to_owned), code: 1 }
    }
}

/// The error and its causes on one line, without repeating a cause the
/// message already contains.
fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_get_hints() {
        let not_found = Error::Api { status: 404, code: ErrorCode::NotFound, message: "capsule cl-x not found".into() };
        let failure = CliError::from(not_found);
        assert!(failure.message().contains("capsule cl-x not found"));
        assert!(failure.hint.as_deref().unwrap().contains("wrenn capsule ls"));
        let unauthorized = Error::Api { status: 401, code: ErrorCode::Unauthorized, message: "bad key".into() };
        assert!(CliError::from(unauthorized).hint.unwrap().contains("wrenn login"));
    }

    #[test]
    fn messages_stay_on_one_line() {
        let err = Error::Config("two\nlines".into());
        assert_eq!(CliError::from(err).message(), "two lines");
    }
}
