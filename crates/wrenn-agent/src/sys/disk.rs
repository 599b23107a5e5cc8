//! Per-capsule disk images: a sparse ext4 file, loop-mounted by the agent
//! as the capsule's writable layer, so that the filesystem's own size is
//! the disk limit (no quota support needed on the host filesystem).
//!
//! `mount -o loop` sets the loop device to autoclear, so unmounting the
//! layer also frees the loop device; nothing else has to be tracked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::mount::MntFlags;

use crate::sys::cmd::{self, CmdError};

const TOOL_TIMEOUT: Duration = Duration::from_secs(30);
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub(crate) enum DiskError {
    #[error("could not create disk image {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not format disk image {path}")]
    Format {
        path: PathBuf,
        #[source]
        source: CmdError,
    },
    #[error("could not mount disk image {path}")]
    Mount {
        path: PathBuf,
        #[source]
        source: CmdError,
    },
    #[error("loop device of {path} still attached after {timeout:?}")]
    StillAttached { path: PathBuf, timeout: Duration },
    #[error("could not unmount {path}")]
    Unmount {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// Creates a sparse image of `size_bytes` holding an empty ext4 whose root
/// directory belongs to `owner` (the capsule's root).
pub(crate) async fn create(image: &Path, size_bytes: u64, owner: u32) -> Result<(), DiskError> {
    let file =
        std::fs::File::create_new(image).map_err(|source| DiskError::Create { path: image.to_owned(), source })?;
    file.set_len(size_bytes).map_err(|source| DiskError::Create { path: image.to_owned(), source })?;
    drop(file);
    let extended = format!("root_owner={owner}:{owner},lazy_itable_init=1,lazy_journal_init=1");
    // -m 0: capsule root is not host root, reserved blocks would be lost.
    let args = ["-q", "-F", "-m", "0", "-E", &extended, &image.to_string_lossy()];
    cmd::run("mkfs.ext4", args, None, TOOL_TIMEOUT)
        .await
        .map_err(|source| DiskError::Format { path: image.to_owned(), source })?;
    Ok(())
}

/// Loop-mounts `image` on `target` (nodev, nosuid).
pub(crate) async fn mount(image: &Path, target: &Path) -> Result<(), DiskError> {
    let args = ["-t", "ext4", "-o", "loop,nodev,nosuid", &image.to_string_lossy(), &target.to_string_lossy()];
    cmd::run("mount", args, None, TOOL_TIMEOUT)
        .await
        .map_err(|source| DiskError::Mount { path: image.to_owned(), source })?;
    Ok(())
}

/// Unmounts `target` if it is mounted; a mount still busy (a capsule mount
/// namespace not yet torn down) is detached and goes away with its last user.
pub(crate) fn unmount(target: &Path) -> Result<(), DiskError> {
    match nix::mount::umount2(target, MntFlags::empty()) {
        Ok(()) | Err(nix::Error::EINVAL | nix::Error::ENOENT) => Ok(()),
        Err(nix::Error::EBUSY) => nix::mount::umount2(target, MntFlags::MNT_DETACH)
            .map_err(|source| DiskError::Unmount { path: target.to_owned(), source }),
        Err(source) => Err(DiskError::Unmount { path: target.to_owned(), source }),
    }
}

/// Waits until no loop device is backed by `image`. The kernel frees an
/// autoclear loop device asynchronously after its last unmount (also the
/// one in a capsule's mount namespace, torn down after its last process).
pub(crate) fn wait_released(image: &Path) -> Result<(), DiskError> {
    let deadline = std::time::Instant::now() + RELEASE_TIMEOUT;
    // The kernel reports the resolved path.
    let image = &image.canonicalize().unwrap_or_else(|_| image.to_owned());
    while is_attached(image) {
        if std::time::Instant::now() > deadline {
            return Err(DiskError::StillAttached { path: image.to_owned(), timeout: RELEASE_TIMEOUT });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn is_attached(image: &Path) -> bool {
    let Ok(devices) = std::fs::read_dir("/sys/block") else { return false };
    devices.flatten().any(|device| {
        std::fs::read_to_string(device.path().join("loop/backing_file"))
            .is_ok_and(|backing| Path::new(backing.trim_end()) == image)
    })
}

/// Bytes in use on the filesystem mounted at `target`.
pub(crate) fn used_bytes(target: &Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(target).ok()?;
    Some((stat.blocks() - stat.blocks_free()) * stat.fragment_size())
}
