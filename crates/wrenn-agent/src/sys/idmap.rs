//! Idmapped mounts: a template stored with the ids capsules see (0-based)
//! appears to one capsule as owned by its own host uid range.
//!
//! The new mount API, as raw syscalls (libc has the numbers, nix has no
//! wrappers yet): `open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)` makes a
//! detached copy of the template's mount, `mount_setattr(MOUNT_ATTR_IDMAP)`
//! gives it the id mapping of a user namespace (on-disk id `n` is host id
//! `base + n`), and `move_mount` attaches it wherever the capsule's mount
//! namespace needs it. Overlayfs takes idmapped lower layers since Linux 5.19,
//! also when the overlay itself is mounted inside the capsule's user
//! namespace (checked on 6.18; the capsule tests cover it).
//!
//! Who may do what: idmapping a mount of a host filesystem needs
//! `CAP_SYS_ADMIN` in the initial user namespace (the filesystem's owner), so
//! the launcher's parent makes the tree; attaching it needs only
//! `CAP_SYS_ADMIN` over the target mount namespace, so the capsule child does.
//!
//! Nothing here runs in the agent: [`userns_for`] clones, so its caller must
//! be single-threaded (`wrenn-launch`).

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;

use crate::uid_range::{IDS_PER_CAPSULE, UidRange};

/// Stack of the short-lived child behind [`userns_for`]; it only blocks on a read.
const HOLDER_STACK_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum IdmapError {
    #[error("path {path} contains a NUL byte")]
    Path { path: PathBuf },
    #[error("could not clone the mount tree at {path}")]
    OpenTree {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not idmap the mount tree of {path}")]
    SetAttr {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not attach a mount tree at {path}")]
    MoveMount {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not make a user namespace for uid base {base}")]
    UserNs {
        base: u32,
        #[source]
        source: std::io::Error,
    },
}

/// A detached, recursive, read-only and nodev copy of the mount tree at
/// `source`, idmapped with the mapping of user namespace `userns`. Needs
/// `CAP_SYS_ADMIN` in the initial user namespace; the tree vanishes when the
/// returned fd is closed unless it was attached with [`attach`].
pub(crate) fn idmapped_tree(source: &Path, userns: BorrowedFd<'_>) -> Result<OwnedFd, IdmapError> {
    let path = c_path(source)?;
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call;
    // open_tree only reads it.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd < 0 {
        let source_err = std::io::Error::last_os_error();
        return Err(IdmapError::OpenTree { path: source.to_owned(), source: source_err });
    }
    // SAFETY: open_tree returned a new fd that nothing else owns.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_IDMAP | libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let empty = c"";
    // SAFETY: `tree` is an open fd, `empty` a valid string and `attr` a
    // properly sized `mount_attr`; the kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if rc != 0 {
        let source_err = std::io::Error::last_os_error();
        return Err(IdmapError::SetAttr { path: source.to_owned(), source: source_err });
    }
    Ok(tree)
}

/// Attaches the detached tree `tree` at `target` in the caller's mount
/// namespace (which the caller must administer).
pub(crate) fn attach(tree: OwnedFd, target: &Path) -> Result<(), IdmapError> {
    let path = c_path(target)?;
    let empty = c"";
    // SAFETY: both strings are valid and NUL-terminated, `tree` is open; the
    // kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    let result = if rc == 0 {
        Ok(())
    } else {
        Err(IdmapError::MoveMount { path: target.to_owned(), source: std::io::Error::last_os_error() })
    };
    // Attached, the tree lives on in the mount namespace; the fd is done.
    drop(tree);
    result
}

/// The id map line for `/proc/<pid>/{uid,gid}_map` of a capsule in `range`.
pub(crate) fn id_map(range: UidRange) -> String {
    format!("0 {} {IDS_PER_CAPSULE}\n", range.base)
}

/// A user namespace mapping `0..65536` to `range`, for callers that have no
/// capsule process to take it from (restoring a checkpoint). A short-lived
/// child is cloned into a new user namespace, its maps are written, its
/// namespace is opened and the child is released and reaped. The caller
/// must be single-threaded.
pub(crate) fn userns_for(range: UidRange) -> Result<OwnedFd, IdmapError> {
    let fail = |source: std::io::Error| IdmapError::UserNs { base: range.base, source };
    let (hold_read, hold_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| fail(e.into()))?;
    let mut hold_read = Some(File::from(hold_read));
    let mut hold_write = Some(File::from(hold_write));
    let mut stack = vec![0u8; HOLDER_STACK_BYTES];
    let callback = Box::new(|| {
        // The child's copy of the write end must go, or the read below never
        // sees end-of-file.
        drop(hold_write.take());
        let mut byte = [0u8; 1];
        // Returns at end-of-file, once the parent has opened the namespace.
        if let Some(mut hold) = hold_read.take() {
            let _ = hold.read(&mut byte);
        }
        0
    });
    // SAFETY: the caller is single-threaded (documented above), so the child
    // (a copy of the address space, no CLONE_VM) cannot inherit a held lock;
    // it only reads from a pipe and returns, which ends in _exit.
    let pid = unsafe { nix::sched::clone(callback, &mut stack, CloneFlags::CLONE_NEWUSER, Some(libc::SIGCHLD)) }
        .map_err(|e| fail(e.into()))?;
    drop(hold_read.take());
    let result = (|| {
        let map = id_map(range);
        std::fs::write(format!("/proc/{pid}/uid_map"), &map)?;
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
        std::fs::write(format!("/proc/{pid}/gid_map"), &map)?;
        let ns = File::open(format!("/proc/{pid}/ns/user"))?;
        Ok(OwnedFd::from(ns))
    })();
    // End-of-file releases the child.
    drop(hold_write.take());
    let _ = nix::sys::wait::waitpid(pid, None);
    result.map_err(fail)
}

fn c_path(path: &Path) -> Result<CString, IdmapError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| IdmapError::Path { path: path.to_owned() })
}
