//! What the filesystem service reports about one path (E2B's `EntryInfo`).
//!
//! Field by field this follows E2B's Go envd, because SDK users compare the
//! values: `mode` is the nine permission bits (Go's `FileMode.Perm()`),
//! `permissions` is Go's `FileMode.String()` (`-rw-r--r--`, `dtrwxrwxrwx`,
//! `Lrwxrwxrwx`), and owner and group are names with a numeric fallback.
//! For a symlink, `kind` and `mode` describe the target and
//! `symlink_target` is the fully resolved path, while size, owner and times
//! are the link's own (`lstat`), as in Go.
//!
//! A dangling (or looping) symlink is reported as `EntryKind::Symlink`
//! (`FILE_TYPE_SYMLINK`), not `FILE_TYPE_UNSPECIFIED` as Go does: the SDK
//! drops UNSPECIFIED entries from `files.list`, which would hide a link that
//! `ls` shows, and it reports every `is_symlink` entry as a symlink anyway.
//! Its `symlink_target` is then the link text made absolute, and `mode` the
//! link's own bits.
//!
//! Sockets, FIFOs and devices are `EntryKind::Other` (UNSPECIFIED), as in Go.

use std::collections::{BTreeMap, HashMap};
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::sys;

/// The xattr namespace of user metadata, shared with `/files` uploads.
const METADATA_PREFIX: &[u8] = b"user.e2b.";
/// Metadata reported per entry at most. Uploads are limited to 4 KiB (as in
/// E2B); attributes set out of band may be larger, and an entry must stay
/// small enough to buffer thousands of them in a watcher.
const MAX_METADATA_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Last path component.
    pub(crate) name: String,
    pub(crate) kind: EntryKind,
    /// Absolute path as requested (not resolved).
    pub(crate) path: String,
    pub(crate) size: u64,
    /// Permission bits (0o777).
    pub(crate) mode: u32,
    pub(crate) permissions: String,
    pub(crate) owner: String,
    pub(crate) group: String,
    pub(crate) modified: SystemTime,
    /// Fully resolved target; only for symlinks.
    pub(crate) symlink_target: Option<String>,
    /// `user.e2b.<key>` attributes by key.
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) is_symlink: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Directory,
    /// Only for symlinks whose target cannot be resolved.
    Symlink,
    /// Sockets, FIFOs, devices.
    Other,
}

/// Caches uid and gid names for the duration of one request, so a listing
/// of thousands of entries reads the user database a handful of times.
#[derive(Debug, Default)]
pub(crate) struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    fn user(&mut self, uid: u32) -> String {
        self.users.entry(uid).or_insert_with(|| sys::users::user_name(uid)).clone()
    }

    fn group(&mut self, gid: u32) -> String {
        self.groups.entry(gid).or_insert_with(|| sys::users::group_name(gid)).clone()
    }
}

impl Entry {
    /// Describes `path` itself (a symlink is not followed, but described
    /// with its target). Blocking.
    pub(crate) fn read(path: &Path, names: &mut Names) -> io::Result<Entry> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Entry::from_metadata(path, &meta, names))
    }

    /// Like `read`, with the `lstat` result already at hand.
    pub(crate) fn from_metadata(path: &Path, meta: &Metadata, names: &mut Names) -> Entry {
        let is_symlink = meta.file_type().is_symlink();
        let (kind, mode, symlink_target) = if is_symlink {
            match (std::fs::metadata(path), std::fs::canonicalize(path)) {
                (Ok(target), Ok(resolved)) => {
                    (kind_of(&target), target.mode() & 0o777, Some(resolved.to_string_lossy().into_owned()))
                }
                _ => (EntryKind::Symlink, meta.mode() & 0o777, dangling_target(path)),
            }
        } else {
            (kind_of(meta), meta.mode() & 0o777, None)
        };
        Entry {
            name: file_name(path),
            kind,
            path: path.to_string_lossy().into_owned(),
            size: meta.len(),
            mode,
            permissions: permissions_string(meta.mode()),
            owner: names.user(meta.uid()),
            group: names.group(meta.gid()),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            symlink_target,
            metadata: read_metadata(path),
            is_symlink,
        }
    }

    /// A rough count of the bytes this entry holds, for bounding buffers.
    pub(crate) fn approx_size(&self) -> usize {
        let metadata: usize = self.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        128 + self.name.len()
            + self.path.len()
            + self.permissions.len()
            + self.owner.len()
            + self.group.len()
            + self.symlink_target.as_ref().map_or(0, String::len)
            + metadata
    }
}

fn kind_of(meta: &Metadata) -> EntryKind {
    let file_type = meta.file_type();
    if file_type.is_file() {
        EntryKind::File
    } else if file_type.is_dir() {
        EntryKind::Directory
    } else if file_type.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::Other
    }
}

fn file_name(path: &Path) -> String {
    match path.file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => path.to_string_lossy().into_owned(),
    }
}

/// The link text of a dangling symlink, made absolute against its directory
/// without touching the disk.
fn dangling_target(link: &Path) -> Option<String> {
    let target = std::fs::read_link(link).ok()?;
    let joined = link.parent().unwrap_or(Path::new("/")).join(target);
    Some(lexical_normalize(&joined).to_string_lossy().into_owned())
}

/// Resolves `.` and `..` textually; only used where the path does not exist.
fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// User metadata from `user.e2b.*` attributes. Best effort: a filesystem
/// without xattrs, an unreadable file or a vanished path give an empty map,
/// and entries that are not UTF-8 are skipped (the wire map is UTF-8).
fn read_metadata(path: &Path) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::new();
    let names = match sys::path_xattr::list(path) {
        Ok(names) => names,
        Err(err) => {
            if !sys::path_xattr::is_absent(&err) && err.kind() != io::ErrorKind::NotFound {
                tracing::debug!(path = %path.display(), error = %err, "cannot list extended attributes");
            }
            return metadata;
        }
    };
    let mut total = 0;
    for name in names {
        let Some(key) = name.as_bytes().strip_prefix(METADATA_PREFIX) else {
            continue;
        };
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        let Ok(value) = sys::path_xattr::get(path, &name) else {
            continue;
        };
        let Ok(value) = String::from_utf8(value) else {
            continue;
        };
        total += key.len() + value.len();
        if total > MAX_METADATA_BYTES {
            tracing::debug!(path = %path.display(), "metadata larger than {MAX_METADATA_BYTES} bytes; rest not reported");
            break;
        }
        metadata.insert(key.to_owned(), value);
    }
    metadata
}

/// Go's `FileMode.String()` for a Unix `st_mode`: type and special-bit
/// letters in Go's order (`dalTLDpSugct?`), or `-`, then `rwxrwxrwx`. Go
/// sets no letter for a file type it does not know, and neither do we.
pub(crate) fn permissions_string(st_mode: u32) -> String {
    const S_IFMT: u32 = 0o170000;
    let file_type = st_mode & S_IFMT;
    let letters = [
        ('d', file_type == 0o040000),
        ('L', file_type == 0o120000),
        ('D', file_type == 0o060000 || file_type == 0o020000),
        ('p', file_type == 0o010000),
        ('S', file_type == 0o140000),
        ('u', st_mode & 0o4000 != 0),
        ('g', st_mode & 0o2000 != 0),
        ('c', file_type == 0o020000),
        ('t', st_mode & 0o1000 != 0),
    ];
    let mut out: String = letters.iter().filter(|(_, set)| *set).map(|(letter, _)| *letter).collect();
    if out.is_empty() {
        out.push('-');
    }
    for (i, letter) in "rwxrwxrwx".chars().enumerate() {
        out.push(if st_mode & (1 << (8 - i)) != 0 { letter } else { '-' });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn permissions_read_like_go() {
        let cases: &[(u32, &str)] = &[
            (0o100644, "-rw-r--r--"),
            (0o100755, "-rwxr-xr-x"),
            (0o040755, "drwxr-xr-x"),
            (0o041777, "dtrwxrwxrwx"),
            (0o042775, "dgrwxrwxr-x"),
            (0o104755, "urwxr-xr-x"),
            (0o120777, "Lrwxrwxrwx"),
            (0o020666, "Dcrw-rw-rw-"),
            (0o060660, "Drw-rw----"),
            (0o010644, "prw-r--r--"),
            (0o140755, "Srwxr-xr-x"),
            (0o100000, "----------"),
            (0o000644, "-rw-r--r--"),
        ];
        for (mode, want) in cases {
            assert_eq!(permissions_string(*mode), *want, "{mode:o}");
        }
    }

    #[test]
    fn lexical_normalize_resolves_dots() {
        assert_eq!(lexical_normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(lexical_normalize(Path::new("/../..")), PathBuf::from("/"));
    }

    #[test]
    fn describes_files_dirs_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let file = root.join("f.txt");
        std::fs::write(&file, b"hello").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("f.txt", root.join("link")).unwrap();
        std::os::unix::fs::symlink("missing/../nowhere", root.join("dangling")).unwrap();
        let mut names = Names::default();

        let entry = Entry::read(&file, &mut names).unwrap();
        assert_eq!((entry.name.as_str(), entry.kind, entry.size, entry.mode), ("f.txt", EntryKind::File, 5, 0o640));
        assert_eq!(entry.permissions, "-rw-r-----");
        assert_eq!((entry.is_symlink, entry.symlink_target.as_deref()), (false, None));
        assert!(!entry.owner.is_empty() && !entry.group.is_empty());

        let link = Entry::read(&root.join("link"), &mut names).unwrap();
        assert_eq!((link.kind, link.mode, link.is_symlink), (EntryKind::File, 0o640, true));
        assert_eq!(link.permissions, "Lrwxrwxrwx");
        assert_eq!(link.symlink_target, Some(file.display().to_string()));
        assert_eq!(link.path, root.join("link").display().to_string());

        let dangling = Entry::read(&root.join("dangling"), &mut names).unwrap();
        assert_eq!((dangling.kind, dangling.is_symlink), (EntryKind::Symlink, true));
        assert_eq!(dangling.symlink_target, Some(root.join("nowhere").display().to_string()));

        let dir_entry = Entry::read(&root, &mut names).unwrap();
        assert_eq!(dir_entry.kind, EntryKind::Directory);
        assert!(dir_entry.permissions.starts_with('d'));
        assert_eq!(Entry::read(&root.join("nope"), &mut names).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
