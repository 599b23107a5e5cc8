//! Templates made from something other than a base build: a capsule's disk
//! (`capsule` snapshots) today.
//!
//! The caller fills a staging root filesystem; the store does the rest the
//! way a build does (manifest written last, renamed into place), so a crash
//! mid-import leaves nothing that looks like a template. The copied files
//! are owned by the source capsule's host uid range (that is how the host
//! sees a capsule's root); the store shifts them to canonical ownership
//! before publishing, so any capsule can start from the result.

use std::error::Error;
use std::future::Future;
use std::path::PathBuf;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::template::build;
use crate::template::manifest::{CANONICAL_UID_BASE, MANIFEST_FORMAT, Manifest};
use crate::template::{SUITE, Template, TemplateError, TemplateStore, check_name, shift_tree, tree_size};

impl TemplateStore {
    /// Publishes template `name` from a root filesystem that `fill` writes
    /// into the (empty, existing) directory it is given. `parent` is the
    /// template it derives from; its suite and packages are carried over.
    /// `uid_base` is the host uid of root in the capsule the files come
    /// from: ids in its range become canonical (`uid_base + n` → `n`).
    /// Refuses a name that already exists.
    pub async fn import<F, Fut>(
        &self,
        name: &str,
        parent: &str,
        uid_base: u32,
        fill: F,
    ) -> Result<Template, TemplateError>
    where
        F: FnOnce(PathBuf) -> Fut,
        Fut: Future<Output = Result<(), Box<dyn Error + Send + Sync>>>,
    {
        check_name(name)?;
        let parent_manifest = self.get(parent)?.map(|template| template.manifest);
        let _guard = self.mutation.lock().await;
        if self.layout.template_dir(name).exists() {
            return Err(TemplateError::AlreadyExists { name: name.to_owned() });
        }
        self.seal()?;
        let staging = self.layout.template_staging_dir(name);
        build::remove_dir_if_present(&staging).await?;
        let result = self.import_locked(name, parent, parent_manifest, uid_base, fill).await;
        if result.is_err() {
            let _ = build::remove_dir_if_present(&staging).await;
        }
        result
    }

    async fn import_locked<F, Fut>(
        &self,
        name: &str,
        parent: &str,
        parent_manifest: Option<Manifest>,
        uid_base: u32,
        fill: F,
    ) -> Result<Template, TemplateError>
    where
        F: FnOnce(PathBuf) -> Fut,
        Fut: Future<Output = Result<(), Box<dyn Error + Send + Sync>>>,
    {
        let staging = self.layout.template_staging_dir(name);
        let rootfs = self.layout.template_staging_rootfs(name);
        std::fs::create_dir_all(&rootfs).map_err(|source| TemplateError::Io { path: rootfs.clone(), source })?;
        fill(rootfs.clone()).await.map_err(|source| TemplateError::Step {
            name: name.to_owned(),
            step: "filling the root filesystem",
            source,
        })?;
        shift_tree(&rootfs, uid_base, CANONICAL_UID_BASE).await?;
        let envd = rootfs.join("usr/local/bin/envd");
        let envd_sha256 = match tokio::fs::read(&envd).await {
            Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
            Err(source) => return Err(TemplateError::Io { path: envd, source }),
        };
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            name: name.to_owned(),
            created_at: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            suite: parent_manifest.as_ref().map_or_else(|| SUITE.to_owned(), |m| m.suite.clone()),
            parent: Some(parent.to_owned()),
            packages: parent_manifest.map(|m| m.packages).unwrap_or_default(),
            envd_sha256,
            size_bytes: tree_size(&rootfs).await?,
            uid_base: CANONICAL_UID_BASE,
        };
        manifest
            .write(&self.layout.template_staging_manifest(name))
            .map_err(|source| TemplateError::Manifest { name: name.to_owned(), source })?;
        build::publish(&self.layout, name, &staging).await?;
        self.get(name)?.ok_or_else(|| TemplateError::NotFound { name: name.to_owned() })
    }
}
