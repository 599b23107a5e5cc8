//! Stat, make-dir, move, list and remove, as the acting user.
//!
//! Each public function hops to a blocking thread with the user's file
//! credentials; the `*_blocking` halves hold the logic and are what the unit
//! tests drive. Semantics follow E2B's Go envd (see `COMPATIBILITY.md`):
//! `remove` of a missing path succeeds, `make_dir` and `rename` create
//! missing parents, and a listing follows a symlinked root but no symlink
//! inside it.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::entry::Names;
use crate::fs::{Entry, FsError, MAX_LIST_ENTRIES, as_user};
use crate::users::Identity;

/// Deepest listing. An absolute path has at most 2048 components within
/// `PATH_MAX` (4096 bytes), so clamping here never hides an entry the kernel
/// would let us name; the entry cap is what bounds the work.
pub(crate) const MAX_LIST_DEPTH: u32 = 2048;

pub(crate) async fn stat(identity: &Identity, path: PathBuf) -> Result<Entry, FsError> {
    as_user(identity, move || Entry::read(&path, &mut Names::default()).map_err(|e| FsError::io("stat", path, e))).await
}

pub(crate) async fn make_dir(identity: &Identity, path: PathBuf) -> Result<Entry, FsError> {
    as_user(identity, move || make_dir_blocking(&path)).await
}

pub(crate) async fn rename(identity: &Identity, from: PathBuf, to: PathBuf) -> Result<Entry, FsError> {
    as_user(identity, move || rename_blocking(&from, &to)).await
}

/// Entries under `path` down to `depth` levels (0 means 1), in lexical
/// depth-first order, with paths under `path` as given.
pub(crate) async fn list_dir(identity: &Identity, path: PathBuf, depth: u32) -> Result<Vec<Entry>, FsError> {
    let depth = depth.clamp(1, MAX_LIST_DEPTH);
    as_user(identity, move || list_dir_blocking(&path, depth, MAX_LIST_ENTRIES)).await
}

pub(crate) async fn remove(identity: &Identity, path: PathBuf) -> Result<(), FsError> {
    as_user(identity, move || remove_blocking(&path)).await
}

fn make_dir_blocking(path: &Path) -> Result<Entry, FsError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(FsError::DirectoryExists { path: path.to_owned() }),
        Ok(_) => return Err(FsError::ExistsAsFile { path: path.to_owned() }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(FsError::io("stat", path, err)),
    }
    // Created with the caller's fsuid and fsgid, so every new directory,
    // parents included, belongs to the acting user.
    std::fs::create_dir_all(path).map_err(|e| FsError::io("create directory", path, e))?;
    Entry::read(path, &mut Names::default()).map_err(|e| FsError::io("stat", path, e))
}

fn rename_blocking(from: &Path, to: &Path) -> Result<Entry, FsError> {
    std::fs::symlink_metadata(from).map_err(|e| FsError::io("move", from, e))?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| FsError::io("create directory", parent, e))?;
    }
    std::fs::rename(from, to).map_err(|source| {
        if source.kind() == io::ErrorKind::CrossesDevices {
            FsError::CrossDevice { from: from.to_owned(), to: to.to_owned() }
        } else {
            FsError::Move { from: from.to_owned(), to: to.to_owned(), source }
        }
    })?;
    Entry::read(to, &mut Names::default()).map_err(|e| FsError::io("stat", to, e))
}

fn remove_blocking(path: &Path) -> Result<(), FsError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(FsError::io("remove", path, err)),
    };
    let removed = if meta.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match removed {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(FsError::io("remove", path, err)),
        _ => Ok(()),
    }
}

fn list_dir_blocking(path: &Path, depth: u32, limit: usize) -> Result<Vec<Entry>, FsError> {
    let resolved = std::fs::canonicalize(path).map_err(|e| FsError::io("list directory", path, e))?;
    let meta = std::fs::metadata(&resolved).map_err(|e| FsError::io("list directory", path, e))?;
    if !meta.is_dir() {
        return Err(FsError::NotADirectory { path: path.to_owned() });
    }
    let too_many = || FsError::TooManyEntries { path: path.to_owned(), limit };

    let mut names = Names::default();
    let mut entries = Vec::new();
    // Pending entries, relative to the root with their depth, last on top.
    let mut pending: Vec<(PathBuf, u32)> = Vec::new();
    let children =
        sorted_children(&resolved, limit).map_err(|e| FsError::io("list directory", path, e))?.ok_or_else(too_many)?;
    pending.extend(children.into_iter().rev().map(|name| (PathBuf::from(name), 1)));

    while let Some((relative, level)) = pending.pop() {
        let shown = path.join(&relative);
        let meta = match std::fs::symlink_metadata(resolved.join(&relative)) {
            Ok(meta) => meta,
            // Removed while we walked: it is simply not there any more.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(FsError::io("stat", shown, err)),
        };
        entries.push(Entry::from_metadata(&shown, &meta, &mut names));
        if meta.is_dir() && level < depth {
            // Unreadable or vanished subdirectories are listed themselves,
            // without their contents, as `ls -R` would.
            let room = limit.saturating_sub(entries.len() + pending.len());
            match sorted_children(&resolved.join(&relative), room) {
                Ok(Some(children)) => {
                    pending.extend(children.into_iter().rev().map(|name| (relative.join(name), level + 1)));
                }
                Ok(None) => return Err(too_many()),
                Err(err) => tracing::debug!(path = %shown.display(), error = %err, "skipping unreadable directory"),
            }
        }
        if entries.len() > limit {
            return Err(too_many());
        }
    }
    Ok(entries)
}

/// The names in `dir`, sorted bytewise like Go's `WalkDir`; `None` if there
/// are more than `room`, without reading the rest.
fn sorted_children(dir: &Path, room: usize) -> io::Result<Option<Vec<OsString>>> {
    let mut names = Vec::new();
    for child in std::fs::read_dir(dir)? {
        names.push(child?.file_name());
        if names.len() > room {
            return Ok(None);
        }
    }
    names.sort();
    Ok(Some(names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::EntryKind;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        for d in ["a/b/c", "z"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in ["a/one.txt", "a/b/two.txt", "a/b/c/three.txt", "top.txt"] {
            std::fs::write(root.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink(root.join("a"), root.join("link-to-a")).unwrap();
        (dir, root)
    }

    fn relative(entries: &[Entry], root: &Path) -> Vec<String> {
        entries.iter().map(|e| Path::new(&e.path).strip_prefix(root).unwrap().display().to_string()).collect()
    }

    #[test]
    fn lists_depth_first_to_the_requested_depth() {
        let (_dir, root) = tree();
        let one = list_dir_blocking(&root, 1, 100).unwrap();
        assert_eq!(relative(&one, &root), ["a", "link-to-a", "top.txt", "z"]);
        let link = &one[1];
        assert_eq!((link.kind, link.is_symlink), (EntryKind::Directory, true));

        let all = list_dir_blocking(&root, 3, 100).unwrap();
        assert_eq!(
            relative(&all, &root),
            ["a", "a/b", "a/b/c", "a/b/two.txt", "a/one.txt", "link-to-a", "top.txt", "z"],
            "symlinks inside are not followed; depth 3 stops above three.txt"
        );
    }

    #[test]
    fn a_symlinked_root_is_followed_and_paths_stay_under_the_link() {
        let (_dir, root) = tree();
        let link = root.join("link-to-a");
        let entries = list_dir_blocking(&link, 1, 100).unwrap();
        assert_eq!(relative(&entries, &link), ["b", "one.txt"]);
    }

    #[test]
    fn listing_errors() {
        let (_dir, root) = tree();
        let not_dir = list_dir_blocking(&root.join("top.txt"), 1, 100).unwrap_err();
        assert!(matches!(not_dir, FsError::NotADirectory { .. }), "{not_dir:?}");
        let missing = list_dir_blocking(&root.join("missing"), 1, 100).unwrap_err();
        assert!(
            matches!(&missing, FsError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound),
            "{missing:?}"
        );
        for limit in [0, 3, 7] {
            let err = list_dir_blocking(&root, 4, limit).unwrap_err();
            assert!(matches!(err, FsError::TooManyEntries { .. }), "{limit}: {err:?}");
        }
        assert_eq!(list_dir_blocking(&root, 4, 9).unwrap().len(), 9);
    }

    #[test]
    fn make_dir_rename_remove() {
        let (_dir, root) = tree();
        let made = make_dir_blocking(&root.join("new/deep/dir")).unwrap();
        assert_eq!((made.name.as_str(), made.kind), ("dir", EntryKind::Directory));
        assert!(matches!(make_dir_blocking(&root.join("a")), Err(FsError::DirectoryExists { .. })));
        assert!(matches!(make_dir_blocking(&root.join("top.txt")), Err(FsError::ExistsAsFile { .. })));

        let moved = rename_blocking(&root.join("top.txt"), &root.join("x/y/moved.txt")).unwrap();
        assert_eq!((moved.name.as_str(), moved.size), ("moved.txt", 7));
        let missing = rename_blocking(&root.join("top.txt"), &root.join("again.txt")).unwrap_err();
        assert!(matches!(&missing, FsError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound));

        remove_blocking(&root.join("a")).unwrap();
        remove_blocking(&root.join("link-to-a")).unwrap();
        remove_blocking(&root.join("never-existed")).unwrap();
        assert!(!root.join("a").exists());
        assert!(std::fs::symlink_metadata(root.join("link-to-a")).is_err());
    }
}
