//! The one sysctl the agent changes: `net.ipv4.ip_forward`.

use std::io;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Whether the host forwards IPv4 packets.
pub(crate) async fn ip_forward() -> io::Result<bool> {
    let value = tokio::fs::read_to_string(IP_FORWARD).await?;
    Ok(value.trim() != "0")
}

pub(crate) async fn set_ip_forward(on: bool) -> io::Result<()> {
    tokio::fs::write(IP_FORWARD, if on { "1\n" } else { "0\n" }).await
}
