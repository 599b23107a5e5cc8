//! `POST /init`: the host hands envd its token, defaults and the time.
//!
//! Called after create and after every resume. Replays are harmless: a
//! `timestamp` older than the newest one seen leaves the defaults alone.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::http::error::HttpError;
use crate::state::SharedState;
use crate::users::Identity;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitRequest {
    access_token: Option<String>,
    default_user: Option<String>,
    default_workdir: Option<String>,
    env_vars: Option<BTreeMap<String, String>>,
    /// Seconds since the epoch (number) or an RFC 3339 string.
    timestamp: Option<serde_json::Value>,
}

pub(crate) async fn init(State(state): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    match apply(&state, &headers, &body) {
        Ok(()) => (StatusCode::NO_CONTENT, [(http::header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(err) => err.into_response(),
    }
}

fn apply(state: &SharedState, headers: &HeaderMap, body: &[u8]) -> Result<(), HttpError> {
    let request: InitRequest = if body.iter().all(u8::is_ascii_whitespace) {
        InitRequest::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|err| HttpError::new(StatusCode::BAD_REQUEST, format!("invalid init body: {err}")))?
    };

    // Changing anything once a token is set requires that token: in the
    // `X-Access-Token` header (which also allows rotating it to a new body
    // token) or as the body's token itself (a re-init with the same token).
    // The very first init may set one freely.
    if state.token.is_set() {
        let header_ok = headers.get(crate::auth::TOKEN_HEADER).is_some_and(|v| state.token.matches(v.as_bytes()));
        let body_ok = request.access_token.as_deref().is_some_and(|t| state.token.matches(t.as_bytes()));
        if !header_ok && !body_ok {
            return Err(HttpError::new(StatusCode::UNAUTHORIZED, "access token does not match"));
        }
    }

    let timestamp = match &request.timestamp {
        Some(value) => Some(parse_timestamp(value)?),
        None => None,
    };
    if let (Some(ts), Some(last)) = (timestamp, state.defaults().last_init)
        && ts <= last
    {
        return Ok(());
    }

    let default_user = match request.default_user.as_deref().filter(|u| !u.is_empty()) {
        Some(name) => {
            Some(Identity::lookup(name).map_err(|err| HttpError::new(StatusCode::BAD_REQUEST, err.to_string()))?.name)
        }
        None => None,
    };
    let workdir = match request.default_workdir.as_deref() {
        Some("") => Some(None),
        Some(dir) if dir.starts_with('/') => Some(Some(PathBuf::from(dir))),
        Some(dir) => {
            return Err(HttpError::new(StatusCode::BAD_REQUEST, format!("defaultWorkdir {dir:?} must be absolute")));
        }
        None => None,
    };
    if let Some(env_vars) = &request.env_vars
        && let Some(bad) = env_vars.keys().find(|k| k.is_empty() || k.contains(['=', '\0']))
    {
        return Err(HttpError::new(StatusCode::BAD_REQUEST, format!("invalid env var name {bad:?}")));
    }

    if let Some(ts) = timestamp
        && !state.config.dev
    {
        crate::sys::stats::sync_clock(ts);
    }
    if let Some(token) = &request.access_token {
        state.token.set(token);
    }
    state.update_defaults(|defaults| {
        if let Some(user) = default_user {
            defaults.user = user;
        }
        if let Some(workdir) = workdir {
            defaults.workdir = workdir;
        }
        if let Some(env_vars) = request.env_vars {
            defaults.envs.extend(env_vars);
        }
        if timestamp.is_some() {
            defaults.last_init = timestamp;
        }
    });
    Ok(())
}

fn parse_timestamp(value: &serde_json::Value) -> Result<f64, HttpError> {
    let bad = || HttpError::new(StatusCode::BAD_REQUEST, format!("invalid timestamp {value}"));
    match value {
        serde_json::Value::Number(n) => n.as_f64().ok_or_else(bad),
        serde_json::Value::String(s) => {
            if let Ok(secs) = s.parse::<f64>() {
                return Ok(secs);
            }
            let time = humantime::parse_rfc3339_weak(s).map_err(|_| bad())?;
            let since = time.duration_since(std::time::UNIX_EPOCH).map_err(|_| bad())?;
            Ok(since.as_secs_f64())
        }
        _ => Err(bad()),
    }
}
