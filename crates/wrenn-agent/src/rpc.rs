//! The agent's Connect API (`hostagent.HostAgentService`), served over mTLS
//! next to the port proxy ([`app`]).
//!
//! This module is the only place that knows the proto types: requests are
//! parsed here into the manager's domain types, and every typed error
//! (manager, template store, envd) is mapped to a Connect code in this file
//! and nowhere else. Capsule lifecycle goes to the [`CapsuleManager`];
//! processes, terminals and files go to the capsule's own envd
//! (`envd_client`). The manager is the truth for what runs here, and envd
//! for what runs inside a capsule; the only state kept here is how recent
//! background processes ended, which envd forgets (`exits`).

mod convert;
mod envd_client;
mod exits;
mod files;
mod process;
mod service;
pub mod tls;

use std::sync::Arc;

use connectrpc::{ConnectError, ErrorCode};
use wrenn_types::CapsuleId;

use crate::capsule::{CapsuleError, CapsuleManager, HostLimits};
use crate::template::TemplateError;

pub use envd_client::EnvdClientError;
pub use tls::{TlsConfig, TlsError, serve_mtls};

/// What `GetHostInfo` reports about this machine's capacity.
#[derive(Debug, Clone, Copy)]
pub struct HostSpec {
    pub limits: HostLimits,
    /// Size of the disk holding the agent's data directory.
    pub disk_mb: u64,
}

/// The Connect router serving `HostAgentService` on top of `manager`.
pub fn router(manager: Arc<CapsuleManager>, host: HostSpec) -> connectrpc::Router {
    connectrpc::Router::new().add_service(Arc::new(service::HostAgent::new(manager, host)))
}

/// Everything the agent serves on its mTLS port: the port proxy
/// (`/proxy/{capsule_id}/{port}/…`, see [`crate::proxy`]) with the manager
/// as its resolver, and the Connect service for every other path.
pub fn app(manager: Arc<CapsuleManager>, host: HostSpec) -> axum::Router {
    let resolver: Arc<dyn crate::proxy::CapsuleResolver> = Arc::clone(&manager) as _;
    crate::proxy::router(resolver).fallback_service(router(manager, host).into_axum_service())
}

/// The one mapping from manager errors to Connect codes. Clients get the
/// top-level message; the full chain goes to the log for internal failures.
pub(crate) fn capsule_error(err: &CapsuleError) -> ConnectError {
    let code = match err {
        CapsuleError::InvalidSpec { .. } => ErrorCode::InvalidArgument,
        CapsuleError::UnknownTemplate { .. } | CapsuleError::NotFound { .. } => ErrorCode::NotFound,
        CapsuleError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
        CapsuleError::AlreadyStopping { .. } | CapsuleError::InvalidState { .. } => ErrorCode::FailedPrecondition,
        CapsuleError::Unsupported { .. } => ErrorCode::Unimplemented,
        CapsuleError::NoSlot { .. } => ErrorCode::ResourceExhausted,
        CapsuleError::NotReady { .. } | CapsuleError::Init { .. } | CapsuleError::TaskLost { .. } => {
            ErrorCode::Unavailable
        }
        CapsuleError::TemplateInUse { .. } => ErrorCode::FailedPrecondition,
        CapsuleError::Snapshot { source, .. }
        | CapsuleError::Template { source, .. }
        | CapsuleError::TemplateDelete { source, .. } => template_code(source),
        CapsuleError::Network { .. } | CapsuleError::Runtime { .. } | CapsuleError::Record { .. } => {
            ErrorCode::Internal
        }
    };
    connect_error(code, err)
}

/// Maps a template store error (`ListTemplates`, `DeleteTemplate`, snapshots).
pub(crate) fn template_error(err: &TemplateError) -> ConnectError {
    connect_error(template_code(err), err)
}

/// Maps a failure talking to a capsule's envd.
pub(crate) fn envd_error(err: &EnvdClientError) -> ConnectError {
    match err {
        EnvdClientError::Rpc { source, .. } if source.code != ErrorCode::Unavailable => {
            ConnectError::new(source.code, source.message.clone().unwrap_or_default())
        }
        EnvdClientError::Status { status, message, .. } => {
            let code = match status.as_u16() {
                400 | 406 | 416 => ErrorCode::InvalidArgument,
                401 | 403 => ErrorCode::PermissionDenied,
                404 => ErrorCode::NotFound,
                408 => ErrorCode::DeadlineExceeded,
                507 => ErrorCode::ResourceExhausted,
                _ => return connect_error(ErrorCode::Internal, err),
            };
            ConnectError::new(code, message.clone())
        }
        EnvdClientError::Rpc { .. } | EnvdClientError::Http { .. } => connect_error(ErrorCode::Unavailable, err),
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> ConnectError {
    ConnectError::new(ErrorCode::InvalidArgument, message)
}

pub(crate) fn parse_capsule_id(text: &str) -> Result<CapsuleId, ConnectError> {
    text.parse().map_err(|_| invalid(format!("invalid capsule_id {text:?}")))
}

fn template_code(err: &TemplateError) -> ErrorCode {
    match err {
        TemplateError::InvalidName { .. } => ErrorCode::InvalidArgument,
        TemplateError::Unknown { .. } | TemplateError::NotFound { .. } => ErrorCode::NotFound,
        TemplateError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
        _ => ErrorCode::Internal,
    }
}

fn connect_error(code: ErrorCode, err: &(dyn std::error::Error + 'static)) -> ConnectError {
    if code == ErrorCode::Internal || code == ErrorCode::Unavailable {
        tracing::error!(error = %wrenn_types::ErrorChain(err), "rpc failed");
    }
    ConnectError::new(code, err.to_string())
}
