//! Builds envd's HTTP stack and serves it (HTTP/1.1 and h2c on one port).
//!
//! Plain routes come first; every other path falls through to the Connect
//! router. The token check wraps both, and the unread rest of a refused
//! request's body is drained so that the client reads the refusal. Shutdown
//! stops accepting at once and gives open streams a bounded time to finish.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;

use crate::config::Config;
use crate::state::{AppState, SharedState};

/// How long open connections may keep going after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A bound, not yet serving envd.
#[derive(Debug)]
pub struct Envd {
    listener: tokio::net::TcpListener,
    state: SharedState,
}

impl Envd {
    /// Binds the listener and prepares the state. Must run inside a tokio runtime.
    pub async fn bind(config: Config) -> anyhow::Result<Envd> {
        let listener =
            tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        Ok(Envd { listener, state: AppState::new(config) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound TCP listener has an address")
    }

    /// Serves until `shutdown` completes, then drains for a bounded time.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // Events are small writes on long-lived responses: without
        // TCP_NODELAY each one can wait 40 ms for a delayed ACK.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(listener, app(&self.state)).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(());
        });
        let server = tokio::spawn(async move { server.await });
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => return result.context("server task")?.context("serving"),
            _ = stop_rx => {}
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(result) => result.context("server task")?.context("serving"),
            Err(_) => {
                tracing::info!("connections still open after the shutdown grace; closing them");
                server.abort();
                Ok(())
            }
        }
    }
}

/// The complete router: HTTP routes, Connect services, token check.
fn app(state: &SharedState) -> Router {
    crate::http::router()
        .with_state(state.clone())
        .fallback_service(crate::rpc::router(state).into_axum_service())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::require_token))
        .layer(axum::middleware::from_fn(crate::http::drain_unread_body))
}

/// Runs envd until SIGTERM or SIGINT.
pub fn run(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("envd")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let envd = Envd::bind(config).await?;
        tracing::info!(addr = %envd.local_addr(), version = crate::VERSION, "envd listening");
        envd.serve(termination()).await
    })
}

async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("shutting down");
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.dev {
        builder.init();
    } else {
        builder.json().init();
    }
}
