//! A minimal inotify instance for the filesystem watchers.
//!
//! One instance per watcher: closing it (dropping `Inotify`) removes every
//! watch it holds in one step, which is what makes watcher cleanup leak-free.
//! Watches are added by whichever thread calls `add_watch`, so the caller
//! decides whose permissions apply (see `sys::as_user`). Reading is async via
//! tokio's reactor; no thread is spent per watcher.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Enough for hundreds of events per read; the kernel needs at least one
/// header plus `NAME_MAX + 1`.
const READ_BUFFER: usize = 64 * 1024;
const HEADER: usize = std::mem::size_of::<libc::inotify_event>();

/// What the watchers ask the kernel to report.
const MASK: u32 = libc::IN_CREATE
    | libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_DELETE
    | libc::IN_DELETE_SELF
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_MOVE_SELF;

#[derive(Debug)]
pub(crate) struct Inotify {
    fd: AsyncFd<OwnedFd>,
}

/// A watch descriptor, unique within one instance.
pub(crate) type Wd = i32;

/// How a directory is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// The watched root: a symlink to a directory is followed.
    Symlinks,
    /// Directories found inside the tree: symlinks are not followed.
    NoSymlinks,
}

/// One event as the kernel reported it, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEvent {
    pub(crate) wd: Wd,
    pub(crate) flags: EventFlags,
    pub(crate) cookie: u32,
    /// The child the event is about; `None` for events on the watched
    /// directory itself.
    pub(crate) name: Option<OsString>,
}

/// The bits of an inotify mask that the watchers act on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EventFlags {
    pub(crate) create: bool,
    pub(crate) modify: bool,
    pub(crate) attrib: bool,
    pub(crate) delete: bool,
    pub(crate) delete_self: bool,
    pub(crate) moved_from: bool,
    pub(crate) moved_to: bool,
    pub(crate) move_self: bool,
    pub(crate) is_dir: bool,
    /// The kernel queue overflowed and events were lost.
    pub(crate) overflow: bool,
    /// The watch is gone (removed, or its directory was deleted).
    pub(crate) ignored: bool,
}

impl Inotify {
    /// A new non-blocking instance registered with the current runtime.
    pub(crate) fn new() -> io::Result<Inotify> {
        // SAFETY: inotify_init1 takes only flags.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: `fd` is an OwnedFd that the AsyncFd takes over; it stays
        // open and refers to the same description until the AsyncFd drops.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from)?;
        Ok(Inotify { fd })
    }

    /// Watches directory `path` with the calling thread's credentials.
    pub(crate) fn add_watch(&self, path: &Path, follow: Follow) -> io::Result<Wd> {
        let path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        let mut mask = MASK | libc::IN_ONLYDIR;
        if follow == Follow::NoSymlinks {
            mask |= libc::IN_DONT_FOLLOW;
        }
        // SAFETY: the fd is open for the lifetime of `self`; `path` is NUL-terminated.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), path.as_ptr(), mask) };
        if wd < 0 { Err(io::Error::last_os_error()) } else { Ok(wd) }
    }

    /// Stops a watch. The kernel then reports it as `ignored`.
    pub(crate) fn remove_watch(&self, wd: Wd) -> io::Result<()> {
        // SAFETY: the fd is open for the lifetime of `self`.
        let rc = unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
        if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Waits for events and returns every event queued right now.
    /// Cancel-safe: nothing is consumed until the read succeeds.
    pub(crate) async fn read_events(&self) -> io::Result<Vec<RawEvent>> {
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let mut guard = self.fd.readable().await?;
            let read = guard.try_io(|fd| {
                // SAFETY: the buffer holds `buf.len()` bytes and outlives the call.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
            });
            match read {
                Ok(Ok(n)) => return Ok(parse(&buf[..n])),
                Ok(Err(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Decodes a buffer of `struct inotify_event` records.
fn parse(mut buf: &[u8]) -> Vec<RawEvent> {
    let mut events = Vec::new();
    while buf.len() >= HEADER {
        let word = |at: usize| [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        let wd = i32::from_ne_bytes(word(0));
        let mask = u32::from_ne_bytes(word(4));
        let cookie = u32::from_ne_bytes(word(8));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let Some(name_bytes) = buf.get(HEADER..HEADER + len) else {
            break;
        };
        // The name is NUL-padded to an alignment boundary.
        let name_len = name_bytes.iter().position(|b| *b == 0).unwrap_or(name_bytes.len());
        let name = (name_len > 0).then(|| OsString::from_vec(name_bytes[..name_len].to_vec()));
        events.push(RawEvent { wd, flags: flags(mask), cookie, name });
        buf = &buf[HEADER + len..];
    }
    events
}

fn flags(mask: u32) -> EventFlags {
    let has = |bit: u32| mask & bit != 0;
    EventFlags {
        create: has(libc::IN_CREATE),
        modify: has(libc::IN_MODIFY),
        attrib: has(libc::IN_ATTRIB),
        delete: has(libc::IN_DELETE),
        delete_self: has(libc::IN_DELETE_SELF),
        moved_from: has(libc::IN_MOVED_FROM),
        moved_to: has(libc::IN_MOVED_TO),
        move_self: has(libc::IN_MOVE_SELF),
        is_dir: has(libc::IN_ISDIR),
        overflow: has(libc::IN_Q_OVERFLOW),
        ignored: has(libc::IN_IGNORED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(wd: i32, mask: u32, cookie: u32, name: &[u8], padded: usize) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(wd.to_ne_bytes());
        out.extend(mask.to_ne_bytes());
        out.extend(cookie.to_ne_bytes());
        out.extend((padded as u32).to_ne_bytes());
        let mut name = name.to_vec();
        name.resize(padded, 0);
        out.extend(name);
        out
    }

    #[test]
    fn decodes_records_with_and_without_names() {
        let mut buf = record(1, libc::IN_CREATE | libc::IN_ISDIR, 0, b"sub", 16);
        buf.extend(record(2, libc::IN_DELETE_SELF, 0, b"", 0));
        buf.extend(record(1, libc::IN_MOVED_FROM, 7, b"old.txt", 16));
        let events = parse(&buf);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].name.as_deref(), Some(std::ffi::OsStr::new("sub")));
        assert!(events[0].flags.create && events[0].flags.is_dir);
        assert_eq!((events[1].wd, events[1].name.clone()), (2, None));
        assert!(events[1].flags.delete_self);
        assert_eq!(events[2].cookie, 7);
        assert!(events[2].flags.moved_from);
    }

    #[test]
    fn a_truncated_record_is_ignored() {
        let buf = record(1, libc::IN_CREATE, 0, b"name", 16);
        assert!(parse(&buf[..buf.len() - 1]).is_empty());
        assert!(parse(&buf[..3]).is_empty());
    }

    #[tokio::test]
    async fn reports_a_created_file() {
        let dir = tempfile::tempdir().unwrap();
        let inotify = Inotify::new().unwrap();
        let wd = inotify.add_watch(dir.path(), Follow::Symlinks).unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let events = inotify.read_events().await.unwrap();
        let created = events.iter().find(|e| e.flags.create).expect("a create event");
        assert_eq!((created.wd, created.name.as_deref()), (wd, Some(std::ffi::OsStr::new("f"))));
        assert!(inotify.add_watch(&dir.path().join("f"), Follow::NoSymlinks).is_err(), "only directories");
    }
}
