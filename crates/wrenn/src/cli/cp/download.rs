//! `wrenn cp` from a capsule to this machine: list each remote source
//! (a whole tree in one call), plan the local directories and files, make
//! the directories, then stream the files, several at once, each into a
//! temporary name renamed into place when complete. A temporary file is
//! removed by a guard whenever its transfer ends without the rename: an
//! error, another transfer's error (which drops the rest), or Ctrl-C.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;
use wrenn_client::{FileEntry, FileKind};

use crate::cli::CliError;
use crate::cli::context::Context;
use crate::cli::cp::{DestState, Placement, Progress, RemotePath, is_not_a_directory, placement, shown, source_name};

/// Deepest listing asked for (the capsule caps it there too).
const MAX_DEPTH: u32 = 2048;
/// Bytes gathered before each write to a local file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// One file to fetch.
#[derive(Debug)]
struct Incoming {
    capsule: String,
    /// The absolute path the capsule listed (or the user's, for a file source).
    remote: String,
    local: PathBuf,
    executable: bool,
}

/// Everything one download does, decided before a byte moves.
#[derive(Debug, Default)]
struct Plan {
    dirs: BTreeSet<PathBuf>,
    files: Vec<Incoming>,
    skipped: Vec<String>,
    bytes: u64,
}

/// What a remote source turned out to be.
#[derive(Debug)]
enum Found {
    File { size: u64, executable: bool },
    Tree(Vec<FileEntry>),
}

impl Plan {
    /// Adds a listed tree whose root lands at `target`.
    fn add_tree(&mut self, source: &RemotePath, target: &Path, entries: Vec<FileEntry>) -> Result<(), CliError> {
        self.dirs.insert(target.to_path_buf());
        let root = listing_root(&entries);
        for entry in entries {
            let relative = relative_to(root.as_deref(), &entry.path).ok_or_else(|| {
                CliError::new(format!(
                    "{source}: the capsule listed {:?}, which is not inside the directory",
                    entry.path
                ))
            })?;
            let local = target.join(&relative);
            match entry.kind {
                FileKind::Directory => {
                    self.dirs.insert(local);
                }
                FileKind::File => {
                    self.bytes += entry.size;
                    self.files.push(Incoming {
                        capsule: source.capsule.clone(),
                        remote: entry.path,
                        local,
                        executable: entry.mode & 0o111 != 0,
                    });
                }
                FileKind::Symlink => self.skipped.push(format!("skipping symlink {}:{}", source.capsule, entry.path)),
                FileKind::Other => {
                    self.skipped
                        .push(format!("skipping {}:{}: not a regular file or directory", source.capsule, entry.path));
                }
            }
        }
        Ok(())
    }
}

/// The directory a listing is of: the parent of its shallowest entry (the
/// capsule reports paths as it resolved them, e.g. `~` expanded).
fn listing_root(entries: &[FileEntry]) -> Option<PathBuf> {
    let shallowest = entries.iter().min_by_key(|entry| Path::new(&entry.path).components().count())?;
    Path::new(&shallowest.path).parent().map(Path::to_path_buf)
}

/// `path` below `root`, only if it is plainly inside (no `..`, not absolute).
fn relative_to(root: Option<&Path>, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path).strip_prefix(root?).ok()?;
    let plain = relative.components().all(|component| matches!(component, Component::Normal(_)));
    (plain && relative.components().next().is_some()).then(|| relative.to_path_buf())
}

/// What is at a local destination (a symlink to a directory counts as one).
fn local_state(path: &Path) -> Result<DestState, CliError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(DestState::Directory),
        Ok(_) => Ok(DestState::File),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(DestState::Missing),
        Err(err) => Err(CliError::new(format!("cannot use {}: {err}", shown(path)))),
    }
}

/// Lists a source whole; a file answers "not a directory", and its size
/// and mode then come from its parent's listing.
async fn find(ctx: &Context, source: &RemotePath) -> Result<Found, CliError> {
    let files = ctx.client.files(&source.capsule);
    match files.list(&source.path, MAX_DEPTH).await {
        Ok(entries) => Ok(Found::Tree(entries)),
        Err(err) if err.is_not_found() => Err(CliError::new(format!("{source}: no such file or directory"))),
        Err(err) if is_not_a_directory(&err) => {
            // The size only feeds the progress bar: a failed lookup is no reason to stop.
            let entry = files.stat(&source.path).await.ok().flatten();
            let (size, executable) = entry.map_or((0, false), |entry| (entry.size, entry.mode & 0o111 != 0));
            Ok(Found::File { size, executable })
        }
        Err(err) => Err(err.into()),
    }
}

pub(super) async fn run(
    ctx: &Context,
    sources: &[RemotePath],
    dest: &Path,
    jobs: usize,
) -> Result<Arc<Progress>, CliError> {
    let capsules: BTreeSet<&str> = sources.iter().map(|source| source.capsule.as_str()).collect();
    for capsule in capsules {
        ctx.client.capsules().get(capsule).await?;
    }
    let state = local_state(dest)?;
    let trailing_slash = dest.as_os_str().as_bytes().ends_with(b"/");
    let several = sources.len() > 1;
    let mut plan = Plan::default();
    for source in sources {
        let found = find(ctx, source).await?;
        let is_dir = matches!(found, Found::Tree(_));
        let placed = placement(state, trailing_slash, is_dir, several)
            .map_err(|why| CliError::new(format!("{} {why}", shown(dest))))?;
        let target = match (placed, source_name(&source.path)) {
            (Placement::Inside, Some(name)) => dest.join(name),
            _ => dest.to_path_buf(),
        };
        match found {
            Found::Tree(entries) => plan.add_tree(source, &target, entries)?,
            Found::File { size, executable } => {
                if let Some(parent) = target.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                    plan.dirs.insert(parent.to_path_buf());
                }
                plan.bytes += size;
                plan.files.push(Incoming {
                    capsule: source.capsule.clone(),
                    remote: source.path.clone(),
                    local: target,
                    executable,
                });
            }
        }
    }

    let progress = Progress::new(ctx.out.bytes_bar(plan.bytes, "downloading"));
    for warning in &plan.skipped {
        progress.warn(warning);
    }
    for dir in &plan.dirs {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|err| CliError::new(format!("cannot make directory {}: {err}", shown(dir))))?;
    }
    futures::stream::iter(plan.files.into_iter().enumerate())
        .map(Ok)
        .try_for_each_concurrent(jobs, |(index, file)| fetch(ctx, file, index, &progress))
        .await?;
    Ok(progress)
}

/// Streams one file into a temporary name next to its place, then renames
/// it there; a failure, or dropping this future, removes the temporary file. A destination that is
/// not a regular file (`/dev/null`, a FIFO, a symlink) is written through
/// in place instead, as `cp` does, rather than replaced.
async fn fetch(ctx: &Context, file: Incoming, index: usize, progress: &Progress) -> Result<(), CliError> {
    let failed = |why: String| {
        CliError::new(format!("cannot download {}:{} to {}: {why}", file.capsule, file.remote, shown(&file.local)))
    };
    let files = ctx.client.files(&file.capsule);
    let mut chunks =
        files.download(&file.remote).await.map_err(|err| failed(CliError::from(err).message().to_owned()))?;
    let in_place = writes_in_place(&file.local);
    let (target, mut partial) = if in_place {
        (file.local.clone(), None)
    } else {
        let temporary = file.local.with_file_name(format!(".wrenn-partial-{}-{index}", std::process::id()));
        (temporary.clone(), Some(Partial::new(temporary)))
    };
    let created = if in_place {
        // A FIFO's open blocks until a reader comes: not on this thread.
        tokio::fs::File::create(&target).await
    } else {
        // A new name: created here, not on a blocking thread, since a
        // create still running when this future is dropped would make the
        // file after the guard's cleanup.
        std::fs::File::create(&target).map(tokio::fs::File::from_std)
    };
    let created = created.map_err(|err| failed(err.to_string()))?;
    // Chunks arrive small; each write of a tokio file is a hop to a
    // blocking thread, so they are gathered first.
    let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, created);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| failed(CliError::from(err).message().to_owned()))?;
        out.write_all(&chunk).await.map_err(|err| failed(err.to_string()))?;
        progress.moved(chunk.len() as u64);
    }
    out.flush().await.map_err(|err| failed(err.to_string()))?;
    if let Some(partial) = partial.as_mut() {
        let out = out.into_inner();
        if file.executable {
            let mode = out.metadata().await.map_err(|err| failed(err.to_string()))?.permissions().mode();
            let permissions = std::fs::Permissions::from_mode(with_execute(mode));
            tokio::fs::set_permissions(&target, permissions).await.map_err(|err| failed(err.to_string()))?;
        }
        drop(out);
        tokio::fs::rename(&target, &file.local).await.map_err(|err| failed(err.to_string()))?;
        partial.renamed();
    }
    progress.file_done();
    Ok(())
}

/// A temporary download file, removed when dropped unless it was renamed
/// into place: a failed, abandoned or interrupted transfer leaves nothing.
#[derive(Debug)]
struct Partial {
    path: Option<PathBuf>,
}

impl Partial {
    fn new(path: PathBuf) -> Partial {
        Partial { path: Some(path) }
    }

    /// The file is in place under its real name: nothing to remove.
    fn renamed(&mut self) {
        self.path = None;
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Removing a small name is quick; this runs where no `.await`
            // can (a dropped future). It may already be gone.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether a download to `path` must write through what is there instead
/// of renaming a new file over it: anything but a regular file or nothing.
fn writes_in_place(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| !meta.file_type().is_file())
}

/// Adds execute wherever read is allowed (so the umask still applies), as
/// git does for executable files.
fn with_execute(mode: u32) -> u32 {
    mode | ((mode & 0o444) >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: FileKind, size: u64, mode: u32) -> FileEntry {
        FileEntry {
            name: path.rsplit('/').next().unwrap().into(),
            path: path.into(),
            kind,
            size,
            mode,
            ..FileEntry::default()
        }
    }

    #[test]
    fn a_listing_maps_onto_the_target() {
        let source = RemotePath { capsule: "cl-1".into(), path: "~/t".into() };
        let entries = vec![
            entry("/home/user/t/a", FileKind::Directory, 4096, 0o755),
            entry("/home/user/t/a/run.sh", FileKind::File, 10, 0o755),
            entry("/home/user/t/a/b c", FileKind::File, 5, 0o644),
            entry("/home/user/t/empty", FileKind::Directory, 4096, 0o755),
            entry("/home/user/t/link", FileKind::Symlink, 7, 0o777),
        ];
        let mut plan = Plan::default();
        plan.add_tree(&source, Path::new("back"), entries).unwrap();
        let dirs: Vec<&Path> = plan.dirs.iter().map(PathBuf::as_path).collect();
        assert_eq!(dirs, [Path::new("back"), Path::new("back/a"), Path::new("back/empty")]);
        let files: Vec<(&str, &Path, bool)> =
            plan.files.iter().map(|file| (file.remote.as_str(), file.local.as_path(), file.executable)).collect();
        assert_eq!(
            files,
            [
                ("/home/user/t/a/run.sh", Path::new("back/a/run.sh"), true),
                ("/home/user/t/a/b c", Path::new("back/a/b c"), false)
            ]
        );
        assert_eq!(plan.bytes, 15);
        assert_eq!(plan.skipped, ["skipping symlink cl-1:/home/user/t/link"]);

        let mut empty = Plan::default();
        empty.add_tree(&source, Path::new("e"), Vec::new()).unwrap();
        assert_eq!(empty.dirs.len(), 1, "an empty directory is still made");
    }

    #[test]
    fn entries_outside_the_listed_directory_are_refused() {
        let source = RemotePath { capsule: "cl-1".into(), path: "/t".into() };
        for bad in ["/t/../etc/passwd", "/elsewhere/x/y"] {
            let entries = vec![entry("/t/a", FileKind::File, 1, 0o644), entry(bad, FileKind::File, 1, 0o644)];
            assert!(Plan::default().add_tree(&source, Path::new("d"), entries).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_regular_files_and_new_names_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        std::os::unix::fs::symlink(&file, dir.path().join("link")).unwrap();
        assert!(!writes_in_place(&dir.path().join("new")));
        assert!(!writes_in_place(&file));
        assert!(writes_in_place(&dir.path().join("link")));
        assert!(writes_in_place(Path::new("/dev/null")));
    }

    #[test]
    fn a_partial_file_is_removed_unless_renamed() {
        let dir = tempfile::tempdir().unwrap();
        let abandoned = dir.path().join(".wrenn-partial-1-0");
        std::fs::write(&abandoned, "half").unwrap();
        drop(Partial::new(abandoned.clone()));
        assert!(!abandoned.exists());

        let kept = dir.path().join("file");
        std::fs::write(&kept, "whole").unwrap();
        let mut renamed = Partial::new(kept.clone());
        renamed.renamed();
        drop(renamed);
        assert!(kept.exists());
        // Gone already (renamed by someone else, say): no complaint.
        drop(Partial::new(dir.path().join("never-made")));
    }

    #[tokio::test]
    async fn a_transfer_dropped_mid_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".wrenn-partial-1-1");
        let started = tokio::sync::Notify::new();
        let transfer = async {
            let _partial = Partial::new(path.clone());
            let mut out = tokio::fs::File::from_std(std::fs::File::create(&path).unwrap());
            out.write_all(b"first chunk").await.unwrap();
            out.flush().await.unwrap();
            started.notify_one();
            // The next chunk never comes.
            std::future::pending::<()>().await;
        };
        tokio::select! {
            () = transfer => unreachable!(),
            () = started.notified() => {}
        }
        assert!(!path.exists(), "the dropped transfer's guard removed its file");
    }

    #[test]
    fn execute_follows_read() {
        assert_eq!(with_execute(0o644), 0o755);
        assert_eq!(with_execute(0o600), 0o700);
        assert_eq!(with_execute(0o640), 0o750);
    }
}
