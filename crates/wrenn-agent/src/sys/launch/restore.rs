//! `wrenn-launch restore`: brings a hibernated capsule back by exec'ing
//! `criu restore` from a prepared place.
//!
//! CRIU restores the capsule's tree into the namespaces it runs in where the
//! image says "not dumped" (the network namespace) and wants the capsule's
//! root filesystem already mounted (`--root`). Both need namespace calls the
//! agent must not make (it is multithreaded), so this runs in the
//! single-threaded launcher: join the capsule's netns, unshare a private
//! mount namespace, build the capsule root exactly as a launch does
//! (`sys::rootfs`, the one place that knows how), open the console file for
//! CRIU to hand back to the init, and exec CRIU. The mount namespace is this
//! process's alone; it vanishes when CRIU exits (the restored tasks get
//! their own), so nothing is left mounted on the host.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::sched::CloneFlags;

use crate::runtime::container::hibernate::RestoreSpec;
use crate::runtime::container::launch::{CONSOLE_FILE, ROOTFS_DIR};
use crate::sys::rootfs::STAGING_ROOT;

/// CRIU's only environment: it runs helper tools by name.
const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub(crate) enum RestoreError {
    #[error(transparent)]
    Netns(#[from] crate::sys::launch::NetnsError),
    #[error("could not unshare a mount namespace")]
    Unshare(#[source] nix::Error),
    #[error("could not build the capsule root")]
    Root(#[source] crate::sys::rootfs::RootfsError),
    #[error("could not open {path}")]
    Console {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("argument with a NUL byte")]
    Argument(#[source] std::ffi::NulError),
    #[error("could not exec {path}")]
    Exec {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// Prepares the namespaces and the root and execs `criu restore`; returns
/// only on failure.
pub(crate) fn restore(spec: &RestoreSpec) -> Result<Infallible, RestoreError> {
    let launch = &spec.launch;
    if let Some(path) = &launch.netns_path {
        crate::sys::launch::join_netns(path)?;
    }
    nix::sched::unshare(CloneFlags::CLONE_NEWNS).map_err(RestoreError::Unshare)?;
    let userns = crate::sys::rootfs::userns_for(launch.uid_base).map_err(RestoreError::Root)?;
    let lower =
        crate::sys::rootfs::idmapped_template(&launch.template_rootfs, userns.as_fd()).map_err(RestoreError::Root)?;
    crate::sys::rootfs::mount_capsule_root(&launch.capsule_dir, lower).map_err(RestoreError::Root)?;
    let root = launch.capsule_dir.join(ROOTFS_DIR).join(STAGING_ROOT);

    // CRIU reopens this fd as the restored init for its stdout and stderr;
    // it must survive the exec (std opens close-on-exec, dup does not).
    let console_path = launch.capsule_dir.join(CONSOLE_FILE);
    let console = std::fs::OpenOptions::new()
        .append(true)
        .open(&console_path)
        .map_err(|source| RestoreError::Console { path: console_path.clone(), source })?;
    let inherited = nix::unistd::dup(&console)
        .map_err(|source| RestoreError::Console { path: console_path, source: source.into() })?;

    let mut argv = vec![CString::new(spec.criu.as_os_str().as_bytes()).map_err(RestoreError::Argument)?];
    argv.push(CString::new("restore").map_err(RestoreError::Argument)?);
    for arg in &spec.args {
        argv.push(CString::new(arg.as_str()).map_err(RestoreError::Argument)?);
    }
    argv.push(CString::new("--root").map_err(RestoreError::Argument)?);
    argv.push(CString::new(root.as_os_str().as_bytes()).map_err(RestoreError::Argument)?);
    argv.push(CString::new("--inherit-fd").map_err(RestoreError::Argument)?);
    let inherit = format!("fd[{}]:{}", inherited.as_raw_fd(), spec.console_key);
    argv.push(CString::new(inherit).map_err(RestoreError::Argument)?);
    let env = [CString::new(PATH).map_err(RestoreError::Argument)?];
    // Leaked on purpose: the fd must stay open into the exec'ed CRIU.
    std::mem::forget(inherited);
    nix::unistd::execve(&argv[0], &argv, &env).map_err(|source| RestoreError::Exec { path: spec.criu.clone(), source })
}
