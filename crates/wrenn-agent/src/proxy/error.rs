//! Every way a proxied request can fail, and the one JSON shape clients see
//! for all of them: `{"error":{"code":"…","message":"…"}}`.
//!
//! Clients get the error's own message; the source chain (which may name
//! internal addresses) only goes to the log.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use wrenn_types::ErrorChain;
use wrenn_types::{CapsuleId, IdError};

/// Why a request could not be proxied.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("path {path:?} is not /proxy/{{capsule_id}}/{{port}}/…")]
    NotAProxyPath { path: String },
    #[error("invalid capsule id {raw:?}")]
    InvalidCapsuleId {
        raw: String,
        #[source]
        source: IdError,
    },
    #[error("invalid port {raw:?}, expected 1 to 65535")]
    InvalidPort { raw: String },
    #[error("invalid target uri {uri:?}")]
    InvalidUri {
        uri: String,
        #[source]
        source: http::uri::InvalidUri,
    },
    #[error("capsule {capsule_id} not found")]
    CapsuleNotFound { capsule_id: CapsuleId },
    #[error("capsule {capsule_id} is not available")]
    CapsuleUnavailable { capsule_id: CapsuleId },
    #[error("cannot connect to port {port} of capsule {capsule_id}")]
    UpstreamConnect {
        capsule_id: CapsuleId,
        port: u16,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("request to port {port} of capsule {capsule_id} failed")]
    Upstream {
        capsule_id: CapsuleId,
        port: u16,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("port {port} of capsule {capsule_id} switched protocols without being asked to")]
    UnexpectedUpgrade { capsule_id: CapsuleId, port: u16 },
}

impl ProxyError {
    /// The HTTP status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NotAProxyPath { .. }
            | ProxyError::InvalidCapsuleId { .. }
            | ProxyError::InvalidPort { .. }
            | ProxyError::InvalidUri { .. } => StatusCode::BAD_REQUEST,
            ProxyError::CapsuleNotFound { .. } => StatusCode::NOT_FOUND,
            ProxyError::CapsuleUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::UpstreamConnect { .. } | ProxyError::Upstream { .. } | ProxyError::UnexpectedUpgrade { .. } => {
                StatusCode::BAD_GATEWAY
            }
        }
    }

    /// A stable, machine-readable code for the `error.code` field.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::NotAProxyPath { .. } => "invalid_path",
            ProxyError::InvalidCapsuleId { .. } => "invalid_capsule_id",
            ProxyError::InvalidPort { .. } => "invalid_port",
            ProxyError::InvalidUri { .. } => "invalid_uri",
            ProxyError::CapsuleNotFound { .. } => "capsule_not_found",
            ProxyError::CapsuleUnavailable { .. } => "capsule_unavailable",
            ProxyError::UpstreamConnect { .. } => "upstream_unreachable",
            ProxyError::Upstream { .. } | ProxyError::UnexpectedUpgrade { .. } => "upstream_failed",
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), error = %ErrorChain(&self), "proxy request failed");
        } else {
            tracing::debug!(code = self.code(), error = %ErrorChain(&self), "proxy request refused");
        }
        let body = serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } });
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let capsule_id = CapsuleId::from_u128(7);
        let cases = [
            (ProxyError::InvalidPort { raw: "0".into() }, 400, "invalid_port"),
            (ProxyError::CapsuleNotFound { capsule_id }, 404, "capsule_not_found"),
            (ProxyError::CapsuleUnavailable { capsule_id }, 503, "capsule_unavailable"),
            (ProxyError::UnexpectedUpgrade { capsule_id, port: 80 }, 502, "upstream_failed"),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status().as_u16(), err.code()), (status, code), "{err}");
        }
    }

    #[test]
    fn chain_joins_sources() {
        let err = ProxyError::InvalidCapsuleId { raw: "x".into(), source: "x".parse::<CapsuleId>().unwrap_err() };
        assert_eq!(ErrorChain(&err).to_string(), "invalid capsule id \"x\": capsule id \"x\" must start with \"cl-\"");
    }
}
