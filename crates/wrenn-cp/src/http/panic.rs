//! A handler that panics answers `500 internal_error` in the API's error
//! shape, and the server goes on serving: the panic ends that request's
//! future only. The panic text is logged (inside the request's span, so
//! with its request id), never sent.
//!
//! This catches panics while the response is produced. A panic inside a
//! streamed body after the head was sent ends that connection instead (the
//! status is already on the wire).

use std::any::Any;
use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;

use crate::http::ApiError;

pub(crate) async fn catch_panic(request: Request, next: Next) -> Response {
    // Unwind safety: the request's future is dropped after a panic and
    // never polled again; state shared with other requests is behind
    // locks that poison or atomics, as everywhere in async code.
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            ApiError::internal(format!("handler panicked: {}", panic_message(panic.as_ref()))).into_response()
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "non-text panic payload"
    }
}
