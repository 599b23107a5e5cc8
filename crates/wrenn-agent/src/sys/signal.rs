//! Signals to host processes (the capsule's, found through its cgroups).

/// Sends SIGKILL to `pid`; a process that is already gone is not an error.
pub(crate) fn kill(pid: u32) -> Result<(), nix::Error> {
    let Ok(raw) = i32::try_from(pid) else { return Ok(()) };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), nix::sys::signal::Signal::SIGKILL) {
        Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
        Err(err) => Err(err),
    }
}
