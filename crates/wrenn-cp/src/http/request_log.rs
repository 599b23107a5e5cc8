//! Request ids, the request span and the one log line per request.
//!
//! Every request gets an id: the caller's `X-Request-Id` when it is sane
//! (1–128 characters of `[A-Za-z0-9._:-]`, so it is safe to log and echo),
//! otherwise a new random one. The id goes into the request's extensions
//! ([`RequestId`]), into the `request` span that every log line of the
//! request is inside (with `team_id` and `api_key_id` once authenticated),
//! and back to the client in the response's `X-Request-Id`.
//!
//! The log line is written when the response head is ready: for a streamed
//! body (SSE, downloads) or an upgrade, the duration is the time to the
//! first byte, not the stream's life.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::http::ErrorCode;

/// The header that carries the request id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The caller's id, if it is one we are willing to log and echo.
    pub fn from_headers(headers: &HeaderMap) -> Option<RequestId> {
        let value = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?;
        let sane = !value.is_empty()
            && value.len() <= MAX_REQUEST_ID_LEN
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        sane.then(|| RequestId(value.to_owned()))
    }

    /// A new id: 32 random hex digits.
    pub fn generate() -> RequestId {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // Without OS randomness an id still has to be unique in the
            // logs: the clock and a process-wide counter are.
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos());
            let count = COUNTER.fetch_add(1, Ordering::Relaxed);
            bytes = (nanos ^ (u128::from(count) << 64)).to_be_bytes();
        }
        RequestId(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outermost middleware: assigns the id, runs the request in its span,
/// logs the outcome and echoes the id.
pub(crate) async fn request_log(mut request: Request, next: Next) -> Response {
    let request_id = RequestId::from_headers(request.headers()).unwrap_or_else(RequestId::generate);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        team_id = tracing::field::Empty,
        api_key_id = tracing::field::Empty,
    );
    request.extensions_mut().insert(request_id.clone());
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    let code = response.extensions().get::<ErrorCode>().map_or("", |code| code.0);
    span.in_scope(|| tracing::info!(status, duration_ms, error_code = code, "request"));
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        assert_eq!(RequestId::from_headers(&with("abc-123_x.y:z")).unwrap().as_str(), "abc-123_x.y:z");
        assert_eq!(RequestId::from_headers(&with("")), None);
        assert_eq!(RequestId::from_headers(&with("has space")), None);
        assert_eq!(RequestId::from_headers(&with("quote\"")), None);
        assert_eq!(RequestId::from_headers(&with(&"a".repeat(129))), None);
        assert!(RequestId::from_headers(&with(&"a".repeat(128))).is_some());
        assert_eq!(RequestId::from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn generated_ids_are_distinct_hex() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
