//! Resolving request paths the way E2B's envd does.
//!
//! `~` and `~/x` expand to the user's home; relative paths are joined to the
//! default working directory if one was set by `/init`, else to the home;
//! an empty path means that same base. Paths are not canonicalised here:
//! symlinks and `..` are left to the kernel, which enforces permissions as
//! the acting user.

use std::path::{Component, Path, PathBuf};

/// Resolves `raw` for a user whose home is `home`.
pub(crate) fn resolve(raw: &str, home: &Path, workdir: Option<&Path>) -> PathBuf {
    let base = workdir.unwrap_or(home);
    let path = if raw.is_empty() {
        base.to_path_buf()
    } else if raw == "~" {
        home.to_path_buf()
    } else if let Some(rest) = raw.strip_prefix("~/") {
        home.join(rest)
    } else if raw.starts_with('/') {
        PathBuf::from(raw)
    } else {
        base.join(raw)
    };
    normalize(&path)
}

/// Removes `.` components and trailing slashes without touching the disk.
/// `..` is kept: only the kernel knows what it means across symlinks.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() { PathBuf::from("/") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_envd() {
        let home = Path::new("/home/user");
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("", None, "/home/user"),
            ("", Some("/work"), "/work"),
            ("~", Some("/work"), "/home/user"),
            ("~/a/b", None, "/home/user/a/b"),
            ("a/./b/", None, "/home/user/a/b"),
            ("a", Some("/work"), "/work/a"),
            ("/etc/hosts", Some("/work"), "/etc/hosts"),
            ("/tmp/../etc", None, "/tmp/../etc"),
            ("~user", None, "/home/user/~user"),
        ];
        for (raw, workdir, want) in cases {
            assert_eq!(resolve(raw, home, workdir.map(Path::new)), PathBuf::from(want), "{raw:?} {workdir:?}");
        }
    }
}
