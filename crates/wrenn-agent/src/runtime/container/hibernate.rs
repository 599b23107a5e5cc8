//! Hibernate: a capsule's processes and memory written to disk with CRIU and
//! ended; restore brings them back into the same network namespace, cgroups
//! and disk. Background, measurements and every failure met on the way:
//! `docs/dev/hibernate.md`.
//!
//! ```text
//! hibernate: read <capsule>/launch.json → external mounts from the init's
//!            mountinfo, console key from its fd 1 → criu dump in the netns
//!            (--freeze-cgroup, --tcp-close) → wait until the cgroups are
//!            empty → thaw the empty freezer, reclaim the memory cgroup →
//!            <capsule>/hibernate/wrenn.json written last (the commit point)
//! restore:   wrenn-launch restore (netns, private mount ns, capsule root,
//!            console fd) → criu restore -d --root → new init pid from
//!            CRIU's pidfile, checked against the cgroups → init.pid
//!            → image dir removed
//! ```
//!
//! What stays while hibernated: the capsule dir (disk layer still mounted,
//! images in `hibernate/`), the netns with its veth and address, the
//! cgroups with their limits (empty; memory reclaimed). What goes: every
//! process and its memory, and established TCP connections (`--tcp-close`:
//! the restored task has no `CAP_NET_ADMIN` over the host-owned netns that
//! TCP repair needs; listening sockets survive).
//!
//! Failures: a failed dump leaves the capsule as it was (CRIU thaws what it
//! froze; a paused capsule stays frozen), unless its init is gone, which is
//! reported as `Lost`. A failed restore kills whatever CRIU had started in
//! the cgroups and reports `Lost` with CRIU's own error lines; the image is
//! kept for inspection until destroy.
//!
//! The image is bound to the template: CRIU maps binaries from the lower
//! layer and refuses files whose size changed, so a template must not be
//! rebuilt in place while a capsule made from it is hibernated.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wrenn_types::CapsuleId;

use crate::runtime::RuntimeError;
use crate::runtime::container::launch::{CONSOLE_FILE, LaunchSpec, LaunchSpecError, PID_FILE};
use crate::runtime::container::{ContainerError, ContainerRuntime};

/// Images and CRIU's logs, under the capsule dir.
pub const HIBERNATE_DIR: &str = "hibernate";
/// Written after a complete dump: a capsule dir holding it is hibernated.
const STATE_FILE: &str = "hibernate/wrenn.json";
/// The launch spec of the capsule, kept from its create.
const LAUNCH_FILE: &str = "launch.json";
/// CRIU writes the restored init's host pid here.
const RESTORED_PID_FILE: &str = "init.pid.restored";
const DUMP_LOG: &str = "dump.log";
const RESTORE_LOG: &str = "restore.log";
const STATE_FORMAT: u32 = 1;
/// Dumps and restores take 100–400 ms; this is for a hung CRIU.
const CRIU_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the dumped tasks may take to leave the cgroups.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// What `wrenn-launch restore` reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreSpec {
    /// The capsule as it was launched: dir, template, netns, uid base.
    pub launch: LaunchSpec,
    pub criu: PathBuf,
    /// Arguments after `restore`, without `--root` and `--inherit-fd`,
    /// which the launcher adds once it has built the root and opened the
    /// console.
    pub args: Vec<String>,
    /// The console file's key in the image (`file[<mnt>:<inode>]`).
    pub console_key: String,
}

impl RestoreSpec {
    pub fn from_reader(reader: impl std::io::Read) -> Result<RestoreSpec, LaunchSpecError> {
        serde_json::from_reader(reader).map_err(LaunchSpecError::Parse)
    }
}

/// A bind mount of a host device node into the capsule (`/dev/null`, the
/// masks over `/proc/keys`, …): its source is outside the capsule, so CRIU
/// records it by key and gets the source back at restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExternalMount {
    /// As the capsule sees it.
    pub(crate) mount_point: String,
    pub(crate) key: String,
    /// Host path bound there.
    pub(crate) source: PathBuf,
}

/// `<capsule>/hibernate/wrenn.json`: what a restore needs, also after an
/// agent restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HibernateState {
    format: u32,
    launch: LaunchSpec,
    console_key: String,
    externals: Vec<ExternalMount>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HibernateError {
    #[error("hibernate is not available (no working criu on this host)")]
    Unavailable,
    #[error("capsule is hibernated")]
    NotRunning,
    #[error("capsule is not hibernated")]
    NotHibernated,
    #[error("could not read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid record")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("no console file key for init {pid}")]
    ConsoleKey { pid: u32 },
    #[error("{log_errors}")]
    Dump {
        log_errors: String,
        #[source]
        source: crate::sys::criu::CriuError,
    },
    #[error("the init is gone after a failed dump")]
    InitGone,
    #[error("processes {pids:?} still in the capsule's cgroups after the dump")]
    Lingering { pids: Vec<u32> },
    #[error("{log_errors}")]
    Restore {
        log_errors: String,
        #[source]
        source: crate::sys::cmd::CmdError,
    },
    #[error("restored init {pid:?} is not in the capsule's cgroups")]
    RestoredOutside { pid: Option<u32> },
    #[error("cgroup operation failed")]
    Cgroup(#[source] crate::cgroup::CgroupError),
}

impl ContainerRuntime {
    pub(super) async fn hibernate_capsule(&self, id: &CapsuleId) -> Result<(), RuntimeError> {
        let failed = |source: HibernateError| failed(id, "hibernate", source);
        let criu = self.criu().ok_or_else(|| failed(HibernateError::Unavailable))?;
        let (pid, dir, cgroups) = self.parts(id)?;
        let pid = pid.ok_or_else(|| failed(HibernateError::NotRunning))?;
        let launch = read_json::<LaunchSpec>(&dir.join(LAUNCH_FILE)).map_err(failed)?;
        let images = dir.join(HIBERNATE_DIR);
        let prepared = prepare_dump(&dir, &images, pid, &launch).map_err(failed)?;
        let freezer = cgroups.freezer_dir();
        let was_frozen = is_frozen(&freezer);
        let args = dump_args(pid, &images, &freezer, &prepared);
        let started = Instant::now();
        let dumped = crate::sys::criu::dump(&criu, launch.netns_path.as_deref(), &args, CRIU_TIMEOUT).await;
        let dump_ms = started.elapsed().as_millis();
        if let Err(source) = dumped {
            let log_errors = log_errors(&images.join(DUMP_LOG));
            let _ = std::fs::remove_dir_all(&images);
            let error = HibernateError::Dump { log_errors, source };
            if cgroups.pids().is_ok_and(|pids| pids.contains(&pid)) {
                // CRIU puts the freezer back as it found it, unless it was
                // killed (timeout) while the capsule was frozen.
                if !was_frozen && let Err(err) = cgroups.thaw() {
                    tracing::error!(%id, error = &err as &dyn std::error::Error, "could not thaw after a failed dump");
                }
                return Err(failed(error));
            }
            tracing::error!(%id, error = &error as &dyn std::error::Error, "capsule lost in a failed dump");
            self.set_pid(id, None);
            return Err(lost(id, "hibernate", HibernateError::InitGone));
        }
        self.set_pid(id, None);
        let after = tokio::task::spawn_blocking(move || {
            wait_empty(&cgroups)?;
            // CRIU leaves the freezer frozen; restored tasks must not start frozen.
            cgroups.thaw().map_err(HibernateError::Cgroup)?;
            if let Err(err) = cgroups.reclaim_memory() {
                tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "could not reclaim a hibernated capsule's memory"
                );
            }
            let state = HibernateState {
                format: STATE_FORMAT,
                launch: prepared.launch,
                console_key: prepared.console_key,
                externals: prepared.externals,
            };
            write_json(&dir.join(STATE_FILE), &state)?;
            let _ = std::fs::remove_file(dir.join(PID_FILE));
            Ok(())
        })
        .await
        .map_err(|e| RuntimeError::Failed {
            id: id.to_string(),
            operation: "hibernate",
            source: Box::new(ContainerError::Join(e)),
        })?;
        after.map_err(|source| lost(id, "hibernate", source))?;
        tracing::info!(%id, dump_ms, total_ms = started.elapsed().as_millis(), "hibernated");
        Ok(())
    }

    pub(super) async fn restore_capsule(&self, id: &CapsuleId) -> Result<u32, RuntimeError> {
        let failed = |source: HibernateError| failed(id, "restore", source);
        let criu = self.criu().ok_or_else(|| failed(HibernateError::Unavailable))?;
        let (pid, dir, cgroups) = self.parts(id)?;
        if pid.is_some() {
            return Err(failed(HibernateError::NotHibernated));
        }
        let state = read_json::<HibernateState>(&dir.join(STATE_FILE)).map_err(failed)?;
        let images = dir.join(HIBERNATE_DIR);
        let pid_file = dir.join(RESTORED_PID_FILE);
        let _ = std::fs::remove_file(&pid_file);
        let spec = RestoreSpec {
            args: restore_args(&images, &pid_file, &state.externals),
            launch: state.launch,
            criu,
            console_key: state.console_key,
        };
        let input = serde_json::to_vec(&spec)
            .map_err(|source| failed(HibernateError::Parse { path: dir.join(STATE_FILE), source }))?;
        let launcher = self.config.launcher.to_string_lossy();
        let started = Instant::now();
        let ran = crate::sys::cmd::run(&launcher, ["restore"], Some(&input), CRIU_TIMEOUT).await;
        crate::sys::criu::remove_leftovers();
        let restored = match ran {
            Ok(_) => std::fs::read_to_string(&pid_file).ok().and_then(|text| text.trim().parse::<u32>().ok()),
            Err(source) => {
                let log_errors = log_errors(&images.join(RESTORE_LOG));
                return Err(self.abandon_restore(id, HibernateError::Restore { log_errors, source }).await);
            }
        };
        let _ = std::fs::remove_file(&pid_file);
        let Some(pid) = restored.filter(|pid| cgroups.pids().is_ok_and(|pids| pids.contains(pid))) else {
            // Outside the cgroups nothing else would find it: its end ends
            // its pid namespace, so the whole restored tree.
            if let Some(pid) = restored {
                let _ = crate::sys::signal::kill(pid);
            }
            return Err(self.abandon_restore(id, HibernateError::RestoredOutside { pid: restored }).await);
        };
        write_pid_file(&dir, pid).map_err(|source| lost(id, "restore", source))?;
        self.set_pid(id, Some(pid));
        tracing::info!(%id, pid, restore_ms = started.elapsed().as_millis(), "restored");
        if let Err(err) = std::fs::remove_dir_all(&images) {
            tracing::warn!(%id, error = &err as &dyn std::error::Error, "could not remove a restored capsule's image");
        }
        Ok(pid)
    }

    /// Freezing or thawing a hibernated capsule would "succeed" on its empty
    /// cgroups; it is refused instead, so that a caller that took it for
    /// running learns otherwise.
    pub(super) fn require_running(&self, id: &CapsuleId, operation: &'static str) -> Result<(), RuntimeError> {
        match self.parts(id)?.0 {
            Some(_) => Ok(()),
            None => Err(failed(id, operation, HibernateError::NotRunning)),
        }
    }

    /// Kills whatever a failed restore started in the capsule's cgroups
    /// (and removes them); the capsule is then only good for destroy.
    async fn abandon_restore(&self, id: &CapsuleId, error: HibernateError) -> RuntimeError {
        tracing::error!(%id, error = &error as &dyn std::error::Error, "restore failed");
        if let Ok((_, _, cgroups)) = self.parts(id) {
            let killed = tokio::task::spawn_blocking(move || cgroups.destroy()).await;
            if let Ok(Err(err)) = killed {
                tracing::error!(%id, error = &err as &dyn std::error::Error, "could not clean up after a failed restore");
            }
        }
        lost(id, "restore", error)
    }
}

/// Whether `dir` holds a complete hibernate image (see [`STATE_FILE`]).
pub(crate) fn is_hibernated(dir: &Path) -> bool {
    read_json::<HibernateState>(&dir.join(STATE_FILE)).is_ok_and(|state| state.format == STATE_FORMAT)
}

/// Keeps the launch spec in the capsule dir: hibernate needs it, also for a
/// capsule adopted after an agent restart.
pub(crate) fn save_launch_spec(dir: &Path, spec: &LaunchSpec) -> std::io::Result<()> {
    write_json(&dir.join(LAUNCH_FILE), spec).map_err(|err| match err {
        HibernateError::Write { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    })
}

/// `wrenn-launch restore`: execs CRIU from the capsule's namespaces; on
/// failure prints the error chain on stderr and exits with 1. Must run in a
/// fresh single-threaded process.
pub fn run_restore(spec: &RestoreSpec) -> ! {
    use std::io::Write;

    let err = match crate::sys::launch::restore::restore(spec) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    let mut message = format!("wrenn-launch restore: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let _ = writeln!(std::io::stderr(), "{message}");
    std::process::exit(1)
}

/// What a dump needs from the live capsule.
struct PreparedDump {
    launch: LaunchSpec,
    console_key: String,
    externals: Vec<ExternalMount>,
}

/// Creates an empty image dir and collects the mounts and the console key;
/// hands the console file to the capsule's root, as which CRIU reopens it.
fn prepare_dump(dir: &Path, images: &Path, pid: u32, launch: &LaunchSpec) -> Result<PreparedDump, HibernateError> {
    let write = |path: &Path| {
        let path = path.to_owned();
        move |source| HibernateError::Write { path, source }
    };
    if images.exists() {
        std::fs::remove_dir_all(images).map_err(write(images))?;
    }
    std::fs::create_dir(images).map_err(write(images))?;
    let console = dir.join(CONSOLE_FILE);
    std::os::unix::fs::chown(&console, Some(launch.uid_base), Some(launch.uid_base)).map_err(write(&console))?;
    let inode =
        std::fs::metadata(&console).map_err(|source| HibernateError::Read { path: console.clone(), source })?.ino();
    let fdinfo_path = PathBuf::from(format!("/proc/{pid}/fdinfo/1"));
    let fdinfo =
        std::fs::read_to_string(&fdinfo_path).map_err(|source| HibernateError::Read { path: fdinfo_path, source })?;
    let mnt_id = fdinfo_mnt_id(&fdinfo).ok_or(HibernateError::ConsoleKey { pid })?;
    let mountinfo_path = PathBuf::from(format!("/proc/{pid}/mountinfo"));
    let mountinfo = std::fs::read_to_string(&mountinfo_path)
        .map_err(|source| HibernateError::Read { path: mountinfo_path, source })?;
    Ok(PreparedDump {
        launch: launch.clone(),
        console_key: console_key(mnt_id, inode),
        externals: external_mounts(&mountinfo),
    })
}

/// Host device nodes bound into the capsule, from the init's mountinfo
/// (paths there are relative to the init's root). Their filesystem is the
/// host's devtmpfs, which is mounted at `/dev`. Pure.
pub(crate) fn external_mounts(mountinfo: &str) -> Vec<ExternalMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let separator = fields.iter().position(|field| *field == "-")?;
            if *fields.get(separator + 1)? != "devtmpfs" {
                return None;
            }
            let (root, mount_point) = (*fields.get(3)?, *fields.get(4)?);
            let key = format!("wrenn{}", mount_point.replace(['/', ':', '[', ']', ' ', '\\'], "-"));
            Some(ExternalMount {
                mount_point: mount_point.to_owned(),
                key,
                source: Path::new("/dev").join(root.trim_start_matches('/')),
            })
        })
        .collect()
}

/// CRIU's key of a regular file: mount id and inode, in hex.
pub(crate) fn console_key(mnt_id: u64, inode: u64) -> String {
    format!("file[{mnt_id:x}:{inode:x}]")
}

fn fdinfo_mnt_id(fdinfo: &str) -> Option<u64> {
    fdinfo.lines().find_map(|line| line.strip_prefix("mnt_id:")?.trim().parse().ok())
}

fn dump_args(pid: u32, images: &Path, freezer: &Path, prepared: &PreparedDump) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "-t".into(),
        pid.to_string().into(),
        "-D".into(),
        images.into(),
        "-o".into(),
        DUMP_LOG.into(),
        "--tcp-close".into(),
        "--freeze-cgroup".into(),
        freezer.into(),
    ];
    for mount in &prepared.externals {
        args.push("--external".into());
        args.push(format!("mnt[{}]:{}", mount.mount_point, mount.key).into());
    }
    args.push("--external".into());
    args.push(prepared.console_key.clone().into());
    args
}

fn restore_args(images: &Path, pid_file: &Path, externals: &[ExternalMount]) -> Vec<String> {
    let mut args = vec![
        "-D".to_owned(),
        images.to_string_lossy().into_owned(),
        "-o".to_owned(),
        RESTORE_LOG.to_owned(),
        "--restore-detached".to_owned(),
        "--tcp-close".to_owned(),
        "--pidfile".to_owned(),
        pid_file.to_string_lossy().into_owned(),
    ];
    for mount in externals {
        args.push("--external".to_owned());
        args.push(format!("mnt[{}]:{}", mount.key, mount.source.display()));
    }
    args
}

/// CRIU's error lines from its log (it prints little on stderr), for the
/// error a caller sees.
fn log_errors(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // Host root lacks CAP_SYS_RESOURCE here; CRIU logs that as an error on
    // every run and carries on.
    let lines: Vec<&str> =
        text.lines().filter(|line| line.contains("Error (") && !line.contains("Can't setup RLIMIT_NOFILE")).collect();
    if lines.is_empty() {
        return format!("criu failed (log: {})", log.display());
    }
    let start = lines.len().saturating_sub(4);
    lines[start..].join("; ")
}

/// Whether the freezer cgroup at `dir` is frozen (v1 `freezer.state`, v2
/// `cgroup.freeze`).
fn is_frozen(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join("freezer.state")) {
        Ok(state) => state.trim() != "THAWED",
        Err(_) => std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|value| value.trim() == "1"),
    }
}

fn wait_empty(cgroups: &crate::cgroup::CgroupSet) -> Result<(), HibernateError> {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    loop {
        let pids = cgroups.pids().map_err(HibernateError::Cgroup)?;
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(HibernateError::Lingering { pids });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn write_pid_file(dir: &Path, pid: u32) -> Result<(), HibernateError> {
    let path = dir.join(PID_FILE);
    let partial = dir.join(format!("{PID_FILE}.tmp"));
    std::fs::write(&partial, format!("{pid}\n"))
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|source| HibernateError::Write { path, source })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HibernateError> {
    let bytes = std::fs::read(path).map_err(|source| HibernateError::Read { path: path.to_owned(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| HibernateError::Parse { path: path.to_owned(), source })
}

/// Through a temporary file and a rename: never half a file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), HibernateError> {
    let write = |source| HibernateError::Write { path: path.to_owned(), source };
    let json = serde_json::to_vec_pretty(value).map_err(|e| write(std::io::Error::other(e)))?;
    let partial = path.with_extension("json.tmp");
    std::fs::write(&partial, json).map_err(write)?;
    std::fs::rename(&partial, path).map_err(write)
}

fn failed(id: &CapsuleId, operation: &'static str, source: HibernateError) -> RuntimeError {
    RuntimeError::Failed { id: id.to_string(), operation, source: Box::new(source) }
}

fn lost(id: &CapsuleId, operation: &'static str, source: HibernateError) -> RuntimeError {
    RuntimeError::Lost { id: id.to_string(), operation, source: Box::new(source) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_device_binds_are_external() {
        let mountinfo = "\
1540 1539 0:120 / / rw,relatime - overlay overlay rw,lowerdir=lower,upperdir=layer/upper,workdir=layer/work
1541 1540 0:121 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1542 1541 0:5 /null /proc/keys rw,nosuid - devtmpfs udev rw,size=12334460k
1543 1541 0:5 /null /proc/timer_list rw,nosuid - devtmpfs udev rw,size=12334460k
1545 1540 0:123 / /dev rw,nosuid,noexec,relatime - tmpfs tmpfs rw,size=64k,mode=755
1546 1545 0:5 /null /dev/null rw,nosuid shared:2 - devtmpfs udev rw,size=12334460k
1547 1545 0:5 /tty /dev/tty rw,nosuid - devtmpfs udev rw,size=12334460k
1548 1545 0:124 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,mode=620
";
        let found = external_mounts(mountinfo);
        let pairs: Vec<(&str, &str, &Path)> =
            found.iter().map(|m| (m.mount_point.as_str(), m.key.as_str(), m.source.as_path())).collect();
        assert_eq!(
            pairs,
            [
                ("/proc/keys", "wrenn-proc-keys", Path::new("/dev/null")),
                ("/proc/timer_list", "wrenn-proc-timer_list", Path::new("/dev/null")),
                ("/dev/null", "wrenn-dev-null", Path::new("/dev/null")),
                ("/dev/tty", "wrenn-dev-tty", Path::new("/dev/tty")),
            ]
        );
    }

    #[test]
    fn freezer_states() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_frozen(dir.path()));
        std::fs::write(dir.path().join("cgroup.freeze"), "1\n").unwrap();
        assert!(is_frozen(dir.path()));
        std::fs::write(dir.path().join("freezer.state"), "THAWED\n").unwrap();
        assert!(!is_frozen(dir.path()));
        std::fs::write(dir.path().join("freezer.state"), "FREEZING\n").unwrap();
        assert!(is_frozen(dir.path()));
    }

    #[test]
    fn criu_arguments() {
        assert_eq!(console_key(0x1b, 4_194_322), "file[1b:400012]");
        assert_eq!(fdinfo_mnt_id("pos:\t0\nflags:\t02102001\nmnt_id:\t27\nino:\t12\n"), Some(27));
        let externals = vec![ExternalMount {
            mount_point: "/dev/null".into(),
            key: "wrenn-dev-null".into(),
            source: "/dev/null".into(),
        }];
        let prepared = PreparedDump {
            launch: LaunchSpec {
                capsule_dir: "/c".into(),
                template_rootfs: "/t".into(),
                netns_path: None,
                hostname: "h".into(),
                uid_base: 100_000,
                cgroup_procs: vec![],
                init: vec!["/bin/sh".into()],
                env: vec![],
            },
            console_key: "file[1b:2]".into(),
            externals: externals.clone(),
        };
        let dump = dump_args(42, Path::new("/c/hibernate"), Path::new("/sys/fs/cgroup/freezer/wrenn/x"), &prepared);
        let dump: Vec<&str> = dump.iter().map(|arg| arg.to_str().unwrap()).collect();
        assert_eq!(
            dump,
            [
                "-t",
                "42",
                "-D",
                "/c/hibernate",
                "-o",
                "dump.log",
                "--tcp-close",
                "--freeze-cgroup",
                "/sys/fs/cgroup/freezer/wrenn/x",
                "--external",
                "mnt[/dev/null]:wrenn-dev-null",
                "--external",
                "file[1b:2]",
            ]
        );
        let restore = restore_args(Path::new("/c/hibernate"), Path::new("/c/init.pid.restored"), &externals);
        assert_eq!(restore[restore.len() - 2..], ["--external", "mnt[wrenn-dev-null]:/dev/null"]);
        assert!(restore.contains(&"--tcp-close".to_owned()) && restore.contains(&"--restore-detached".to_owned()));
    }

    #[test]
    fn state_round_trips_and_logs_give_their_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_hibernated(dir.path()));
        std::fs::create_dir(dir.path().join(HIBERNATE_DIR)).unwrap();
        let launch = LaunchSpec {
            capsule_dir: dir.path().to_owned(),
            template_rootfs: "/t".into(),
            netns_path: Some("/run/netns/wrenn-3".into()),
            hostname: "h".into(),
            uid_base: 1_245_184,
            cgroup_procs: vec![],
            init: vec!["/usr/local/bin/envd".into()],
            env: vec![],
        };
        save_launch_spec(dir.path(), &launch).unwrap();
        assert_eq!(read_json::<LaunchSpec>(&dir.path().join(LAUNCH_FILE)).unwrap(), launch);
        let state = HibernateState { format: STATE_FORMAT, launch, console_key: "file[1:2]".into(), externals: vec![] };
        write_json(&dir.path().join(STATE_FILE), &state).unwrap();
        assert!(is_hibernated(dir.path()));
        assert_eq!(read_json::<HibernateState>(&dir.path().join(STATE_FILE)).unwrap(), state);
        std::fs::write(dir.path().join(STATE_FILE), b"{").unwrap();
        assert!(!is_hibernated(dir.path()));

        let log = dir.path().join("dump.log");
        std::fs::write(
            &log,
            "(00.0) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n\
             (00.1) Warn (criu/x.c:1): meh\n\
             (00.2) Error (criu/sockets.c:628): sockets: Can't get 1:16 opt\n",
        )
        .unwrap();
        assert_eq!(log_errors(&log), "(00.2) Error (criu/sockets.c:628): sockets: Can't get 1:16 opt");
        assert!(log_errors(&dir.path().join("none.log")).starts_with("criu failed"));
    }
}
