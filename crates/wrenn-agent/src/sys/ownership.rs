//! Shifting the owners of a tree of files from one uid range to another.
//!
//! Capsules run in a user namespace that maps capsule uid `0..65536` to host
//! uid `base..base + 65536` (its own `base`, see `uid_range`). Templates are
//! stored canonical (owned by the capsule's view of ids) and mapped by an
//! idmapped mount, so no shift happens on the way into a capsule. Files
//! coming *out* of a capsule (a snapshot copy: owned by `base + uid` on the
//! host) are shifted to canonical, and so are templates of older agents,
//! which were stored shifted to one shared base.
//!
//! The shift is a walk with `lchown` (symlinks themselves, never their
//! targets; hard links once). It is idempotent per range: only ids inside
//! `from..from + 65536` move, so shifting back (`from = base, to = 0`) undoes it.
//!
//! The kernel clears setuid/setgid on `chown`, so those bits are restored
//! afterwards. Extended attributes are not handled: templates carry none that
//! matter, and `security.capability` would be dropped by the kernel anyway.

use std::collections::HashSet;
use std::fs::Permissions;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown};
use std::path::{Path, PathBuf};

use crate::uid_range::IDS_PER_CAPSULE as ID_RANGE;

/// What a shift did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ShiftStats {
    /// Inodes visited (hard links counted once).
    pub(crate) inodes: u64,
    /// Inodes whose owner or group changed.
    pub(crate) shifted: u64,
    /// Apparent size of all visited inodes, in bytes.
    pub(crate) bytes: u64,
}

/// A failed shift, with the path it failed on.
#[derive(Debug, thiserror::Error)]
#[error("could not shift ownership of {path}")]
pub(crate) struct ShiftError {
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: io::Error,
}

/// Moves every uid and gid in `from..from + ID_RANGE` under `root`
/// (including `root` itself) to the same offset from `to`. Blocking.
pub(crate) fn shift_tree(root: &Path, from: u32, to: u32) -> Result<ShiftStats, ShiftError> {
    walk(root, &mut |path, meta| {
        let (uid, gid) = (map_id(meta.uid(), from, to), map_id(meta.gid(), from, to));
        if uid == meta.uid() && gid == meta.gid() {
            return Ok(false);
        }
        lchown(path, Some(uid), Some(gid))?;
        let mode = meta.mode();
        if !meta.file_type().is_symlink() && mode & 0o6000 != 0 {
            std::fs::set_permissions(path, Permissions::from_mode(mode & 0o7777))?;
        }
        Ok(true)
    })
}

/// Apparent size in bytes of everything under `root` (hard links once). Blocking.
pub(crate) fn tree_size(root: &Path) -> Result<u64, ShiftError> {
    walk(root, &mut |_, _| Ok(false)).map(|stats| stats.bytes)
}

/// Sets owner `uid:gid` on one path (not following symlinks).
pub(crate) fn chown_path(path: &Path, uid: u32, gid: u32) -> Result<(), ShiftError> {
    lchown(path, Some(uid), Some(gid)).map_err(|source| ShiftError { path: path.to_owned(), source })
}

/// Maps one id; ids outside `from..from + ID_RANGE` are left alone.
fn map_id(id: u32, from: u32, to: u32) -> u32 {
    match id.checked_sub(from) {
        Some(offset) if offset < ID_RANGE => to + offset,
        _ => id,
    }
}

fn walk(
    root: &Path,
    visit: &mut dyn FnMut(&Path, &std::fs::Metadata) -> io::Result<bool>,
) -> Result<ShiftStats, ShiftError> {
    let mut stats = ShiftStats::default();
    let mut seen_links = HashSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(path) = stack.pop() {
        let fail = |source| ShiftError { path: path.clone(), source };
        let meta = std::fs::symlink_metadata(&path).map_err(fail)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(fail)? {
                stack.push(entry.map_err(fail)?.path());
            }
        } else if meta.nlink() > 1 && !seen_links.insert((meta.dev(), meta.ino())) {
            continue;
        }
        stats.inodes += 1;
        stats.bytes += meta.len();
        if visit(&path, &meta).map_err(fail)? {
            stats.shifted += 1;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_outside_the_range_stay() {
        assert_eq!(map_id(0, 0, 100_000), 100_000);
        assert_eq!(map_id(65_535, 0, 100_000), 165_535);
        assert_eq!(map_id(65_536, 0, 100_000), 65_536);
        assert_eq!(map_id(100_042, 100_000, 0), 42);
        assert_eq!(map_id(7, 100_000, 0), 7);
    }

    #[test]
    fn sizes_count_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("c")).unwrap();
        let stats = walk(dir.path(), &mut |_, _| Ok(false)).unwrap();
        assert_eq!(stats.inodes, 3);
        assert_eq!(stats.bytes, 100 + 1 + std::fs::metadata(dir.path()).unwrap().len());
    }
}
