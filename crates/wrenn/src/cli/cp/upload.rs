//! `wrenn cp` from this machine into a capsule: walk the local sources
//! into a plan (directories to make, files to send, things skipped), make
//! the directories, stream the files, several at once, then give files
//! their local permission bits. The file API has no chmod, so that last
//! step runs `chmod` in the capsule, once per mode and batch of paths, for
//! the files whose mode is not the usual `0644` (scripts, private files).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use wrenn_client::{ExecRequest, Files};

use crate::cli::CliError;
use crate::cli::context::Context;
use crate::cli::cp::{Counted, Placement, Progress, RemotePath, join_remote, placement, remote_state, shown};

/// The mode a new file gets in a capsule anyway (umask 022); others are
/// set with `chmod` after the upload.
const DEFAULT_FILE_MODE: u32 = 0o644;
/// Most bytes of paths given to one `chmod`, well under `ARG_MAX`.
const CHMOD_BATCH_BYTES: usize = 64 * 1024;
/// Longest one `chmod` may take.
const CHMOD_TIMEOUT_SEC: u64 = 60;

/// One file to send.
#[derive(Debug)]
struct Outgoing {
    local: PathBuf,
    remote: String,
    size: u64,
    /// Its permission bits here.
    mode: u32,
}

/// Everything one upload does, decided before anything is sent.
#[derive(Debug, Default)]
struct Plan {
    /// Directories without subdirectories: making them (`mkdir -p`) makes
    /// every directory of the tree, empty ones included.
    leaf_dirs: Vec<String>,
    files: Vec<Outgoing>,
    /// Warnings about what is not copied.
    skipped: Vec<String>,
    bytes: u64,
}

impl Plan {
    /// Adds the tree under `local` (a directory, followed if a link) as `remote`.
    fn add_tree(&mut self, local: &Path, remote: String) -> Result<(), CliError> {
        let mut pending = vec![(local.to_path_buf(), remote)];
        while let Some((dir, remote_dir)) = pending.pop() {
            let read =
                std::fs::read_dir(&dir).map_err(|err| CliError::new(format!("cannot read {}: {err}", shown(&dir))))?;
            let mut children = read
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| CliError::new(format!("cannot read {}: {err}", shown(&dir))))?;
            children.sort_by_key(std::fs::DirEntry::file_name);
            let mut has_subdir = false;
            for child in children {
                let path = child.path();
                let Some(name) = child.file_name().to_str().map(str::to_owned) else {
                    self.skipped
                        .push(format!("skipping {}: its name is not UTF-8, which the API cannot carry", shown(&path)));
                    continue;
                };
                let kind =
                    child.file_type().map_err(|err| CliError::new(format!("cannot stat {}: {err}", shown(&path))))?;
                if kind.is_dir() {
                    has_subdir = true;
                    pending.push((path, join_remote(&remote_dir, &name)));
                } else if kind.is_file() {
                    let meta = child
                        .metadata()
                        .map_err(|err| CliError::new(format!("cannot stat {}: {err}", shown(&path))))?;
                    let mode = meta.permissions().mode() & 0o777;
                    self.add_file(path, join_remote(&remote_dir, &name), meta.len(), mode);
                } else if kind.is_symlink() {
                    self.skipped.push(format!("skipping symlink {}", shown(&path)));
                } else {
                    self.skipped.push(format!("skipping {}: not a regular file or directory", shown(&path)));
                }
            }
            if !has_subdir {
                self.leaf_dirs.push(remote_dir);
            }
        }
        Ok(())
    }

    fn add_file(&mut self, local: PathBuf, remote: String, size: u64, mode: u32) {
        self.bytes += size;
        self.files.push(Outgoing { local, remote, size, mode });
    }
}

/// A local source and what it is (a symlink named here is followed).
#[derive(Debug)]
struct Source {
    path: PathBuf,
    is_dir: bool,
    size: u64,
    mode: u32,
}

pub(super) async fn run(
    ctx: &Context,
    sources: &[PathBuf],
    dest: &RemotePath,
    jobs: usize,
) -> Result<Arc<Progress>, CliError> {
    let mut found = Vec::with_capacity(sources.len());
    for path in sources {
        let meta =
            std::fs::metadata(path).map_err(|err| CliError::new(format!("cannot copy {}: {err}", shown(path))))?;
        found.push(Source {
            path: path.clone(),
            is_dir: meta.is_dir(),
            size: meta.len(),
            mode: meta.permissions().mode() & 0o777,
        });
    }
    // A clear "capsule not found" before any file call.
    ctx.client.capsules().get(&dest.capsule).await?;
    let files = ctx.client.files(&dest.capsule);
    let state = remote_state(&files, &dest.path).await?;
    let trailing_slash = dest.path.ends_with('/');
    let several = found.len() > 1;
    let mut targets = Vec::with_capacity(found.len());
    for source in found {
        let placed = placement(state, trailing_slash, source.is_dir, several)
            .map_err(|why| CliError::new(format!("{dest} {why}")))?;
        let target = match (placed, source.path.file_name()) {
            (Placement::Inside, Some(name)) => {
                let name = name.to_str().ok_or_else(|| {
                    CliError::new(format!("{}: its name is not UTF-8, which the API cannot carry", shown(&source.path)))
                })?;
                join_remote(&dest.path, name)
            }
            _ => dest.path.clone(),
        };
        targets.push((source, target));
    }
    let plan = tokio::task::spawn_blocking(move || {
        let mut plan = Plan::default();
        for (source, target) in targets {
            if source.is_dir {
                plan.add_tree(&source.path, target)?;
            } else {
                plan.add_file(source.path, target, source.size, source.mode);
            }
        }
        Ok::<_, CliError>(plan)
    })
    .await
    .map_err(|err| CliError::new(format!("walking the sources failed: {err}")))??;

    let progress = Progress::new(ctx.out.bytes_bar(plan.bytes, format!("uploading to {}", dest.capsule)));
    for warning in &plan.skipped {
        progress.warn(warning);
    }
    futures::stream::iter(plan.leaf_dirs.iter().map(Ok))
        .try_for_each_concurrent(jobs, |dir| {
            let files = &files;
            async move {
                files.mkdir(dir).await.map(drop).map_err(|err| {
                    CliError::new(format!("cannot make {}:{dir}: {}", dest.capsule, CliError::from(err).message()))
                })
            }
        })
        .await?;
    let modes = chmod_batches(plan.files.iter().map(|file| (file.remote.as_str(), file.mode)));
    futures::stream::iter(plan.files)
        .map(Ok)
        .try_for_each_concurrent(jobs, |file| send(&files, file, &dest.capsule, &progress))
        .await?;
    for batch in modes {
        let failure = match ctx.client.commands(&dest.capsule).run(&batch).await {
            Ok(output) if output.exit_code == 0 => continue,
            Ok(output) => output.stderr_lossy().trim().to_owned(),
            Err(err) => CliError::from(err).message().to_owned(),
        };
        // The bytes are all there; only modes are missing.
        progress.warn(&format!("copied, but could not set file modes in {}: {failure}", dest.capsule));
        break;
    }
    Ok(progress)
}

/// The `chmod` runs that give files their modes, for the files whose mode
/// is not the default: one per mode and batch of paths. Paths under `~`
/// run from the home directory, because no shell expands the `~`.
fn chmod_batches<'a>(files: impl Iterator<Item = (&'a str, u32)>) -> Vec<ExecRequest> {
    let mut by_mode: BTreeMap<(u32, bool), Vec<&str>> = BTreeMap::new();
    for (path, mode) in files.filter(|(_, mode)| *mode != DEFAULT_FILE_MODE) {
        match path.strip_prefix("~/") {
            Some(in_home) => by_mode.entry((mode, true)).or_default().push(in_home),
            None => by_mode.entry((mode, false)).or_default().push(path),
        }
    }
    let mut runs = Vec::new();
    for ((mode, in_home), paths) in by_mode {
        let mut batches: Vec<Vec<String>> = vec![Vec::new()];
        let mut bytes = 0;
        for path in paths {
            if bytes + path.len() > CHMOD_BATCH_BYTES && batches.last().is_some_and(|batch| !batch.is_empty()) {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += path.len() + 1;
            if let Some(batch) = batches.last_mut() {
                batch.push(path.to_owned());
            }
        }
        for batch in batches.into_iter().filter(|batch| !batch.is_empty()) {
            let args = [format!("{mode:o}"), "--".to_owned()].into_iter().chain(batch);
            let run = ExecRequest::new("chmod", args).timeout_sec(CHMOD_TIMEOUT_SEC);
            runs.push(if in_home { run.cwd("~") } else { run });
        }
    }
    runs
}

async fn send(files: &Files<'_>, file: Outgoing, capsule: &str, progress: &Arc<Progress>) -> Result<(), CliError> {
    let failed = |why: String| {
        CliError::new(format!("cannot upload {} to {capsule}:{}: {why}", shown(&file.local), file.remote))
    };
    let local = tokio::fs::File::open(&file.local).await.map_err(|err| failed(err.to_string()))?;
    let reader = Counted::new(local, Arc::clone(progress));
    files.upload(&file.remote, reader).await.map_err(|err| failed(CliError::from(err).message().to_owned()))?;
    tracing::debug!(local = %shown(&file.local), remote = file.remote, size = file.size, "uploaded");
    progress.file_done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_becomes_leaf_directories_and_files_and_links_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("a/one"), "1").unwrap();
        std::fs::write(root.join("a/b/two words"), "22").unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("link")).unwrap();
        let mut plan = Plan::default();
        plan.add_tree(root, "/t".into()).unwrap();
        let mut leaves = plan.leaf_dirs.clone();
        leaves.sort();
        assert_eq!(leaves, ["/t/a/b/c", "/t/empty"]);
        let mut sent: Vec<(&str, u64)> = plan.files.iter().map(|file| (file.remote.as_str(), file.size)).collect();
        sent.sort();
        assert_eq!(sent, [("/t/a/b/two words", 2), ("/t/a/one", 1)]);
        assert_eq!(plan.bytes, 3);
        assert_eq!(plan.skipped.len(), 1);
        assert!(plan.skipped[0].contains("symlink"), "{:?}", plan.skipped);
        for file in &plan.files {
            assert_eq!(file.mode, std::fs::metadata(&file.local).unwrap().permissions().mode() & 0o777);
        }

        let mut empty = Plan::default();
        empty.add_tree(&root.join("empty"), "/e".into()).unwrap();
        assert_eq!(empty.leaf_dirs, ["/e"], "an empty source directory is still made");
    }

    #[test]
    fn only_unusual_modes_are_set_grouped_and_batched() {
        let long = format!("/w/{}", "x".repeat(CHMOD_BATCH_BYTES / 2));
        let files = [
            ("/w/a.txt", 0o644),
            ("/w/run.sh", 0o755),
            ("~/bin/tool", 0o755),
            ("/w/secret", 0o600),
            (long.as_str(), 0o755),
            (long.as_str(), 0o755),
        ];
        let runs: Vec<(Vec<String>, Option<String>)> =
            chmod_batches(files.into_iter()).into_iter().map(|run| (run.args, run.cwd)).collect();
        let shape: Vec<(&str, usize, Option<&str>)> =
            runs.iter().map(|(args, cwd)| (args[0].as_str(), args.len() - 2, cwd.as_deref())).collect();
        assert_eq!(shape, [("600", 1, None), ("755", 2, None), ("755", 1, None), ("755", 1, Some("~"))]);
        assert_eq!(runs[1].0[1..3], ["--".to_owned(), "/w/run.sh".to_owned()]);
        assert_eq!(runs[3].0[2], "bin/tool");
        assert!(runs.iter().all(|run| run.0.len() > 2));
        assert!(chmod_batches([("/w/a", 0o644)].into_iter()).is_empty());
    }
}
