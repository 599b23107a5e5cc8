//! The access token and signed URLs.
//!
//! Until `/init` sets a token envd is open (the capsule's network is the
//! boundary). Once set, every request must carry `X-Access-Token`, except
//! `GET /health`, `/init` (which checks the token itself) and `/files`
//! (which also accepts a signed URL). Comparisons are constant-time.

use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{Method, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::state::SharedState;

pub(crate) const TOKEN_HEADER: &str = "x-access-token";

/// The capsule's access token; empty means none is set.
#[derive(Default)]
pub(crate) struct AccessToken {
    token: RwLock<Vec<u8>>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("set", &self.is_set()).finish()
    }
}

impl AccessToken {
    pub(crate) fn is_set(&self) -> bool {
        !self.token.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        let token = self.token.read().unwrap_or_else(|e| e.into_inner());
        !token.is_empty() && bool::from(token.as_slice().ct_eq(candidate))
    }

    /// Replaces the token; an empty one clears it.
    pub(crate) fn set(&self, new: &str) {
        let mut token = self.token.write().unwrap_or_else(|e| e.into_inner());
        token.fill(0);
        *token = new.as_bytes().to_vec();
    }

    fn with_token<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        f(&self.token.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for AccessToken {
    fn drop(&mut self) {
        self.token.get_mut().unwrap_or_else(|e| e.into_inner()).fill(0);
    }
}

/// What a signed `/files` URL grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileOperation {
    Read,
    Write,
}

impl FileOperation {
    fn as_str(self) -> &'static str {
        match self {
            FileOperation::Read => "read",
            FileOperation::Write => "write",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SignatureError {
    #[error("missing access token or signature")]
    Missing,
    #[error("invalid signature")]
    Invalid,
    #[error("signature expired")]
    Expired,
    #[error("invalid signature expiration")]
    BadExpiration,
}

/// The query parameters a signed `/files` request carries.
#[derive(Debug, Default)]
pub(crate) struct SignedQuery<'a> {
    pub(crate) path: &'a str,
    pub(crate) username: &'a str,
    pub(crate) signature: Option<&'a str>,
    pub(crate) expiration: Option<&'a str>,
}

/// Decides whether a `/files` request may proceed: no token set, the right
/// header, or a valid unexpired signature over (path, operation, user).
pub(crate) fn authorize_file_request(
    token: &AccessToken,
    header: Option<&[u8]>,
    query: &SignedQuery<'_>,
    operation: FileOperation,
    now_unix: u64,
) -> Result<(), SignatureError> {
    if !token.is_set() {
        return Ok(());
    }
    if let Some(header) = header.filter(|h| !h.is_empty()) {
        return if token.matches(header) { Ok(()) } else { Err(SignatureError::Invalid) };
    }
    let signature = query.signature.ok_or(SignatureError::Missing)?;
    let expected = token.with_token(|secret| sign(query.path, operation, query.username, secret, query.expiration));
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Err(SignatureError::Invalid);
    }
    if let Some(expiration) = query.expiration {
        let expiration: u64 = expiration.parse().map_err(|_| SignatureError::BadExpiration)?;
        if expiration < now_unix {
            return Err(SignatureError::Expired);
        }
    }
    Ok(())
}

/// `v1_` + unpadded base64 of SHA-256 over `path:operation:user:token[:expiration]`.
pub(crate) fn sign(path: &str, operation: FileOperation, user: &str, token: &[u8], expiration: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(path.as_bytes());
    hasher.update(b":");
    hasher.update(operation.as_str().as_bytes());
    hasher.update(b":");
    hasher.update(user.as_bytes());
    hasher.update(b":");
    hasher.update(token);
    if let Some(expiration) = expiration {
        hasher.update(b":");
        hasher.update(expiration.as_bytes());
    }
    format!("v1_{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(hasher.finalize()))
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Axum middleware: once a token is set, requests outside the exempt set
/// must carry it.
pub(crate) async fn require_token(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let exempt = matches!(
        (request.method(), request.uri().path()),
        (&Method::GET, "/health") | (&Method::POST, "/init") | (_, "/files")
    );
    if exempt || !state.token.is_set() {
        return next.run(request).await;
    }
    let presented = request.headers().get(TOKEN_HEADER).map(|v| v.as_bytes());
    if presented.is_some_and(|token| state.token.matches(token)) {
        return next.run(request).await;
    }
    let message = if presented.is_some() { "invalid access token" } else { "missing access token" };
    crate::http::error::json_error(StatusCode::UNAUTHORIZED, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> AccessToken {
        let token = AccessToken::default();
        token.set(value);
        token
    }

    #[test]
    fn open_until_a_token_is_set() {
        let query = SignedQuery { path: "/a", ..Default::default() };
        assert_eq!(authorize_file_request(&AccessToken::default(), None, &query, FileOperation::Read, 0), Ok(()));
    }

    #[test]
    fn signature_rules() {
        let secret = token("s3cret");
        let good = sign("/a", FileOperation::Read, "root", b"s3cret", Some("100"));
        let q = |sig: &'static str, exp: Option<&'static str>| SignedQuery {
            path: "/a",
            username: "root",
            signature: Some(sig),
            expiration: exp,
        };
        let good: &'static str = Box::leak(good.into_boxed_str());
        assert_eq!(authorize_file_request(&secret, None, &q(good, Some("100")), FileOperation::Read, 50), Ok(()));
        assert_eq!(
            authorize_file_request(&secret, None, &q(good, Some("100")), FileOperation::Read, 101),
            Err(SignatureError::Expired)
        );
        // The signature binds the operation, the user and the expiration.
        assert_eq!(
            authorize_file_request(&secret, None, &q(good, Some("100")), FileOperation::Write, 50),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            authorize_file_request(&secret, None, &q(good, Some("999")), FileOperation::Read, 50),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            authorize_file_request(
                &secret,
                None,
                &SignedQuery { path: "/a", ..Default::default() },
                FileOperation::Read,
                0
            ),
            Err(SignatureError::Missing)
        );
        assert_eq!(authorize_file_request(&secret, Some(b"s3cret"), &q("x", None), FileOperation::Read, 0), Ok(()));
        assert_eq!(
            authorize_file_request(&secret, Some(b"wrong"), &q(good, Some("100")), FileOperation::Read, 0),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn signature_matches_the_e2b_formula() {
        // Expected values computed independently with Python's hashlib + base64.
        assert_eq!(
            sign("/home/user/f", FileOperation::Read, "user", b"tok", None),
            "v1_loNlv+WUtE51TGXy9vMXIbXsYW4WW70YwJRD0sbIejI"
        );
        assert_eq!(
            sign("/home/user/f", FileOperation::Write, "", b"tok", Some("1700000000")),
            "v1_tJ7o0j2AxwdonxYfhC4k2JVpkNEEvQqseExkmmksRKs"
        );
    }
}
