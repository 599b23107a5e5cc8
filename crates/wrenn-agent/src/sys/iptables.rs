//! `iptables`/`ip6tables` and their `-restore` tools, for hosts without `nft`.

use std::time::Duration;

use crate::sys::cmd::{self, CmdError};

const IPTABLES_TIMEOUT: Duration = Duration::from_secs(20);

/// Which address family's tools to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    fn tool(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }

    fn restore_tool(self) -> &'static str {
        match self {
            Family::V4 => "iptables-restore",
            Family::V6 => "ip6tables-restore",
        }
    }
}

/// Whether `iptables` can be started at all.
pub(crate) async fn available() -> bool {
    !matches!(
        cmd::run("iptables", ["--version"], None, IPTABLES_TIMEOUT).await,
        Err(CmdError::Spawn { source, .. }) if source.kind() == std::io::ErrorKind::NotFound
    )
}

/// Feeds `script` to `<family>-restore --noflush` (other rules stay).
pub(crate) async fn restore(family: Family, script: &str) -> Result<(), CmdError> {
    cmd::run(family.restore_tool(), ["-w", "--noflush"], Some(script.as_bytes()), IPTABLES_TIMEOUT).await?;
    Ok(())
}

/// Whether `hook` in `table` jumps to `chain`.
pub(crate) async fn has_jump(family: Family, table: &str, hook: &str, chain: &str) -> bool {
    cmd::run(family.tool(), ["-w", "-t", table, "-C", hook, "-j", chain], None, IPTABLES_TIMEOUT).await.is_ok()
}

/// Makes `hook` in `table` jump to `chain` first.
pub(crate) async fn insert_jump(family: Family, table: &str, hook: &str, chain: &str) -> Result<(), CmdError> {
    cmd::run(family.tool(), ["-w", "-t", table, "-I", hook, "1", "-j", chain], None, IPTABLES_TIMEOUT).await?;
    Ok(())
}

pub(crate) async fn delete_jump(family: Family, table: &str, hook: &str, chain: &str) -> Result<(), CmdError> {
    cmd::run(family.tool(), ["-w", "-t", table, "-D", hook, "-j", chain], None, IPTABLES_TIMEOUT).await?;
    Ok(())
}

/// The rules of `chain` (`-S` format), or `None` when it does not exist.
/// Read from the whole table's listing: for a missing chain, `-S <chain>`
/// fails with a message that differs between iptables' backends.
pub(crate) async fn list_chain(family: Family, table: &str, chain: &str) -> Result<Option<String>, CmdError> {
    let output = cmd::run(family.tool(), ["-w", "-t", table, "-S"], None, IPTABLES_TIMEOUT).await?;
    let listing = String::from_utf8_lossy(&output.stdout);
    let declared = format!("-N {chain}");
    if !listing.lines().any(|line| line == declared) {
        return Ok(None);
    }
    let rule_prefix = format!("-A {chain} ");
    Ok(Some(listing.lines().filter(|line| line.starts_with(&rule_prefix)).map(|line| format!("{line}\n")).collect()))
}

/// Empties and deletes `chain`, which must exist and be unreferenced.
pub(crate) async fn delete_chain(family: Family, table: &str, chain: &str) -> Result<(), CmdError> {
    cmd::run(family.tool(), ["-w", "-t", table, "-F", chain], None, IPTABLES_TIMEOUT).await?;
    cmd::run(family.tool(), ["-w", "-t", table, "-X", chain], None, IPTABLES_TIMEOUT).await?;
    Ok(())
}
