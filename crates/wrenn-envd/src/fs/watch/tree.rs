//! One watched directory (and, when recursive, everything below it).
//!
//! A `WatchTree` owns one inotify instance; dropping it closes the instance
//! and with it every kernel watch. The map from watch descriptor to
//! directory lives behind a std mutex that is only locked on blocking
//! threads, never across an `.await`. Watches are added as the acting user,
//! so a recursive watch skips directories that user cannot read.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::fs::entry::Names;
use crate::fs::watch::plan::{plan, relative_name};
use crate::fs::watch::{EventKind, FsEvent, WatchOptions};
use crate::fs::{Entry, FsError, as_user};
use crate::sys::inotify::{Follow, Inotify, RawEvent, Wd};
use crate::users::Identity;

/// Most directories one watcher may watch. inotify watches are a
/// system-wide budget shared by every watcher (`max_user_watches`).
pub(crate) const MAX_WATCHES: usize = 65_536;

/// Filesystems whose change notifications do not reflect remote changes
/// (NFS, CIFS, SMB, SMB2, FUSE), as E2B's envd lists them.
const NETWORK_FILESYSTEMS: [u64; 5] = [0x6969, 0xff53_4d42, 0x517b, 0xfe53_4d42, 0x6573_5546];

#[derive(Debug)]
pub(crate) struct WatchTree {
    inotify: Arc<Inotify>,
    tree: Arc<Mutex<Tree>>,
    identity: Identity,
}

/// Events from one read of the kernel queue.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) events: Vec<FsEvent>,
    /// The kernel queue overflowed: some events were lost.
    pub(crate) overflowed: bool,
}

#[derive(Debug)]
struct Tree {
    root: PathBuf,
    options: WatchOptions,
    root_wd: Wd,
    /// Watched directories by descriptor, relative to the root.
    dirs: HashMap<Wd, PathBuf>,
    /// Directories moved away whose matching "moved here" has not been seen
    /// yet, by rename cookie. The kernel queues the two halves of a rename
    /// back to back, so an entry is settled by the very next event, which
    /// may only arrive with the next read.
    moved_out: Vec<(u32, PathBuf)>,
}

/// Whether entries found in a newly watched directory are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// A new directory: anything already in it was created before its watch
    /// existed, so report it as created (possibly twice, never missed).
    ReportContents,
    /// A directory moved in from outside, or the initial walk: its contents
    /// were not created now.
    Quiet,
}

impl WatchTree {
    /// Checks `path` and starts watching it as `identity`.
    pub(crate) async fn open(identity: &Identity, path: PathBuf, options: WatchOptions) -> Result<WatchTree, FsError> {
        let inotify = Arc::new(Inotify::new().map_err(FsError::WatcherInstance)?);
        let tree = as_user(identity, {
            let inotify = Arc::clone(&inotify);
            move || Tree::open(&inotify, path, options)
        })
        .await?;
        Ok(WatchTree { inotify, tree: Arc::new(Mutex::new(tree)), identity: identity.clone() })
    }

    /// Waits for the next events. Cancel-safe while waiting; once events
    /// were read they are processed on a blocking thread to completion.
    pub(crate) async fn next_batch(&self) -> Result<Batch, FsError> {
        let raw = self.inotify.read_events().await.map_err(|e| {
            let root = self.tree.lock().unwrap_or_else(|e| e.into_inner()).root.clone();
            FsError::io("read watch events for", root, e)
        })?;
        let inotify = Arc::clone(&self.inotify);
        let tree = Arc::clone(&self.tree);
        as_user(&self.identity, move || {
            let mut tree = tree.lock().unwrap_or_else(|e| e.into_inner());
            Ok(tree.apply(&inotify, raw))
        })
        .await
    }
}

impl Tree {
    fn open(inotify: &Inotify, root: PathBuf, options: WatchOptions) -> Result<Tree, FsError> {
        let meta = std::fs::metadata(&root).map_err(|e| FsError::io("watch", &root, e))?;
        if !meta.is_dir() {
            return Err(FsError::NotADirectory { path: root });
        }
        if !options.allow_network_mounts {
            let magic = crate::sys::statfs::filesystem_magic(&root)
                .map_err(|e| FsError::io("inspect the filesystem of", &root, e))?;
            if is_network_filesystem(magic) {
                return Err(FsError::NetworkMount { path: root });
            }
        }
        let root_wd = inotify.add_watch(&root, Follow::Symlinks).map_err(|e| FsError::io("watch", &root, e))?;
        let mut tree =
            Tree { root, options, root_wd, dirs: HashMap::from([(root_wd, PathBuf::new())]), moved_out: Vec::new() };
        if options.recursive {
            tree.watch_below(inotify, PathBuf::new(), Scan::Quiet, &mut Vec::new()).map_err(|err| match err {
                WalkError::TooManyWatches => FsError::TooManyWatches { path: tree.root.clone(), limit: MAX_WATCHES },
                WalkError::Kernel(source) => FsError::io("watch", tree.root.clone(), source),
            })?;
        }
        Ok(tree)
    }

    fn apply(&mut self, inotify: &Inotify, raw: Vec<RawEvent>) -> Batch {
        let mut batch = Batch::default();
        let mut names = Names::default();
        for event in raw {
            // A pending "moved away" not answered by this very event left
            // the tree: its watches now report from outside and must go
            // before they name anything.
            let answers = |cookie: u32| event.flags.moved_to && event.flags.is_dir && event.cookie == cookie;
            let (answered, left): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.moved_out).into_iter().partition(|(cookie, _)| answers(*cookie));
            for (_, relative) in left {
                self.unwatch(inotify, &relative);
            }
            let dir = self.dirs.get(&event.wd).cloned();
            let plan = plan(&event, dir.as_deref(), event.wd == self.root_wd, self.options.recursive);
            batch.overflowed |= plan.overflow;
            if plan.forget {
                self.dirs.remove(&event.wd);
            }
            for (relative, kind) in plan.events {
                batch.events.push(self.event(&relative, kind, &mut names));
            }
            if let Some(relative) = plan.unwatch {
                self.unwatch(inotify, &relative);
            }
            if let Some(moved) = plan.moved_out {
                self.moved_out.push(moved);
            }
            let new_dir = match (plan.watch, plan.moved_in) {
                (Some(created), _) => Some((created, Scan::ReportContents)),
                (None, Some((_, to))) => match answered.into_iter().next() {
                    // Moved within the tree: same watches, new names.
                    Some((_, from)) => {
                        self.rename(&from, &to);
                        None
                    }
                    None => Some((to, Scan::Quiet)),
                },
                (None, None) => None,
            };
            if let Some((relative, scan)) = new_dir {
                let mut found = Vec::new();
                let walked = self.watch_below(inotify, relative.clone(), scan, &mut found);
                batch.events.extend(found.iter().map(|path| self.event(path, EventKind::Create, &mut names)));
                if let Err(err) = walked {
                    tracing::warn!(root = %self.root.display(), dir = %relative.display(), error = ?err,
                        "cannot watch a new directory; its changes will not be reported");
                }
            }
        }
        batch
    }

    fn event(&self, relative: &Path, kind: EventKind, names: &mut Names) -> FsEvent {
        let entry = if self.options.include_entry {
            let path = if relative.as_os_str().is_empty() { self.root.clone() } else { self.root.join(relative) };
            Entry::read(&path, names).ok()
        } else {
            None
        };
        FsEvent { name: relative_name(relative), kind, entry }
    }

    /// Watches `start` (unless it is the root, watched already) and every
    /// directory below it, without following symlinks. With
    /// `Scan::ReportContents`, everything found is pushed to `found`.
    fn watch_below(
        &mut self,
        inotify: &Inotify,
        start: PathBuf,
        scan: Scan,
        found: &mut Vec<PathBuf>,
    ) -> Result<(), WalkError> {
        let mut pending = vec![start];
        while let Some(relative) = pending.pop() {
            let path = self.root.join(&relative);
            if !relative.as_os_str().is_empty() {
                if self.dirs.len() >= MAX_WATCHES {
                    return Err(WalkError::TooManyWatches);
                }
                match inotify.add_watch(&path, Follow::NoSymlinks) {
                    Ok(wd) => {
                        self.dirs.insert(wd, relative.clone());
                    }
                    // The system-wide watch budget is exhausted.
                    Err(err) if err.kind() == io::ErrorKind::StorageFull => return Err(WalkError::Kernel(err)),
                    // Gone, replaced by a file or a symlink, or not readable
                    // by this user: nothing to watch there.
                    Err(_) => continue,
                }
            }
            let Ok(children) = std::fs::read_dir(&path) else {
                continue;
            };
            for child in children.flatten() {
                let child_relative = relative.join(child.file_name());
                if scan == Scan::ReportContents {
                    found.push(child_relative.clone());
                }
                if child.file_type().is_ok_and(|t| t.is_dir()) {
                    pending.push(child_relative);
                }
            }
        }
        Ok(())
    }

    /// Renames the watched directories at and below `from` to be under `to`.
    fn rename(&mut self, from: &Path, to: &Path) {
        for dir in self.dirs.values_mut() {
            if let Ok(rest) = dir.strip_prefix(from) {
                *dir = if rest.as_os_str().is_empty() { to.to_owned() } else { to.join(rest) };
            }
        }
    }

    /// Stops watching `relative` and everything below it.
    fn unwatch(&mut self, inotify: &Inotify, relative: &Path) {
        self.dirs.retain(|wd, dir| {
            if dir.starts_with(relative) {
                // Fails harmlessly if the kernel already dropped the watch.
                let _ = inotify.remove_watch(*wd);
                false
            } else {
                true
            }
        });
    }
}

#[derive(Debug)]
enum WalkError {
    TooManyWatches,
    Kernel(io::Error),
}

/// Whether a `statfs` magic number names a network (or FUSE) filesystem.
pub(crate) fn is_network_filesystem(magic: u64) -> bool {
    NETWORK_FILESYSTEMS.contains(&magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_filesystems_are_recognised() {
        for magic in NETWORK_FILESYSTEMS {
            assert!(is_network_filesystem(magic), "{magic:#x}");
        }
        const EXT4: u64 = 0xef53;
        const TMPFS: u64 = 0x0102_1994;
        const OVERLAYFS: u64 = 0x794c_7630;
        for magic in [EXT4, TMPFS, OVERLAYFS] {
            assert!(!is_network_filesystem(magic), "{magic:#x}");
        }
    }
}
