//! One error type for every call. An answer the server refused keeps the
//! server's `code` and `message` (`{"error":{"code","message"}}`), so a
//! caller can match on [`ErrorCode`] the way the Python SDK maps codes to
//! exception classes; everything else says which step failed.

use std::fmt;

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[allow(clippy::error_impl_error, reason = "an SDK's one error type is `crate::Error`, as in reqwest")]
pub enum Error {
    /// The server answered with an error status.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's error code.
        code: ErrorCode,
        /// The server's message, meant for people.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// What was being called.
        url: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        reason: String,
        /// The transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// The request or its answer failed on the way (timeout, broken body).
    #[error("request to {url} failed: {source}")]
    Transport {
        /// What was being called.
        url: String,
        /// The transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// A WebSocket route failed after or during the upgrade.
    #[error("websocket {url}: {source}")]
    WebSocket {
        /// What was being called.
        url: String,
        /// The WebSocket failure.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The server's answer was not what the API documents.
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        /// What was being called.
        url: String,
        /// What did not fit.
        detail: String,
    },
    /// The client was configured wrongly (no API key, a bad base URL).
    #[error("{0}")]
    Config(String),
    /// Reading or writing a local file or stream failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for a capsule's state took too long, or ended in a state
    /// that cannot lead to the one waited for.
    #[error("{0}")]
    Wait(String),
}

impl Error {
    /// The server's error code, for errors the server answered.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the server said the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self.code(), Some(ErrorCode::NotFound))
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { context: context.into(), source }
    }
}

/// The server's error codes (`error.code`), with any other kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (400): the input broke a rule.
    InvalidRequest,
    /// `unauthorized` (401): no key, or an unknown one.
    Unauthorized,
    /// `forbidden` (403).
    Forbidden,
    /// `not_found` (404), also for another team's capsule.
    NotFound,
    /// `invalid_state` or `conflict` (409): not possible in the current state.
    Conflict,
    /// `host_has_capsules` (409).
    HostHasCapsules,
    /// `host_unavailable` (503): no host can take it now.
    HostUnavailable,
    /// `agent_error` (502): the host agent failed.
    AgentError,
    /// `internal_error` (500).
    Internal,
    /// Any other code.
    Other(String),
}

impl ErrorCode {
    /// Parses the wire form; unknown codes are kept.
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "invalid_request" => ErrorCode::InvalidRequest,
            "unauthorized" => ErrorCode::Unauthorized,
            "forbidden" => ErrorCode::Forbidden,
            "not_found" => ErrorCode::NotFound,
            "invalid_state" | "conflict" => ErrorCode::Conflict,
            "host_has_capsules" | "host_has_sandboxes" => ErrorCode::HostHasCapsules,
            "host_unavailable" => ErrorCode::HostUnavailable,
            "agent_error" => ErrorCode::AgentError,
            "internal_error" => ErrorCode::Internal,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::HostHasCapsules => "host_has_capsules",
            ErrorCode::HostUnavailable => "host_unavailable",
            ErrorCode::AgentError => "agent_error",
            ErrorCode::Internal => "internal_error",
            ErrorCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error body the API documents.
#[derive(Debug, serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, serde::Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// Builds [`Error::Api`] from an error answer's status and body. A body
/// that is not the documented shape still gives an error with its text.
pub(crate) fn from_answer(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => Error::Api {
            status,
            code: ErrorCode::parse(&parsed.error.code),
            message: if parsed.error.message.is_empty() { parsed.error.code } else { parsed.error.message },
        },
        Err(_) => {
            let text = String::from_utf8_lossy(body).trim().chars().take(200).collect::<String>();
            let message = if text.is_empty() { format!("HTTP {status}") } else { text };
            let code = match status {
                401 => ErrorCode::Unauthorized,
                404 => ErrorCode::NotFound,
                _ => ErrorCode::Internal,
            };
            Error::Api { status, code, message }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_typed_errors() {
        let cases: &[(u16, &str, ErrorCode, &str)] = &[
            (
                404,
                r#"{"error":{"code":"not_found","message":"capsule cl-x not found"}}"#,
                ErrorCode::NotFound,
                "capsule cl-x not found",
            ),
            (409, r#"{"error":{"code":"invalid_state","message":"paused"}}"#, ErrorCode::Conflict, "paused"),
            (418, r#"{"error":{"code":"teapot"}}"#, ErrorCode::Other("teapot".into()), "teapot"),
            (502, "Bad Gateway", ErrorCode::Internal, "Bad Gateway"),
            (401, "", ErrorCode::Unauthorized, "HTTP 401"),
        ];
        for (status, body, code, message) in cases {
            match from_answer(*status, body.as_bytes()) {
                Error::Api { status: got, code: got_code, message: got_message } => {
                    assert_eq!((got, &got_code, got_message.as_str()), (*status, code, *message), "{body}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn codes_round_trip() {
        for code in ["invalid_request", "unauthorized", "forbidden", "not_found", "conflict", "host_unavailable", "x"] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
    }
}
