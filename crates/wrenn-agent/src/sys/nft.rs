//! The `nft` tool: applying a ruleset batch, reading and deleting a table.
//!
//! Through the tool rather than raw nf_tables netlink: one `nft -f -` is one
//! kernel transaction, which is all the agent needs, and it runs once per
//! agent start, not per capsule.

use std::time::Duration;

use crate::sys::cmd::{self, CmdError};

const NFT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the `nft` tool can be started at all.
pub(crate) async fn available() -> bool {
    match cmd::run("nft", ["--version"], None, NFT_TIMEOUT).await {
        Ok(_) => true,
        Err(CmdError::Spawn { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => true,
    }
}

/// Applies `script` as one atomic transaction.
pub(crate) async fn apply(script: &str) -> Result<(), CmdError> {
    cmd::run("nft", ["-f", "-"], Some(script.as_bytes()), NFT_TIMEOUT).await?;
    Ok(())
}

/// The stateless listing (no counters) of `table` ("<family> <name>"), or
/// `None` when it does not exist.
pub(crate) async fn list_table(table: &str) -> Result<Option<String>, CmdError> {
    let tables = cmd::run("nft", ["list", "tables"], None, NFT_TIMEOUT).await?;
    let wanted = format!("table {table}");
    if !String::from_utf8_lossy(&tables.stdout).lines().any(|line| line.trim() == wanted) {
        return Ok(None);
    }
    let mut args = vec!["-s", "list", "table"];
    args.extend(table.split_whitespace());
    let listing = cmd::run("nft", args, None, NFT_TIMEOUT).await?;
    Ok(Some(String::from_utf8_lossy(&listing.stdout).into_owned()))
}

/// Deletes `table` ("<family> <name>"), which must exist.
pub(crate) async fn delete_table(table: &str) -> Result<(), CmdError> {
    let mut args = vec!["delete", "table"];
    args.extend(table.split_whitespace());
    cmd::run("nft", args, None, NFT_TIMEOUT).await?;
    Ok(())
}
