//! What an embedder adds to the server: the [`Extension`] trait and the
//! [`Worker`]s it runs.
//!
//! The trait is object safe and every method but [`Extension::name`] has a
//! default that adds nothing, so an extension implements only what it
//! needs. It receives an [`ExtensionContext`] rather than picking services
//! out of globals: the context is the whole surface an extension may rely
//! on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::http::AppState;
use crate::server::ExtensionContext;

/// A unit of functionality a program embedding the control plane adds to
/// it: routes, middleware and background workers.
pub trait Extension: Send + Sync + 'static {
    /// Names the extension in logs and in its workers' spans.
    fn name(&self) -> &str;

    /// Routes merged into the API beside the core routes; they get the same
    /// middleware stack (request id, log, panic → 500, error shape, body
    /// limit) and the same graceful shutdown.
    ///
    /// The state is [`AppState`], so handlers take the core extractors
    /// ([`crate::http::AuthContext`] authenticates exactly as the core
    /// does). A router with a state of its own calls
    /// `.with_state(its_state)`, which yields a `Router<AppState>`; for the
    /// core extractors to work there, `AppState: FromRef<ItsState>` (keep
    /// [`ExtensionContext::state`] in it).
    ///
    /// A path that a core route or another extension already serves with
    /// the same method makes axum panic when the server is built.
    fn routes(&self, context: &ExtensionContext) -> Router<AppState> {
        let _ = context;
        Router::new()
    }

    /// Wraps the whole router (core routes, every extension's routes and
    /// the fallback) in middleware of the extension's own, typically
    /// `router.layer(…)`. It sits inside the core stack: it sees requests
    /// with their request id, its panics become 500s and its error answers
    /// get the API's error shape. Extensions wrap in the order they were
    /// added, so a later one is further out.
    fn middleware(&self, context: &ExtensionContext, router: Router) -> Router {
        let _ = context;
        router
    }

    /// Background tasks started when the server starts serving. Each gets a
    /// token that is cancelled when the server shuts down; the shutdown
    /// waits for them up to its grace period, then aborts what is left.
    fn workers(&self, context: &ExtensionContext) -> Vec<Worker> {
        let _ = context;
        Vec::new()
    }
}

/// The future a worker runs.
pub(crate) type WorkerFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A named background task of an extension (see [`Extension::workers`]).
///
/// It should return soon after its token is cancelled. It handles its own
/// errors: one that returns early or panics is logged and not restarted,
/// and the server keeps serving.
pub struct Worker {
    name: String,
    run: Box<dyn FnOnce(CancellationToken) -> WorkerFuture + Send + 'static>,
}

impl Worker {
    /// A worker called `name` that runs `run(shutdown)`.
    pub fn new<F, Fut>(name: impl Into<String>, run: F) -> Worker
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Worker { name: name.into(), run: Box::new(move |shutdown| Box::pin(run(shutdown))) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name and the future to spawn.
    pub(crate) fn start(self, shutdown: CancellationToken) -> (String, WorkerFuture) {
        (self.name, (self.run)(shutdown))
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish_non_exhaustive()
    }
}
