//! Which filesystem a path lives on (`statfs(2)`).

use std::io;
use std::path::Path;

/// The `f_type` magic number of the filesystem holding `path`
/// (`include/uapi/linux/magic.h`).
pub(crate) fn filesystem_magic(path: &Path) -> io::Result<u64> {
    let stats = nix::sys::statfs::statfs(path).map_err(io::Error::from)?;
    // f_type is a signed word on some libcs; magic numbers are 32-bit values.
    #[allow(clippy::unnecessary_cast, reason = "fs_type_t differs between glibc and musl")]
    let magic = stats.filesystem_type().0 as u64 & 0xffff_ffff;
    Ok(magic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_is_procfs() {
        const PROC_SUPER_MAGIC: u64 = 0x9fa0;
        assert_eq!(filesystem_magic(Path::new("/proc")).unwrap(), PROC_SUPER_MAGIC);
        assert!(filesystem_magic(Path::new("/definitely/not/here")).is_err());
    }
}
