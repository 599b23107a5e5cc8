//! Building a capsule's root filesystem: the one place that knows how the
//! overlay of template and writable layer is put together, used by the
//! launcher's child (a new capsule) and by checkpoint restore.
//!
//! Two halves, because they need different privileges:
//! - [`idmapped_template`] runs in the host's user namespace and makes a
//!   detached, read-only copy of the template's mount with the capsule's id
//!   mapping (templates are stored canonical, see `uid_range`);
//! - [`mount_capsule_root`] runs in the mount namespace that will hold the
//!   capsule's root, which its caller administers (the capsule's own, inside
//!   its user namespace; or a private one in the host's for a restore).
//!
//! ```text
//! <capsule_dir>/rootfs/          tmpfs (staging; nothing in it refers to host mounts)
//!     layer/                     bind of <capsule_dir>/layer (upper/ and work/, maybe a disk image)
//!     lower/                     the idmapped template
//!     root/                      overlay lowerdir=lower,upperdir=layer/upper,workdir=layer/work,userxattr
//!     old/                       where the inherited tree goes at the first pivot_root
//! ```
//!
//! Overlay options use relative paths, so `/proc/self/mountinfo` in the
//! capsule shows no host path. `userxattr` keeps overlay's own metadata
//! (opaque directories, redirects) in `user.overlay.*` xattrs: a capsule's
//! overlay is mounted inside its user namespace, which cannot set
//! `trusted.*`, and without it removing a template directory fails with
//! EIO. A restore mounts the same upper layer, so it must use the same
//! option: this function is the only place that spells it.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use crate::runtime::container::launch::{LAYER_DIR, LOWER_DIR, ROOTFS_DIR, UPPER_DIR, WORK_DIR};
use crate::sys::idmap::{self, IdmapError};
use crate::uid_range::UidRange;

/// Entries of the staging tmpfs at `rootfs/` besides [`LOWER_DIR`].
pub(crate) const STAGING_LAYER: &str = "layer";
pub(crate) const STAGING_ROOT: &str = "root";
pub(crate) const STAGING_OLD: &str = "old";

#[derive(Debug, thiserror::Error)]
pub(crate) enum RootfsError {
    #[error("could not prepare the idmapped template")]
    Idmap(#[source] IdmapError),
    #[error("could not mount {target}")]
    Mount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("could not {step} {path}")]
    Io {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A user namespace fd mapping capsule ids `0..65536` to host ids from
/// `base`, for callers without a capsule process (restore). Clones a
/// short-lived child: the caller must be single-threaded.
pub(crate) fn userns_for(base: u32) -> Result<OwnedFd, RootfsError> {
    idmap::userns_for(UidRange { base }).map_err(RootfsError::Idmap)
}

/// A detached, read-only copy of `template_rootfs` whose files (stored
/// canonical) appear owned by the host ids that `userns` maps them to.
/// Needs `CAP_SYS_ADMIN` in the host's user namespace.
pub(crate) fn idmapped_template(template_rootfs: &Path, userns: BorrowedFd<'_>) -> Result<OwnedFd, RootfsError> {
    idmap::idmapped_tree(template_rootfs, userns).map_err(RootfsError::Idmap)
}

/// Builds the capsule's root at `<capsule_dir>/rootfs/root` from `lower`
/// (made by [`idmapped_template`]) and `<capsule_dir>/layer`, as drawn in
/// the module doc. Makes every mount of the caller's mount namespace
/// private first, so nothing propagates back to the host. Ends with the
/// working directory at `<capsule_dir>/rootfs/root`.
pub(crate) fn mount_capsule_root(capsule_dir: &Path, lower: OwnedFd) -> Result<(), RootfsError> {
    mount(None, Path::new("/"), None, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None)?;
    chdir(capsule_dir)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(Some(Path::new("tmpfs")), Path::new(ROOTFS_DIR), Some("tmpfs"), flags, Some("mode=0755,size=64k"))?;
    let staging = |dir: &str| Path::new(ROOTFS_DIR).join(dir);
    for dir in [STAGING_LAYER, LOWER_DIR, STAGING_ROOT, STAGING_OLD] {
        let path = staging(dir);
        std::fs::create_dir(&path).map_err(|source| RootfsError::Io { step: "create", path, source })?;
    }
    mount(Some(Path::new(LAYER_DIR)), &staging(STAGING_LAYER), None, MsFlags::MS_BIND, None)?;
    idmap::attach(lower, &staging(LOWER_DIR)).map_err(RootfsError::Idmap)?;
    chdir(Path::new(ROOTFS_DIR))?;
    let options = format!("lowerdir={LOWER_DIR},upperdir={UPPER_DIR},workdir={WORK_DIR},userxattr");
    mount(Some(Path::new("overlay")), Path::new(STAGING_ROOT), Some("overlay"), MsFlags::empty(), Some(&options))?;
    chdir(Path::new(STAGING_ROOT))
}

fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), RootfsError> {
    nix::mount::mount(source, target, fstype, flags, data)
        .map_err(|source| RootfsError::Mount { target: target.to_owned(), source })
}

fn chdir(path: &Path) -> Result<(), RootfsError> {
    nix::unistd::chdir(path).map_err(|e| RootfsError::Io { step: "enter", path: path.to_owned(), source: e.into() })
}
