//! The host's template store: the read-only root filesystems capsules start
//! from, under `<data_dir>/templates/`.
//!
//! Base templates (`minimal`, `python`) are built by Wrenn itself with
//! debootstrap the first time they are asked for, then served from disk;
//! they are rebuilt only on request. Every template carries envd at
//! `/usr/local/bin/envd`.
//!
//! Templates are stored canonical: files are owned by the ids a capsule
//! sees (root is 0), and each capsule's launcher maps them into that
//! capsule's own host uid range with an idmapped mount (`uid_range`,
//! `sys::rootfs`). Templates of older agents were stored shifted to one
//! shared range (manifest `uid_base` 100000); [`TemplateStore::open`] and
//! [`TemplateStore::ensure`] shift such a template back once, in place
//! (~1 s for `minimal`), and rewrite its manifest.
//!
//! Invariants:
//! - The templates directory is root's alone (mode 0700, set by every
//!   mutation): canonical templates hold setuid-root binaries (`sudo`, and
//!   whatever a snapshot brought along), which must never be reachable by a
//!   host user. Capsules do not need the path: the launcher opens the
//!   template as host root.
//! - A template directory is valid iff its `manifest.json` is present. Builds
//!   happen under `templates/.staging/` and are renamed into place complete, so
//!   a crash mid-build never leaves something that looks like a template.
//! - All mutations (build, rebuild, delete, envd refresh, the upgrade of a
//!   shifted template) are serialised by one lock per store; reads of a
//!   complete canonical template take no lock.
//!
//! Not done here: there is no tracking of which capsules use a template yet,
//! so `delete` and `refresh_envd` trust the caller not to pull a template
//! from under a running capsule (overlayfs forbids changing a mounted lower
//! layer).

mod build;
mod import;
mod manifest;
mod mirror;
mod plan;

use std::path::{Path, PathBuf};

use tokio::sync::Mutex;

use crate::layout::Layout;
use crate::sys::ownership;

pub use manifest::{CANONICAL_UID_BASE, MANIFEST_FORMAT, Manifest, ManifestError};
pub use plan::{BASE_TEMPLATES, BaseTemplate, BuildPhase, SUITE, base_template};

/// Where envd and the mirror come from.
#[derive(Debug, Clone)]
pub struct TemplateStoreOptions {
    /// The envd binary injected into every template (statically linked).
    pub envd_binary: PathBuf,
    /// Debian mirror for builds; `None` reads it from `/etc/apt`.
    pub mirror: Option<String>,
}

/// One progress report of a build: a phase change or a line of a tool's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildProgress {
    pub template: String,
    pub phase: BuildPhase,
    pub message: String,
}

/// Receives build progress; called from the building task, so keep it quick.
pub type ProgressFn<'a> = dyn Fn(BuildProgress) + Send + Sync + 'a;

/// A complete template on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub rootfs: PathBuf,
    pub manifest: Manifest,
}

/// Why a template operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("invalid template name {name:?}")]
    InvalidName { name: String },
    #[error("template {name} does not exist and is not a base template")]
    Unknown { name: String },
    #[error("template {name} does not exist")]
    NotFound { name: String },
    #[error("template {name} already exists")]
    AlreadyExists { name: String },
    #[error("bad manifest of template {name}")]
    Manifest {
        name: String,
        #[source]
        source: ManifestError,
    },
    #[error("no debian mirror for {suite} in the apt sources, and none configured")]
    NoMirror { suite: &'static str },
    #[error("could not read the apt sources")]
    AptSources(#[source] std::io::Error),
    #[error("building template {name} failed at {step}")]
    Step {
        name: String,
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("filesystem operation on {path} failed")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The template store of one host.
#[derive(Debug)]
pub struct TemplateStore {
    layout: Layout,
    options: TemplateStoreOptions,
    mutation: Mutex<()>,
}

impl TemplateStore {
    pub fn new(layout: Layout, options: TemplateStoreOptions) -> TemplateStore {
        TemplateStore { layout, options, mutation: Mutex::new(()) }
    }

    /// The template `name` if it is on disk and complete, as stored: a
    /// template of an older agent may still be shifted (`manifest.uid_base`
    /// not 0). Capsules start from [`TemplateStore::open`] instead.
    pub fn get(&self, name: &str) -> Result<Option<Template>, TemplateError> {
        check_name(name)?;
        let path = self.layout.template_manifest(name);
        if !path.exists() {
            return Ok(None);
        }
        let manifest =
            Manifest::read(&path).map_err(|source| TemplateError::Manifest { name: name.to_owned(), source })?;
        Ok(Some(Template { name: name.to_owned(), rootfs: self.layout.template_rootfs(name), manifest }))
    }

    /// The template `name` if it is on disk, canonical: a shifted template
    /// of an older agent is shifted back first (once, under the store's lock).
    pub async fn open(&self, name: &str) -> Result<Option<Template>, TemplateError> {
        match self.get(name)? {
            Some(template) if template.manifest.uid_base != CANONICAL_UID_BASE => {
                let _guard = self.mutation.lock().await;
                self.open_locked(name).await
            }
            found => Ok(found),
        }
    }

    /// The template `name`, building it (and its parents) first if it is a
    /// base template not yet on disk; canonical like [`TemplateStore::open`].
    pub async fn ensure(&self, name: &str, progress: &ProgressFn<'_>) -> Result<Template, TemplateError> {
        if let Some(template) = self.open(name).await? {
            return Ok(template);
        }
        let base = base_template(name).ok_or_else(|| TemplateError::Unknown { name: name.to_owned() })?;
        let _guard = self.mutation.lock().await;
        // Another caller may have built it while we waited.
        if let Some(template) = self.open_locked(name).await? {
            return Ok(template);
        }
        let mut chain = vec![base];
        while let Some(parent) = chain.last().and_then(|b| b.parent).and_then(base_template) {
            chain.push(parent);
        }
        let mut built = None;
        for base in chain.into_iter().rev() {
            built = match self.open_locked(base.name).await? {
                Some(template) => Some(template),
                None => Some(self.build_locked(base, progress).await?),
            };
        }
        Ok(built.expect("the chain holds at least the template itself"))
    }

    /// Creates the templates directory, or takes it back, as root's alone
    /// (mode 0700; see the module doc).
    fn seal(&self) -> Result<(), TemplateError> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

        let dir = self.layout.templates_dir();
        let io = |source| TemplateError::Io { path: dir.clone(), source };
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// [`TemplateStore::open`] for a caller that holds the lock.
    async fn open_locked(&self, name: &str) -> Result<Option<Template>, TemplateError> {
        let Some(mut template) = self.get(name)? else { return Ok(None) };
        let from = template.manifest.uid_base;
        if from == CANONICAL_UID_BASE {
            return Ok(Some(template));
        }
        let started = std::time::Instant::now();
        let stats = shift_tree(&template.rootfs, from, CANONICAL_UID_BASE).await?;
        template.manifest.uid_base = CANONICAL_UID_BASE;
        let path = self.layout.template_manifest(name);
        template.manifest.write(&path).map_err(|source| TemplateError::Manifest { name: name.to_owned(), source })?;
        tracing::info!(
            template = name,
            from,
            inodes = stats.shifted,
            elapsed = ?started.elapsed(),
            "shifted a template of an older agent back to canonical ownership"
        );
        Ok(Some(template))
    }

    /// Builds base template `name` again and replaces the one on disk (its
    /// parent is reused as it is).
    pub async fn rebuild(&self, name: &str, progress: &ProgressFn<'_>) -> Result<Template, TemplateError> {
        check_name(name)?;
        let base = base_template(name).ok_or_else(|| TemplateError::Unknown { name: name.to_owned() })?;
        if let Some(parent) = base.parent {
            self.ensure(parent, progress).await?;
        }
        let _guard = self.mutation.lock().await;
        self.build_locked(base, progress).await
    }

    /// Every complete template on disk, by name. Directories without a
    /// readable manifest (foreign or damaged) are skipped with a warning.
    pub fn list(&self) -> Result<Vec<Template>, TemplateError> {
        let dir = self.layout.templates_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(TemplateError::Io { path: dir, source }),
        };
        let mut templates = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| TemplateError::Io { path: dir.clone(), source })?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if check_name(&name).is_err() {
                continue;
            }
            match self.get(&name) {
                Ok(Some(template)) => templates.push(template),
                Ok(None) => {}
                Err(error) => tracing::warn!(template = name, error = &error as &dyn std::error::Error, "skipped"),
            }
        }
        templates.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(templates)
    }

    /// Removes template `name`. Nothing checks that no capsule uses it (there
    /// is no capsule tracking yet): the caller must. Deleting `minimal` does
    /// not affect `python`, which holds its own full copy.
    pub async fn delete(&self, name: &str) -> Result<(), TemplateError> {
        check_name(name)?;
        let _guard = self.mutation.lock().await;
        let dir = self.layout.template_dir(name);
        if !dir.exists() {
            return Err(TemplateError::NotFound { name: name.to_owned() });
        }
        build::discard(&self.layout, &dir).await
    }

    /// Replaces `/usr/local/bin/envd` in template `name` with the store's
    /// envd binary, without a rebuild. Running capsules keep the envd they
    /// started with; new ones get the new binary.
    pub async fn refresh_envd(&self, name: &str) -> Result<Template, TemplateError> {
        let _guard = self.mutation.lock().await;
        let mut template =
            self.open_locked(name).await?.ok_or_else(|| TemplateError::NotFound { name: name.to_owned() })?;
        self.seal()?;
        let envd_sha256 = build::inject_envd(&template.rootfs, &self.options)
            .await
            .map_err(|source| TemplateError::Step { name: name.to_owned(), step: "envd injection", source })?;
        template.manifest.envd_sha256 = envd_sha256;
        template.manifest.size_bytes = tree_size(&template.rootfs).await?;
        let path = self.layout.template_manifest(name);
        template.manifest.write(&path).map_err(|source| TemplateError::Manifest { name: name.to_owned(), source })?;
        Ok(template)
    }

    async fn build_locked(&self, base: &BaseTemplate, progress: &ProgressFn<'_>) -> Result<Template, TemplateError> {
        self.seal()?;
        let mirror = match &self.options.mirror {
            Some(mirror) => mirror.clone(),
            None => mirror::read_apt_mirror(Path::new("/etc/apt"), SUITE)
                .map_err(TemplateError::AptSources)?
                .ok_or(TemplateError::NoMirror { suite: SUITE })?,
        };
        build::build(&self.layout, &self.options, &mirror, base, progress).await?;
        self.get(base.name)?.ok_or_else(|| TemplateError::NotFound { name: base.name.to_owned() })
    }
}

/// Template names become directory names: lowercase ASCII letters, digits,
/// `-` and `_`, starting with a letter or digit, at most 64 bytes.
fn check_name(name: &str) -> Result<(), TemplateError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if valid { Ok(()) } else { Err(TemplateError::InvalidName { name: name.to_owned() }) }
}

/// Moves the owners of everything under `rootfs` from the uid range at
/// `from` to the one at `to` (blocking walk, on the blocking pool).
async fn shift_tree(rootfs: &Path, from: u32, to: u32) -> Result<ownership::ShiftStats, TemplateError> {
    let rootfs = rootfs.to_owned();
    tokio::task::spawn_blocking(move || ownership::shift_tree(&rootfs, from, to))
        .await
        .expect("the shift walk does not panic")
        .map_err(|e| TemplateError::Io { path: e.path, source: e.source })
}

async fn tree_size(rootfs: &Path) -> Result<u64, TemplateError> {
    let rootfs = rootfs.to_owned();
    tokio::task::spawn_blocking(move || ownership::tree_size(&rootfs))
        .await
        .expect("the size walk does not panic")
        .map_err(|e| TemplateError::Io { path: e.path, source: e.source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(data_dir: &Path) -> TemplateStore {
        let options = TemplateStoreOptions { envd_binary: "/nonexistent".into(), mirror: None };
        TemplateStore::new(Layout::new(data_dir), options)
    }

    #[test]
    fn names_are_checked() {
        for name in ["minimal", "python", "my-tpl_2", "0abc"] {
            assert!(check_name(name).is_ok(), "{name}");
        }
        for name in ["", ".staging", "-x", "a/b", "..", "Upper", &"a".repeat(65)] {
            assert!(check_name(name).is_err(), "{name}");
        }
    }

    #[tokio::test]
    async fn only_complete_templates_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        assert!(store.list().unwrap().is_empty());
        let layout = Layout::new(dir.path());
        // A half-built template (crash mid-build) and one without a manifest.
        std::fs::create_dir_all(layout.template_staging_rootfs("minimal")).unwrap();
        std::fs::create_dir_all(layout.template_rootfs("broken")).unwrap();
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            name: "custom".into(),
            created_at: 0,
            suite: SUITE.into(),
            parent: None,
            packages: vec![],
            envd_sha256: String::new(),
            size_bytes: 0,
            // Written by an older agent: shifted (its empty rootfs has nothing to move).
            uid_base: 100_000,
        };
        std::fs::create_dir_all(layout.template_rootfs("custom")).unwrap();
        manifest.write(&layout.template_manifest("custom")).unwrap();
        let names: Vec<String> = store.list().unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["custom"]);
        assert!(store.get("minimal").unwrap().is_none());

        assert_eq!(store.get("custom").unwrap().unwrap().manifest.uid_base, 100_000);

        let progress = |_: BuildProgress| {};
        assert!(matches!(store.ensure("nope", &progress).await, Err(TemplateError::Unknown { .. })));
        let custom = store.ensure("custom", &progress).await.unwrap();
        assert_eq!((custom.name.as_str(), custom.manifest.uid_base), ("custom", CANONICAL_UID_BASE));
        assert_eq!(store.get("custom").unwrap().unwrap().manifest.uid_base, CANONICAL_UID_BASE);
        assert!(store.open("missing").await.unwrap().is_none());
        store.delete("custom").await.unwrap();
        assert!(matches!(store.delete("custom").await, Err(TemplateError::NotFound { .. })));
        assert!(store.list().unwrap().is_empty());
    }
}
