//! One capsule's cgroups, on cgroup v1 (these machines: one hierarchy per
//! controller, cpu and cpuacct separate) and v2 (one unified tree), behind
//! one small interface: create with limits, add a pid, freeze, thaw, read
//! usage, destroy.
//!
//! Plain file IO on cgroupfs, no library: the kernel interface is a handful
//! of files, and both versions are unit-tested against a fake tree in a
//! temp dir. What this module does not do: it never kills by process name
//! or touches a cgroup outside `<root>/<controller>/<name>`.
//!
//! Devices: v1 gets Docker's allowlist in `devices.list`; v2 has no device
//! controller file (it takes an eBPF program), so there we rely on the user
//! namespace, in which `mknod` of a device is refused by the kernel.

mod v1;
mod v2;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default mount point of the cgroup filesystems.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// CFS period used for the CPU quota (`vcpus × period`).
pub const CPU_PERIOD_US: u64 = 100_000;
/// How long freeze and destroy wait for the kernel before giving up.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Limits of one capsule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupLimits {
    /// Memory, and memory plus swap (no swap beyond the limit).
    pub memory_bytes: u64,
    /// CPU quota in whole CPUs; 0 means no quota.
    pub vcpus: u32,
    pub pids_max: u64,
}

/// Usage of one capsule's cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CgroupStats {
    pub cpu_usage_ns: u64,
    pub memory_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no cgroup controller {controller} under {root}")]
    MissingController { root: PathBuf, controller: &'static str },
    #[error("could not create cgroup {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write {value:?} to {path}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unexpected content in {path}")]
    Parse { path: PathBuf },
    #[error("could not kill pid {pid}")]
    Kill {
        pid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} did not settle within {timeout:?}")]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("could not remove cgroup {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The cgroups of one capsule.
#[derive(Debug)]
pub struct CgroupSet {
    version: Version,
}

#[derive(Debug)]
enum Version {
    V1(v1::V1Set),
    V2(v2::V2Set),
}

impl CgroupSet {
    /// Creates `<root>/…/<name>` (e.g. `name = "wrenn/<id>"`) with `limits`.
    /// On failure, whatever was created is removed again.
    pub fn create(root: &Path, name: &str, limits: &CgroupLimits) -> Result<CgroupSet, CgroupError> {
        let set = CgroupSet::open(root, name)?;
        let created = match &set.version {
            Version::V1(set) => set.create(limits),
            Version::V2(set) => set.create(limits),
        };
        match created {
            Ok(()) => Ok(set),
            Err(err) => {
                let _ = set.destroy();
                Err(err)
            }
        }
    }

    /// The cgroups `name` under `root`, without touching them (for adopting
    /// the capsules of an agent that died).
    pub fn open(root: &Path, name: &str) -> Result<CgroupSet, CgroupError> {
        if root.join("cgroup.controllers").exists() {
            Ok(CgroupSet { version: Version::V2(v2::V2Set::new(root, name)) })
        } else {
            Ok(CgroupSet { version: Version::V1(v1::V1Set::new(root, name)?) })
        }
    }

    /// Every `cgroup.procs` a new process must be written to.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs().iter().map(|dir| dir.join("cgroup.procs")).collect()
    }

    pub fn add_pid(&self, pid: u32) -> Result<(), CgroupError> {
        self.procs_files().into_iter().try_for_each(|path| write(&path, &pid.to_string()))
    }

    /// Pids in the capsule's cgroups.
    pub fn pids(&self) -> Result<Vec<u32>, CgroupError> {
        let path = match &self.version {
            Version::V1(set) => set.freezer_dir().join("cgroup.procs"),
            Version::V2(set) => set.dir().join("cgroup.procs"),
        };
        read(&path)?
            .lines()
            .map(|line| line.trim().parse().map_err(|_| CgroupError::Parse { path: path.clone() }))
            .collect()
    }

    /// Stops every process; returns once the kernel reports them frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match &self.version {
            Version::V1(set) => set.freeze(),
            Version::V2(set) => set.set_frozen(true),
        }
    }

    pub fn thaw(&self) -> Result<(), CgroupError> {
        match &self.version {
            Version::V1(set) => set.thaw(),
            Version::V2(set) => set.set_frozen(false),
        }
    }

    /// The cgroup whose freezer stops the capsule (CRIU's `--freeze-cgroup`).
    pub fn freezer_dir(&self) -> PathBuf {
        match &self.version {
            Version::V1(set) => set.freezer_dir().to_owned(),
            Version::V2(set) => set.dir().clone(),
        }
    }

    /// Asks the kernel to drop what the memory cgroup still holds (page
    /// cache) once its processes are gone, e.g. after a hibernate.
    pub fn reclaim_memory(&self) -> Result<(), CgroupError> {
        match &self.version {
            Version::V1(set) => set.reclaim_memory(),
            Version::V2(set) => set.reclaim_memory(),
        }
    }

    pub fn stats(&self) -> Result<CgroupStats, CgroupError> {
        match &self.version {
            Version::V1(set) => set.stats(),
            Version::V2(set) => set.stats(),
        }
    }

    /// Kills every process (frozen first, so none can fork away), waits
    /// until the cgroups are empty and removes them.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        if self.dirs().iter().any(|dir| dir.exists()) && !self.pids().unwrap_or_default().is_empty() {
            self.freeze()?;
            for pid in self.pids()? {
                crate::sys::signal::kill(pid).map_err(|errno| CgroupError::Kill {
                    pid,
                    source: std::io::Error::from_raw_os_error(errno as i32),
                })?;
            }
            self.thaw()?;
            let deadline = Instant::now() + SETTLE_TIMEOUT;
            while !self.pids()?.is_empty() {
                if Instant::now() > deadline {
                    return Err(CgroupError::Timeout { path: self.dirs()[0].clone(), timeout: SETTLE_TIMEOUT });
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        for dir in self.dirs() {
            remove_dir(dir)?;
        }
        Ok(())
    }

    fn dirs(&self) -> &[PathBuf] {
        match &self.version {
            Version::V1(set) => set.dirs(),
            Version::V2(set) => std::slice::from_ref(set.dir()),
        }
    }
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    })
}

fn read(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path).map_err(|source| CgroupError::Read { path: path.to_owned(), source })
}

fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    read(path)?.trim().parse().map_err(|_| CgroupError::Parse { path: path.to_owned() })
}

fn create_dir(path: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(path).map_err(|source| CgroupError::Create { path: path.to_owned(), source })
}

/// Removes an empty cgroup; the kernel may report it busy for a moment
/// after its last process died.
fn remove_dir(path: &Path) -> Result<(), CgroupError> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::ResourceBusy && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            // A fake tree in a unit test holds regular files.
            Err(err) if err.kind() == std::io::ErrorKind::DirectoryNotEmpty && !is_cgroupfs(path) => {
                return std::fs::remove_dir_all(path)
                    .map_err(|source| CgroupError::Remove { path: path.to_owned(), source });
            }
            Err(source) => return Err(CgroupError::Remove { path: path.to_owned(), source }),
        }
    }
}

fn is_cgroupfs(path: &Path) -> bool {
    path.starts_with(CGROUP_ROOT)
}

/// Waits until `done()` holds, polling every 100 µs.
fn settle(path: &Path, mut done: impl FnMut() -> Result<bool, CgroupError>) -> Result<(), CgroupError> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    while !done()? {
        if Instant::now() > deadline {
            return Err(CgroupError::Timeout { path: path.to_owned(), timeout: SETTLE_TIMEOUT });
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    Ok(())
}
