//! The control plane's server as a library: the API, the background work
//! beside it, and whatever an embedding program adds.
//!
//! `wrenn up` and `wrenn control-plane` are thin wrappers over [`Server`];
//! another program (a hosted edition) embeds the same server and adds its
//! own routes, middleware and background workers through [`Extension`]s,
//! instead of forking the start-up code. Extensions get every core service
//! through an [`ExtensionContext`] and share the core's middleware stack,
//! authentication and graceful shutdown.
//!
//! ```text
//! Server::builder(app).background(config).extension(billing).build()
//!     .serve(listener, shutdown).await
//! ```
//!
//! [`Server::serve`] starts the host monitor and reconciler and every
//! extension's workers, serves the API with `http::serve_with`, and when
//! `shutdown` completes stops all of them together: the HTTP server drains
//! and workers see their token cancelled, both bounded by the shutdown
//! grace. It returns once all of them have ended.

mod context;
mod extension;
mod workers;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::app::App;
use crate::background::{self, BackgroundConfig};
use crate::http::{self, AppState, ServeConfig};
use crate::server::workers::Workers;

pub use crate::server::context::{AuditLog, ExtensionContext};
pub use crate::server::extension::{Extension, Worker};

/// Collects what a [`Server`] runs; [`Server::builder`] starts one.
pub struct ServerBuilder {
    app: App,
    background: BackgroundConfig,
    serve: ServeConfig,
    extensions: Vec<Arc<dyn Extension>>,
}

impl ServerBuilder {
    /// How the host monitor and reconciler run; [`BackgroundConfig::default`]
    /// unless set.
    pub fn background(mut self, config: BackgroundConfig) -> ServerBuilder {
        self.background = config;
        self
    }

    /// How connections are served and how long shutdown waits;
    /// [`ServeConfig::standard`] unless set.
    pub fn serve_config(mut self, config: ServeConfig) -> ServerBuilder {
        self.serve = config;
        self
    }

    /// Adds an extension; extensions are applied in the order added.
    pub fn extension(mut self, extension: impl Extension) -> ServerBuilder {
        self.extensions.push(Arc::new(extension));
        self
    }

    /// Composes the router: the core routes, every extension's routes, the
    /// extensions' middleware, then the core middleware stack around all,
    /// and outside it the port proxy's routing by host.
    ///
    /// # Panics
    ///
    /// When an extension's routes overlap a core route or another
    /// extension's (axum's `Router::merge` refuses them): a programming
    /// error that shows at the first start.
    pub fn build(self) -> Server {
        let state = AppState::new(self.app.clone());
        let context = ExtensionContext::new(state.clone());
        let mut routes = http::routes(state.clone()).merge(api::routes(state.clone()));
        for extension in &self.extensions {
            routes = routes.merge(extension.routes(&context).with_state(state.clone()));
        }
        let router = http::with_middleware_around(routes, |mut router| {
            for extension in &self.extensions {
                router = extension.middleware(&context, router);
            }
            router
        });
        // Port traffic (`{port}-{capsule_id}.{domain}`) goes around all of it.
        let router = api::with_port_proxy(router, state.clone());
        Server {
            app: self.app,
            context,
            router,
            background: self.background,
            serve: self.serve,
            extensions: self.extensions,
        }
    }
}

/// The control plane's API server with its background work and the
/// extensions of the program that embeds it.
pub struct Server {
    app: App,
    context: ExtensionContext,
    router: Router,
    background: BackgroundConfig,
    serve: ServeConfig,
    extensions: Vec<Arc<dyn Extension>>,
}

impl Server {
    pub fn builder(app: App) -> ServerBuilder {
        ServerBuilder {
            app,
            background: BackgroundConfig::default(),
            serve: ServeConfig::standard(),
            extensions: Vec::new(),
        }
    }

    /// The complete router with its middleware, for driving it in-process
    /// (`tower::ServiceExt::oneshot`) without a listener.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Serves on `listener` until `shutdown` completes, then drains the
    /// API and stops the background work and the workers (module docs).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) {
        let stop = CancellationToken::new();
        let background = background::spawn(self.app.clone(), self.background, stop.clone().cancelled_owned());
        let mut workers = Workers::default();
        for extension in &self.extensions {
            for worker in extension.workers(&self.context) {
                workers.spawn(extension.name(), worker, stop.child_token());
            }
        }
        let api = http::serve_with(
            listener,
            self.router,
            async {
                shutdown.await;
                stop.cancel();
            },
            self.serve,
        );
        tokio::join!(api, workers.supervise(&stop, self.serve.shutdown_grace));
        if let Err(error) = background.await {
            tracing::error!(%error, "the background task failed");
        }
        tracing::info!("the API server stopped");
    }
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("background", &self.background)
            .field("serve", &self.serve)
            .field("extensions", &extension_names(&self.extensions))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("background", &self.background)
            .field("serve", &self.serve)
            .field("extensions", &extension_names(&self.extensions))
            .finish_non_exhaustive()
    }
}

fn extension_names(extensions: &[Arc<dyn Extension>]) -> Vec<&str> {
    extensions.iter().map(|extension| extension.name()).collect()
}
