//! Finding and detaching mounts left inside a directory before it is removed.
//!
//! debootstrap mounts `/proc` and `/sys` into its target (and bind-mounts the
//! host's `/dev` when it thinks it runs in a container). If it is killed
//! mid-build those mounts stay, and a recursive delete of the staging dir
//! would walk into them, possibly deleting host device nodes. So every
//! removal under the template store first detaches what is mounted inside.

use std::io;
use std::path::{Path, PathBuf};

use nix::mount::MntFlags;

/// Mount points at or below `dir`, deepest first, from the text of
/// `/proc/self/mountinfo`. Pure.
pub(crate) fn mounts_under(mountinfo: &str, dir: &Path) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .filter(|mount_point| mount_point.starts_with(dir))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    mounts.dedup();
    mounts
}

/// Lazily detaches everything mounted at or below `dir` (deepest first).
pub(crate) fn detach_all_under(dir: &Path) -> io::Result<()> {
    // mountinfo holds canonical paths.
    let dir = std::fs::canonicalize(dir)?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    for mount_point in mounts_under(&mountinfo, &dir) {
        tracing::warn!(mount_point = %mount_point.display(), "detaching a leftover mount");
        match nix::mount::umount2(&mount_point, MntFlags::MNT_DETACH) {
            // Already gone with its parent.
            Ok(()) | Err(nix::Error::EINVAL | nix::Error::ENOENT) => {}
            Err(errno) => return Err(io::Error::from(errno)),
        }
    }
    Ok(())
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(digits)) => {
                out.push(digits.iter().fold(0u8, |acc, d| acc.wrapping_mul(8).wrapping_add(d - b'0')));
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mounts_below_a_dir_deepest_first() {
        let mountinfo = "\
22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
80 22 0:5 / /d/templates/.staging/minimal/rootfs/proc rw - proc proc rw
81 22 0:6 / /d/templates/.staging/minimal/rootfs/dev rw - devtmpfs udev rw
82 81 0:7 / /d/templates/.staging/minimal/rootfs/dev/pts rw - devpts devpts rw
83 22 0:8 / /d/templates/.staging/minimal2/rootfs/proc rw - proc proc rw
84 22 0:9 / /d/templates/with\\040space/x rw - tmpfs tmpfs rw
";
        let staging = Path::new("/d/templates/.staging/minimal");
        let found = mounts_under(mountinfo, staging);
        assert_eq!(found[0], Path::new("/d/templates/.staging/minimal/rootfs/dev/pts"));
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(!found.iter().any(|m| m.starts_with("/d/templates/.staging/minimal2")));
        assert_eq!(
            mounts_under(mountinfo, Path::new("/d/templates/with space")),
            [Path::new("/d/templates/with space/x")]
        );
        assert!(mounts_under(mountinfo, Path::new("/elsewhere")).is_empty());
    }
}
