//! Extended attributes of open files.
//!
//! `/files` uploads store user metadata as `user.e2b.<key>` attributes, the
//! same names E2B's envd uses, so the filesystem service can report them.
//! Everything works on file descriptors, so the attributes land on the very
//! file that was written even if its path changed meanwhile.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Sets attribute `name` of `file` to `value`, creating or replacing it.
pub(crate) fn set(file: &File, name: &str, value: &[u8]) -> io::Result<()> {
    let name = c_name(name)?;
    // SAFETY: `name` is NUL-terminated and `value` is a live slice of the
    // given length; the fd is owned by `file` for the duration of the call.
    let result = unsafe { libc::fsetxattr(file.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Removes attribute `name`; a missing attribute is not an error.
pub(crate) fn remove(file: &File, name: &str) -> io::Result<()> {
    let name = c_name(name)?;
    // SAFETY: `name` is NUL-terminated; the fd is owned by `file`.
    let result = unsafe { libc::fremovexattr(file.as_raw_fd(), name.as_ptr()) };
    if result < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENODATA) {
            return Ok(());
        }
        return Err(err);
    }
    Ok(())
}

/// The names of all attributes of `file` that the caller may see.
pub(crate) fn list(file: &File) -> io::Result<Vec<String>> {
    loop {
        // SAFETY: a zero size asks only for the length and writes nothing.
        let needed = unsafe { libc::flistxattr(file.as_raw_fd(), std::ptr::null_mut(), 0) };
        if needed < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; needed as usize];
        // SAFETY: the buffer holds `buf.len()` bytes and outlives the call.
        let written = unsafe { libc::flistxattr(file.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if written < 0 {
            let err = io::Error::last_os_error();
            // The list grew between the two calls: ask again.
            if err.raw_os_error() == Some(libc::ERANGE) {
                continue;
            }
            return Err(err);
        }
        buf.truncate(written as usize);
        return Ok(buf
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect());
    }
}

/// Whether `err` says the filesystem has no (user) extended attributes.
pub(crate) fn is_unsupported(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EOPNOTSUPP)
}

/// Whether `err` says an attribute name or value is too long for the filesystem.
pub(crate) fn is_too_large(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::E2BIG | libc::ERANGE))
}

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "attribute name contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_list_remove() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        match set(&file, "user.e2b.author", b"me") {
            Err(err) if is_unsupported(&err) => return,
            other => other.unwrap(),
        }
        assert!(list(&file).unwrap().contains(&"user.e2b.author".to_owned()));
        remove(&file, "user.e2b.author").unwrap();
        remove(&file, "user.e2b.author").unwrap();
        assert!(!list(&file).unwrap().contains(&"user.e2b.author".to_owned()));
    }
}
