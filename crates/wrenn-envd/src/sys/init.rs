//! The init half of envd: reaps zombies and forwards signals (see `crate::init`).

use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

const FORWARDED: [Signal; 5] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT, Signal::SIGUSR1];

pub(crate) fn split_off_server() {
    // Block the forwarded signals and SIGCHLD before forking so that none
    // is lost between fork and sigwait; the child unblocks them again.
    let mut blocked = SigSet::empty();
    for signal in FORWARDED {
        blocked.add(signal);
    }
    blocked.add(Signal::SIGCHLD);
    let previous =
        blocked.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK).unwrap_or_else(|_| SigSet::empty());

    // SAFETY: called from `main` before any other thread exists, so the
    // child may run arbitrary code after fork.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let _ = previous.thread_set_mask();
        }
        Ok(ForkResult::Parent { child }) => supervise(child, &blocked),
        // Without a fork envd still works, only without reaping orphans.
        Err(_) => {
            let _ = previous.thread_set_mask();
        }
    }
}

fn supervise(server: Pid, waited: &SigSet) -> ! {
    loop {
        let signal = waited.wait().unwrap_or(Signal::SIGCHLD);
        if signal != Signal::SIGCHLD {
            let _ = kill(server, signal);
            continue;
        }
        // Reap every child that is ready: orphans and the server alike.
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == server => std::process::exit(code),
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == server => std::process::exit(128 + signal as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}
