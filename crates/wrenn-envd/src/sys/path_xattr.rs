//! Extended attributes read by path, following symlinks.
//!
//! The filesystem service reports `user.e2b.*` attributes for entries it
//! never opens (a directory listing would otherwise open every file, and
//! could not open unreadable ones or FIFOs safely). `sys::xattr` covers the
//! fd-based writes of `/files`.

use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// Upper bound of an attribute list or value on Linux (`XATTR_LIST_MAX`,
/// `XATTR_SIZE_MAX`), so a lying filesystem cannot make envd allocate more.
const MAX_XATTR_BYTES: usize = 64 * 1024;

/// The names of `path`'s attributes that the calling thread may see.
pub(crate) fn list(path: &Path) -> io::Result<Vec<OsString>> {
    let path = c_path(path.as_os_str().as_bytes())?;
    let buf = read_sized(|buf, len| {
        // SAFETY: `path` is NUL-terminated; `buf` is null with len 0 or
        // points to `len` writable bytes.
        unsafe { libc::listxattr(path.as_ptr(), buf, len) }
    })?;
    Ok(buf.split(|b| *b == 0).filter(|name| !name.is_empty()).map(|name| OsString::from_vec(name.to_vec())).collect())
}

/// The value of attribute `name` of `path`.
pub(crate) fn get(path: &Path, name: &OsString) -> io::Result<Vec<u8>> {
    let path = c_path(path.as_os_str().as_bytes())?;
    let name = c_path(name.as_bytes())?;
    read_sized(|buf, len| {
        // SAFETY: as in `list`; `name` is NUL-terminated.
        unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.cast(), len) }
    })
}

/// Whether `err` means "no such attribute" or "no attributes here at all".
pub(crate) fn is_absent(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENODATA | libc::EOPNOTSUPP))
}

/// Asks for the size, then reads; retries if the data grew in between.
fn read_sized(mut call: impl FnMut(*mut libc::c_char, usize) -> isize) -> io::Result<Vec<u8>> {
    for _ in 0..4 {
        let needed = call(std::ptr::null_mut(), 0);
        if needed < 0 {
            return Err(io::Error::last_os_error());
        }
        let needed = (needed as usize).min(MAX_XATTR_BYTES);
        let mut buf = vec![0u8; needed];
        let got = call(buf.as_mut_ptr().cast(), buf.len());
        if got < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ERANGE) && needed < MAX_XATTR_BYTES {
                continue;
            }
            return Err(err);
        }
        buf.truncate(got as usize);
        return Ok(buf);
    }
    Err(io::Error::from_raw_os_error(libc::ERANGE))
}

fn c_path(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::print_stderr, reason = "a skipped test says why")]
    fn lists_and_reads_what_was_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"").unwrap();
        let c = c_path(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: both strings are NUL-terminated and the value is a live slice.
        let rc = unsafe { libc::setxattr(c.as_ptr(), c"user.e2b.k".as_ptr(), b"v".as_ptr().cast(), 1, 0) };
        if rc < 0 {
            eprintln!("skipped (no user xattrs on the temp filesystem: {})", io::Error::last_os_error());
            return;
        }
        let name = OsString::from("user.e2b.k");
        assert!(list(&path).unwrap().contains(&name));
        assert_eq!(get(&path, &name).unwrap(), b"v");
        assert!(is_absent(&get(&path, &OsString::from("user.e2b.none")).unwrap_err()));
        assert_eq!(list(&dir.path().join("missing")).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
