//! The error body of envd's HTTP routes.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
}

/// `{"code": <status>, "message": ...}` with that status.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody { code: status.as_u16(), message })).into_response()
}

/// An HTTP-route failure: a status and a message safe to show the client.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl HttpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> HttpError {
        HttpError { status, message: message.into() }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), message = %self.message, "request failed");
        }
        json_error(self.status, &self.message)
    }
}
