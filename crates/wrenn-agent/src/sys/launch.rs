//! The launcher's parent side: join the netns, clone the capsule init into
//! new namespaces, map its ids, place it in its cgroups, release it and wait
//! for its `execve`.
//!
//! Runs only in the single-threaded `wrenn-launch` process (see
//! `runtime::container::launch`), never in the agent: `clone` with
//! `CLONE_NEWUSER` and `setns` need a single-threaded caller.
//!
//! A socket pair and a pipe synchronise parent and child. The child blocks
//! on `go` until the parent has written its id maps and cgroups (before the
//! maps exist the child is `nobody` and cannot mount) and has made the
//! template's idmapped copy with the child's own user namespace (only the
//! host's root may idmap a host filesystem); the go message carries that
//! tree's fd (`SCM_RIGHTS`). `report` is close-on-exec: the child writes an
//! error message into it and exits if a step fails, so end-of-file without
//! data means the init has exec'ed.

mod child;
pub(crate) mod restore;
mod seccomp;

use std::fs::File;
use std::io::{IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::socket::{AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType};

use crate::runtime::container::launch::{CONSOLE_FILE, LaunchSpec, PID_FILE};
use crate::sys::{idmap, rootfs};
use crate::uid_range::UidRange;

/// Stack of the cloned child until it execs.
const CHILD_STACK_BYTES: usize = 1 << 20;

/// Why the calling thread could not move into a capsule's network namespace.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetnsError {
    #[error("could not open network namespace {path}")]
    OpenNetns {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not join network namespace {path}")]
    JoinNetns {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// Moves the calling thread into the network namespace at `path`. The
/// launcher and the restore mode are single-threaded processes; never call
/// this from the agent.
pub(crate) fn join_netns(path: &std::path::Path) -> Result<(), NetnsError> {
    let netns = File::open(path).map_err(|source| NetnsError::OpenNetns { path: path.to_owned(), source })?;
    nix::sched::setns(&netns, CloneFlags::CLONE_NEWNET)
        .map_err(|source| NetnsError::JoinNetns { path: path.to_owned(), source })
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error("could not create a pipe")]
    Pipe(#[source] nix::Error),
    #[error("could not open the capsule's user namespace")]
    UserNs(#[source] std::io::Error),
    #[error("could not map the template into the capsule's uid range")]
    Template(#[source] rootfs::RootfsError),
    #[error("could not clone the capsule init")]
    Clone(#[source] nix::Error),
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not release the capsule init")]
    Release(#[source] std::io::Error),
    #[error("capsule init failed before exec: {message}")]
    Child { message: String },
}

/// Starts the capsule init of `spec`; returns its host pid once it has
/// exec'ed.
pub(crate) fn launch(spec: &LaunchSpec) -> Result<u32, LaunchError> {
    if let Some(path) = &spec.netns_path {
        join_netns(path)?;
    }
    let (go_write, go_read) =
        nix::sys::socket::socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(LaunchError::Pipe)?;
    let (report_read, report_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(LaunchError::Pipe)?;
    let mut go_read = Some(go_read);
    let mut go_write = Some(go_write);
    let mut report_write = Some(File::from(report_write));
    // Opened here, in the host's mount namespace: a file the child opened
    // through its copy of the host's mounts would keep that copy (and with
    // it other capsules' disk mounts) alive for as long as the init runs.
    let console_path = spec.capsule_dir.join(CONSOLE_FILE);
    let console = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&console_path)
        .map_err(|source| LaunchError::Write { path: console_path.clone(), source })?;
    // Owned by the capsule's root like the rest of its dir (still 0600, and
    // unreachable by path from inside): a checkpoint restore reopens it as
    // that user.
    std::os::unix::fs::fchown(&console, Some(spec.uid_base), Some(spec.uid_base))
        .map_err(|source| LaunchError::Write { path: console_path, source })?;
    let mut console = Some(console);

    let flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC;
    let mut stack = vec![0u8; CHILD_STACK_BYTES];
    let callback = Box::new(|| {
        // The child's copy of the parent's end must go, so that a parent that
        // gives up before the go message means end-of-file for the child.
        drop(go_write.take());
        // The child owns copies of every fd; it only needs these three.
        let (Some(go), Some(report), Some(console)) = (go_read.take(), report_write.take(), console.take()) else {
            return 127;
        };
        child::run(spec, go, report, &console)
    });
    // SAFETY: this process is single-threaded (the launcher binary starts no
    // threads), so the child, which gets a copy of the address space (no
    // CLONE_VM), cannot inherit a lock held by another thread; it only runs
    // `child::run`, which ends in execve or _exit.
    let pid =
        unsafe { nix::sched::clone(callback, &mut stack, flags, Some(libc::SIGCHLD)) }.map_err(LaunchError::Clone)?;
    drop(go_read.take());
    drop(report_write.take());
    drop(console.take());
    let go_write = go_write.take().ok_or(LaunchError::Release(std::io::ErrorKind::BrokenPipe.into()))?;
    let mut report_read = File::from(report_read);

    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let map = idmap::id_map(UidRange { base: spec.uid_base });
    write_file(proc_dir.join("uid_map"), &map)?;
    // setgroups stays allowed (the default when a privileged process writes
    // the gid map): every gid a capsule can hold is its own range, so
    // dropping groups reveals nothing, and `sudo`, `su` and package
    // maintainer scripts call setgroups even as root. Setuid escalation of
    // non-root users is still off: no_new_privs is set with seccomp.
    write_file(proc_dir.join("gid_map"), &map)?;
    for procs in &spec.cgroup_procs {
        write_file(procs.clone(), &format!("{pid}\n"))?;
    }
    let userns = File::open(proc_dir.join("ns/user")).map_err(LaunchError::UserNs)?;
    let lower = rootfs::idmapped_template(&spec.template_rootfs, userns.as_fd()).map_err(LaunchError::Template)?;
    drop(userns);
    release(&go_write, &lower)?;
    drop(lower);
    drop(go_write);

    let mut message = String::new();
    // A read error leaves `message` empty, which is treated as success; the
    // agent notices a dead init through its cgroups.
    let _ = report_read.read_to_string(&mut message);
    if !message.is_empty() {
        // Reap the failed child so it does not linger as a zombie.
        let _ = nix::sys::wait::waitpid(pid, None);
        return Err(LaunchError::Child { message });
    }
    let pid = pid.as_raw() as u32;
    let pid_file = spec.capsule_dir.join(PID_FILE);
    let partial = spec.capsule_dir.join(format!("{PID_FILE}.tmp"));
    write_file(partial.clone(), &format!("{pid}\n"))?;
    std::fs::rename(&partial, &pid_file).map_err(|source| LaunchError::Write { path: pid_file, source })?;
    Ok(pid)
}

/// Sends the go byte with the idmapped template's fd attached.
fn release(go: &OwnedFd, lower: &OwnedFd) -> Result<(), LaunchError> {
    let fds = [lower.as_raw_fd()];
    let message = [IoSlice::new(b"g")];
    let control = [ControlMessage::ScmRights(&fds)];
    nix::sys::socket::sendmsg::<()>(go.as_raw_fd(), &message, &control, MsgFlags::empty(), None)
        .map_err(|e| LaunchError::Release(e.into()))?;
    Ok(())
}

fn write_file(path: PathBuf, content: &str) -> Result<(), LaunchError> {
    std::fs::write(&path, content).map_err(|source| LaunchError::Write { path, source })
}
