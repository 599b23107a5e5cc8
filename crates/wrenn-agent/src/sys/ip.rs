//! iproute2's `ip` and the kernel's views of links and named namespaces.
//!
//! Named network namespaces follow iproute2's layout: a file under
//! `/run/netns` bind-mounted over the namespace (that path is iproute2's,
//! fixed, not ours to choose), so `ip netns exec` works and a restarted agent
//! finds them.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::sys::cmd::{self, CmdError};

/// Where iproute2 keeps named network namespaces.
pub(crate) const NETNS_RUN_DIR: &str = "/run/netns";

const IP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs an `ip -batch` script, in the namespace named `netns` if given.
/// iproute2 stops at the first failing line.
pub(crate) async fn batch(netns: Option<&str>, script: &str) -> Result<(), CmdError> {
    let mut args: Vec<&str> = Vec::new();
    if let Some(netns) = netns {
        args.extend(["-n", netns]);
    }
    args.extend(["-batch", "-"]);
    cmd::run("ip", args, Some(script.as_bytes()), IP_TIMEOUT).await?;
    Ok(())
}

/// The bind-mount path of the namespace named `name`.
pub(crate) fn netns_path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_RUN_DIR).join(name)
}

/// Whether `/run/netns/<name>` exists (mounted or a leftover file).
pub(crate) fn netns_exists(name: &str) -> bool {
    std::fs::symlink_metadata(netns_path(name)).is_ok()
}

/// Whether the host namespace has a link called `name`.
pub(crate) fn link_exists(name: &str) -> bool {
    std::fs::symlink_metadata(PathBuf::from("/sys/class/net").join(name)).is_ok()
}

/// Names under `/run/netns`; none when the directory does not exist yet.
pub(crate) fn netns_names() -> io::Result<Vec<String>> {
    dir_names(NETNS_RUN_DIR)
}

/// Names of the links of the host namespace.
pub(crate) fn link_names() -> io::Result<Vec<String>> {
    dir_names("/sys/class/net")
}

fn dir_names(dir: &str) -> io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut names = Vec::new();
    for entry in entries {
        if let Some(name) = entry?.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}
