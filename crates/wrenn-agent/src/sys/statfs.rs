//! Size of the filesystem holding a path: the disk capacity the agent
//! reports for its data dir.

use std::path::Path;

/// Total size in MiB of the filesystem holding `path`.
pub(crate) fn size_mb(path: &Path) -> Result<u64, std::io::Error> {
    let stat = nix::sys::statvfs::statvfs(path)?;
    Ok(stat.blocks().saturating_mul(stat.fragment_size()) >> 20)
}
