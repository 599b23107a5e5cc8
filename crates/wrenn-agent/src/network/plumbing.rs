//! The `ip -batch` scripts that build and tear down one capsule's link.
//!
//! Why `ip -batch` and not rtnetlink: measured here, two batched `ip`
//! processes (host side, then capsule side) build a capsule's network in a
//! few milliseconds, the same order as the kernel work itself, and
//! `ip netns add` gives exactly iproute2's `/run/netns` bind-mount layout that
//! `ip netns exec`, operators and crash recovery rely on. Doing that by hand
//! over netlink would mean unsharing on a dedicated thread, bind-mounting
//! `/proc/<tid>/ns/net` and re-implementing iproute2's shared-mount dance, for
//! little gain. `ip -batch` stops at the first failing line, so a script
//! never half-runs past an error; the caller rolls back.
//!
//! Pure text generation: the scripts are unit-tested here and run by
//! `sys::ip`.

use std::fmt::Write as _;

use crate::layout;
use crate::network::slots::SlotAddrs;

/// Name of the capsule end of the veth, inside the capsule's namespace.
pub(crate) const CAPSULE_IFNAME: &str = "eth0";

/// Run in the host namespace: the namespace, the veth pair with its capsule
/// end moved straight into that namespace, and the host end addressed and up.
pub(crate) fn host_script(addrs: &SlotAddrs) -> String {
    let netns = layout::netns_name(addrs.slot);
    let veth = layout::host_veth_name(addrs.slot);
    let mut script = String::new();
    let _ = writeln!(script, "netns add {netns}");
    let _ = writeln!(script, "link add {veth} type veth peer name {CAPSULE_IFNAME} netns {netns}");
    let _ = writeln!(script, "addr add {}/{} dev {veth}", addrs.host, addrs.prefix_len);
    let _ = writeln!(script, "link set {veth} up");
    script
}

/// Run inside the capsule's namespace (`ip -n <netns> -batch -`).
pub(crate) fn capsule_script(addrs: &SlotAddrs) -> String {
    let mut script = String::new();
    let _ = writeln!(script, "link set lo up");
    let _ = writeln!(script, "addr add {}/{} dev {CAPSULE_IFNAME}", addrs.capsule, addrs.prefix_len);
    let _ = writeln!(script, "link set {CAPSULE_IFNAME} up");
    let _ = writeln!(script, "route add default via {}", addrs.host);
    script
}

/// Removes what exists of a slot's link, or `None` when nothing does.
///
/// The veth goes first and explicitly: deleting a link is synchronous, while a
/// deleted namespace is torn down later by a kernel worker, which would leave
/// the host end visible for a while and block re-creating the slot.
pub(crate) fn teardown_script(slot: u16, veth_exists: bool, netns_exists: bool) -> Option<String> {
    let mut script = String::new();
    if veth_exists {
        let _ = writeln!(script, "link del {}", layout::host_veth_name(slot));
    }
    if netns_exists {
        let _ = writeln!(script, "netns del {}", layout::netns_name(slot));
    }
    (!script.is_empty()).then_some(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_for_a_slot() {
        let addrs = SlotAddrs::of(16001);
        assert_eq!(
            host_script(&addrs),
            "netns add wrenn-16001\n\
             link add wrenn-v16001 type veth peer name eth0 netns wrenn-16001\n\
             addr add 10.201.250.5/30 dev wrenn-v16001\n\
             link set wrenn-v16001 up\n"
        );
        assert_eq!(
            capsule_script(&addrs),
            "link set lo up\n\
             addr add 10.201.250.6/30 dev eth0\n\
             link set eth0 up\n\
             route add default via 10.201.250.5\n"
        );
    }

    #[test]
    fn teardown_removes_only_what_exists() {
        let table = [
            (true, true, Some("link del wrenn-v3\nnetns del wrenn-3\n")),
            (true, false, Some("link del wrenn-v3\n")),
            (false, true, Some("netns del wrenn-3\n")),
            (false, false, None),
        ];
        for (veth, netns, want) in table {
            assert_eq!(teardown_script(3, veth, netns).as_deref(), want, "veth={veth} netns={netns}");
        }
    }
}
