//! `wrenn capsule shell`: an interactive terminal in a capsule (the `pty`
//! WebSocket), as `ssh` or `docker exec -it` would give.
//!
//! On a terminal, ours goes into raw mode for the session, so every key
//! (Ctrl-C as `0x03`, Ctrl-D, arrows) reaches the remote shell as typed and
//! the remote terminal does all echoing and line editing. A guard restores
//! our terminal on every way out: the shell's exit, an error, a panic (a
//! panic hook does it, as release builds abort), or SIGTERM/SIGHUP/SIGINT
//! (which also kill the remote shell: it belongs to this terminal). The remote size follows ours (TIOCGWINSZ at the start,
//! again on every SIGWINCH). The shell's exit code becomes ours.
//!
//! Without a terminal on stdin (`wrenn capsule shell ID < script`) nothing
//! is switched: input is sent as it is read and end of input is sent as
//! Ctrl-D, so the shell exits once it has run the script.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::ExitCode;

use clap::Args;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use wrenn_client::{PtyEvent, PtyInput, PtyRequest, PtySession};

use crate::cli::CliError;
use crate::cli::capsule::parse_key_value;
use crate::cli::context::Context;
use crate::cli::exec::exit_status;
use crate::cli::terminal::{INTERRUPTED, TerminalMode, next_signal};

/// Without `--cmd`: bash if the template has it (not every one does),
/// else the POSIX shell, either as a login shell like `ssh` starts.
const DEFAULT_SHELL: &str = "if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l";
/// The size when ours cannot be read (not a terminal).
const DEFAULT_SIZE: (u16, u16) = (80, 24);
/// `TERM` for the remote shell when ours is not set.
const DEFAULT_TERM: &str = "xterm-256color";
/// End of input for a terminal in canonical mode (Ctrl-D).
const END_OF_INPUT: &[u8] = b"\x04";
/// Bytes read from stdin at a time.
const STDIN_CHUNK: usize = 8192;

/// `wrenn capsule shell`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wrenn capsule shell cl-…\n  wrenn capsule shell cl-… --cmd /usr/bin/python3\n  wrenn capsule shell cl-… --cwd /src --env DEBUG=1\n  printf 'uname -a\\nexit\\n' | wrenn capsule shell cl-…"
)]
pub(crate) struct ShellArgs {
    /// The capsule's id (`cl-…`).
    id: String,
    /// The program to run [default: /bin/bash -l if the capsule has it, else /bin/sh -l].
    #[arg(long, value_name = "PROGRAM")]
    cmd: Option<String>,
    /// Arguments for --cmd (after `--`).
    #[arg(last = true, value_name = "ARGS", requires = "cmd")]
    args: Vec<String>,
    /// The working directory (absolute, or `~/…`) [default: the user's home].
    #[arg(long, value_name = "DIR")]
    cwd: Option<String>,
    /// An environment variable, `KEY=VALUE` (repeatable; `TERM` defaults to ours).
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    envs: Vec<(String, String)>,
}

pub(crate) async fn run(args: ShellArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let interactive = std::io::stdin().is_terminal();
    let (cols, rows) = window_size().unwrap_or(DEFAULT_SIZE);
    let (id, request) = pty_request(args, local_term(), cols, rows);
    // Open first: a refusal (no such capsule…) is reported on a normal terminal.
    let session = ctx.client.pty(&id).start(&request).await?;
    let _restore = match interactive.then(TerminalMode::raw).transpose() {
        Ok(restore) => restore,
        Err(err) => {
            // A shell no one can type into would only linger.
            drop(session.input().kill().await);
            session.close().await;
            return Err(err);
        }
    };
    Terminal { session, interactive }.run().await
}

/// The capsule id and the terminal to open.
fn pty_request(args: ShellArgs, term: Option<String>, cols: u16, rows: u16) -> (String, PtyRequest) {
    let mut request = PtyRequest::new().size(cols, rows);
    match args.cmd {
        Some(cmd) => request = request.cmd(cmd).args(args.args),
        None => request = request.cmd("/bin/sh").args(["-c", DEFAULT_SHELL]),
    }
    request.envs.insert("TERM".to_owned(), term.unwrap_or_else(|| DEFAULT_TERM.to_owned()));
    request.envs.extend(args.envs);
    request.cwd = args.cwd;
    (args.id, request)
}

/// Our `TERM`, so the remote programs speak our terminal's language.
fn local_term() -> Option<String> {
    std::env::var_os("TERM").and_then(|term| term.into_string().ok()).filter(|term| !term.is_empty())
}

nix::ioctl_read_bad!(read_window_size, nix::libc::TIOCGWINSZ, nix::libc::winsize);

/// Our terminal's size (columns, rows): stdout's, else stdin's.
fn window_size() -> Option<(u16, u16)> {
    [std::io::stdout().as_raw_fd(), std::io::stdin().as_raw_fd()].into_iter().find_map(size_of)
}

fn size_of(fd: RawFd) -> Option<(u16, u16)> {
    let mut size = nix::libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into `size`, which lives for
    // the call; on a descriptor that is not a terminal it fails harmlessly.
    let read = unsafe { read_window_size(fd, &mut size) };
    (read.is_ok() && size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
}

/// Reads stdin on a plain thread: a blocked read cannot be cancelled, and
/// a thread (unlike tokio's blocking pool) does not hold up the exit.
/// The channel closes at end of input.
fn read_stdin() -> mpsc::Receiver<Vec<u8>> {
    let (sender, received) = mpsc::channel(16);
    let reader = move || {
        let mut stdin = std::io::stdin();
        let mut buffer = vec![0u8; STDIN_CHUNK];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) => return,
                Ok(read) => {
                    if sender.blocking_send(buffer[..read].to_vec()).is_err() {
                        return;
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    };
    // Without the thread there is no input; the session still shows output.
    let _ = std::thread::Builder::new().name("stdin".to_owned()).spawn(reader);
    received
}

/// The signals a session handles; a listener that cannot be installed is
/// left out.
struct Signals {
    resize: Option<Signal>,
    hangup: Option<Signal>,
    terminate: Option<Signal>,
    interrupt: Option<Signal>,
}

impl Signals {
    fn install() -> Signals {
        Signals {
            resize: signal(SignalKind::window_change()).ok(),
            hangup: signal(SignalKind::hangup()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }
}

/// One turn of the session.
enum Step {
    Event(Option<Result<PtyEvent, wrenn_client::Error>>),
    Input(Option<Vec<u8>>),
    Resized,
    /// A signal that ends the session: 128 + its number.
    Ended(u8),
}

struct Terminal {
    session: PtySession,
    interactive: bool,
}

impl Terminal {
    async fn run(mut self) -> Result<ExitCode, CliError> {
        let input = self.session.input();
        let mut typed = read_stdin();
        let mut typing = true;
        let mut signals = Signals::install();
        loop {
            let step = tokio::select! {
                event = self.session.next_event() => Step::Event(event),
                bytes = typed.recv(), if typing => Step::Input(bytes),
                () = next_signal(&mut signals.resize) => Step::Resized,
                () = next_signal(&mut signals.hangup) => Step::Ended(129),
                () = next_signal(&mut signals.interrupt) => Step::Ended(INTERRUPTED),
                () = next_signal(&mut signals.terminate) => Step::Ended(143),
            };
            match step {
                Step::Event(None) => return Err(CliError::new("the terminal connection ended without an exit status")),
                Step::Event(Some(Err(err))) => return Err(err.into()),
                Step::Event(Some(Ok(event))) => {
                    if let Some(code) = self.show(event, &input).await? {
                        // The session closes its socket after the exit; let it finish.
                        self.session.close().await;
                        return Ok(code);
                    }
                }
                Step::Input(Some(bytes)) => {
                    // A failed write means the session ended: its last event says why.
                    drop(input.write(&bytes).await);
                }
                Step::Input(None) => {
                    typing = false;
                    if self.interactive {
                        // Our terminal is gone: so is the shell's reason to run.
                        return Ok(self.end(&input, 129).await);
                    }
                    drop(input.write(END_OF_INPUT).await);
                }
                Step::Resized => {
                    if let Some((cols, rows)) = window_size() {
                        drop(input.resize(cols, rows).await);
                    }
                }
                Step::Ended(code) => return Ok(self.end(&input, code).await),
            }
        }
    }

    /// Shows one event; the exit code once the shell is gone.
    async fn show(&self, event: PtyEvent, input: &PtyInput) -> Result<Option<ExitCode>, CliError> {
        match event {
            PtyEvent::Started { .. } => Ok(None),
            PtyEvent::Output(bytes) => {
                let mut stdout = std::io::stdout().lock();
                if let Err(err) = stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                    drop(input.kill().await);
                    return Err(CliError::new(format!("cannot write to the terminal: {err}")));
                }
                Ok(None)
            }
            PtyEvent::Exit { exit_code } => Ok(Some(exit_status(exit_code))),
            PtyEvent::Error { message, fatal: true } => Err(CliError::new(format!("the terminal failed: {message}"))),
            PtyEvent::Error { message, fatal: false } => {
                // Raw mode: a line end needs its carriage return.
                let line_end = if self.interactive { "\r\n" } else { "\n" };
                let _ = write!(std::io::stderr(), "wrenn: {message}{line_end}");
                Ok(None)
            }
        }
    }

    /// Kills the remote shell and closes the session (a signal ended it).
    async fn end(self, input: &PtyInput, code: u8) -> ExitCode {
        drop(input.kill().await);
        self.session.close().await;
        ExitCode::from(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: Option<&str>, cmd_args: &[&str], envs: &[(&str, &str)]) -> ShellArgs {
        ShellArgs {
            id: "cl-1".to_owned(),
            cmd: cmd.map(str::to_owned),
            args: cmd_args.iter().map(|arg| (*arg).to_owned()).collect(),
            cwd: Some("/tmp".to_owned()),
            envs: envs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect(),
        }
    }

    #[test]
    fn the_default_shell_falls_back_to_sh_and_term_follows_ours() {
        let (id, request) = pty_request(args(None, &[], &[]), Some("screen".to_owned()), 132, 50);
        assert_eq!(id, "cl-1");
        assert_eq!(request.cmd.as_deref(), Some("/bin/sh"));
        assert_eq!(request.args, ["-c", DEFAULT_SHELL]);
        assert_eq!((request.cols, request.rows), (132, 50));
        assert_eq!(request.envs["TERM"], "screen");
        assert_eq!(request.cwd.as_deref(), Some("/tmp"));
    }

    #[test]
    fn a_given_command_and_env_win() {
        let (_, request) =
            pty_request(args(Some("/usr/bin/python3"), &["-q"], &[("TERM", "dumb"), ("A", "1")]), None, 80, 24);
        assert_eq!(request.cmd.as_deref(), Some("/usr/bin/python3"));
        assert_eq!(request.args, ["-q"]);
        assert_eq!(request.envs["TERM"], "dumb");
        assert_eq!(request.envs["A"], "1");
        let (_, request) = pty_request(args(None, &[], &[]), None, 80, 24);
        assert_eq!(request.envs["TERM"], DEFAULT_TERM);
    }

    #[test]
    fn a_descriptor_that_is_not_a_terminal_has_no_size() {
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(size_of(file.as_raw_fd()), None);
    }
}
