//! How background processes ended, after envd has forgotten them.
//!
//! envd drops a process from its table as soon as it exits, yet the SDK
//! contract (§7.3) wants `ConnectProcess` to a finished background process to
//! end with its real exit code. So the agent reads each background process's
//! start stream to its end (`process.rs`, one envd connection per watched
//! process) and keeps what it learnt here, per capsule: the processes still
//! watched, and the last [`MAX_EXITS`] exits of the last [`EXIT_TTL`].
//!
//! Everything is bounded: exits per capsule, how long they are kept, the
//! length of what is kept of each, and how many processes are watched per
//! capsule and per host (each watch holds a connection, so a file
//! descriptor). A capsule's record goes when it is destroyed, its watches end
//! when it is hibernated. Memory only: an agent restart forgets it all, and a
//! process whose stream broke is simply not known.
//!
//! [`ExitLog`] is the pure per-capsule log; [`Exits`] shares the logs of all
//! capsules between the RPC handlers and the watch tasks.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use wrenn_types::CapsuleId;

/// Most exits kept per capsule; the oldest go first.
pub(crate) const MAX_EXITS: usize = 256;

/// How long an exit is kept.
pub(crate) const EXIT_TTL: Duration = Duration::from_secs(600);

/// Most processes watched at once in one capsule.
pub(crate) const MAX_WATCHED_PER_CAPSULE: usize = 64;

/// Most processes watched at once on this host: each watch holds a socket,
/// and the agent must keep file descriptors for its own work.
pub(crate) const MAX_WATCHED_PER_HOST: usize = 512;

/// Longer tags are not kept (such a process is found by pid only).
const MAX_TAG_LEN: usize = 256;

/// What is kept of an exit's error text.
const MAX_ERROR_LEN: usize = 512;

/// Which process a caller means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcessKey {
    Pid(u32),
    Tag(String),
}

/// How one process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exit {
    pub(crate) pid: u32,
    /// Empty when the process had none, or one too long to keep.
    pub(crate) tag: String,
    pub(crate) exit_code: i32,
    /// envd's error text, if the process could not be waited for.
    pub(crate) error: String,
}

impl Exit {
    pub(crate) fn new(pid: u32, tag: &str, exit_code: i32, error: &str) -> Exit {
        Exit { pid, tag: kept_tag(tag).to_owned(), exit_code, error: truncated(error, MAX_ERROR_LEN).to_owned() }
    }
}

/// What the log knows about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Known {
    /// Still watched: its end has not been seen yet.
    Running,
    Exited(Exit),
    Unknown,
}

/// One capsule's watched processes and recent exits. Pure: the caller
/// passes the time.
#[derive(Debug, Default)]
pub(crate) struct ExitLog {
    /// pid → tag (as kept) of each process still watched.
    watched: HashMap<u32, String>,
    /// Oldest first, at most one per pid.
    exits: VecDeque<(Instant, Exit)>,
}

impl ExitLog {
    /// Starts watching `pid`; `false` when this capsule watches
    /// [`MAX_WATCHED_PER_CAPSULE`] processes already.
    pub(crate) fn watch(&mut self, pid: u32, tag: &str) -> bool {
        if self.watched.len() >= MAX_WATCHED_PER_CAPSULE && !self.watched.contains_key(&pid) {
            return false;
        }
        self.watched.insert(pid, kept_tag(tag).to_owned());
        true
    }

    /// The watch of `pid` ended without an exit (its stream broke).
    pub(crate) fn forget(&mut self, pid: u32) {
        self.watched.remove(&pid);
    }

    /// The watched process `exit.pid` ended; replaces an older exit of the
    /// same pid.
    pub(crate) fn record(&mut self, exit: Exit, now: Instant) {
        self.watched.remove(&exit.pid);
        self.exits.retain(|(_, old)| old.pid != exit.pid);
        self.exits.push_back((now, exit));
        while self.exits.len() > MAX_EXITS {
            self.exits.pop_front();
        }
        self.expire(now);
    }

    /// A watched process is newer than any exit of the same pid or tag.
    pub(crate) fn find(&self, key: &ProcessKey, now: Instant) -> Known {
        let watched = match key {
            ProcessKey::Pid(pid) => self.watched.contains_key(pid),
            ProcessKey::Tag(tag) => self.watched.values().any(|watched| watched == tag),
        };
        if watched {
            return Known::Running;
        }
        let matches = |exit: &Exit| match key {
            ProcessKey::Pid(pid) => exit.pid == *pid,
            ProcessKey::Tag(tag) => !exit.tag.is_empty() && exit.tag == *tag,
        };
        self.exits
            .iter()
            .rev()
            .find(|(at, exit)| !expired(*at, now) && matches(exit))
            .map_or(Known::Unknown, |(_, exit)| Known::Exited(exit.clone()))
    }

    /// Drops exits older than [`EXIT_TTL`].
    pub(crate) fn expire(&mut self, now: Instant) {
        while self.exits.front().is_some_and(|(at, _)| expired(*at, now)) {
            self.exits.pop_front();
        }
    }

    /// Ends every watch (the capsule's processes are gone, or their streams
    /// are); the exits stay.
    pub(crate) fn forget_watched(&mut self) {
        self.watched.clear();
    }

    pub(crate) fn watched(&self) -> usize {
        self.watched.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.watched.is_empty() && self.exits.is_empty()
    }
}

/// The exit logs of all capsules of this host.
#[derive(Debug, Default)]
pub(crate) struct Exits {
    capsules: Mutex<HashMap<CapsuleId, CapsuleExits>>,
    /// Woken whenever a watch ends, for [`Exits::wait_for_end`].
    ended: Notify,
    /// Numbers the [`CapsuleExits`] generations.
    next_generation: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct CapsuleExits {
    log: ExitLog,
    /// Watches of other generations were stopped: what they report is stale.
    generation: u64,
    /// Dropped to stop this generation's watches.
    stop: watch::Sender<()>,
}

/// One watched process; hand it back to [`Exits::finish`].
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) capsule: CapsuleId,
    pub(crate) pid: u32,
    pub(crate) tag: String,
    generation: u64,
    stop: watch::Receiver<()>,
}

impl Watch {
    /// Resolves when the capsule's watches are stopped (destroy, hibernate).
    pub(crate) async fn stopped(&mut self) {
        // Nothing is ever sent: `changed` fails once the sender is dropped.
        while self.stop.changed().await.is_ok() {}
    }
}

impl Exits {
    /// Starts watching `pid` in `capsule`; `None` when the capsule or the host
    /// watches as many processes as allowed (the process then runs unwatched).
    pub(crate) fn watch(&self, capsule: CapsuleId, pid: u32, tag: &str) -> Option<Watch> {
        let mut capsules = self.lock();
        let watched: usize = capsules.values().map(|entry| entry.log.watched()).sum();
        if watched >= MAX_WATCHED_PER_HOST {
            return None;
        }
        let entry = capsules.entry(capsule).or_insert_with(|| self.new_generation());
        if !entry.log.watch(pid, tag) {
            return None;
        }
        Some(Watch {
            capsule,
            pid,
            tag: kept_tag(tag).to_owned(),
            generation: entry.generation,
            stop: entry.stop.subscribe(),
        })
    }

    /// Ends a watch: with the process's exit, or `None` when its stream
    /// ended without one. A stopped watch changes nothing.
    pub(crate) fn finish(&self, watch: Watch, exit: Option<(i32, &str)>) {
        let Watch { capsule, pid, tag, generation, .. } = watch;
        let now = Instant::now();
        {
            let mut capsules = self.lock();
            if let Some(entry) = capsules.get_mut(&capsule).filter(|entry| entry.generation == generation) {
                match exit {
                    Some((code, error)) => entry.log.record(Exit::new(pid, &tag, code, error), now),
                    None => entry.log.forget(pid),
                }
            }
            // Every capsule, so that the logs of capsules gone without a
            // destroy through this API empty out too.
            capsules.retain(|_, entry| {
                entry.log.expire(now);
                !entry.log.is_empty()
            });
        }
        self.ended.notify_waiters();
    }

    pub(crate) fn find(&self, capsule: CapsuleId, key: &ProcessKey) -> Known {
        self.lock().get(&capsule).map_or(Known::Unknown, |entry| entry.log.find(key, Instant::now()))
    }

    /// How the process ended, waiting up to `within` when it is still
    /// watched (envd forgets a process a moment before it reports its end).
    pub(crate) async fn wait_for_end(&self, capsule: CapsuleId, key: &ProcessKey, within: Duration) -> Option<Exit> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            // Registered before looking, so an end in between is not missed.
            ended.as_mut().enable();
            match self.find(capsule, key) {
                Known::Exited(exit) => return Some(exit),
                Known::Unknown => return None,
                Known::Running => {
                    if tokio::time::timeout_at(deadline, ended).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// Stops the capsule's watches and forgets them; the exits stay. For a
    /// capsule whose processes were ended and will be restored (hibernate).
    pub(crate) fn stop_watches(&self, capsule: CapsuleId) {
        {
            let mut capsules = self.lock();
            let Some(entry) = capsules.get_mut(&capsule) else { return };
            let CapsuleExits { generation, stop, .. } = self.new_generation();
            entry.generation = generation;
            // The old sender is dropped here: its watches stop.
            entry.stop = stop;
            entry.log.forget_watched();
        }
        self.ended.notify_waiters();
    }

    /// Forgets the capsule and stops its watches (destroy).
    pub(crate) fn remove(&self, capsule: CapsuleId) {
        let removed = self.lock().remove(&capsule);
        drop(removed);
        self.ended.notify_waiters();
    }

    fn new_generation(&self) -> CapsuleExits {
        let generation = self.next_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CapsuleExits { log: ExitLog::default(), generation, stop: watch::Sender::new(()) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CapsuleId, CapsuleExits>> {
        self.capsules.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn expired(at: Instant, now: Instant) -> bool {
    now.saturating_duration_since(at) >= EXIT_TTL
}

fn kept_tag(tag: &str) -> &str {
    if tag.len() <= MAX_TAG_LEN { tag } else { "" }
}

fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(pid: u32, tag: &str, code: i32) -> Exit {
        Exit::new(pid, tag, code, "")
    }

    #[test]
    fn a_watched_process_is_running_until_its_exit_is_recorded() {
        let now = Instant::now();
        let mut log = ExitLog::default();
        assert!(log.watch(10, "web"));
        assert_eq!(log.find(&ProcessKey::Pid(10), now), Known::Running);
        assert_eq!(log.find(&ProcessKey::Tag("web".into()), now), Known::Running);
        log.record(exit(10, "web", 7), now);
        assert_eq!(log.find(&ProcessKey::Pid(10), now), Known::Exited(exit(10, "web", 7)));
        assert_eq!(log.find(&ProcessKey::Tag("web".into()), now), Known::Exited(exit(10, "web", 7)));
        assert_eq!(log.find(&ProcessKey::Pid(11), now), Known::Unknown);
        assert_eq!(log.find(&ProcessKey::Tag("db".into()), now), Known::Unknown);
    }

    #[test]
    fn a_broken_watch_leaves_the_process_unknown() {
        let now = Instant::now();
        let mut log = ExitLog::default();
        log.watch(10, "web");
        log.forget(10);
        assert_eq!(log.find(&ProcessKey::Pid(10), now), Known::Unknown);
        assert!(log.is_empty());
    }

    #[test]
    fn the_newest_process_of_a_pid_or_tag_wins() {
        let now = Instant::now();
        let mut log = ExitLog::default();
        log.record(exit(10, "job", 1), now);
        log.record(exit(11, "job", 2), now);
        assert_eq!(log.find(&ProcessKey::Tag("job".into()), now), Known::Exited(exit(11, "job", 2)));
        // The pid came round again: the new process's exit replaces the old.
        log.record(exit(10, "other", 3), now);
        assert_eq!(log.find(&ProcessKey::Pid(10), now), Known::Exited(exit(10, "other", 3)));
        assert_eq!(log.exits.len(), 2);
        // A running process hides the exit of an earlier one with its pid.
        log.watch(11, "again");
        assert_eq!(log.find(&ProcessKey::Pid(11), now), Known::Running);
    }

    #[test]
    fn exits_are_bounded_in_number_and_age() {
        let start = Instant::now();
        let mut log = ExitLog::default();
        for pid in 0..(MAX_EXITS as u32 + 10) {
            log.record(exit(pid, "", 0), start);
        }
        assert_eq!(log.exits.len(), MAX_EXITS);
        assert_eq!(log.find(&ProcessKey::Pid(9), start), Known::Unknown, "the oldest go first");
        assert!(matches!(log.find(&ProcessKey::Pid(10), start), Known::Exited(_)));

        let later = start + EXIT_TTL - Duration::from_secs(1);
        log.record(exit(1_000, "", 0), later);
        assert_eq!(log.exits.len(), MAX_EXITS);
        assert_eq!(log.find(&ProcessKey::Pid(10), start + EXIT_TTL), Known::Unknown, "expired ones are not found");
        log.expire(start + EXIT_TTL);
        assert_eq!(log.exits.len(), 1);
        log.expire(later + EXIT_TTL);
        assert!(log.is_empty());
    }

    #[test]
    fn watches_are_bounded_per_capsule() {
        let mut log = ExitLog::default();
        for pid in 0..MAX_WATCHED_PER_CAPSULE as u32 {
            assert!(log.watch(pid, ""));
        }
        assert!(!log.watch(1_000, ""));
        assert!(log.watch(0, ""), "watching a watched pid again takes no room");
        log.record(exit(0, "", 0), Instant::now());
        assert!(log.watch(1_000, ""));
    }

    #[test]
    fn long_tags_and_errors_are_not_kept_whole() {
        let long_tag = "t".repeat(MAX_TAG_LEN + 1);
        let long_error = "é".repeat(MAX_ERROR_LEN);
        let kept = Exit::new(5, &long_tag, -1, &long_error);
        assert_eq!(kept.tag, "");
        assert!(kept.error.len() <= MAX_ERROR_LEN && long_error.starts_with(&kept.error) && !kept.error.is_empty());
        let mut log = ExitLog::default();
        log.record(kept, Instant::now());
        assert_eq!(log.find(&ProcessKey::Tag(String::new()), Instant::now()), Known::Unknown);
        assert!(matches!(log.find(&ProcessKey::Pid(5), Instant::now()), Known::Exited(_)));
    }

    fn capsule(n: u128) -> CapsuleId {
        CapsuleId::from_u128(n)
    }

    #[tokio::test]
    async fn a_waiter_gets_the_exit_recorded_while_it_waits() {
        let exits = std::sync::Arc::new(Exits::default());
        let watch = exits.watch(capsule(1), 42, "job").unwrap();
        let waiter = {
            let exits = std::sync::Arc::clone(&exits);
            tokio::spawn(
                async move { exits.wait_for_end(capsule(1), &ProcessKey::Pid(42), Duration::from_secs(10)).await },
            )
        };
        tokio::task::yield_now().await;
        exits.finish(watch, Some((7, "")));
        assert_eq!(waiter.await.unwrap(), Some(exit(42, "job", 7)));
        assert_eq!(exits.find(capsule(1), &ProcessKey::Tag("job".into())), Known::Exited(exit(42, "job", 7)));
        assert_eq!(exits.find(capsule(2), &ProcessKey::Pid(42)), Known::Unknown, "capsules are apart");
    }

    #[tokio::test]
    async fn a_waiter_gives_up_after_its_time() {
        let exits = Exits::default();
        let _watch = exits.watch(capsule(1), 42, "").unwrap();
        let waited = exits.wait_for_end(capsule(1), &ProcessKey::Pid(42), Duration::from_millis(50)).await;
        assert_eq!(waited, None);
        assert_eq!(exits.wait_for_end(capsule(1), &ProcessKey::Pid(43), Duration::from_secs(10)).await, None);
    }

    #[tokio::test]
    async fn destroy_stops_the_watches_and_forgets_the_capsule() {
        let exits = Exits::default();
        let done = exits.watch(capsule(1), 1, "").unwrap();
        exits.finish(done, Some((3, "")));
        let mut running = exits.watch(capsule(1), 2, "").unwrap();
        exits.remove(capsule(1));
        tokio::time::timeout(Duration::from_secs(5), running.stopped()).await.expect("the watch is stopped");
        assert_eq!(exits.find(capsule(1), &ProcessKey::Pid(1)), Known::Unknown);
        // What a stopped watch reports afterwards is dropped.
        exits.finish(running, Some((0, "")));
        assert_eq!(exits.find(capsule(1), &ProcessKey::Pid(2)), Known::Unknown);
        assert!(exits.lock().is_empty());
    }

    #[tokio::test]
    async fn hibernate_stops_the_watches_but_keeps_the_exits() {
        let exits = Exits::default();
        let done = exits.watch(capsule(1), 1, "").unwrap();
        exits.finish(done, Some((3, "")));
        let mut running = exits.watch(capsule(1), 2, "").unwrap();
        exits.stop_watches(capsule(1));
        tokio::time::timeout(Duration::from_secs(5), running.stopped()).await.expect("the watch is stopped");
        assert_eq!(exits.find(capsule(1), &ProcessKey::Pid(2)), Known::Unknown);
        exits.finish(running, Some((0, "")));
        assert_eq!(exits.find(capsule(1), &ProcessKey::Pid(2)), Known::Unknown, "a stale report is dropped");
        assert_eq!(exits.find(capsule(1), &ProcessKey::Pid(1)), Known::Exited(exit(1, "", 3)));
        // New watches work as before.
        let again = exits.watch(capsule(1), 2, "").unwrap();
        exits.finish(again, Some((4, "")));
        assert_eq!(exits.find(capsule(1), &ProcessKey::Pid(2)), Known::Exited(exit(2, "", 4)));
    }

    #[test]
    fn watches_are_bounded_per_host() {
        let exits = Exits::default();
        let mut held = Vec::new();
        let mut id = 0;
        while held.len() < MAX_WATCHED_PER_HOST {
            id += 1;
            for pid in 0..MAX_WATCHED_PER_CAPSULE as u32 {
                if held.len() == MAX_WATCHED_PER_HOST {
                    break;
                }
                held.push(exits.watch(capsule(id), pid, "").unwrap());
            }
        }
        assert!(exits.watch(capsule(id + 1), 1, "").is_none());
        exits.finish(held.pop().unwrap(), None);
        assert!(exits.watch(capsule(id + 1), 1, "").is_some());
    }
}
