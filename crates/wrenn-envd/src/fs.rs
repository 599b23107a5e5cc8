//! Filesystem operations behind the `filesystem.Filesystem` service.
//!
//! Every operation runs on a blocking thread with the acting user's file
//! credentials (`sys::as_user`), so the kernel enforces that user's
//! permissions and anything created belongs to that user. This module speaks
//! in paths, `Entry` values and `FsError`; the wire types stay in `rpc`.
//! Paths arrive already resolved against home and workdir (`paths.rs`).
//!
//! Deliberately not here: upload and download of file contents (`/files`).

mod entry;
mod ops;
pub(crate) mod watch;

use std::io;
use std::path::PathBuf;

pub(crate) use entry::{Entry, EntryKind};
pub(crate) use ops::{list_dir, make_dir, remove, rename, stat};

use crate::sys::as_user::{AsUserError, run_as};
use crate::users::Identity;

/// Most entries one `ListDir` returns; beyond that the caller must narrow
/// the depth. Each entry costs a few hundred bytes on the wire.
pub(crate) const MAX_LIST_ENTRIES: usize = 100_000;
/// Longest request path: Linux's `PATH_MAX`.
pub(crate) const MAX_PATH_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub(crate) enum FsError {
    #[error("path contains a NUL byte")]
    NulInPath,
    #[error("path is {len} bytes long; at most {MAX_PATH_BYTES} are allowed")]
    PathTooLong { len: usize },
    #[error("cannot {op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("directory {} already exists", path.display())]
    DirectoryExists { path: PathBuf },
    #[error("{} already exists and is not a directory", path.display())]
    ExistsAsFile { path: PathBuf },
    #[error("cannot move {} to {}", from.display(), to.display())]
    Move {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot move {} to {}: they are on different filesystems", from.display(), to.display())]
    CrossDevice { from: PathBuf, to: PathBuf },
    #[error("{} has more than {limit} entries within the requested depth; list it with a smaller depth", path.display())]
    TooManyEntries { path: PathBuf, limit: usize },
    #[error(
        "{} is on a network filesystem, where change notifications are unreliable; set allow_network_mounts to watch it anyway",
        path.display()
    )]
    NetworkMount { path: PathBuf },
    #[error("watching {} recursively needs more than {limit} directory watches", path.display())]
    TooManyWatches { path: PathBuf, limit: usize },
    #[error("cannot create a watcher")]
    WatcherInstance(#[source] io::Error),
    #[error("too many watchers are active (at most {limit})")]
    TooManyWatchers { limit: usize },
    #[error("cannot act as user {user:?}")]
    AsUser {
        user: String,
        #[source]
        source: AsUserError,
    },
}

impl FsError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> FsError {
        FsError::Io { op, path: path.into(), source }
    }
}

/// Rejects request paths the kernel could never accept, with a clearer
/// message than `EINVAL` or `ENAMETOOLONG` would give, and without echoing
/// megabytes of path back.
pub(crate) fn check_path(raw: &str) -> Result<(), FsError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(FsError::PathTooLong { len: raw.len() });
    }
    if raw.contains('\0') {
        return Err(FsError::NulInPath);
    }
    Ok(())
}

/// Runs filesystem work as `identity` (see `sys::as_user`).
async fn as_user<T, F>(identity: &Identity, work: F) -> Result<T, FsError>
where
    F: FnOnce() -> Result<T, FsError> + Send + 'static,
    T: Send + 'static,
{
    run_as(identity, work).await.map_err(|source| FsError::AsUser { user: identity.name.clone(), source })?
}
