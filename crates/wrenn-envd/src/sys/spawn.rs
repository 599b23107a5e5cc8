//! Starting a process as a given user, with pipes or a pty.
//!
//! Everything that runs between fork and exec is in `pre_exec` closures and
//! restricted to async-signal-safe system calls: no allocation, no locks.

use std::ffi::CString;
use std::io;
use std::process::Stdio;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

use crate::process::ProcessSpec;
use crate::sys::pty::PtyMaster;

/// A freshly started process and the host ends of its stdio.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) stdout: Option<ChildStdout>,
    pub(crate) stderr: Option<ChildStderr>,
    pub(crate) pty: Option<PtyMaster>,
}

pub(crate) fn spawn(spec: &ProcessSpec) -> io::Result<Spawned> {
    #[expect(clippy::disallowed_methods, reason = "sys::spawn is where envd starts processes")]
    let mut command = tokio::process::Command::new(&spec.cmd);
    command.args(&spec.args).env_clear().envs(&spec.env).current_dir(&spec.cwd).kill_on_drop(false);

    let mut pty = None;
    let use_ctty = match spec.pty {
        Some(size) => {
            let (master, slave) = PtyMaster::open(size)?;
            command.stdin(Stdio::from(slave.try_clone()?));
            command.stdout(Stdio::from(slave.try_clone()?));
            command.stderr(Stdio::from(slave));
            pty = Some(master);
            true
        }
        None => {
            command.stdin(if spec.stdin { Stdio::piped() } else { Stdio::null() });
            command.stdout(Stdio::piped());
            command.stderr(Stdio::piped());
            false
        }
    };

    let switch =
        spec.identity.needs_switch().then(|| (spec.identity.uid, spec.identity.gid, spec.identity.groups.clone()));
    // Prepared before fork: the child may not allocate.
    let oom_path = CString::new("/proc/self/oom_score_adj").expect("literal has no NUL");
    // SAFETY: the closure only makes async-signal-safe system calls on data
    // prepared before fork (no allocation, no locks).
    unsafe {
        command.pre_exec(move || {
            // Each process leads its own session and process group, so a
            // signal can reach everything it started.
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if use_ctty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            // Under memory pressure the kernel should pick user processes
            // before envd itself. Best effort: an unprivileged envd may not.
            let fd = libc::open(oom_path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"100".as_ptr().cast(), 3);
                libc::close(fd);
            }
            if let Some((uid, gid, groups)) = &switch {
                if libc::setgroups(groups.len(), groups.as_ptr()) < 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setgid(*gid) < 0 || libc::setuid(*uid) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    // The parent's copies of the pty slave were moved into `command`; drop
    // it so that reading the master reports the end once the child is gone.
    drop(command);
    Ok(Spawned { stdin: child.stdin.take(), stdout: child.stdout.take(), stderr: child.stderr.take(), child, pty })
}

pub(crate) const SIGKILL: i32 = libc::SIGKILL;
pub(crate) const SIGTERM: i32 = libc::SIGTERM;

/// Sends `signal` to the process group led by `pid`, or to `pid` alone if
/// the group is gone (the leader may have moved its children elsewhere).
pub(crate) fn signal_process(pid: u32, signal: i32) -> io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(-pid, signal) } == 0 {
        return Ok(());
    }
    // SAFETY: as above.
    if unsafe { libc::kill(pid, signal) } == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}
