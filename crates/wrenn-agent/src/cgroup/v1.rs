//! cgroup v1: one directory per controller hierarchy. cpu and cpuacct may
//! be separate hierarchies (these machines) or one co-mounted hierarchy;
//! directories are deduplicated by their canonical path.

use std::path::{Path, PathBuf};

use crate::cgroup::{CPU_PERIOD_US, CgroupError, CgroupLimits, CgroupStats, create_dir, read, read_u64, settle, write};

/// Controllers a capsule needs; creation fails without them.
const REQUIRED: &[&str] = &["memory", "cpu", "cpuacct", "pids", "freezer"];
/// Used when the host has it.
const OPTIONAL: &[&str] = &["devices"];
/// Docker's default device allowlist: null, zero, full, random, urandom,
/// tty, console, ptmx, and the pty slaves.
const ALLOWED_DEVICES: &[&str] = &[
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:1 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
];

#[derive(Debug)]
pub(crate) struct V1Set {
    /// `(controller, dir)` for each controller, canonical hierarchy once.
    controllers: Vec<(&'static str, PathBuf)>,
    dirs: Vec<PathBuf>,
}

impl V1Set {
    pub(super) fn new(root: &Path, name: &str) -> Result<V1Set, CgroupError> {
        let mut controllers = Vec::new();
        let mut hierarchies = Vec::new();
        let mut dirs = Vec::new();
        for &controller in REQUIRED.iter().chain(OPTIONAL) {
            let hierarchy = root.join(controller);
            let Ok(canonical) = hierarchy.canonicalize() else {
                if REQUIRED.contains(&controller) {
                    return Err(CgroupError::MissingController { root: root.to_owned(), controller });
                }
                continue;
            };
            let dir = hierarchy.join(name);
            if !hierarchies.contains(&canonical) {
                hierarchies.push(canonical);
                dirs.push(dir.clone());
            }
            controllers.push((controller, dir));
        }
        Ok(V1Set { controllers, dirs })
    }

    pub(super) fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    pub(super) fn freezer_dir(&self) -> &Path {
        self.dir("freezer").unwrap_or(&self.dirs[0])
    }

    pub(super) fn create(&self, limits: &CgroupLimits) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            create_dir(dir)?;
        }
        if let Some(memory) = self.dir("memory") {
            let bytes = limits.memory_bytes.to_string();
            write(&memory.join("memory.limit_in_bytes"), &bytes)?;
            // Absent when the kernel runs without swap accounting.
            let memsw = memory.join("memory.memsw.limit_in_bytes");
            if memsw.exists() {
                write(&memsw, &bytes)?;
            }
        }
        if let Some(cpu) = self.dir("cpu") {
            write(&cpu.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
            let quota =
                if limits.vcpus == 0 { "-1".to_owned() } else { (u64::from(limits.vcpus) * CPU_PERIOD_US).to_string() };
            write(&cpu.join("cpu.cfs_quota_us"), &quota)?;
        }
        if let Some(pids) = self.dir("pids") {
            write(&pids.join("pids.max"), &limits.pids_max.to_string())?;
        }
        if let Some(devices) = self.dir("devices") {
            write(&devices.join("devices.deny"), "a")?;
            for rule in ALLOWED_DEVICES {
                write(&devices.join("devices.allow"), rule)?;
            }
        }
        Ok(())
    }

    pub(super) fn freeze(&self) -> Result<(), CgroupError> {
        let state = self.freezer_dir().join("freezer.state");
        write(&state, "FROZEN")?;
        settle(&state, || Ok(read(&state)?.trim() == "FROZEN"))
    }

    pub(super) fn thaw(&self) -> Result<(), CgroupError> {
        let state = self.freezer_dir().join("freezer.state");
        write(&state, "THAWED")?;
        settle(&state, || Ok(read(&state)?.trim() == "THAWED"))
    }

    pub(super) fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let cpu_usage_ns = match self.dir("cpuacct") {
            Some(dir) => read_u64(&dir.join("cpuacct.usage"))?,
            None => 0,
        };
        let memory_bytes = match self.dir("memory") {
            Some(dir) => read_u64(&dir.join("memory.usage_in_bytes"))?,
            None => 0,
        };
        Ok(CgroupStats { cpu_usage_ns, memory_bytes })
    }

    /// `memory.force_empty` reclaims every page it can; only valid once
    /// the cgroup has no tasks.
    pub(super) fn reclaim_memory(&self) -> Result<(), CgroupError> {
        match self.dir("memory") {
            Some(dir) => write(&dir.join("memory.force_empty"), "0"),
            None => Ok(()),
        }
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        self.controllers.iter().find(|(name, _)| *name == controller).map(|(_, dir)| dir.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_limits_into_a_fake_hierarchy() {
        let root = tempfile::tempdir().unwrap();
        for controller in ["memory", "cpu", "cpuacct", "pids", "freezer", "devices"] {
            std::fs::create_dir(root.path().join(controller)).unwrap();
        }
        let set = V1Set::new(root.path(), "wrenn/c1").unwrap();
        assert_eq!(set.dirs().len(), 6);
        set.create(&CgroupLimits { memory_bytes: 64 << 20, vcpus: 2, pids_max: 64 }).unwrap();
        let cg = |file: &str| std::fs::read_to_string(root.path().join(file)).unwrap();
        assert_eq!(cg("memory/wrenn/c1/memory.limit_in_bytes"), "67108864");
        assert_eq!(cg("cpu/wrenn/c1/cpu.cfs_quota_us"), "200000");
        assert_eq!(cg("pids/wrenn/c1/pids.max"), "64");
        // The fake keeps only the last write; the kernel appends rules.
        assert_eq!(cg("devices/wrenn/c1/devices.allow"), "c 136:* rwm");
    }

    #[test]
    fn co_mounted_cpu_and_cpuacct_are_one_directory() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("cpu,cpuacct")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", root.path().join("cpu")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", root.path().join("cpuacct")).unwrap();
        for controller in ["memory", "pids", "freezer"] {
            std::fs::create_dir(root.path().join(controller)).unwrap();
        }
        let set = V1Set::new(root.path(), "wrenn/c2").unwrap();
        assert_eq!(set.dirs().len(), 4);
        let err = V1Set::new(&root.path().join("nope"), "x").unwrap_err();
        assert!(matches!(err, CgroupError::MissingController { controller: "memory", .. }));
    }
}
