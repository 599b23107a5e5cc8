//! Naming `errno` values that `std::io::ErrorKind` does not (yet) have stably.

use std::io;

/// Too many levels of symbolic links (`ELOOP`).
pub(crate) fn is_symlink_loop(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_symlink_loop() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("loop");
        std::os::unix::fs::symlink(&link, &link).unwrap();
        assert!(is_symlink_loop(&std::fs::metadata(&link).unwrap_err()));
        assert!(!is_symlink_loop(&std::fs::metadata(dir.path().join("missing")).unwrap_err()));
    }
}
