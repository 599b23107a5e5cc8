//! `wrenn capsule shell` driven through a real pseudo-terminal, as a
//! person at a terminal would: typed commands run, Ctrl-C interrupts the
//! remote command (not the session), a resize reaches the remote terminal,
//! the shell's exit code becomes ours and our terminal is left as found.
//! Also scripted (stdin not a terminal) and refused (unknown capsule).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};
use nix::sys::termios::{self, LocalFlags};

use crate::harness::{self, KEY, Node};

const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn scenario(node: &Node) {
    let id = harness::create_capsule(node);
    interactive_through_a_real_terminal(node, &id);
    scripted_without_a_terminal(node, &id);
    an_unknown_capsule_is_one_error_line(node, &id);
    let removed = node.wrenn().args(["capsule", "rm", &id]).output().unwrap();
    assert!(removed.status.success(), "rm: {}", String::from_utf8_lossy(&removed.stderr));
}

fn interactive_through_a_real_terminal(node: &Node, id: &str) {
    let size = Winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 };
    let pty = openpty(Some(&size), None).unwrap();
    let slave = File::from(pty.slave);
    let before = termios::tcgetattr(&slave).unwrap();
    assert!(before.local_flags.contains(LocalFlags::ECHO | LocalFlags::ICANON), "a fresh terminal is cooked");
    let child = Command::new(harness::wrenn_bin())
        .args(["capsule", "shell", id])
        .env("WRENN_BASE_URL", &node.base_url)
        .env("WRENN_API_KEY", KEY)
        .env("WRENN_CONFIG_DIR", node.config_dir.path())
        .env("TERM", "xterm")
        .env_remove("WRENN_PROFILE")
        .env_remove("WRENN_LOG")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()))
        .spawn()
        .unwrap();
    let mut wrenn = Running(child);
    let mut screen = Screen::new(pty.master);

    // Our terminal goes raw once the session is open: from then on the
    // remote terminal does all echoing and line editing.
    let deadline = Instant::now() + WAIT;
    while termios::tcgetattr(&slave).unwrap().local_flags.intersects(LocalFlags::ECHO | LocalFlags::ICANON) {
        assert!(Instant::now() < deadline, "the terminal never went raw; screen:\n{}", screen.text());
        assert!(wrenn.0.try_wait().unwrap().is_none(), "wrenn exited; screen:\n{}", screen.text());
        std::thread::sleep(Duration::from_millis(20));
    }

    // Typed input runs; the line is echoed by the remote terminal, the
    // answer (which the typed line does not contain) comes back.
    screen.type_text("echo $((6*7))\r");
    screen.wait_for("42", node);

    // Ctrl-C interrupts the remote command, not the session.
    screen.type_text("sleep 100\r");
    screen.wait_for("sleep 100", node);
    std::thread::sleep(Duration::from_millis(700));
    let interrupted = Instant::now();
    screen.type_text("\x03");
    screen.type_text("echo alive-$((2+3))\r");
    screen.wait_for("alive-5", node);
    assert!(interrupted.elapsed() < Duration::from_secs(20), "sleep was interrupted");
    assert!(wrenn.0.try_wait().unwrap().is_none(), "Ctrl-C did not end wrenn");

    // A resize of our terminal (and its SIGWINCH) reaches the remote one.
    let bigger = Winsize { ws_row: 50, ws_col: 132, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize from a live local on an open pty.
    assert_eq!(unsafe { libc::ioctl(screen.writer.as_raw_fd(), libc::TIOCSWINSZ, &raw const bigger) }, 0);
    // SAFETY: signalling our own child, which has not been reaped.
    assert_eq!(unsafe { libc::kill(wrenn.0.id() as libc::pid_t, libc::SIGWINCH) }, 0);
    std::thread::sleep(Duration::from_millis(500));
    screen.type_text("stty size\r");
    screen.wait_for("50 132", node);

    // The shell's exit code is ours, and our terminal is cooked again.
    screen.type_text("exit 3\r");
    let status = wrenn.wait(WAIT).unwrap_or_else(|| panic!("wrenn did not exit; screen:\n{}", screen.text()));
    assert_eq!(status.code(), Some(3), "screen:\n{}", screen.text());
    let after = termios::tcgetattr(&slave).unwrap();
    assert!(
        after.local_flags.contains(LocalFlags::ECHO | LocalFlags::ICANON),
        "terminal restored: {:?}",
        after.local_flags
    );
    assert_eq!(after.local_flags, before.local_flags);
    assert_eq!(after.input_flags, before.input_flags);
    assert_eq!(after.output_flags, before.output_flags);
    let screen_text = screen.text();
    assert!(!screen_text.contains("panicked"), "{screen_text}");
}

fn scripted_without_a_terminal(node: &Node, id: &str) {
    let output = node
        .wrenn()
        .args(["capsule", "shell", id, "--env", "WHO=script", "--cwd", "/tmp"])
        .write_stdin("echo \"$WHO-$((3*3))-$(pwd)\"\nexit 4\n")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(4), "stdout {stdout}\nstderr {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("script-9-/tmp"), "{stdout}");

    // End of input ends the shell (as Ctrl-D), with its status.
    let output =
        node.wrenn().args(["capsule", "shell", id, "--cmd", "/bin/sh"]).write_stdin("true\n").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr {}", String::from_utf8_lossy(&output.stderr));
}

fn an_unknown_capsule_is_one_error_line(node: &Node, id: &str) {
    let mut unknown = id.to_owned();
    let last = unknown.pop().unwrap();
    unknown.push(if last == '0' { '1' } else { '0' });
    let output = node.wrenn().args(["capsule", "shell", &unknown]).write_stdin("").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    harness::assert_one_error_line(&output, "shell in an unknown capsule");
}

/// A child killed if the test fails before it exits.
struct Running(Child);

impl Running {
    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The master side of the terminal: what was written to it so far (read
/// by a thread) and a way to type.
struct Screen {
    writer: File,
    seen: Arc<(Mutex<Vec<u8>>, Condvar)>,
    /// Where the next `wait_for` starts looking.
    from: usize,
}

impl Screen {
    fn new(master: OwnedFd) -> Screen {
        let writer = File::from(master);
        let mut reader = writer.try_clone().unwrap();
        let seen = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends with an error (EIO) once every slave is closed.
            while let Ok(read @ 1..) = reader.read(&mut buffer) {
                let (bytes, changed) = &*shared;
                bytes.lock().unwrap().extend_from_slice(&buffer[..read]);
                changed.notify_all();
            }
        });
        Screen { writer, seen, from: 0 }
    }

    fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.0.lock().unwrap()).into_owned()
    }

    /// Waits until `pattern` appears after the last match.
    fn wait_for(&mut self, pattern: &str, node: &Node) {
        let deadline = Instant::now() + WAIT;
        let (bytes, changed) = &*self.seen;
        let mut seen = bytes.lock().unwrap();
        loop {
            let found = seen[self.from..].windows(pattern.len()).position(|window| window == pattern.as_bytes());
            if let Some(at) = found {
                self.from += at + pattern.len();
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{pattern:?} did not appear; screen:\n{}\nserver log:\n{}",
                String::from_utf8_lossy(&seen),
                node.log()
            );
            seen = changed.wait_timeout(seen, left).unwrap().0;
        }
    }
}
