//! Our own terminal, for the commands that change it: its modes, switched
//! for a while and always put back ([`TerminalMode`]: echo off for the
//! login prompt, raw for `wrenn capsule shell`), and the signals those
//! commands wait for ([`next_signal`]).
//!
//! The modes are put back when the guard is dropped, and also when the
//! process panics while a guard is active: release builds abort on panic,
//! so no `Drop` runs then, and a panic hook restores them before the
//! message is printed.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, Once, PoisonError, TryLockError};

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};
use tokio::signal::unix::Signal;

use crate::cli::CliError;

/// The terminal and modes to put back if the process panics while a
/// guard is active.
/// The exit code after Ctrl-C (128 + SIGINT), as a shell reports a
/// command that SIGINT ended.
pub(crate) const INTERRUPTED: u8 = 130;

static SAVED: Mutex<Option<(OwnedFd, Termios)>> = Mutex::new(None);
static PANIC_HOOK: Once = Once::new();

/// Our terminal (stdin) in other modes until dropped; then it gets back
/// the modes it had.
#[derive(Debug)]
pub(crate) struct TerminalMode {
    terminal: OwnedFd,
    original: Termios,
}

impl TerminalMode {
    /// Echo off, lines still edited by the terminal: for typing a secret.
    pub(crate) fn without_echo() -> Result<TerminalMode, CliError> {
        TerminalMode::enter(stdin()?, "turn off echo", |modes| modes.local_flags.remove(LocalFlags::ECHO))
    }

    /// Raw mode: every key (Ctrl-C as `0x03`, arrows) reaches us as typed,
    /// and nothing is echoed or edited.
    pub(crate) fn raw() -> Result<TerminalMode, CliError> {
        TerminalMode::enter(stdin()?, "switch the terminal to raw mode", termios::cfmakeraw)
    }

    fn enter(terminal: OwnedFd, what: &str, change: impl FnOnce(&mut Termios)) -> Result<TerminalMode, CliError> {
        let original = termios::tcgetattr(&terminal)
            .map_err(|errno| CliError::new(format!("cannot read the terminal's modes: {errno}")))?;
        let mut changed = original.clone();
        change(&mut changed);
        install_panic_hook();
        // Saved before the switch, so a panic at any point after it restores.
        let copy = terminal.try_clone().map_err(|err| CliError::new(format!("cannot {what}: {err}")))?;
        *SAVED.lock().unwrap_or_else(PoisonError::into_inner) = Some((copy, original.clone()));
        if let Err(errno) = termios::tcsetattr(&terminal, SetArg::TCSANOW, &changed) {
            SAVED.lock().unwrap_or_else(PoisonError::into_inner).take();
            return Err(CliError::new(format!("cannot {what}: {errno}")));
        }
        Ok(TerminalMode { terminal, original })
    }
}

impl Drop for TerminalMode {
    fn drop(&mut self) {
        SAVED.lock().unwrap_or_else(PoisonError::into_inner).take();
        // Let what we wrote reach the screen first. Nothing more can be
        // done if this fails: the terminal is going away.
        let _ = termios::tcsetattr(&self.terminal, SetArg::TCSADRAIN, &self.original);
    }
}

/// A duplicate of stdin's descriptor, which the guard keeps.
fn stdin() -> Result<OwnedFd, CliError> {
    std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|err| CliError::new(format!("cannot use the terminal: {err}")))
}

/// Wraps the panic hook (once) so that a panic first puts the terminal
/// back: the message then reads normally, and the shell the user returns
/// to works.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_saved();
            previous(info);
        }));
    });
}

/// Puts back the modes a live guard saved, if any.
fn restore_saved() {
    let saved = match SAVED.try_lock() {
        Ok(saved) => saved,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        // A panic while the lock is held (a guard switching): waiting
        // would deadlock.
        Err(TryLockError::WouldBlock) => return,
    };
    if let Some((terminal, original)) = saved.as_ref() {
        // At once: output may be stuck (the panic may be why).
        let _ = termios::tcsetattr(terminal, SetArg::TCSANOW, original);
    }
}

/// The next delivery of a signal; never, without a listener (one that
/// could not be installed, or whose stream ended).
pub(crate) async fn next_signal(signal: &mut Option<Signal>) {
    match signal {
        Some(listener) => {
            if listener.recv().await.is_none() {
                *signal = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes(fd: &OwnedFd) -> LocalFlags {
        termios::tcgetattr(fd).unwrap().local_flags
    }

    /// One test: the saved modes are process-wide.
    #[test]
    fn modes_come_back_on_drop_and_on_panic() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let terminal = pty.slave;
        let before = modes(&terminal);
        assert!(before.contains(LocalFlags::ECHO | LocalFlags::ICANON), "{before:?}");

        let quiet = TerminalMode::enter(terminal.try_clone().unwrap(), "turn off echo", |modes| {
            modes.local_flags.remove(LocalFlags::ECHO);
        })
        .unwrap();
        let now = modes(&terminal);
        assert!(!now.contains(LocalFlags::ECHO) && now.contains(LocalFlags::ICANON), "{now:?}");
        drop(quiet);
        assert_eq!(modes(&terminal), before);
        assert!(SAVED.lock().unwrap().is_none(), "a dropped guard leaves nothing to restore");

        let raw = TerminalMode::enter(terminal.try_clone().unwrap(), "go raw", termios::cfmakeraw).unwrap();
        assert!(!modes(&terminal).contains(LocalFlags::ICANON));
        // What the panic hook does (a real panic would end the test).
        restore_saved();
        assert_eq!(modes(&terminal), before);
        drop(raw);
        assert_eq!(modes(&terminal), before);
        restore_saved();
    }

    #[test]
    fn a_descriptor_that_is_not_a_terminal_is_refused() {
        let file = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let err = TerminalMode::enter(file, "go raw", termios::cfmakeraw).unwrap_err();
        assert!(err.message().contains("cannot read the terminal's modes"), "{}", err.message());
    }
}
