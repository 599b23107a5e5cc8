//! Running blocking filesystem work with another user's file permissions.
//!
//! envd runs as root, yet a file request must succeed or fail exactly as it
//! would for the user it names. Linux checks file access against a thread's
//! *filesystem* uid and gid plus its supplementary groups, and all three are
//! per-thread credentials at the system-call level. So `run_as` runs the work
//! on a tokio blocking thread that switches those three for the duration of
//! the closure and switches back before the thread is returned to the pool:
//! no fork, no helper process, and the kernel itself enforces permissions
//! (including on every path component and on `..` through symlinks). Files and
//! directories the work creates are owned by the user for the same reason, so
//! no chown is needed afterwards.
//!
//! Two details matter for correctness:
//! - `setgroups` goes through the raw system call. The C library's wrapper
//!   applies the change to *every* thread of the process (POSIX semantics),
//!   which would leak the user's groups into envd's other threads.
//! - Changing the fsuid away from 0 drops the filesystem capabilities
//!   (`CAP_DAC_OVERRIDE`, `CAP_CHOWN`, ...) from the thread's effective set;
//!   switching back to 0 restores them from the permitted set
//!   (`capabilities(7)`).
//!
//! The closure must stay synchronous: it must not hand work to other threads
//! and expect the credentials to follow.

use std::io;

use crate::sys::users::effective_uid;
use crate::users::Identity;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AsUserError {
    #[error("cannot switch the filesystem credentials to uid {uid} gid {gid}")]
    Switch {
        uid: u32,
        gid: u32,
        #[source]
        source: io::Error,
    },
    #[error("the filesystem worker panicked or was cancelled")]
    WorkerFailed,
}

/// Runs `work` on a blocking thread with `identity`'s file permissions.
///
/// When envd is not root it can only act as itself (see `users.rs`), so the
/// work runs unchanged, still off the async workers.
pub(crate) async fn run_as<T, F>(identity: &Identity, work: F) -> Result<T, AsUserError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let target = (effective_uid() == 0 && identity.needs_switch()).then(|| FsCredentials {
        uid: identity.uid,
        gid: identity.gid,
        groups: identity.groups.clone(),
    });
    tokio::task::spawn_blocking(move || {
        let _switched = match &target {
            Some(target) => Some(SwitchedCredentials::enter(target)?),
            None => None,
        };
        Ok(work())
    })
    .await
    .map_err(|_| AsUserError::WorkerFailed)?
}

#[derive(Debug)]
struct FsCredentials {
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
}

/// The calling thread's credentials before a switch; restored on drop, also
/// when the work panics.
#[derive(Debug)]
struct SwitchedCredentials {
    saved: FsCredentials,
}

impl SwitchedCredentials {
    fn enter(target: &FsCredentials) -> Result<SwitchedCredentials, AsUserError> {
        let switch_error = |source| AsUserError::Switch { uid: target.uid, gid: target.gid, source };
        let saved = FsCredentials { uid: current_fsuid(), gid: current_fsgid(), groups: thread_groups() };
        // From here on, dropping the guard undoes whatever was applied.
        let switched = SwitchedCredentials { saved };
        set_thread_groups(&target.groups).map_err(switch_error)?;
        set_fsgid(target.gid).map_err(switch_error)?;
        set_fsuid(target.uid).map_err(switch_error)?;
        Ok(switched)
    }
}

impl Drop for SwitchedCredentials {
    fn drop(&mut self) {
        // The uid first: going back to fsuid 0 restores the capabilities
        // needed to change the gid and the groups back.
        let restored = set_fsuid(self.saved.uid)
            .and_then(|()| set_fsgid(self.saved.gid))
            .and_then(|()| set_thread_groups(&self.saved.groups));
        if let Err(err) = restored {
            // A pool thread left with a user's credentials would silently run
            // later work with the wrong permissions. This cannot happen for a
            // root envd restoring its own ids, so treat it as fatal.
            tracing::error!(error = %err, "cannot restore envd's filesystem credentials; aborting");
            std::process::abort();
        }
    }
}

fn current_fsuid() -> u32 {
    // SAFETY: setfsuid has no memory effects. An invalid id (-1) changes
    // nothing and returns the current fsuid.
    unsafe { libc::setfsuid(u32::MAX) as u32 }
}

fn current_fsgid() -> u32 {
    // SAFETY: as in `current_fsuid`.
    unsafe { libc::setfsgid(u32::MAX) as u32 }
}

/// setfsuid reports no errors, only the previous value, so the result is
/// checked by reading the value back.
fn set_fsuid(uid: u32) -> io::Result<()> {
    // SAFETY: setfsuid has no memory effects and affects only this thread.
    unsafe { libc::setfsuid(uid) };
    if current_fsuid() == uid { Ok(()) } else { Err(io::Error::from_raw_os_error(libc::EPERM)) }
}

fn set_fsgid(gid: u32) -> io::Result<()> {
    // SAFETY: setfsgid has no memory effects and affects only this thread.
    unsafe { libc::setfsgid(gid) };
    if current_fsgid() == gid { Ok(()) } else { Err(io::Error::from_raw_os_error(libc::EPERM)) }
}

fn thread_groups() -> Vec<u32> {
    // SAFETY: a zero size with a null list only returns the count.
    let n = unsafe { libc::syscall(libc::SYS_getgroups, 0, std::ptr::null_mut::<libc::gid_t>()) };
    let Ok(n) = usize::try_from(n) else {
        return Vec::new();
    };
    let mut groups = vec![0 as libc::gid_t; n];
    // SAFETY: `groups` has room for `n` gids; the kernel writes at most that many.
    let got = unsafe { libc::syscall(libc::SYS_getgroups, n as libc::c_int, groups.as_mut_ptr()) };
    groups.truncate(usize::try_from(got).unwrap_or(0));
    groups
}

/// The raw system call changes only the calling thread (see the module doc).
fn set_thread_groups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live slice of gid_t (u32).
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn nobody() -> Option<Identity> {
        crate::sys::users::lookup("nobody")
    }

    #[tokio::test]
    #[allow(clippy::print_stderr, reason = "a skipped test says why")]
    async fn work_runs_with_the_users_file_credentials_and_the_thread_is_restored() {
        let Some(nobody) = nobody().filter(|_| effective_uid() == 0) else {
            eprintln!("skipped (needs root and a `nobody` user)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let secret = dir.path().join("secret");
        std::fs::create_dir(&secret).unwrap();
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();

        let created = dir.path().join("by-nobody");
        let (ids, denied) = run_as(&nobody, {
            let created = created.clone();
            let secret = secret.clone();
            move || {
                std::fs::write(&created, b"x").unwrap();
                ((current_fsuid(), current_fsgid()), std::fs::read_dir(&secret).unwrap_err().kind())
            }
        })
        .await
        .unwrap();
        assert_eq!(ids, (nobody.uid, nobody.gid));
        assert_eq!(denied, io::ErrorKind::PermissionDenied);
        let meta = std::fs::metadata(&created).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (nobody.uid, nobody.gid));

        // Every blocking thread is back to root afterwards: run many small
        // jobs so the pool's threads are reused.
        let root = Identity::current();
        for _ in 0..16 {
            let (uid, groups) = run_as(&root, || (current_fsuid(), thread_groups())).await.unwrap();
            assert_eq!(uid, 0);
            assert!(!groups.contains(&nobody.gid) || nobody.gid == 0, "{groups:?}");
        }
        assert_eq!(current_fsuid(), 0);
    }

    #[tokio::test]
    async fn without_a_switch_the_work_still_runs() {
        let me = Identity::current();
        assert_eq!(run_as(&me, || 41 + 1).await.unwrap(), 42);
    }
}
