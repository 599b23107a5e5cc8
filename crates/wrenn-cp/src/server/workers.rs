//! Runs the extensions' workers: one task each, in a span naming the
//! extension and the worker; a worker that ends before shutdown or panics
//! is logged when it happens (not restarted); at shutdown they get the
//! grace period to end, then what is left is aborted so a worker that
//! ignores its token cannot hold the process.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::server::Worker;

/// The running workers.
#[derive(Debug, Default)]
pub(crate) struct Workers {
    tasks: JoinSet<()>,
    labels: HashMap<Id, Label>,
}

/// Which worker a task runs.
#[derive(Debug)]
struct Label {
    extension: String,
    worker: String,
}

impl Workers {
    pub(crate) fn spawn(&mut self, extension: &str, worker: Worker, shutdown: CancellationToken) {
        let (name, future) = worker.start(shutdown);
        let span = tracing::info_span!("worker", extension, worker = %name);
        let handle = self.tasks.spawn(future.instrument(span));
        self.labels.insert(handle.id(), Label { extension: extension.to_owned(), worker: name });
    }

    /// Logs workers that end early until `stop` is cancelled, then waits
    /// up to `grace` for the rest and aborts what is still running.
    pub(crate) async fn supervise(mut self, stop: &CancellationToken, grace: Duration) {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.ended(joined, false);
                }
            }
        }
        let drained = tokio::time::timeout(grace, async {
            while let Some(joined) = self.tasks.join_next_with_id().await {
                self.ended(joined, true);
            }
        })
        .await;
        if drained.is_err() {
            for label in self.labels.values() {
                tracing::warn!(
                    extension = %label.extension,
                    worker = %label.worker,
                    grace_s = grace.as_secs_f64(),
                    "worker still running after the shutdown grace; aborting it"
                );
            }
            self.tasks.shutdown().await;
        }
    }

    fn ended(&mut self, joined: Result<(Id, ()), JoinError>, shutting_down: bool) {
        let id = match &joined {
            Ok((id, ())) => *id,
            Err(error) => error.id(),
        };
        let Some(Label { extension, worker }) = self.labels.remove(&id) else { return };
        match joined {
            Ok(_) if shutting_down => tracing::debug!(%extension, %worker, "worker stopped"),
            Ok(_) => tracing::warn!(%extension, %worker, "worker ended before shutdown; not restarted"),
            Err(error) if error.is_panic() => {
                tracing::error!(%extension, %worker, "worker panicked; not restarted");
            }
            Err(_) => tracing::debug!(%extension, %worker, "worker cancelled"),
        }
    }
}
