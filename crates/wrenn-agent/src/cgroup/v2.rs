//! cgroup v2: one directory in the unified tree; controllers must be
//! enabled in every ancestor's `cgroup.subtree_control`.

use std::path::{Path, PathBuf};

use crate::cgroup::{CPU_PERIOD_US, CgroupError, CgroupLimits, CgroupStats, create_dir, read, settle, write};

const CONTROLLERS: &str = "+memory +cpu +pids";

#[derive(Debug)]
pub(crate) struct V2Set {
    root: PathBuf,
    dir: PathBuf,
}

impl V2Set {
    pub(super) fn new(root: &Path, name: &str) -> V2Set {
        V2Set { root: root.to_owned(), dir: root.join(name) }
    }

    pub(super) fn dir(&self) -> &PathBuf {
        &self.dir
    }

    pub(super) fn create(&self, limits: &CgroupLimits) -> Result<(), CgroupError> {
        let mut ancestor = self.root.clone();
        let relative = self.dir.strip_prefix(&self.root).unwrap_or(Path::new(""));
        for component in relative.components() {
            write(&ancestor.join("cgroup.subtree_control"), CONTROLLERS)?;
            ancestor.push(component);
            create_dir(&ancestor)?;
        }
        write(&self.dir.join("memory.max"), &limits.memory_bytes.to_string())?;
        // Absent without swap accounting; a fake tree in a test always has
        // it written, cgroupfs refuses to create files.
        let swap = self.dir.join("memory.swap.max");
        if swap.exists() || !self.dir.starts_with(crate::cgroup::CGROUP_ROOT) {
            write(&swap, "0")?;
        }
        let quota =
            if limits.vcpus == 0 { "max".to_owned() } else { (u64::from(limits.vcpus) * CPU_PERIOD_US).to_string() };
        write(&self.dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))?;
        write(&self.dir.join("pids.max"), &limits.pids_max.to_string())
    }

    pub(super) fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        write(&self.dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
        let events = self.dir.join("cgroup.events");
        let wanted = if frozen { "frozen 1" } else { "frozen 0" };
        settle(&events, || Ok(read(&events)?.lines().any(|line| line.trim() == wanted)))
    }

    /// Asks `memory.reclaim` for everything the cgroup is charged with; the
    /// kernel answers `EAGAIN` when it got less, which is not an error here.
    pub(super) fn reclaim_memory(&self) -> Result<(), CgroupError> {
        let path = self.dir.join("memory.current");
        let current = read(&path)?.trim().to_owned();
        if current == "0" {
            return Ok(());
        }
        match std::fs::write(self.dir.join("memory.reclaim"), &current) {
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            result => result.map_err(|source| CgroupError::Write {
                path: self.dir.join("memory.reclaim"),
                value: current,
                source,
            }),
        }
    }

    pub(super) fn stats(&self) -> Result<CgroupStats, CgroupError> {
        let path = self.dir.join("cpu.stat");
        let usage_usec = read(&path)?
            .lines()
            .find_map(|line| line.strip_prefix("usage_usec ")?.trim().parse::<u64>().ok())
            .ok_or(CgroupError::Parse { path })?;
        let path = self.dir.join("memory.current");
        let memory_bytes = read(&path)?.trim().parse().map_err(|_| CgroupError::Parse { path })?;
        Ok(CgroupStats { cpu_usage_ns: usage_usec * 1000, memory_bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_limits_into_a_fake_unified_tree() {
        let root = tempfile::tempdir().unwrap();
        let set = V2Set::new(root.path(), "wrenn/c1");
        set.create(&CgroupLimits { memory_bytes: 1 << 30, vcpus: 1, pids_max: 512 }).unwrap();
        let cg = |file: &str| std::fs::read_to_string(root.path().join(file)).unwrap();
        assert_eq!(cg("cgroup.subtree_control"), CONTROLLERS);
        assert_eq!(cg("wrenn/cgroup.subtree_control"), CONTROLLERS);
        assert_eq!(cg("wrenn/c1/memory.max"), "1073741824");
        assert_eq!(cg("wrenn/c1/memory.swap.max"), "0");
        assert_eq!(cg("wrenn/c1/cpu.max"), "100000 100000");
        assert_eq!(cg("wrenn/c1/pids.max"), "512");
        std::fs::write(root.path().join("wrenn/c1/cpu.stat"), "usage_usec 1500\nuser_usec 1000\n").unwrap();
        std::fs::write(root.path().join("wrenn/c1/memory.current"), "4096\n").unwrap();
        assert_eq!(set.stats().unwrap(), CgroupStats { cpu_usage_ns: 1_500_000, memory_bytes: 4096 });
        std::fs::write(root.path().join("wrenn/c1/cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        set.set_frozen(true).unwrap();
    }
}
