//! The safety net behind the API's error shape: an error answer that is
//! not JSON — axum's empty 405, the plain-text rejection of an extractor a
//! route uses unwrapped (multipart, WebSocket upgrade), a layer's own
//! answer — is rewritten into `{"error":{"code","message"}}` with the same
//! status and headers (`Allow` survives). Errors made by [`ApiError`] are
//! JSON already and pass untouched.
//!
//! A `413` also closes an HTTP/1 connection: the rest of the oversized body
//! was never read, so the connection cannot carry another request, and a
//! client that is not told so reuses it and loses its next request.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;

use crate::http::ApiError;

/// Bodies up to this size are read and kept as the message (4xx only).
const MAX_TEXT: u64 = 4096;

pub(crate) async fn error_shape(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let version = request.version();
    let mut response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE && version <= axum::http::Version::HTTP_11 {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = if status.is_client_error() { small_text(body).await } else { None };
    let message = match (status, text) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => format!("method {method} is not allowed on {path}"),
        (_, Some(text)) => text,
        (_, None) if status.is_server_error() => "internal error".to_owned(),
        (_, None) => status.canonical_reason().unwrap_or("request refused").to_lowercase(),
    };
    let shaped = ApiError::new(status, code_for(status), message).into_response();
    let (shaped_parts, shaped_body) = shaped.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(content_type) = shaped_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, content_type.clone());
    }
    parts.extensions.extend(shaped_parts.extensions);
    Response::from_parts(parts, shaped_body)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// The body as text when it is small and of known size; a streamed body is
/// dropped unread.
async fn small_text(body: Body) -> Option<String> {
    let size = body.size_hint().exact()?;
    if size == 0 || size > MAX_TEXT {
        return None;
    }
    let bytes = axum::body::to_bytes(body, MAX_TEXT as usize).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The code the SDK maps for a status, where there is one.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        _ if status.is_server_error() => "internal_error",
        _ => "invalid_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_sdks_codes() {
        assert_eq!(code_for(StatusCode::BAD_REQUEST), "invalid_request");
        assert_eq!(code_for(StatusCode::UNPROCESSABLE_ENTITY), "invalid_request");
        assert_eq!(code_for(StatusCode::UNSUPPORTED_MEDIA_TYPE), "invalid_request");
        assert_eq!(code_for(StatusCode::PAYLOAD_TOO_LARGE), "too_large");
        assert_eq!(code_for(StatusCode::BAD_GATEWAY), "internal_error");
    }
}
