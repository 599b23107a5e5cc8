//! The capsule side of the launcher: runs in the cloned child, inside the
//! new namespaces, and ends in `execve` of the capsule init or `_exit`.
//!
//! Order matters: ids first (nothing can be mounted before we are root in
//! the user namespace), then the root filesystem, then `pivot_root` (after
//! which host paths are gone), then privileges are dropped — capability
//! bounding set, no_new_privs, seccomp — as late as possible, because the
//! steps before them need `CAP_SYS_ADMIN` and `mount`.

use std::ffi::CString;
use std::fs::File;
use std::io::{IoSliceMut, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::symlink;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};
use nix::sys::socket::{ControlMessageOwned, MsgFlags};
use nix::unistd::{Gid, Uid};

use crate::runtime::container::launch::LaunchSpec;
use crate::sys::launch::seccomp;
use crate::sys::rootfs::{self, STAGING_OLD, STAGING_ROOT};
use wrenn_types::ErrorChain;

/// Device nodes bind-mounted from the host: a user namespace may not mknod.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];
/// Hidden behind `/dev/null` (files) or an empty read-only tmpfs (dirs),
/// as Docker does: kernel memory, keyrings and scheduler internals.
const MASKED_PROC: &[&str] = &[
    "proc/acpi",
    "proc/asound",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/sched_debug",
    "proc/scsi",
    "proc/timer_list",
    "proc/timer_stats",
];
/// Visible but read-only.
const READ_ONLY_PROC: &[&str] = &["proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"];
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A failed step, as sent to the parent through the report pipe.
struct StepError(String);

impl<E: std::fmt::Display> From<(&str, E)> for StepError {
    fn from((step, err): (&str, E)) -> StepError {
        StepError(format!("{step}: {err}"))
    }
}

/// Runs in the child; never returns on success.
pub(super) fn run(spec: &LaunchSpec, go: OwnedFd, mut report: File, console: &File) -> isize {
    // `report` stays open (close-on-exec) until execve succeeds.
    let err = match prepare_and_exec(spec, go, console) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    let _ = report.write_all(err.0.as_bytes());
    127
}

fn prepare_and_exec(spec: &LaunchSpec, go: OwnedFd, console: &File) -> Result<std::convert::Infallible, StepError> {
    // The parent died or gave up when no template came: nothing to do.
    let lower = wait_for_release(&go)?.ok_or_else(|| StepError("parent did not release the child".into()))?;
    drop(go);
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)).map_err(|e| ("setresgid", e))?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).map_err(|e| ("setresuid", e))?;

    rootfs::mount_capsule_root(&spec.capsule_dir, lower).map_err(|e| StepError(ErrorChain(&e).to_string()))?;
    // /proc is mounted while the host's (copied) /proc is still in this
    // namespace: the kernel refuses a new proc instance otherwise.
    mount_proc()?;
    mount_dev()?;
    ensure_dir("tmp")?;
    mount(Some("tmpfs"), "tmp", Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=1777"))?;
    nix::unistd::sethostname(&spec.hostname).map_err(|e| ("sethostname", e))?;

    // First into the staging tmpfs, dropping the whole inherited tree: the
    // copies of the host's mounts are locked to each other (they came from
    // a more privileged namespace), so while anything referenced one of
    // them, every other capsule's disk mount copied with it would stay
    // mounted here and its loop device could never be released.
    nix::unistd::chdir("..").map_err(|e| ("chdir staging", e))?;
    nix::unistd::pivot_root(".", STAGING_OLD).map_err(|e| ("pivot_root staging", e))?;
    nix::unistd::chdir("/").map_err(|e| ("chdir /", e))?;
    nix::mount::umount2(STAGING_OLD, MntFlags::MNT_DETACH).map_err(|e| ("detach host tree", e))?;
    // Then into the overlay; the staging tmpfs is kept only by the
    // overlay's own layers.
    nix::unistd::chdir(STAGING_ROOT).map_err(|e| ("chdir root", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| ("pivot_root", e))?;
    nix::mount::umount2(".", MntFlags::MNT_DETACH).map_err(|e| ("detach staging", e))?;
    nix::unistd::chdir("/").map_err(|e| ("chdir /", e))?;
    let null = File::open("/dev/null").map_err(|e| ("open /dev/null", e))?;

    drop_capabilities()?;
    seccomp::install().map_err(|e| ("seccomp", e))?;

    nix::unistd::dup2_stdin(&null).map_err(|e| ("dup2 stdin", e))?;
    nix::unistd::dup2_stdout(console).map_err(|e| ("dup2 stdout", e))?;
    nix::unistd::dup2_stderr(console).map_err(|e| ("dup2 stderr", e))?;
    // Every other fd becomes close-on-exec (the report pipe already is, and
    // must stay open until execve so that a failed exec can be reported).
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes fd flags.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if rc != 0 {
        return Err(("close_range", std::io::Error::last_os_error()).into());
    }
    nix::unistd::setsid().map_err(|e| ("setsid", e))?;

    let argv = to_cstrings(&spec.init)?;
    let mut envp = vec![CString::new(DEFAULT_PATH).map_err(|e| ("env", e))?];
    envp.extend(to_cstrings(&spec.env)?);
    let program = argv.first().ok_or_else(|| StepError("init has no program".into()))?;
    match nix::unistd::execve(program, &argv, &envp) {
        Ok(never) => match never {},
        Err(e) => Err(("execve", e).into()),
    }
}

/// Blocks until the parent sends the go byte; returns the idmapped
/// template attached to it (`None` at end-of-file: the parent gave up).
fn wait_for_release(go: &OwnedFd) -> Result<Option<OwnedFd>, StepError> {
    let mut byte = [0u8; 1];
    let mut buffer = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(RawFd);
    let message =
        nix::sys::socket::recvmsg::<()>(go.as_raw_fd(), &mut buffer, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(|e| ("receive go", e))?;
    let mut lower = None;
    for control in message.cmsgs().map_err(|e| ("receive go", e))? {
        if let ControlMessageOwned::ScmRights(fds) = control {
            for fd in fds {
                // SAFETY: the kernel installed `fd` in this process for this
                // message; nothing else owns it.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                lower.get_or_insert(owned);
            }
        }
    }
    Ok(lower)
}

fn mount_proc() -> Result<(), StepError> {
    ensure_dir("proc")?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), "proc", Some("proc"), flags, None)?;
    for path in MASKED_PROC {
        let Ok(meta) = std::fs::metadata(path) else { continue };
        if meta.is_dir() {
            mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_RDONLY | flags, Some("size=0"))?;
        } else {
            mount(Some("/dev/null"), path, None, MsFlags::MS_BIND, None)?;
        }
    }
    for path in READ_ONLY_PROC {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        mount(Some(*path), path, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
        let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags;
        mount(None::<&str>, path, None, remount, None)?;
    }
    Ok(())
}

/// A small tmpfs `/dev`: host device nodes bound in, a private devpts, shm.
fn mount_dev() -> Result<(), StepError> {
    ensure_dir("dev")?;
    mount(Some("tmpfs"), "dev", Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, Some("mode=755,size=64k"))?;
    for name in DEVICES {
        let target = format!("dev/{name}");
        File::create(&target).map_err(|e| ("create device mount point", e))?;
        mount(Some(format!("/dev/{name}").as_str()), target.as_str(), None, MsFlags::MS_BIND, None)?;
    }
    ensure_dir("dev/pts")?;
    mount(
        Some("devpts"),
        "dev/pts",
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    ensure_dir("dev/shm")?;
    let shm_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("shm"), "dev/shm", Some("tmpfs"), shm_flags, Some("mode=1777,size=64m"))?;
    for (link, target) in [
        ("dev/ptmx", "pts/ptmx"),
        ("dev/fd", "/proc/self/fd"),
        ("dev/stdin", "/proc/self/fd/0"),
        ("dev/stdout", "/proc/self/fd/1"),
        ("dev/stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, link).map_err(|e| ("symlink in /dev", e))?;
    }
    Ok(())
}

/// Keeps Docker's default capability set in the bounding set; the init
/// (uid 0 in the capsule) gets exactly these at exec. Ambient and
/// inheritable sets are emptied so nothing else can come back.
fn drop_capabilities() -> Result<(), StepError> {
    use caps::{CapSet, Capability};

    const KEEP: &[Capability] = &[
        Capability::CAP_CHOWN,
        Capability::CAP_DAC_OVERRIDE,
        Capability::CAP_FSETID,
        Capability::CAP_FOWNER,
        Capability::CAP_MKNOD,
        Capability::CAP_NET_RAW,
        Capability::CAP_SETGID,
        Capability::CAP_SETUID,
        Capability::CAP_SETFCAP,
        Capability::CAP_SETPCAP,
        Capability::CAP_NET_BIND_SERVICE,
        Capability::CAP_SYS_CHROOT,
        Capability::CAP_KILL,
        Capability::CAP_AUDIT_WRITE,
    ];
    for cap in caps::runtime::thread_all_supported() {
        if !KEEP.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(|e| ("drop bounding capability", e))?;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| ("clear ambient capabilities", e))?;
    caps::clear(None, CapSet::Inheritable).map_err(|e| ("clear inheritable capabilities", e))?;
    Ok(())
}

fn mount<S: AsRef<Path> + ?Sized, T: AsRef<Path> + ?Sized>(
    source: Option<&S>,
    target: &T,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), StepError> {
    let target = target.as_ref();
    nix::mount::mount(source.map(|s| s.as_ref()), target, fstype, flags, data)
        .map_err(|e| StepError(format!("mount {}: {e}", target.display())))
}

fn ensure_dir(path: &str) -> Result<(), StepError> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err((path, e).into()),
    }
}

fn to_cstrings(items: &[String]) -> Result<Vec<CString>, StepError> {
    items.iter().map(|item| CString::new(item.as_str()).map_err(|e| ("argument with NUL", e).into())).collect()
}
