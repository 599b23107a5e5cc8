//! Directory watchers: the `WatchDir` stream and the polled watchers of
//! `CreateWatcher` / `GetWatcherEvents` / `RemoveWatcher`.
//!
//! Backend: inotify directly, through the small `sys::inotify` wrapper,
//! rather than the `notify` crate. Three things decide it:
//! - permissions: a watch must be added with the acting user's credentials
//!   (also for subdirectories that appear later), and `notify` adds watches
//!   from its own event-loop thread, always as root;
//! - cleanup: one inotify instance per watcher, owned by the watcher, so
//!   dropping it (client gone, `RemoveWatcher`) closes the fd and removes
//!   every kernel watch at once, with nothing left in a background thread;
//! - cost: events are read through tokio's reactor, with no thread per
//!   watcher, and the event mapping is ours to test (`watch::plan`).
//!
//! Memory is bounded everywhere: a `WatchDir` stream reads the kernel queue
//! only as fast as the client takes events (the kernel queue then overflows,
//! which is logged); a polled watcher keeps at most `MAX_BUFFERED_EVENTS`
//! (and `MAX_BUFFERED_BYTES`), dropping the oldest; there are at most
//! `MAX_WATCHERS` polled watchers, each with at most `tree::MAX_WATCHES`
//! directory watches.

mod buffer;
mod plan;
mod tree;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(crate) use tree::WatchTree;

use crate::fs::watch::buffer::EventBuffer;
use crate::fs::{Entry, FsError};

/// Events a polled watcher keeps between two polls.
pub(crate) const MAX_BUFFERED_EVENTS: usize = 10_000;
/// Approximate bytes a polled watcher keeps between two polls.
pub(crate) const MAX_BUFFERED_BYTES: usize = 16 * 1024 * 1024;
/// Polled watchers alive at once. The kernel also limits inotify instances
/// (`max_user_instances`, often 128), which usually bites first.
pub(crate) const MAX_WATCHERS: usize = 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WatchOptions {
    pub(crate) recursive: bool,
    /// Attach an `Entry` to events whose path still exists.
    pub(crate) include_entry: bool,
    /// Allow watching NFS, SMB and FUSE mounts, where events are incomplete.
    pub(crate) allow_network_mounts: bool,
}

/// One change, named relative to the watched directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FsEvent {
    pub(crate) name: String,
    pub(crate) kind: EventKind,
    pub(crate) entry: Option<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Create,
    Write,
    Remove,
    Rename,
    Chmod,
}

impl FsEvent {
    fn approx_size(&self) -> usize {
        32 + self.name.len() + self.entry.as_ref().map_or(0, Entry::approx_size)
    }
}

/// The polled watchers by id.
#[derive(Debug, Default)]
pub(crate) struct WatcherRegistry {
    watchers: Mutex<HashMap<String, PolledWatcher>>,
}

/// A watcher whose events a task collects until the client drains them.
/// Dropping it aborts the task, which drops the `WatchTree` and with it the
/// inotify instance.
#[derive(Debug)]
struct PolledWatcher {
    shared: Arc<Mutex<Polled>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Polled {
    buffer: EventBuffer,
    /// Set when reading events failed for good; reported on every poll.
    failure: Option<String>,
}

impl Drop for PolledWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WatcherRegistry {
    /// Starts collecting `tree`'s events and returns the new watcher's id.
    pub(crate) fn start(&self, tree: WatchTree) -> Result<String, FsError> {
        let mut watchers = self.lock();
        if watchers.len() >= MAX_WATCHERS {
            return Err(FsError::TooManyWatchers { limit: MAX_WATCHERS });
        }
        let id = loop {
            let id = new_watcher_id().map_err(FsError::WatcherInstance)?;
            if !watchers.contains_key(&id) {
                break id;
            }
        };
        let shared = Arc::new(Mutex::new(Polled {
            buffer: EventBuffer::new(MAX_BUFFERED_EVENTS, MAX_BUFFERED_BYTES),
            failure: None,
        }));
        let task = tokio::spawn(collect(tree, Arc::clone(&shared)));
        watchers.insert(id.clone(), PolledWatcher { shared, task });
        Ok(id)
    }

    /// The events since the previous call; `None` for an unknown id.
    pub(crate) fn drain(&self, id: &str) -> Option<Result<Vec<FsEvent>, String>> {
        let shared = Arc::clone(&self.lock().get(id)?.shared);
        let mut polled = shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(failure) = &polled.failure {
            return Some(Err(failure.clone()));
        }
        let drained = polled.buffer.drain();
        if drained.n_dropped > 0 || drained.kernel_overflow {
            tracing::warn!(
                watcher = id,
                n_dropped = drained.n_dropped,
                kernel_overflow = drained.kernel_overflow,
                "watcher was not polled fast enough; events were lost"
            );
        }
        Some(Ok(drained.events))
    }

    /// Stops and forgets a watcher; false for an unknown id.
    pub(crate) fn remove(&self, id: &str) -> bool {
        // Dropped outside the registry lock.
        let removed = self.lock().remove(id);
        removed.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PolledWatcher>> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Moves events from the kernel into the watcher's buffer until aborted.
async fn collect(tree: WatchTree, shared: Arc<Mutex<Polled>>) {
    loop {
        let batch = tree.next_batch().await;
        let mut polled = shared.lock().unwrap_or_else(|e| e.into_inner());
        match batch {
            Ok(batch) => {
                if batch.overflowed {
                    polled.buffer.note_kernel_overflow();
                }
                for event in batch.events {
                    polled.buffer.push(event);
                }
            }
            Err(err) => {
                tracing::warn!(error = %crate::error_chain::ErrorChain(&err), "watcher stopped");
                polled.failure = Some(crate::error_chain::ErrorChain(&err).to_string());
                return;
            }
        }
    }
}

/// `w` and 128 random bits in hex: unique in practice and not guessable, so
/// one client cannot drain or stop another's watcher.
fn new_watcher_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    crate::sys::random::fill(&mut bytes)?;
    Ok(format!("w{}", hex::encode(bytes)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::users::Identity;

    async fn poll_until(registry: &WatcherRegistry, id: &str, want: impl Fn(&[FsEvent]) -> bool) -> Vec<FsEvent> {
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen.extend(registry.drain(id).unwrap().unwrap());
            if want(&seen) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("events never arrived: {seen:?}");
    }

    fn has(events: &[FsEvent], name: &str, kind: EventKind) -> bool {
        events.iter().any(|e| e.name == name && e.kind == kind)
    }

    #[tokio::test]
    async fn watcher_ids_are_unique_and_unguessable() {
        let a = new_watcher_id().unwrap();
        let b = new_watcher_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 33);
        assert!(a.starts_with('w'));
    }

    #[tokio::test]
    async fn polled_watcher_collects_drains_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let me = Identity::current();
        let options = WatchOptions { recursive: true, include_entry: true, allow_network_mounts: false };
        let tree = WatchTree::open(&me, root.clone(), options).await.unwrap();
        let registry = WatcherRegistry::default();
        let id = registry.start(tree).unwrap();

        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/new.txt"), b"hi").unwrap();
        let events = poll_until(&registry, &id, |e| has(e, "sub/new.txt", EventKind::Create)).await;
        assert!(has(&events, "sub", EventKind::Create), "{events:?}");
        let entry = events.iter().find(|e| e.name == "sub").unwrap().entry.as_ref().expect("entry");
        assert_eq!(Path::new(&entry.path), root.join("sub"));

        assert!(registry.drain(&id).unwrap().unwrap().is_empty(), "drained");
        assert!(registry.remove(&id));
        assert!(!registry.remove(&id));
        assert!(registry.drain(&id).is_none());
    }

    #[tokio::test]
    async fn moved_directories_are_followed_by_their_new_name_and_dropped_when_moved_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap().join("root");
        let outside = root.with_file_name("outside");
        std::fs::create_dir_all(root.join("a/inner")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        let options = WatchOptions { recursive: true, ..WatchOptions::default() };
        let registry = WatcherRegistry::default();
        let id = registry.start(WatchTree::open(&Identity::current(), root.clone(), options).await.unwrap()).unwrap();

        std::fs::rename(root.join("a"), root.join("b")).unwrap();
        std::fs::write(root.join("b/inner/x.txt"), b"x").unwrap();
        let events = poll_until(&registry, &id, |e| has(e, "b/inner/x.txt", EventKind::Create)).await;
        assert!(has(&events, "a", EventKind::Rename) && has(&events, "b", EventKind::Create), "{events:?}");
        assert!(!events.iter().any(|e| e.name.starts_with("a/")), "{events:?}");

        std::fs::rename(root.join("b"), outside.join("b")).unwrap();
        std::fs::write(outside.join("b/inner/y.txt"), b"y").unwrap();
        std::fs::write(root.join("marker"), b"").unwrap();
        let events = poll_until(&registry, &id, |e| has(e, "marker", EventKind::Create)).await;
        assert!(has(&events, "b", EventKind::Rename), "{events:?}");
        assert!(!events.iter().any(|e| e.name.contains("y.txt")), "moved-out directories are not watched: {events:?}");
    }
}
