//! What a lifecycle or data-plane operation can fail with, in terms the
//! API maps to its error codes (`http::ApiError` converts).

use connectrpc::{ConnectError, ErrorCode};

use crate::store::{CapsuleStatus, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credentials (a host token, a refresh or registration token).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A host still runs capsules; deleting it needs `force`.
    #[error("host {host_id} has {} active capsules; use ?force=true to destroy them and delete the host", capsule_ids.len())]
    HostHasCapsules { host_id: String, capsule_ids: Vec<wrenn_types::CapsuleId> },
    /// The request is malformed or out of range.
    #[error("{0}")]
    InvalidRequest(String),
    /// No such thing for this team (another team's counts as none).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The host agent has no such thing (a file, a process, a template);
    /// its message says what.
    #[error("{0}")]
    AgentNotFound(String),
    /// The capsule is not in a state the operation starts from.
    #[error("capsule {id} is {status}: cannot {operation}")]
    InvalidState { id: String, status: CapsuleStatus, operation: &'static str },
    /// A name or resource already exists.
    #[error("{0}")]
    Conflict(String),
    /// No host can serve the request (none online, none with room, or the
    /// capsule's host does not answer).
    #[error("{0}")]
    HostUnavailable(String),
    /// The host agent refused or failed the call.
    #[error("host agent: {message}")]
    Agent { code: ErrorCode, message: String },
    /// Waited longer than the operation allows.
    #[error("{0}")]
    Timeout(String),
    #[error("store")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// Maps an agent's answer. Connection failures mean the host is not
    /// reachable; the agent's own refusals keep their meaning.
    pub fn from_agent(error: ConnectError) -> AppError {
        let code = error.code;
        let message = error.message.unwrap_or_else(|| format!("{code:?}"));
        match code {
            ErrorCode::Unavailable => {
                AppError::HostUnavailable(format!("the capsule's host is unreachable: {message}"))
            }
            ErrorCode::NotFound => AppError::AgentNotFound(message),
            ErrorCode::InvalidArgument | ErrorCode::OutOfRange => AppError::InvalidRequest(message),
            ErrorCode::AlreadyExists => AppError::Conflict(message),
            ErrorCode::DeadlineExceeded => AppError::Timeout(message),
            code => AppError::Agent { code, message },
        }
    }

    /// Whether the agent said the thing is not there.
    pub fn is_not_found(&self) -> bool {
        matches!(self, AppError::NotFound { .. } | AppError::AgentNotFound(_))
    }
}
