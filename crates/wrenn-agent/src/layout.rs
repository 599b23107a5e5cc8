//! Where the agent keeps things on the host. The only module that builds
//! host paths: the layout is a compatibility boundary (an upgraded agent must
//! find what an older one left behind).
//!
//! ```text
//! <data_dir>/
//!   templates/<name>/rootfs/      read-only lower layer of every capsule from <name>
//!   templates/<name>/manifest.json what the template is; written last, marks it complete
//!   templates/.staging/<name>/    a template being built (renamed into place when done)
//!   templates/.trash/             templates being deleted or replaced
//!   capsules/<id>/                per-capsule state (upper layer, work dir, disk image)
//!   capsules/<id>/capsule.json    the capsule manager's record (id, slot, spec)
//! /run/netns/wrenn-<slot>         per-capsule network namespaces
//! ```

use std::path::{Path, PathBuf};

/// Prefix of every kernel object the agent creates (netns, veth, cgroup,
/// nftables table), so that crash recovery can find them all.
pub const OBJECT_PREFIX: &str = "wrenn";

/// The agent's directories under one data dir.
#[derive(Debug, Clone)]
pub struct Layout {
    data_dir: PathBuf,
}

impl Layout {
    pub fn new(data_dir: impl Into<PathBuf>) -> Layout {
        Layout { data_dir: data_dir.into() }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn templates_dir(&self) -> PathBuf {
        self.data_dir.join("templates")
    }

    pub fn template_dir(&self, name: &str) -> PathBuf {
        self.templates_dir().join(name)
    }

    pub fn template_rootfs(&self, name: &str) -> PathBuf {
        self.template_dir(name).join("rootfs")
    }

    /// `manifest.json` next to a template's `rootfs/`; its presence makes the template valid.
    pub fn template_manifest(&self, name: &str) -> PathBuf {
        self.template_dir(name).join("manifest.json")
    }

    /// Where a template is built before being renamed into place (same
    /// filesystem as `templates/`, so the rename is atomic).
    pub fn template_staging_dir(&self, name: &str) -> PathBuf {
        self.templates_dir().join(".staging").join(name)
    }

    pub fn template_staging_rootfs(&self, name: &str) -> PathBuf {
        self.template_staging_dir(name).join("rootfs")
    }

    pub fn template_staging_manifest(&self, name: &str) -> PathBuf {
        self.template_staging_dir(name).join("manifest.json")
    }

    /// Templates being deleted or replaced are renamed under here first, then removed.
    pub fn templates_trash_dir(&self) -> PathBuf {
        self.templates_dir().join(".trash")
    }

    pub fn capsules_dir(&self) -> PathBuf {
        self.data_dir.join("capsules")
    }

    pub fn capsule_dir(&self, id: &str) -> PathBuf {
        self.capsules_dir().join(id)
    }

    /// The capsule manager's record of a capsule (`capsule::record`), inside
    /// the runtime's capsule dir so that it goes away with the capsule.
    pub fn capsule_record(&self, id: &str) -> PathBuf {
        self.capsule_dir(id).join("capsule.json")
    }
}

/// Name of the network namespace of slot `slot` (under `/run/netns`).
pub fn netns_name(slot: u16) -> String {
    format!("{OBJECT_PREFIX}-{slot}")
}

/// Host side of the veth pair of slot `slot`.
pub fn host_veth_name(slot: u16) -> String {
    format!("{OBJECT_PREFIX}-v{slot}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_kernel_limits() {
        // Interface names are at most 15 bytes.
        assert!(host_veth_name(u16::MAX).len() <= 15);
        assert_eq!(netns_name(7), "wrenn-7");
        let layout = Layout::new("/var/lib/wrenn");
        assert_eq!(layout.template_rootfs("minimal"), PathBuf::from("/var/lib/wrenn/templates/minimal/rootfs"));
    }
}
