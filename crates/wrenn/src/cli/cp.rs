//! `wrenn cp SRC... DEST`: copies files and directory trees between this
//! machine and a capsule, the way `cp -r` copies between directories. The
//! capsule side is written `CAPSULE:PATH` (`cl-abc:/work`, `cl-abc:~/x`;
//! `cl-abc:` alone is the capsule's working directory), and exactly one side
//! must be in a capsule.
//!
//! Where things land follows `cp -r`: a source copied to an existing
//! directory goes inside it under its own name; to a path that does not
//! exist it becomes that path (a trailing `/` on the destination makes a
//! single file go inside a new directory of that name); several sources
//! need an existing directory. Unlike `cp`, missing parents of the
//! destination are created.
//!
//! Decisions, documented because they differ between tools:
//! - A symlink named on the command line is followed; symlinks (and
//!   sockets, FIFOs, devices) met inside a tree are skipped with a warning,
//!   so a link loop cannot make a copy endless and no link escapes the tree.
//! - Modes: an upload gives each file its local permission bits (the file
//!   API has no chmod, so files not `0644` get them from a `chmod` run in
//!   the capsule); a download keeps the executable bit (under the umask).
//!   Directories get default modes; owners and times are not kept.
//! - Files move streamed (flat memory, any size), several at once
//!   (`--jobs`); a download is written under a temporary name and renamed
//!   into place, so a broken transfer never leaves a short file under the
//!   real name.
//!
//! One byte progress bar for the whole copy on stderr (terminals only),
//! then a summary line there; `--json` prints `{"files","bytes","seconds"}`.
//!
//! Ctrl-C stops the copy: transfers in flight are abandoned, a download's
//! temporary files are removed, and the exit code is 130. Files already
//! copied stay.

mod download;
mod upload;

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressFinish};
use tokio::io::{AsyncRead, ReadBuf};
use wrenn_client::{ErrorCode, Files};

use crate::cli::CliError;
use crate::cli::context::Context;
use crate::cli::output::human_bytes;
use crate::cli::terminal::{INTERRUPTED, next_signal};

/// `wrenn cp`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  wrenn cp ./project cl-abc:/work          upload a tree (to /work/project if /work exists)\n  wrenn cp cl-abc:/etc/hostname .          download one file\n  wrenn cp a.txt b.txt cl-abc:~/inbox/     several sources into a directory\n  wrenn cp cl-abc:/work/out ./results --json"
)]
pub(crate) struct CpArgs {
    /// What to copy: local paths, or `CAPSULE:PATH` (all on the same side).
    #[arg(required = true, value_name = "SRC")]
    sources: Vec<String>,
    /// Where to copy to: `CAPSULE:PATH` when the sources are local, a local path otherwise.
    #[arg(value_name = "DEST")]
    dest: String,
    /// How many files move at once.
    #[arg(long, short = 'j', default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
}

/// One side of a copy, as written on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    Local(PathBuf),
    Remote(RemotePath),
}

/// A path inside a capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemotePath {
    pub(crate) capsule: String,
    pub(crate) path: String,
}

impl std::fmt::Display for RemotePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.capsule, self.path)
    }
}

/// `CAPSULE:PATH` when there is a colon with a non-empty name before it
/// that has no `/` (as `scp` decides); a local name with a colon can be
/// written `./name:x`. An empty path is the capsule's working directory.
fn parse_operand(text: &str) -> Operand {
    match text.split_once(':') {
        Some((capsule, path)) if !capsule.is_empty() && !capsule.contains('/') => Operand::Remote(RemotePath {
            capsule: capsule.to_owned(),
            path: if path.is_empty() { ".".to_owned() } else { path.to_owned() },
        }),
        _ => Operand::Local(PathBuf::from(text)),
    }
}

/// Which way the copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Direction {
    Upload { sources: Vec<PathBuf>, dest: RemotePath },
    Download { sources: Vec<RemotePath>, dest: PathBuf },
}

fn direction(sources: Vec<Operand>, dest: Operand) -> Result<Direction, CliError> {
    let remote_sources = sources.iter().filter(|source| matches!(source, Operand::Remote(_))).count();
    match dest {
        Operand::Remote(_) if remote_sources > 0 => {
            Err(CliError::usage("both sides are in capsules; exactly one side of `wrenn cp` may be CAPSULE:PATH"))
        }
        Operand::Remote(dest) => {
            let sources = sources
                .into_iter()
                .filter_map(|source| match source {
                    Operand::Local(path) => Some(path),
                    Operand::Remote(_) => None,
                })
                .collect();
            Ok(Direction::Upload { sources, dest })
        }
        Operand::Local(_) if remote_sources == 0 => Err(CliError::usage(
            "neither side is in a capsule; write the capsule side as CAPSULE:PATH (e.g. cl-abc:/work)",
        )),
        Operand::Local(_) if remote_sources < sources.len() => {
            Err(CliError::usage("the sources mix local paths and CAPSULE:PATH; all sources must be on the same side"))
        }
        Operand::Local(dest) => {
            let sources = sources
                .into_iter()
                .filter_map(|source| match source {
                    Operand::Remote(path) => Some(path),
                    Operand::Local(_) => None,
                })
                .collect();
            Ok(Direction::Download { sources, dest })
        }
    }
}

/// What is at the destination before the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DestState {
    Directory,
    File,
    Missing,
}

/// Where one source lands relative to the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Inside it, under the source's own name.
    Inside,
    /// At the destination path itself.
    At,
}

/// `cp -r`'s rules (see the module docs); the error is the reason, shown
/// after the destination's name.
pub(crate) fn placement(
    state: DestState,
    trailing_slash: bool,
    source_is_dir: bool,
    several_sources: bool,
) -> Result<Placement, &'static str> {
    match state {
        DestState::Directory => Ok(Placement::Inside),
        _ if several_sources => Err("is not a directory (several sources need an existing directory)"),
        DestState::Missing if trailing_slash && !source_is_dir => Ok(Placement::Inside),
        DestState::Missing => Ok(Placement::At),
        DestState::File if source_is_dir => Err("is a file; a directory cannot replace it"),
        DestState::File if trailing_slash => Err("is not a directory"),
        DestState::File => Ok(Placement::At),
    }
}

/// The name a capsule source keeps when it goes inside a directory;
/// `None` for `.`, `..`, `/` and `~`, whose contents go straight into the
/// destination. (Local sources use `Path::file_name`, which agrees.)
pub(crate) fn source_name(path: &str) -> Option<&str> {
    match path.trim_end_matches('/').rsplit('/').next()? {
        "" | "." | ".." | "~" => None,
        name => Some(name),
    }
}

/// What is at `path` in a capsule: listing it answers for a directory,
/// refuses a file as "not a directory" (400), and does not find nothing.
pub(crate) async fn remote_state(files: &Files<'_>, path: &str) -> Result<DestState, CliError> {
    match files.list(path, 1).await {
        Ok(_) => Ok(DestState::Directory),
        Err(err) if err.is_not_found() => Ok(DestState::Missing),
        Err(err) if is_not_a_directory(&err) => Ok(DestState::File),
        Err(err) => Err(err.into()),
    }
}

/// The answer to listing a file.
pub(crate) fn is_not_a_directory(err: &wrenn_client::Error) -> bool {
    err.status() == Some(400) && err.code() == Some(&ErrorCode::InvalidRequest)
}

/// Joins a name to a capsule path.
pub(crate) fn join_remote(base: &str, name: &str) -> String {
    if base.ends_with('/') { format!("{base}{name}") } else { format!("{base}/{name}") }
}

/// Bytes and files moved so far, shared by the transfers in flight.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
    files: AtomicU64,
}

impl Progress {
    pub(crate) fn new(bar: ProgressBar) -> Arc<Progress> {
        // A copy dropped half-way (Ctrl-C) takes its bar off the screen.
        let bar = bar.with_finish(ProgressFinish::AndClear);
        Arc::new(Progress { bar, bytes: AtomicU64::new(0), files: AtomicU64::new(0) })
    }

    pub(crate) fn moved(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.bar.inc(bytes);
    }

    pub(crate) fn file_done(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
    }

    /// Prints a line above the bar (or plainly when there is none).
    pub(crate) fn warn(&self, text: &str) {
        let style = anstyle::Style::new().bold().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
        self.bar.suspend(|| anstream::eprintln!("{style}warning:{style:#} {text}"));
    }
}

/// An `AsyncRead` that reports what passes through it.
pub(crate) struct Counted<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R> Counted<R> {
    pub(crate) fn new(inner: R, progress: Arc<Progress>) -> Counted<R> {
        Counted { inner, progress }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            self.progress.moved((buf.filled().len() - before) as u64);
        }
        polled
    }
}

pub(crate) async fn run(args: CpArgs, ctx: &Context) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let sources = args.sources.iter().map(|source| parse_operand(source)).collect();
    let jobs = usize::from(args.jobs);
    let direction = direction(sources, parse_operand(&args.dest))?;
    let copy = async {
        match direction {
            Direction::Upload { sources, dest } => upload::run(ctx, &sources, &dest, jobs).await,
            Direction::Download { sources, dest } => download::run(ctx, &sources, &dest, jobs).await,
        }
    };
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let progress = tokio::select! {
        copied = copy => copied?,
        () = next_signal(&mut interrupts) => {
            // The copy is dropped here: transfers stop, guards clean up.
            anstream::eprintln!("wrenn cp: interrupted");
            return Ok(ExitCode::from(INTERRUPTED));
        }
    };
    progress.bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let files = progress.files.load(Ordering::Relaxed);
    let bytes = progress.bytes.load(Ordering::Relaxed);
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({ "files": files, "bytes": bytes, "seconds": seconds }))?;
    } else {
        anstream::eprintln!("{}", summary(files, bytes, seconds));
    }
    Ok(ExitCode::SUCCESS)
}

/// `copied 3 files, 12.0 MiB in 1.2 s (10.0 MiB/s)`.
fn summary(files: u64, bytes: u64, seconds: f64) -> String {
    let noun = if files == 1 { "file" } else { "files" };
    let rate = bytes as f64 / (1024.0 * 1024.0) / seconds.max(0.001);
    format!("copied {files} {noun}, {} in {seconds:.1} s ({rate:.1} MiB/s)", human_bytes(bytes))
}

/// A local path for messages.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(capsule: &str, path: &str) -> Operand {
        Operand::Remote(RemotePath { capsule: capsule.into(), path: path.into() })
    }

    #[test]
    fn operands_are_remote_when_a_name_without_slash_precedes_a_colon() {
        let local = |path: &str| Operand::Local(PathBuf::from(path));
        let cases = [
            ("cl-abc:/work", remote("cl-abc", "/work")),
            ("cl-abc:~/x y", remote("cl-abc", "~/x y")),
            ("cl-abc:", remote("cl-abc", ".")),
            ("cl-abc:a:b", remote("cl-abc", "a:b")),
            ("./a:b", local("./a:b")),
            ("/abs/a:b", local("/abs/a:b")),
            (":x", local(":x")),
            ("plain", local("plain")),
            ("ünï côde", local("ünï côde")),
        ];
        for (text, want) in cases {
            assert_eq!(parse_operand(text), want, "{text}");
        }
    }

    #[test]
    fn exactly_one_side_is_remote() {
        let local = |path: &str| Operand::Local(PathBuf::from(path));
        let up = direction(vec![local("a"), local("b")], remote("cl-1", "/w")).unwrap();
        assert!(matches!(up, Direction::Upload { ref sources, .. } if sources.len() == 2), "{up:?}");
        let down = direction(vec![remote("cl-1", "/a"), remote("cl-2", "/b")], local(".")).unwrap();
        assert!(matches!(down, Direction::Download { ref sources, .. } if sources.len() == 2), "{down:?}");
        for (sources, dest) in [
            (vec![remote("cl-1", "/a")], remote("cl-2", "/b")),
            (vec![local("a")], local("b")),
            (vec![local("a"), remote("cl-1", "/a")], local("b")),
            (vec![local("a"), remote("cl-1", "/a")], remote("cl-1", "/b")),
        ] {
            let err = direction(sources.clone(), dest.clone()).unwrap_err();
            assert_eq!(err.exit_code(), ExitCode::from(2), "{sources:?} → {dest:?}");
        }
    }

    #[test]
    fn placement_follows_cp_r() {
        use DestState::*;
        use Placement::*;
        // (state, trailing slash, source is a dir, several sources) → placement
        let cases = [
            ((Directory, false, true, false), Ok(Inside)),
            ((Directory, true, false, true), Ok(Inside)),
            ((Missing, false, true, false), Ok(At)),
            ((Missing, true, true, false), Ok(At)),
            ((Missing, false, false, false), Ok(At)),
            ((Missing, true, false, false), Ok(Inside)),
            ((File, false, false, false), Ok(At)),
            ((File, true, false, false), Err("is not a directory")),
            ((File, false, true, false), Err("is a file; a directory cannot replace it")),
            ((Missing, false, false, true), Err("is not a directory (several sources need an existing directory)")),
            ((File, false, false, true), Err("is not a directory (several sources need an existing directory)")),
        ];
        for ((state, slash, dir, several), want) in cases {
            assert_eq!(
                placement(state, slash, dir, several),
                want,
                "{state:?} slash={slash} dir={dir} several={several}"
            );
        }
    }

    #[test]
    fn sources_keep_their_last_name() {
        let cases = [
            ("dir", Some("dir")),
            ("a/b/dir/", Some("dir")),
            ("/etc/hostname", Some("hostname")),
            ("ünï côde", Some("ünï côde")),
            (".", None),
            ("./", None),
            ("a/..", None),
            ("/", None),
            ("~", None),
            ("~/x", Some("x")),
        ];
        for (path, want) in cases {
            assert_eq!(source_name(path), want, "{path}");
        }
    }

    #[test]
    fn remote_paths_join_and_summaries_read_well() {
        assert_eq!(join_remote("/tmp/t", "a b"), "/tmp/t/a b");
        assert_eq!(join_remote("/", "x"), "/x");
        assert_eq!(join_remote("~/", "x"), "~/x");
        assert_eq!(summary(1, 1024 * 1024, 0.5), "copied 1 file, 1.0 MiB in 0.5 s (2.0 MiB/s)");
        assert_eq!(summary(3, 0, 0.0), "copied 3 files, 0 B in 0.0 s (0.0 MiB/s)");
    }
}
