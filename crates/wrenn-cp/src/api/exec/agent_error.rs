//! What a data-plane call's agent error means to the client.
//!
//! The lifecycle's mapping (`AppError::from_agent`) treats the agent's
//! refusals as being about capsules. Exec, process and file calls are about
//! paths and processes inside a capsule, so they keep the agent's (envd's)
//! message, which names the path or pid, and map the codes that only the
//! data plane meets: permission denied (the acting user may not), failed
//! precondition (the capsule is not running on its host, a directory is
//! not empty, the filesystem is read-only) and resource exhausted (output
//! too large, too many entries, disk full).

use axum::http::StatusCode;
use connectrpc::{ConnectError, ErrorCode};

use crate::http::ApiError;

/// The API error for an agent's answer to a data-plane call. Refusals keep
/// the agent's message (it names the path, pid or state); failures get a
/// fixed message, with the agent's text kept as the source for the log
/// (it can name internal addresses).
pub(crate) fn data_plane_error(error: ConnectError) -> ApiError {
    let message = error.message.clone().filter(|message| !message.is_empty());
    let text = || message.clone().unwrap_or_else(|| format!("the host agent refused the call ({:?})", error.code));
    match error.code {
        ErrorCode::NotFound => ApiError::not_found(text()),
        ErrorCode::PermissionDenied => ApiError::forbidden(text()),
        ErrorCode::InvalidArgument | ErrorCode::OutOfRange => ApiError::invalid_request(text()),
        ErrorCode::AlreadyExists | ErrorCode::FailedPrecondition => ApiError::conflict(text()),
        ErrorCode::ResourceExhausted => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", text()),
        ErrorCode::DeadlineExceeded => {
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", "the host agent did not answer in time")
                .with_source(error)
        }
        ErrorCode::Unavailable => {
            ApiError::host_unavailable("the capsule's host agent or its envd is unreachable").with_source(error)
        }
        _ => ApiError::agent_error("the host agent failed the call").with_source(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(code: ErrorCode, message: &str) -> (StatusCode, &'static str, String) {
        let error = data_plane_error(ConnectError::new(code, message));
        (error.status(), error.code(), error.message().to_owned())
    }

    #[test]
    fn agent_codes_map_to_the_sdks_codes() {
        let cases = [
            (ErrorCode::NotFound, StatusCode::NOT_FOUND, "not_found"),
            (ErrorCode::PermissionDenied, StatusCode::FORBIDDEN, "forbidden"),
            (ErrorCode::FailedPrecondition, StatusCode::CONFLICT, "conflict"),
            (ErrorCode::InvalidArgument, StatusCode::BAD_REQUEST, "invalid_request"),
            (ErrorCode::ResourceExhausted, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            (ErrorCode::AlreadyExists, StatusCode::CONFLICT, "conflict"),
            (ErrorCode::Unavailable, StatusCode::SERVICE_UNAVAILABLE, "host_unavailable"),
            (ErrorCode::Internal, StatusCode::BAD_GATEWAY, "agent_error"),
            (ErrorCode::DeadlineExceeded, StatusCode::GATEWAY_TIMEOUT, "timeout"),
        ];
        for (agent_code, status, code) in cases {
            let (got_status, got_code, _) = mapped(agent_code, "x");
            assert_eq!((got_status, got_code), (status, code), "{agent_code:?}");
        }
    }

    #[test]
    fn failures_do_not_leak_the_agents_text() {
        let (_, _, message) = mapped(ErrorCode::Internal, "envd at 10.11.0.2:49983 answered 500");
        assert!(!message.contains("10.11"), "{message}");
        let (_, _, message) = mapped(ErrorCode::Unavailable, "envd at 10.11.0.2:49983 could not be reached");
        assert!(!message.contains("10.11"), "{message}");
    }

    #[test]
    fn the_agents_message_names_the_path() {
        let (_, _, message) = mapped(ErrorCode::NotFound, "/tmp/nope does not exist");
        assert_eq!(message, "/tmp/nope does not exist");
        let (_, _, message) = mapped(ErrorCode::NotFound, "");
        assert!(message.contains("NotFound"), "{message}");
    }
}
