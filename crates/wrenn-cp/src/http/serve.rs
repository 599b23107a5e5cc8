//! Serves a router on HTTP/1.1 and h2c (one port, the protocol sniffed per
//! connection) with the timeouts a public server needs and a graceful
//! shutdown that drains streams.
//!
//! Timeouts:
//! - A connection must deliver its first request head within the header
//!   read timeout (10 s), or it is closed. hyper applies the same timeout to
//!   every later HTTP/1 request head, counted from the end of the previous
//!   response, so it is also the HTTP/1 keep-alive idle timeout: an idle
//!   connection closes after 10 s, longer than the SDK's (httpx) 5 s pool
//!   expiry, so the SDK never reuses a connection we are closing.
//! - HTTP/2 connections are pinged every 20 s and closed when a ping is not
//!   answered within 20 s, so dead peers do not hold connections.
//! - Nothing bounds a request's own duration: a foreground exec may run for
//!   minutes, and streams run until they end.
//!
//! Shutdown, when the `shutdown` future completes: stop accepting (the
//! listener is closed), ask every connection to finish (HTTP/1 finishes its
//! in-flight request and closes, HTTP/2 sends GOAWAY), tell streams through
//! their [`StreamGuard`] that the server is draining, and wait for both up
//! to the grace period (25 s: inside the 30 s an orchestrator usually gives
//! before SIGKILL). What is still open then is closed. An upgraded
//! connection (WebSocket) has left hyper, so only its [`StreamGuard`] makes
//! the shutdown wait for it.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::{Extension, Router};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How the server treats connections; [`ServeConfig::standard`] is what
/// the control plane runs with.
#[derive(Debug, Clone, Copy)]
pub struct ServeConfig {
    /// How long a client may take to send a request head (and, on
    /// HTTP/1, to start the next request on an idle connection).
    pub header_read_timeout: Duration,
    /// How long shutdown waits for requests and streams to finish.
    pub shutdown_grace: Duration,
    /// The HTTP/2 ping interval, and how long a ping may go unanswered.
    pub h2_keep_alive: Duration,
}

impl ServeConfig {
    pub fn standard() -> ServeConfig {
        ServeConfig {
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(25),
            h2_keep_alive: Duration::from_secs(20),
        }
    }
}

/// Held by a long-lived stream (WebSocket, SSE, a large transfer) for its
/// whole life: shutdown waits for it, up to the grace period, and
/// [`StreamGuard::draining`] tells it to finish. Extract it in the handler
/// and move it into the stream's task or body.
#[derive(Debug)]
pub struct StreamGuard {
    /// `None` when the router is not run by [`serve`] (a test calling it
    /// directly): there is nothing to drain for.
    draining: Option<watch::Receiver<bool>>,
    _held: Option<mpsc::Sender<()>>,
}

impl StreamGuard {
    /// Completes once the server is shutting down.
    pub async fn draining(&mut self) {
        match &mut self.draining {
            // An error means the server is gone: as good as draining.
            Some(draining) => drop(draining.wait_for(|draining| *draining).await),
            None => std::future::pending().await,
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.as_ref().is_some_and(|draining| *draining.borrow())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StreamGuard {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<StreamGuard, Infallible> {
        Ok(match parts.extensions.get::<Drain>() {
            Some(drain) => StreamGuard { draining: Some(drain.draining.clone()), _held: drain.tracker.upgrade() },
            None => StreamGuard { draining: None, _held: None },
        })
    }
}

/// What [`serve`] puts into every request's extensions for [`StreamGuard`].
/// The tracker is weak: only guards keep the shutdown waiting.
#[derive(Debug, Clone)]
struct Drain {
    draining: watch::Receiver<bool>,
    tracker: mpsc::WeakSender<()>,
}

/// Serves `router` on `listener` with [`ServeConfig::standard`] until
/// `shutdown` completes, then drains (module docs).
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()> + Send) {
    serve_with(listener, router, shutdown, ServeConfig::standard()).await;
}

/// [`serve`] with explicit settings.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
    config: ServeConfig,
) {
    let (draining_tx, draining_rx) = watch::channel(false);
    let (tracker_tx, mut tracker_rx) = mpsc::channel::<()>(1);
    let router = router.layer(Extension(Drain { draining: draining_rx.clone(), tracker: tracker_tx.downgrade() }));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(connection(tcp, peer, router.clone(), draining_rx.clone(), config));
                }
                Err(error) => accept_failed(&error).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = draining_tx.send(true);
    drop(tracker_tx);
    tracing::info!(connections = connections.len(), "shutting down: no longer accepting, draining");
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
        // Every guard's sender dropped: no stream is left.
        while tracker_rx.recv().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace_s = config.shutdown_grace.as_secs_f64(),
            "connections still open after the shutdown grace; closing them"
        );
        connections.shutdown().await;
    }
    tracing::info!("server stopped");
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    mut draining: watch::Receiver<bool>,
    config: ServeConfig,
) {
    // Streamed events are small writes: without TCP_NODELAY each can wait
    // for a delayed ACK.
    let _ = tcp.set_nodelay(true);
    let seen_request = Arc::new(AtomicBool::new(false));
    let service = router.map_request({
        let seen_request = seen_request.clone();
        move |request: Request<Incoming>| {
            seen_request.store(true, Ordering::Relaxed);
            request
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(config.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.h2_keep_alive)
        .keep_alive_timeout(config.h2_keep_alive);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service));
    tokio::pin!(conn);
    // hyper's HTTP/1 header timeout starts once the protocol is known; this
    // one also covers a client that sends nothing, or stalls inside the
    // bytes that decide between HTTP/1 and HTTP/2, or never sends HEADERS.
    let first_request_deadline = tokio::time::sleep(config.header_read_timeout);
    tokio::pin!(first_request_deadline);
    let (mut awaiting_first, mut shutting_down) = (true, false);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, error = %error, "connection ended with an error");
                }
                return;
            }
            _ = draining.wait_for(|draining| *draining), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
            () = &mut first_request_deadline, if awaiting_first => {
                if !seen_request.load(Ordering::Relaxed) {
                    tracing::debug!(%peer, "no request head within the header read timeout; closing");
                    return;
                }
                awaiting_first = false;
            }
        }
    }
}

/// Per-connection failures (a peer that reset before we accepted) are
/// nothing; others (out of file descriptors) are logged and retried after
/// a pause, instead of spinning.
async fn accept_failed(error: &io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %error, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_timeouts_are_the_documented_ones() {
        let config = ServeConfig::standard();
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.shutdown_grace, Duration::from_secs(25));
    }
}
