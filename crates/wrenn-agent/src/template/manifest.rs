//! The small JSON file next to a template's `rootfs/` that says what it is.
//!
//! Its presence is what makes a template valid: the builder writes it into
//! the staging directory last, and only complete directories are renamed
//! into place. `uid_base` says how the files are owned: 0 (canonical, the
//! ids a capsule sees) for every template this agent writes; older agents
//! stored templates shifted to one shared range (100000), which the store
//! shifts back on first use.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Current manifest format. Readers reject newer formats.
pub const MANIFEST_FORMAT: u32 = 1;
/// `uid_base` of a template stored with the ids capsules see.
pub const CANONICAL_UID_BASE: u32 = 0;

/// What a template contains and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub name: String,
    /// When the build finished, in seconds since the Unix epoch.
    pub created_at: u64,
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// The template this one was built on (`python` is built on `minimal`).
    pub parent: Option<String>,
    /// Packages asked for on top of `minbase` (dependencies not listed).
    pub packages: Vec<String>,
    /// SHA-256 (hex) of the injected `/usr/local/bin/envd`.
    pub envd_sha256: String,
    /// Apparent size of the rootfs (hard links once).
    pub size_bytes: u64,
    /// Files are owned by `uid_base + capsule uid`: [`CANONICAL_UID_BASE`]
    /// for current templates, a shared shift for those of older agents.
    pub uid_base: u32,
}

/// A manifest that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("could not access the manifest")]
    Io(#[source] io::Error),
    #[error("the manifest is not valid json")]
    Json(#[source] serde_json::Error),
    #[error("unsupported manifest format {0}")]
    Format(u32),
}

impl Manifest {
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format(manifest.format));
        }
        Ok(manifest)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("a manifest has only plain fields");
        json.push(b'\n');
        json
    }

    pub(crate) fn read(path: &Path) -> Result<Manifest, ManifestError> {
        Manifest::from_json(&std::fs::read(path).map_err(ManifestError::Io)?)
    }

    /// Writes via a temporary file and a rename, so a reader never sees half a manifest.
    pub(crate) fn write(&self, path: &Path) -> Result<(), ManifestError> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, self.to_json()).map_err(ManifestError::Io)?;
        std::fs::rename(&tmp, path).map_err(ManifestError::Io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            name: "python".into(),
            created_at: 1_790_000_000,
            suite: "bookworm".into(),
            parent: Some("minimal".into()),
            packages: vec!["python3".into(), "python3-pip".into()],
            envd_sha256: "ab".repeat(32),
            size_bytes: 180_000_000,
            uid_base: CANONICAL_UID_BASE,
        }
    }

    #[test]
    fn round_trips_through_json_and_disk() {
        let manifest = sample();
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        manifest.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest);
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn rejects_other_formats_and_garbage() {
        let mut manifest = sample();
        manifest.format = 2;
        assert!(matches!(Manifest::from_json(&manifest.to_json()), Err(ManifestError::Format(2))));
        assert!(matches!(Manifest::from_json(b"{\"format\":1}"), Err(ManifestError::Json(_))));
        assert!(matches!(Manifest::read(Path::new("/no/such/manifest.json")), Err(ManifestError::Io(_))));
    }
}
