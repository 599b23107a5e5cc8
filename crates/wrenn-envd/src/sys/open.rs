//! Opening files for `/files` so that special files cannot stall envd.
//!
//! Both opens add `O_NONBLOCK`, because opening a FIFO that has no peer
//! would otherwise block a thread for good, and `O_NOCTTY`, because opening a
//! terminal must never make it envd's controlling terminal. Callers check the
//! type of what they opened and refuse anything but a regular file; for
//! regular files `O_NONBLOCK` changes nothing.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const FLAGS: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;

/// Opens `path` read-only.
pub(crate) fn open_for_read(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(FLAGS).open(path)
}

/// How [`open_for_write`] found the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opened {
    /// The file did not exist; this open created it.
    Created,
    /// An existing file (or a symlink's target) was truncated.
    Truncated,
}

/// Opens `path` for writing from the start, creating it (mode 0666 less the
/// umask) if needed, and says which of the two happened so that a failed
/// upload can remove a file it created.
pub(crate) fn open_for_write(path: &Path) -> io::Result<(File, Opened)> {
    let mut options = OpenOptions::new();
    options.write(true).custom_flags(FLAGS);
    match options.clone().create_new(true).open(path) {
        Ok(file) => return Ok((file, Opened::Created)),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    match options.clone().truncate(true).open(path) {
        Ok(file) => Ok((file, Opened::Truncated)),
        // Removed in between, or a dangling symlink: create whatever the
        // path names now, as `O_CREAT` without `O_EXCL` would.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            options.create(true).truncate(true).open(path).map(|file| (file, Opened::Truncated))
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_whether_it_created_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let (mut file, opened) = open_for_write(&path).unwrap();
        assert_eq!(opened, Opened::Created);
        io::Write::write_all(&mut file, b"hello").unwrap();
        let (_, opened) = open_for_write(&path).unwrap();
        assert_eq!(opened, Opened::Truncated);
        assert_eq!(std::fs::read(&path).unwrap(), b"");

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("target"), &link).unwrap();
        let (_, opened) = open_for_write(&link).unwrap();
        assert_eq!(opened, Opened::Truncated);
        assert!(dir.path().join("target").is_file());
    }

    #[test]
    fn a_fifo_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Read-only opens of a FIFO succeed at once with O_NONBLOCK; the
        // caller then sees it is not a regular file.
        assert!(!open_for_read(&fifo).unwrap().metadata().unwrap().is_file());
        // Write-only opens without a reader fail with ENXIO instead of waiting.
        assert_eq!(open_for_write(&fifo).unwrap_err().raw_os_error(), Some(libc::ENXIO));
    }
}
