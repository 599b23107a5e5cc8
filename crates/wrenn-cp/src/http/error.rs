//! The API's one error type and the body every error answer has:
//! `{"error":{"code":"<snake_case>","message":"<text>"}}` (the SDK picks its
//! exception class by `code` alone, `docs/dev/wrenn-sdk-contract.md` §4).
//!
//! The `message` is written for the client. A 5xx never carries internal
//! error text: the cause is kept as the error's source and logged, once,
//! when the error becomes a response (inside the request's span, so with its
//! request id); the client gets a fixed message and the `X-Request-Id`
//! header to quote.

use std::error::Error as StdError;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use wrenn_types::ErrorChain;

type BoxError = Box<dyn StdError + Send + Sync>;

/// An error answer: status, stable code, client message, optional cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// More fields of the error object, for the few errors whose client
    /// needs more than a message (e.g. the capsules blocking a host delete).
    details: Option<serde_json::Map<String, serde_json::Value>>,
    #[source]
    source: Option<BoxError>,
}

/// The code of an error answer, left in the response's extensions for the
/// request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorFields<'a>,
}

#[derive(Serialize)]
struct ErrorFields<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    /// An answer with any status and code; prefer the named constructors.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: None, source: None }
    }

    /// 400: the request is malformed or a value is out of range.
    pub fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401: no credentials, or credentials that match nothing.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated, but not allowed to do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such resource, or one the caller's team cannot see.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405: the route exists, the method does not.
    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message)
    }

    /// 409: the resource's lifecycle state does not allow the operation.
    pub fn invalid_state(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "invalid_state", message)
    }

    /// 409: the resource already exists, or a concurrent change won.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413: the request body is larger than the route accepts.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 415: the body is not of the type the route reads. The code is
    /// `invalid_request`, which the SDK maps to its validation error.
    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request", message)
    }

    /// 502: a host agent failed or answered something unusable. The message
    /// goes to the client, so it must not be the agent's raw error text;
    /// attach that with [`ApiError::with_source`].
    pub fn agent_error(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_GATEWAY, "agent_error", message)
    }

    /// 503: no host can take the work, or the capsule's host is unreachable.
    pub fn host_unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "host_unavailable", message)
    }

    /// 500: a failure the client cannot act on. The cause is logged, never
    /// sent.
    pub fn internal(source: impl Into<BoxError>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error").with_source(source)
    }

    /// Keeps `source` as the cause, for the log.
    /// Adds a field next to `code` and `message` in the error object.
    pub fn with_detail(mut self, name: &str, value: serde_json::Value) -> ApiError {
        self.details.get_or_insert_with(Default::default).insert(name.to_owned(), value);
        self
    }

    pub fn with_source(mut self, source: impl Into<BoxError>) -> ApiError {
        self.source = Some(source.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// A store failure that reaches a handler unhandled is ours, not the
    /// client's: handlers match the variants that carry a decision
    /// (not found, conflict, no capacity) before this conversion.
    fn from(error: crate::store::StoreError) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<crate::app::AppError> for ApiError {
    fn from(error: crate::app::AppError) -> ApiError {
        use crate::app::AppError;
        match error {
            AppError::Unauthorized(message) => ApiError::unauthorized(message),
            AppError::Forbidden(message) => ApiError::forbidden(message),
            ref error @ AppError::HostHasCapsules { ref capsule_ids, .. } => {
                let ids = capsule_ids.iter().map(|id| serde_json::Value::String(id.to_string())).collect();
                ApiError::new(StatusCode::CONFLICT, "has_active_sandboxes", error.to_string())
                    .with_detail("sandbox_ids", serde_json::Value::Array(ids))
            }
            AppError::InvalidRequest(message) => ApiError::invalid_request(message),
            AppError::NotFound { what, id } => ApiError::not_found(format!("{what} {id} not found")),
            AppError::AgentNotFound(message) => ApiError::not_found(message),
            error @ AppError::InvalidState { .. } => ApiError::invalid_state(error.to_string()),
            AppError::Conflict(message) => ApiError::conflict(message),
            AppError::HostUnavailable(message) => ApiError::host_unavailable(message),
            AppError::Timeout(message) => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", message),
            error @ AppError::Agent { .. } => ApiError::agent_error(error.to_string()),
            AppError::Store(error) => ApiError::internal(error),
            AppError::Internal(message) => ApiError::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, error = %ErrorChain(&self), "request failed");
        } else if let Some(source) = &self.source {
            tracing::debug!(code = self.code, error = %ErrorChain(source.as_ref()), "request refused");
        }
        let details = self.details.as_ref();
        let body = ErrorBody { error: ErrorFields { code: self.code, message: &self.message, details } };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, String, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let content_type = response.headers()[axum::http::header::CONTENT_TYPE].to_str().unwrap().to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, content_type, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn the_body_has_exactly_code_and_message() {
        let (status, content_type, body) = body_of(ApiError::invalid_state("capsule cl-1 is paused")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(content_type, "application/json");
        assert_eq!(body, serde_json::json!({"error": {"code": "invalid_state", "message": "capsule cl-1 is paused"}}));
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let cause = std::io::Error::other("password=hunter2 at /var/lib/secret");
        let (status, _, body) = body_of(ApiError::internal(cause)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, serde_json::json!({"error": {"code": "internal_error", "message": "internal error"}}));
    }

    #[test]
    fn the_chain_walks_every_source() {
        let error = ApiError::internal(std::io::Error::other("disk full"));
        assert_eq!(ErrorChain(&error).to_string(), "internal error: disk full");
    }
}
