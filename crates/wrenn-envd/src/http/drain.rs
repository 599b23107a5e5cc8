//! Reads and discards a bounded rest of a request body that a handler left
//! unread, before the response goes out.
//!
//! A handler may answer before it has read the whole request: an oversized
//! Connect message is refused with `resource_exhausted` after the first few
//! MiB. The client is still sending then, and over HTTP/1.1 closing a socket
//! with unread bytes in it makes the kernel send a reset, so the client sees
//! a broken connection instead of the answer. Reading on for at most
//! [`MAX_DRAIN_BYTES`] and [`DRAIN_TIMEOUT`] lets an ordinary client read
//! the error; a body larger than that is cut off as before.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;

/// The most a refused request's rest is read before the connection is cut.
const MAX_DRAIN_BYTES: usize = 32 << 20;

/// How long a refused request's rest is read before the connection is cut.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a body dropped unfinished leaves its rest for [`drain_unread_body`].
type Leftover = Arc<Mutex<Option<Body>>>;

/// Middleware: drains what the handler left of the request body.
///
/// Handlers that answer while still reading (streaming RPCs) hold the body
/// until they finish, so nothing is drained under them.
pub(crate) async fn drain_unread_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let leftover = Leftover::default();
    let tracked = TrackedBody { inner: Some(body), leftover: Arc::clone(&leftover) };
    let response = next.run(Request::from_parts(parts, Body::new(tracked))).await;
    let rest = leftover.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    if let Some(rest) = rest {
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, discard(rest, MAX_DRAIN_BYTES)).await;
        if !matches!(drained, Ok(true)) {
            tracing::debug!("the unread rest of a refused request is too large or too slow; closing the connection");
        }
    }
    response
}

/// Reads `body` to its end unless it holds more than `limit` bytes.
/// Returns whether the end was reached.
async fn discard(mut body: Body, limit: usize) -> bool {
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return false };
        if let Some(data) = frame.data_ref() {
            seen = seen.saturating_add(data.len());
            if seen > limit {
                return false;
            }
        }
    }
    true
}

/// A request body that hands its unread rest to a [`Leftover`] when dropped.
struct TrackedBody {
    inner: Option<Body>,
    leftover: Leftover,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            // Finished: nothing is left to drain.
            self.inner = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take().filter(|inner| !inner.is_end_stream()) {
            *self.leftover.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: usize, chunk_size: usize) -> Body {
        let stream = futures::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(vec![0u8; chunk_size])));
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn discard_reads_to_the_end_within_the_limit_only() {
        assert!(discard(body_of(4, 1024), 4096).await);
        assert!(!discard(body_of(5, 1024), 4096).await);
        assert!(discard(Body::empty(), 0).await);
    }

    #[tokio::test]
    async fn a_dropped_unfinished_body_leaves_its_rest_and_a_finished_one_does_not() {
        let leftover = Leftover::default();
        let mut tracked = Body::new(TrackedBody { inner: Some(body_of(3, 10)), leftover: Arc::clone(&leftover) });
        let first = tracked.frame().await.unwrap().unwrap();
        assert_eq!(first.data_ref().unwrap().len(), 10);
        drop(tracked);
        let rest = leftover.lock().unwrap().take().expect("the rest was left");
        assert_eq!(rest.collect().await.unwrap().to_bytes().len(), 20);

        let tracked = Body::new(TrackedBody { inner: Some(body_of(2, 10)), leftover: Arc::clone(&leftover) });
        assert_eq!(tracked.collect().await.unwrap().to_bytes().len(), 20);
        assert!(leftover.lock().unwrap().is_none());
    }
}
