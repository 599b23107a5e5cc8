//! Running CRIU, the tool that writes a capsule's processes to disk and
//! brings them back (`runtime::container::hibernate` decides the arguments).
//!
//! Three entry points: `check` (once at startup: is this binary usable on
//! this kernel), `dump` (in the capsule's network namespace, through
//! `nsenter`, so the namespace is not part of the image) and the restore
//! side, which is not here: it needs a private mount namespace and runs in
//! `wrenn-launch restore` (`sys::launch::restore`).
//!
//! CRIU caches kernel facts in `/run/criu.kdat`; when `/run` is not a tmpfs
//! it refuses to keep the cache and leaves an empty `/run/criu.kdat.tmp`
//! behind, which [`remove_leftovers`] deletes after every run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::sys::cmd::{self, CmdError};

/// `criu check` takes ~80 ms; this is for a hung one.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);
/// What CRIU leaves in `/run` when `/run` is not a tmpfs.
const KDAT_LEFTOVER: &str = "/run/criu.kdat.tmp";

#[derive(Debug, thiserror::Error)]
pub(crate) enum CriuError {
    #[error("could not run {program}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program} check` failed: {output}")]
    Check { program: PathBuf, output: String },
    #[error("`{program} check` did not finish within {timeout:?}")]
    CheckTimedOut { program: PathBuf, timeout: Duration },
    #[error("criu dump failed")]
    Dump(#[source] CmdError),
}

/// Whether `criu` runs and `criu check` passes on this kernel. Blocking
/// (~80 ms); meant for startup.
pub(crate) fn check(criu: &Path) -> Result<(), CriuError> {
    let spawn = |source| CriuError::Spawn { program: criu.to_owned(), source };
    #[expect(clippy::disallowed_methods, reason = "a blocking startup probe; sys::cmd is async")]
    let mut child = std::process::Command::new(criu)
        .arg("check")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    let deadline = Instant::now() + CHECK_TIMEOUT;
    let result = loop {
        match child.try_wait().map_err(spawn)? {
            Some(_) => break Ok(()),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(CriuError::CheckTimedOut { program: criu.to_owned(), timeout: CHECK_TIMEOUT });
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    remove_leftovers();
    result?;
    let output = child.wait_with_output().map_err(spawn)?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(CriuError::Check { program: criu.to_owned(), output: text.trim().to_owned() })
}

/// Runs `criu dump <args>` inside the network namespace `netns` (`None`:
/// the agent's own, tests only).
pub(crate) async fn dump(
    criu: &Path,
    netns: Option<&Path>,
    args: &[OsString],
    timeout: Duration,
) -> Result<(), CriuError> {
    let mut argv: Vec<OsString> = Vec::new();
    let program = match netns {
        Some(netns) => {
            let mut net = OsString::from("--net=");
            net.push(netns);
            argv.push(net);
            argv.push(criu.as_os_str().to_owned());
            "nsenter".to_owned()
        }
        None => criu.to_string_lossy().into_owned(),
    };
    argv.push("dump".into());
    argv.extend(args.iter().cloned());
    let result = cmd::run(&program, &argv, None, timeout).await;
    remove_leftovers();
    result.map(drop).map_err(CriuError::Dump)
}

/// Deletes what CRIU leaves outside the image dir.
pub(crate) fn remove_leftovers() {
    let _ = std::fs::remove_file(KDAT_LEFTOVER);
}
