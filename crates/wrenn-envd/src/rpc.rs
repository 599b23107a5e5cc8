//! The Connect services: translation between wire types and envd's core.
//!
//! This is the only module that knows the generated protobuf types. Handlers
//! parse requests into domain values, call into `process` and `fs`, and map
//! typed errors to Connect codes here, in one place.

mod filesystem;
mod process;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use connectrpc::{ConnectError, ErrorCode, RequestContext};

use crate::state::SharedState;
use crate::users::{Identity, UserError};

/// The Connect router with both services.
pub(crate) fn router(state: &SharedState) -> connectrpc::Router {
    connectrpc::Router::new()
        .add_service(Arc::new(process::ProcessService::new(Arc::clone(state))))
        .add_service(Arc::new(filesystem::FilesystemService::new(Arc::clone(state))))
}

/// E2B clients name the acting user as HTTP Basic auth with an empty
/// password: `Authorization: Basic base64("<user>:")`.
pub(crate) fn requested_user(ctx: &RequestContext) -> Result<Option<String>, ConnectError> {
    let Some(value) = ctx.header(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid =
        || ConnectError::new(ErrorCode::Unauthenticated, "invalid Authorization header: expected Basic <base64 user:>");
    let value = value.to_str().map_err(|_| invalid())?;
    let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) else {
        return Err(invalid());
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let user = decoded.split_once(':').map_or(decoded.as_str(), |(user, _)| user);
    Ok(Some(user.to_owned()).filter(|user| !user.is_empty()))
}

/// The identity a request acts as.
pub(crate) fn identity(state: &SharedState, ctx: &RequestContext) -> Result<Identity, ConnectError> {
    let requested = requested_user(ctx)?;
    state.identity(requested.as_deref()).map_err(|err| user_error(&err))
}

pub(crate) fn user_error(err: &UserError) -> ConnectError {
    let code = match err {
        UserError::Unknown { .. } | UserError::InvalidName { .. } => ErrorCode::Unauthenticated,
        UserError::CannotSwitch { .. } => ErrorCode::PermissionDenied,
    };
    ConnectError::new(code, err.to_string())
}

/// How often to send keepalive events on a server stream: the client's
/// `Keepalive-Ping-Interval` (seconds) if given, else every 50 s.
pub(crate) fn keepalive_interval(ctx: &RequestContext) -> Duration {
    let seconds = ctx
        .header("keepalive-ping-interval")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(50)
        .clamp(1, 3600);
    Duration::from_secs(seconds)
}

/// Maps an I/O error on a path to the Connect code E2B clients expect.
pub(crate) fn io_error(err: &std::io::Error, what: &str) -> ConnectError {
    use std::io::ErrorKind;
    let code = match err.kind() {
        ErrorKind::NotFound => ErrorCode::NotFound,
        ErrorKind::PermissionDenied => ErrorCode::PermissionDenied,
        ErrorKind::AlreadyExists => ErrorCode::AlreadyExists,
        ErrorKind::InvalidInput | ErrorKind::InvalidFilename | ErrorKind::NotADirectory | ErrorKind::IsADirectory => {
            ErrorCode::InvalidArgument
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => ErrorCode::ResourceExhausted,
        _ => ErrorCode::Internal,
    };
    ConnectError::new(code, format!("{what}: {err}"))
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::*;

    fn ctx(header: Option<&str>) -> RequestContext {
        let mut headers = HeaderMap::new();
        if let Some(value) = header {
            headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        RequestContext::new(headers)
    }

    #[test]
    fn basic_auth_names_the_user() {
        assert_eq!(requested_user(&ctx(None)).unwrap(), None);
        assert_eq!(requested_user(&ctx(Some("Basic cm9vdDo="))).unwrap(), Some("root".to_owned()));
        assert_eq!(requested_user(&ctx(Some("Basic dXNlcg=="))).unwrap(), Some("user".to_owned()));
        assert_eq!(requested_user(&ctx(Some("Basic Og=="))).unwrap(), None);
        assert_eq!(requested_user(&ctx(Some("Bearer x"))).unwrap_err().code, ErrorCode::Unauthenticated);
        assert_eq!(requested_user(&ctx(Some("Basic %%%"))).unwrap_err().code, ErrorCode::Unauthenticated);
    }
}
