//! The CA's two files in its directory: `ca.pem` (the certificate) and
//! `ca-key.pem` (the private key, mode 0600).
//!
//! Written once and never replaced: every host certificate in the field
//! chains to this key, so losing it to an overwrite would cut the control
//! plane off from every agent. Each file is written to a temporary file in
//! the same directory, synced, then hard-linked to its name, which (unlike
//! `rename`) fails instead of replacing a file that appeared meanwhile; the
//! temporary name is removed afterwards and the directory synced. The key
//! is linked before the certificate, and a directory holding only one of
//! the two is refused rather than repaired: which half is wrong is the
//! operator's call.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::pki::CaError;

pub(crate) const CERT_FILE: &str = "ca.pem";
pub(crate) const KEY_FILE: &str = "ca-key.pem";

/// The PEM contents of a stored CA.
pub(crate) struct StoredCa {
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

/// Reads the CA from `dir`; `None` when neither file exists.
pub(crate) fn read(dir: &Path) -> Result<Option<StoredCa>, CaError> {
    let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    let cert_pem = read_if_exists(&cert_path)?;
    let key_pem = read_if_exists(&key_path)?;
    match (cert_pem, key_pem) {
        (None, None) => Ok(None),
        (Some(cert_pem), Some(key_pem)) => {
            warn_if_exposed(&key_path);
            Ok(Some(StoredCa { cert_pem, key_pem }))
        }
        (Some(_), None) => Err(CaError::Incomplete { present: cert_path, missing: key_path }),
        (None, Some(_)) => Err(CaError::Incomplete { present: key_path, missing: cert_path }),
    }
}

/// Reads one PEM file of a CA configured by path.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, CaError> {
    std::fs::read(path).map_err(|source| CaError::Io { action: "read", path: path.to_owned(), source })
}

/// Stores a new CA in `dir` (created 0700 if missing). Fails with
/// [`CaError::Exists`] if either file already exists.
pub(crate) fn write_new(dir: &Path, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), CaError> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|source| CaError::Io {
        action: "create",
        path: dir.to_owned(),
        source,
    })?;
    for name in [KEY_FILE, CERT_FILE] {
        let path = dir.join(name);
        if path.try_exists().map_err(|source| CaError::Io { action: "inspect", path: path.clone(), source })? {
            return Err(CaError::Exists { path });
        }
    }
    write_once(dir, KEY_FILE, key_pem, 0o600)?;
    write_once(dir, CERT_FILE, cert_pem, 0o644)?;
    File::open(dir).and_then(|dir| dir.sync_all()).map_err(|source| CaError::Io {
        action: "sync",
        path: dir.to_owned(),
        source,
    })
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, CaError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CaError::Io { action: "read", path: path.to_owned(), source }),
    }
}

/// Writes `dir/name` through a temporary file, never replacing it.
fn write_once(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<(), CaError> {
    let path = dir.join(name);
    let temp = temp_path(dir, name)?;
    let written = write_synced(&temp, contents, mode).and_then(|()| std::fs::hard_link(&temp, &path));
    // The temporary name goes whatever happened; the linked name keeps the data.
    let removed = std::fs::remove_file(&temp);
    match written {
        Ok(()) => removed.map_err(|source| CaError::Io { action: "remove", path: temp, source }),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Err(CaError::Exists { path }),
        Err(source) => Err(CaError::Io { action: "write", path, source }),
    }
}

fn write_synced(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn temp_path(dir: &Path, name: &str) -> Result<PathBuf, CaError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|source| CaError::Randomness { source })?;
    Ok(dir.join(format!(".{name}.{}.tmp", hex::encode(nonce))))
}

fn warn_if_exposed(key_path: &Path) {
    if let Ok(metadata) = std::fs::metadata(key_path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %key_path.display(),
            mode = format_args!("{:o}", metadata.permissions().mode() & 0o777),
            "the CA key is readable by other users; it should be mode 0600"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_files_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CERT_FILE), b"operator's certificate").unwrap();
        let err = write_new(dir.path(), b"new certificate", b"new key").unwrap_err();
        assert!(matches!(&err, CaError::Exists { path } if path.ends_with(CERT_FILE)), "{err:?}");
        assert_eq!(std::fs::read(dir.path().join(CERT_FILE)).unwrap(), b"operator's certificate");
        assert!(!dir.path().join(KEY_FILE).exists());

        // A file that appears between the check and the link is not replaced either.
        std::fs::write(dir.path().join(KEY_FILE), b"operator's key").unwrap();
        let err = write_once(dir.path(), KEY_FILE, b"new key", 0o600).unwrap_err();
        assert!(matches!(err, CaError::Exists { .. }), "{err:?}");
        assert_eq!(std::fs::read(dir.path().join(KEY_FILE)).unwrap(), b"operator's key");
        let n_files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(n_files, 2, "the temporary file is removed");
    }

    #[test]
    fn a_ca_directory_is_read_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        write_new(dir.path(), b"cert", b"key").unwrap();
        let stored = read(dir.path()).unwrap().unwrap();
        assert_eq!((stored.cert_pem.as_slice(), stored.key_pem.as_slice()), (&b"cert"[..], &b"key"[..]));
        let mode = std::fs::metadata(dir.path().join(CERT_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);

        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert!(matches!(read(dir.path()), Err(CaError::Incomplete { .. })));
    }
}
