//! The host's credentials at rest: `DIR/host-credentials.json`, mode 0600,
//! written whole (temporary file, then rename) so a crash never leaves
//! half a file. They hold the access and refresh tokens and the agent's
//! certificate and key; whoever reads them can act as this host.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// What registration and each refresh hand the agent, and when.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub(crate) host_id: String,
    /// The address the host registered; the agent must listen there.
    pub(crate) address: String,
    pub(crate) token: String,
    pub(crate) refresh_token: String,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) ca_cert_pem: String,
    /// Unix ms of the registration or refresh that produced these.
    pub(crate) obtained_at_ms: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("host_id", &self.host_id)
            .field("address", &self.address)
            .field("obtained_at_ms", &self.obtained_at_ms)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The saved credentials, or `None` before the first registration.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Option<Credentials>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is not valid; remove it to register again", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the credentials, readable by root alone.
    pub(crate) fn save(&self, path: &Path) -> anyhow::Result<()> {
        let temporary = temporary_path(path);
        let text = serde_json::to_vec_pretty(self).context("cannot encode the credentials")?;
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut file| file.write_all(&text).and_then(|()| file.sync_all()))
            .and_then(|()| std::fs::rename(&temporary, path));
        written.with_context(|| format!("cannot write {}", path.display()))
    }

    /// Forgets the credentials (the host was deleted).
    pub(crate) fn remove(path: &Path) -> anyhow::Result<()> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn credentials_round_trip_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host-credentials.json");
        assert_eq!(Credentials::load(&path).unwrap(), None);
        let credentials = Credentials {
            host_id: "host-1".into(),
            address: "10.0.0.2:7000".into(),
            token: "t".into(),
            refresh_token: "r".into(),
            cert_pem: "c".into(),
            key_pem: "k".into(),
            ca_cert_pem: "ca".into(),
            obtained_at_ms: 5,
        };
        credentials.save(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(Credentials::load(&path).unwrap(), Some(credentials.clone()));
        assert!(!format!("{credentials:?}").contains("\"k\""), "the key stays out of logs");
        Credentials::remove(&path).unwrap();
        Credentials::remove(&path).unwrap();
        std::fs::write(&path, "{").unwrap();
        assert!(Credentials::load(&path).is_err());
    }
}
