//! The capsule launcher: a separate, short-lived, single-threaded process.
//!
//! The agent runs tokio on many threads, and the kernel refuses
//! `setns` into a user namespace and `unshare(CLONE_NEWUSER)` from a
//! multithreaded process; forking a tokio process is unsafe anyway. So the
//! agent execs `wrenn-launch` with a [`LaunchSpec`] as JSON on stdin. The
//! launcher joins the capsule's network namespace, clones the capsule init
//! into fresh user, pid, mount, uts and ipc namespaces, writes its uid/gid
//! maps and cgroups from the outside, waits until the init has exec'ed,
//! records its pid in the capsule dir and exits. The init is then an orphan
//! owned by nobody but the kernel, so it outlives the agent (even a
//! `kill -9` of the agent); the agent finds it again through the state file
//! and the capsule's cgroups.
//!
//! The launcher deliberately does no cleanup of its own: if it fails, the
//! agent still owns the capsule dir and cgroups and removes them.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Names of the per-capsule entries under the capsule dir.
///
/// The writable layer: a plain directory, or the mount point of the
/// capsule's size-limited disk image. Overlay needs upper and work on one
/// filesystem, so both live in it.
pub const LAYER_DIR: &str = "layer";
pub const UPPER_DIR: &str = "layer/upper";
pub const WORK_DIR: &str = "layer/work";
/// Sparse ext4 image behind `layer/` when the capsule has a disk limit.
pub const DISK_IMAGE: &str = "disk.ext4";
/// Mount point of the template inside the capsule's own mount namespace, so
/// overlay's options in `/proc/self/mountinfo` show no host path.
pub const LOWER_DIR: &str = "lower";
/// Mount point of the capsule's root (the overlay) before `pivot_root`.
pub const ROOTFS_DIR: &str = "rootfs";
/// The init's stdout and stderr.
pub const CONSOLE_FILE: &str = "console.log";
/// The init's host pid, written once it has exec'ed.
pub const PID_FILE: &str = "init.pid";

/// Everything the launcher needs; prepared by the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchSpec {
    /// Holds `layer/{upper,work}`, `lower/`, `rootfs/`; owned by `uid_base`.
    pub capsule_dir: PathBuf,
    /// Read-only lower layer, stored canonical (the ids the capsule sees);
    /// the launcher mounts it idmapped into `uid_base..uid_base + 65536`.
    pub template_rootfs: PathBuf,
    /// Network namespace to join before cloning; `None` keeps the
    /// launcher's (tests only).
    pub netns_path: Option<PathBuf>,
    pub hostname: String,
    /// Host uid and gid that root in the capsule maps to; 65536 ids follow.
    /// Each capsule has its own (`uid_range`).
    pub uid_base: u32,
    /// `cgroup.procs` files that the init is written to before it runs.
    pub cgroup_procs: Vec<PathBuf>,
    /// Absolute path inside the capsule, then arguments.
    pub init: Vec<String>,
    /// `KEY=value` pairs of the init's environment.
    pub env: Vec<String>,
}

/// What the launcher prints on stdout (one JSON line) when the init runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchReport {
    /// Host pid of the capsule's init.
    pub pid: u32,
    /// From the launcher reading its spec to the init's `execve`.
    pub exec_us: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchSpecError {
    #[error("could not read the launch spec")]
    Read(#[source] std::io::Error),
    #[error("invalid launch spec")]
    Parse(#[source] serde_json::Error),
}

impl LaunchSpec {
    pub fn from_reader(mut reader: impl Read) -> Result<LaunchSpec, LaunchSpecError> {
        let mut text = Vec::new();
        reader.read_to_end(&mut text).map_err(LaunchSpecError::Read)?;
        serde_json::from_slice(&text).map_err(LaunchSpecError::Parse)
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.capsule_dir.join(name)
    }
}

/// Reads the init pid a launcher left in `capsule_dir`.
pub fn read_pid_file(capsule_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(capsule_dir.join(PID_FILE)).ok()?.trim().parse().ok()
}

/// Launches the capsule described by `spec`, prints a [`LaunchReport`] and
/// exits; on failure prints the error chain on stderr and exits with 1.
///
/// Must run in a fresh single-threaded process (the `wrenn-launch` binary or
/// the future `wrenn` binary before it starts tokio).
pub fn run(spec: &LaunchSpec) -> ! {
    use std::io::Write;

    let started = std::time::Instant::now();
    let code = match crate::sys::launch::launch(spec) {
        Ok(pid) => {
            let report = LaunchReport { pid, exec_us: started.elapsed().as_micros() as u64 };
            let line = serde_json::to_string(&report).unwrap_or_default();
            match writeln!(std::io::stdout(), "{line}") {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(err) => {
            let mut message = format!("wrenn-launch: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            let _ = writeln!(std::io::stderr(), "{message}");
            1
        }
    };
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_and_rejects_unknown_fields() {
        let spec = LaunchSpec {
            capsule_dir: "/c".into(),
            template_rootfs: "/t".into(),
            netns_path: None,
            hostname: "h".into(),
            uid_base: 1_114_112,
            cgroup_procs: vec!["/sys/fs/cgroup/pids/wrenn/x/cgroup.procs".into()],
            init: vec!["/bin/sh".into()],
            env: vec![],
        };
        let json = serde_json::to_vec(&spec).unwrap();
        assert_eq!(LaunchSpec::from_reader(&json[..]).unwrap(), spec);
        let err = LaunchSpec::from_reader(&br#"{"capsule_dir":"/c","bogus":1}"#[..]).unwrap_err();
        assert!(matches!(err, LaunchSpecError::Parse(_)));
    }
}
