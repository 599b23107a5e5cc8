//! Writing one uploaded file as the acting user.
//!
//! Every system call that touches the file runs with the user's credentials
//! (`sys::as_user`): creating missing parent directories, opening, each
//! write, and the metadata. The kernel therefore applies that user's
//! permissions, quota and reserved-space rules, and whatever is created
//! belongs to that user.
//!
//! The file is written in place (`O_WRONLY|O_CREAT|O_TRUNC`), as E2B's envd
//! does, rather than into a temporary file renamed over the destination.
//! In place keeps what users of E2B rely on: a user who may write a file
//! but not its directory can still upload it, a symlink's target is written
//! rather than the link replaced, and an existing file keeps its inode, mode,
//! owner and hard links. The price is that a failed upload leaves a partial
//! file behind. To keep that visible and small: the request fails (no 200
//! with a path), the failure is logged, and a file that this upload created
//! is removed again; a file that already existed keeps the bytes written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::error_chain::ErrorChain;
use crate::http::files::FilesError;
use crate::http::files::headers::METADATA_XATTR_PREFIX;
use crate::sys::as_user;
use crate::sys::open::{Opened, open_for_write};
use crate::sys::xattr;
use crate::users::Identity;

/// Bytes collected from the body before one write: big enough that the
/// credential switch around each write costs nothing, small enough to keep
/// memory flat.
const WRITE_BATCH: usize = 1024 * 1024;

/// Where an uploaded file's bytes come from: a whole body or one part.
pub(crate) trait ChunkSource {
    /// The next piece of data, `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, FilesError>;
}

/// A file written by an upload.
#[derive(Debug)]
pub(crate) struct WrittenFile {
    pub(crate) path: PathBuf,
    /// The metadata stored on the file (empty if the filesystem has no
    /// extended attributes).
    pub(crate) metadata: BTreeMap<String, String>,
}

/// Writes everything `source` yields to `path` as `identity`, then replaces
/// the file's `user.e2b.*` metadata with `metadata`.
pub(crate) async fn write_file(
    identity: &Identity,
    path: &Path,
    source: &mut impl ChunkSource,
    metadata: &BTreeMap<String, String>,
) -> Result<WrittenFile, FilesError> {
    let (file, opened) = open(identity, path).await?;
    let file = Arc::new(file);
    let mut written = 0;
    if let Err(err) = copy(identity, path, &file, source, &mut written).await {
        let removed = opened == Opened::Created && remove_created(identity, path, &file).await;
        tracing::warn!(
            path = %path.display(),
            user = %identity.name,
            bytes_written = written,
            removed,
            error = %ErrorChain(&err),
            "upload failed midway"
        );
        return Err(err);
    }
    let metadata = write_metadata(identity, path, &file, metadata).await?;
    tracing::debug!(path = %path.display(), user = %identity.name, bytes = written, "file written");
    Ok(WrittenFile { path: path.to_path_buf(), metadata })
}

/// Why opening failed, with enough detail to pick a status.
enum OpenFailure {
    Parents(io::Error),
    Destination(io::Error),
    IsDirectory,
    NotRegularFile,
}

async fn open(identity: &Identity, path: &Path) -> Result<(File, Opened), FilesError> {
    let target = path.to_path_buf();
    let opened = as_user::run_as(identity, move || open_as_user(&target))
        .await
        .map_err(|source| FilesError::Switch { user: identity.name.clone(), source })?;
    opened.map_err(|failure| match failure {
        OpenFailure::IsDirectory => FilesError::IsDirectory { path: path.to_path_buf() },
        OpenFailure::NotRegularFile => FilesError::NotRegularFile { path: path.to_path_buf() },
        OpenFailure::Parents(err) => {
            let parent = path.parent().unwrap_or(path);
            FilesError::from_write_io(err, identity, "create the parent directories of", path, parent)
        }
        OpenFailure::Destination(err) => FilesError::from_write_io(err, identity, "open", path, path),
    })
}

/// Runs as the user: parents, type check, open.
fn open_as_user(path: &Path) -> Result<(File, Opened), OpenFailure> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(OpenFailure::Parents)?;
    }
    // Checked before opening for a clear error (opening a directory for
    // writing fails anyway, a FIFO without reader fails with ENXIO)...
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(OpenFailure::IsDirectory),
        Ok(meta) if !meta.is_file() => return Err(OpenFailure::NotRegularFile),
        _ => {}
    }
    let (file, opened) = open_for_write(path).map_err(OpenFailure::Destination)?;
    // ...and after, because the path may have been replaced in between.
    if !file.metadata().map_err(OpenFailure::Destination)?.is_file() {
        return Err(OpenFailure::NotRegularFile);
    }
    Ok((file, opened))
}

/// Streams `source` into `file` in batches; `written` counts what reached
/// the file, for the log when something fails.
async fn copy(
    identity: &Identity,
    path: &Path,
    file: &Arc<File>,
    source: &mut impl ChunkSource,
    written: &mut u64,
) -> Result<(), FilesError> {
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batch_len = 0;
    loop {
        let chunk = source.next_chunk().await?;
        let end = chunk.is_none();
        if let Some(chunk) = chunk {
            batch_len += chunk.len();
            batch.push(chunk);
        }
        if batch_len >= WRITE_BATCH || (end && batch_len > 0) {
            let chunks = std::mem::take(&mut batch);
            let file = Arc::clone(file);
            as_user::run_as(identity, move || chunks.iter().try_for_each(|chunk| (&*file).write_all(chunk)))
                .await
                .map_err(|source| FilesError::Switch { user: identity.name.clone(), source })?
                .map_err(|err| FilesError::from_write_io(err, identity, "write", path, path))?;
            *written += batch_len as u64;
            batch_len = 0;
        }
        if end {
            return Ok(());
        }
    }
}

/// Removes the file a failed upload created, unless the path names another
/// file by now. Says whether it did.
async fn remove_created(identity: &Identity, path: &Path, file: &Arc<File>) -> bool {
    let (target, file) = (path.to_path_buf(), Arc::clone(file));
    let removed = as_user::run_as(identity, move || -> io::Result<bool> {
        let ours = file.metadata()?;
        let there = std::fs::symlink_metadata(&target)?;
        if (ours.dev(), ours.ino()) != (there.dev(), there.ino()) {
            return Ok(false);
        }
        std::fs::remove_file(&target)?;
        Ok(true)
    })
    .await;
    match removed {
        Ok(Ok(removed)) => removed,
        Ok(Err(err)) => {
            tracing::warn!(path = %path.display(), error = %err, "cannot remove the incomplete upload");
            false
        }
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %ErrorChain(&err), "cannot remove the incomplete upload");
            false
        }
    }
}

/// Replaces the `user.e2b.*` attributes of the file with `metadata`, as E2B's
/// envd does on every upload (keys of an earlier upload that this one does
/// not name are removed). A filesystem without extended attributes is not an
/// error, as in E2B: the file is written, the metadata is not stored, and the
/// response says so by listing none.
async fn write_metadata(
    identity: &Identity,
    path: &Path,
    file: &Arc<File>,
    metadata: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, FilesError> {
    let (file, pairs) = (Arc::clone(file), metadata.clone());
    let result = as_user::run_as(identity, move || replace_metadata(&file, &pairs))
        .await
        .map_err(|source| FilesError::Switch { user: identity.name.clone(), source })?;
    match result {
        Ok(()) => Ok(metadata.clone()),
        Err(err) if xattr::is_unsupported(&err) => {
            tracing::warn!(path = %path.display(), "the filesystem has no extended attributes; metadata not stored");
            Ok(BTreeMap::new())
        }
        Err(err) if xattr::is_too_large(&err) => Err(FilesError::MetadataTooLarge { path: path.to_path_buf() }),
        Err(err) => Err(FilesError::from_write_io(err, identity, "store metadata on", path, path)),
    }
}

fn replace_metadata(file: &File, metadata: &BTreeMap<String, String>) -> io::Result<()> {
    let existing = match xattr::list(file) {
        Ok(names) => names,
        Err(err) if xattr::is_unsupported(&err) && metadata.is_empty() => return Ok(()),
        Err(err) => return Err(err),
    };
    for name in &existing {
        if name.strip_prefix(METADATA_XATTR_PREFIX).is_some_and(|key| !metadata.contains_key(key)) {
            xattr::remove(file, name)?;
        }
    }
    for (key, value) in metadata {
        xattr::set(file, &format!("{METADATA_XATTR_PREFIX}{key}"), value.as_bytes())?;
    }
    Ok(())
}
