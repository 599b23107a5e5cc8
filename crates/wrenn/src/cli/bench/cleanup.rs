//! Every capsule `wrenn bench` starts is destroyed before it exits, also
//! when it is interrupted: a benchmark that leaks capsules skews the next
//! run and costs the team memory.
//!
//! [`Tracker`] knows each capsule from the moment the server names it
//! (live), through the destroy call (stopping), until the server reports it
//! stopped. Each capsule also carries the label `wrenn-bench=<run id>`, so
//! that after an interruption [`Tracker::sweep`] also finds the capsules
//! whose create the server accepted but whose answer never arrived (the
//! call was cut off by Ctrl-C). [`Interrupts`] turns SIGINT and SIGTERM
//! into a future the command races its work against.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::signal::unix::{Signal, SignalKind, signal};
use wrenn_client::{Capsule, CapsuleStatus, Client, CreateCapsule, Error};

use crate::cli::CliError;

/// The label that marks a run's capsules; its value is the run id.
pub(crate) const RUN_LABEL: &str = "wrenn-bench";
/// How often the server is asked whether a destroyed capsule stopped.
const STOP_POLL: Duration = Duration::from_millis(100);

/// The capsules of one run that are not known to be stopped yet.
#[derive(Debug)]
pub(crate) struct Tracker {
    client: Client,
    run_id: String,
    /// The memory limit asked for every capsule (`None`: the server's default).
    memory_mb: Option<u64>,
    ids: Mutex<TrackedIds>,
}

#[derive(Debug, Default)]
struct TrackedIds {
    /// Created, not yet destroyed.
    live: BTreeSet<String>,
    /// Destroy accepted, not yet seen stopped.
    stopping: BTreeSet<String>,
}

impl Tracker {
    pub(crate) fn new(client: Client, run_id: String, memory_mb: Option<u64>) -> Tracker {
        Tracker { client, run_id, memory_mb, ids: Mutex::new(TrackedIds::default()) }
    }

    /// The id this run's capsules are labelled with.
    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Creates a capsule from `template`, labelled with this run and
    /// tracked as soon as its id is known.
    pub(crate) async fn create(&self, template: &str) -> Result<String, Error> {
        let mut spec = CreateCapsule::new().template(template).label(RUN_LABEL, self.run_id.as_str());
        spec.memory_mb = self.memory_mb;
        let capsule = self.client.capsules().create(&spec).await?;
        self.lock().live.insert(capsule.id.clone());
        Ok(capsule.id)
    }

    /// Asks the server to destroy a capsule. It stays tracked until
    /// [`Tracker::settle`] sees it stopped; a failed call leaves it live, so
    /// the next settle tries again.
    pub(crate) async fn destroy(&self, id: &str) -> Result<(), Error> {
        match self.client.capsules().destroy(id).await {
            Ok(()) => {
                let mut ids = self.lock();
                ids.live.remove(id);
                ids.stopping.insert(id.to_owned());
                Ok(())
            }
            // The server no longer knows it: nothing is left to stop.
            Err(err) if err.is_not_found() => {
                self.lock().live.remove(id);
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    /// Destroys every capsule still live and waits until every tracked
    /// one is stopped. Returns those still not stopped after `limit`.
    pub(crate) async fn settle(&self, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let live: Vec<String> = self.lock().live.iter().cloned().collect();
            for id in &live {
                // A failure leaves it live, and it is tried again next round.
                let _ = self.destroy(id).await;
            }
            let stopping: Vec<String> = self.lock().stopping.iter().cloned().collect();
            for id in &stopping {
                if self.has_stopped(id).await {
                    self.lock().stopping.remove(id);
                }
            }
            let left = self.known();
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(STOP_POLL).await;
        }
    }

    /// After an interruption: adopts the run's labelled capsules the server
    /// lists (creates cut off after the server accepted them), settles, and
    /// looks again until the server lists none. Returns the capsules still
    /// not stopped after `limit`.
    pub(crate) async fn sweep(&self, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let adopted = self.adopt_labelled().await;
            let left = self.settle(deadline.saturating_duration_since(Instant::now())).await;
            if !left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            // The first look found nothing new and everything stopped: a
            // create still in flight would have been listed by now.
            if adopted == 0 && self.adopt_labelled().await == 0 {
                return Vec::new();
            }
        }
    }

    /// Every capsule not known to be stopped.
    pub(crate) fn known(&self) -> Vec<String> {
        let ids = self.lock();
        ids.live.union(&ids.stopping).cloned().collect()
    }

    /// Tracks the labelled capsules of this run the server lists as not
    /// stopped; returns how many it did not know.
    async fn adopt_labelled(&self) -> usize {
        let Ok(capsules) = self.client.capsules().list().await else {
            return 0;
        };
        let mut ids = self.lock();
        let mut adopted = 0;
        for capsule in capsules.iter().filter(|capsule| is_run_capsule(capsule, &self.run_id)) {
            if !ids.live.contains(&capsule.id) && !ids.stopping.contains(&capsule.id) {
                ids.live.insert(capsule.id.clone());
                adopted += 1;
            }
        }
        adopted
    }

    /// Whether the server says the capsule is stopped (or gone).
    async fn has_stopped(&self, id: &str) -> bool {
        match self.client.capsules().get(id).await {
            Ok(capsule) => matches!(capsule.status, CapsuleStatus::Stopped),
            Err(err) => err.is_not_found(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TrackedIds> {
        self.ids.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a listed capsule is one of this run's and not stopped.
fn is_run_capsule(capsule: &Capsule, run_id: &str) -> bool {
    capsule.metadata.get(RUN_LABEL).is_some_and(|value| value == run_id) && capsule.status != CapsuleStatus::Stopped
}

/// SIGINT (Ctrl-C) and SIGTERM, caught instead of ending the process, so
/// the run can destroy its capsules first.
#[derive(Debug)]
pub(crate) struct Interrupts {
    interrupt: Signal,
    terminate: Signal,
}

impl Interrupts {
    pub(crate) fn install() -> Result<Interrupts, CliError> {
        let catch = |kind: SignalKind| {
            signal(kind).map_err(|err| CliError::new(format!("cannot catch signals to clean up on Ctrl-C: {err}")))
        };
        Ok(Interrupts { interrupt: catch(SignalKind::interrupt())?, terminate: catch(SignalKind::terminate())? })
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub(crate) async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capsule(id: &str, status: &str, label: Option<&str>) -> Capsule {
        let mut metadata = std::collections::BTreeMap::new();
        if let Some(value) = label {
            metadata.insert(RUN_LABEL.to_owned(), value.to_owned());
        }
        serde_json::from_value(serde_json::json!({"id": id, "status": status, "metadata": metadata})).unwrap()
    }

    #[test]
    fn only_this_runs_live_capsules_are_swept() {
        let cases = [
            (capsule("cl-1", "running", Some("run-a")), true),
            (capsule("cl-2", "pending", Some("run-a")), true),
            (capsule("cl-3", "error", Some("run-a")), true),
            (capsule("cl-4", "stopped", Some("run-a")), false),
            (capsule("cl-5", "running", Some("run-b")), false),
            (capsule("cl-6", "running", None), false),
        ];
        for (capsule, want) in cases {
            assert_eq!(is_run_capsule(&capsule, "run-a"), want, "{}", capsule.id);
        }
    }
}
