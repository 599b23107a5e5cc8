//! The host firewall as text: one nftables table, `inet wrenn`.
//!
//! Everything matches the host-side veths by the wildcard `"wrenn-v*"`, so
//! the table is installed once and nothing is added or removed per capsule:
//! a capsule's rules exist exactly as long as its veth does, and there is no
//! per-capsule rule for a crash to leave behind.
//!
//! What the table enforces (hooked at priority `filter - 10`, so it sees
//! packets before the usual filter tables; a drop here is final whatever
//! other tables say):
//! - input from a capsule: only replies (established, related) reach the
//!   host. A capsule opens no connection to any host, agent or control-plane
//!   port, on any host address. The host reaching into capsules (the agent
//!   talking to envd, the proxy to any port) is output traffic and is not
//!   restricted; its replies come back as established.
//! - forward from a capsule: never to another capsule, never to private,
//!   loopback, link-local (169.254.0.0/16, cloud metadata), shared, multicast
//!   or reserved IPv4 ranges, no IPv6 at all; only out through the egress
//!   interface, masqueraded from 10.201.0.0/16 to that interface's address.
//!   Without an egress interface, capsules get no outbound traffic.
//! - forward towards a capsule: only replies.
//!
//! `ip_forward`: capsule egress needs the host to forward, so the agent turns
//! `net.ipv4.ip_forward` on, deliberately. When it was off before, the host
//! was not a router for anyone and must not become one: the table then gets
//! one more rule, the forward guard, dropping every forwarded packet that
//! involves no `wrenn-v*` interface. The guard carries a comment so that a
//! restarted agent (which now finds `ip_forward` on, because it turned it on)
//! knows the guard is still needed, and so that removing the table knows to
//! turn `ip_forward` back off.
//!
//! Pure text and decisions; `sys::nft` applies them.

use std::fmt::Write as _;

use crate::network::names;
use crate::network::slots::CAPSULE_SUBNET;

/// The nftables family and name of the agent's table.
pub(crate) const TABLE: &str = "inet wrenn";

/// Comment marking the forward guard; its presence is how later runs know
/// `ip_forward` was off before the agent.
pub(crate) const FORWARD_GUARD_MARK: &str = "wrenn-forward-guard";

/// Destinations a capsule never reaches through the host: "this network",
/// RFC 1918, shared address space, loopback, link-local (metadata services),
/// IETF protocol assignments, benchmarking, multicast and reserved.
pub(crate) const BLOCKED_DESTINATIONS: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/3",
];

/// An egress interface name nftables could not safely be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressNameError {
    #[error("egress interface name is empty or longer than 15 bytes")]
    Length,
    #[error("egress interface name has characters other than letters, digits, '-', '_', '.', '@'")]
    Characters,
    #[error("egress interface name matches the capsule veth wildcard")]
    CapsuleVeth,
}

/// Checks an egress interface name before it goes into the ruleset text.
pub(crate) fn check_egress_name(name: &str) -> Result<(), EgressNameError> {
    if name.is_empty() || name.len() > 15 {
        return Err(EgressNameError::Length);
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b)) {
        return Err(EgressNameError::Characters);
    }
    let veth_prefix = names::host_veth_wildcard();
    if name.starts_with(veth_prefix.trim_end_matches('*')) {
        return Err(EgressNameError::CapsuleVeth);
    }
    Ok(())
}

/// Whether the table needs the forward guard.
///
/// `forwarding_before` is `net.ipv4.ip_forward` as found now; `current_table`
/// the listing of our table if it exists. Once the agent has turned
/// forwarding on, only its own guard remembers that the host was not a router.
pub(crate) fn needs_forward_guard(forwarding_before: bool, current_table: Option<&str>) -> bool {
    !forwarding_before || current_table.is_some_and(|table| table.contains(FORWARD_GUARD_MARK))
}

/// The whole table as one `nft -f -` transaction.
///
/// Declaring the table, deleting it and declaring it in full in one batch
/// replaces any previous version atomically: there is no moment with no rules.
pub(crate) fn ruleset(egress: Option<&str>, forward_guard: bool) -> String {
    let veths = names::host_veth_wildcard();
    let mut text = String::new();
    let _ = writeln!(text, "table {TABLE} {{}}");
    let _ = writeln!(text, "delete table {TABLE}");
    let _ = writeln!(text, "table {TABLE} {{");

    let _ = writeln!(text, "  chain input {{");
    let _ = writeln!(text, "    type filter hook input priority filter - 10; policy accept;");
    let _ = writeln!(text, "    iifname \"{veths}\" ct state established,related accept");
    let _ = writeln!(text, "    iifname \"{veths}\" counter drop");
    let _ = writeln!(text, "  }}");

    let _ = writeln!(text, "  chain forward {{");
    let _ = writeln!(text, "    type filter hook forward priority filter - 10; policy accept;");
    let _ = writeln!(text, "    oifname \"{veths}\" ct state established,related accept");
    let _ = writeln!(text, "    iifname \"{veths}\" oifname \"{veths}\" counter drop");
    let _ = writeln!(text, "    iifname \"{veths}\" ip daddr {{ {} }} counter drop", BLOCKED_DESTINATIONS.join(", "));
    let _ = writeln!(text, "    iifname \"{veths}\" meta nfproto ipv6 counter drop");
    if let Some(egress) = egress {
        let _ = writeln!(text, "    iifname \"{veths}\" oifname \"{egress}\" accept");
    }
    let _ = writeln!(text, "    iifname \"{veths}\" counter drop");
    let _ = writeln!(text, "    oifname \"{veths}\" counter drop");
    if forward_guard {
        let _ = writeln!(
            text,
            "    iifname != \"{veths}\" oifname != \"{veths}\" counter drop comment \"{FORWARD_GUARD_MARK}\""
        );
    }
    let _ = writeln!(text, "  }}");

    if let Some(egress) = egress {
        let _ = writeln!(text, "  chain postrouting {{");
        let _ = writeln!(text, "    type nat hook postrouting priority srcnat; policy accept;");
        let _ = writeln!(text, "    oifname \"{egress}\" ip saddr {CAPSULE_SUBNET}/16 masquerade");
        let _ = writeln!(text, "  }}");
    }
    let _ = writeln!(text, "}}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_with_egress_and_guard() {
        let text = ruleset(Some("eth0"), true);
        let want = r#"table inet wrenn {}
delete table inet wrenn
table inet wrenn {
  chain input {
    type filter hook input priority filter - 10; policy accept;
    iifname "wrenn-v*" ct state established,related accept
    iifname "wrenn-v*" counter drop
  }
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    oifname "wrenn-v*" ct state established,related accept
    iifname "wrenn-v*" oifname "wrenn-v*" counter drop
    iifname "wrenn-v*" ip daddr { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/3 } counter drop
    iifname "wrenn-v*" meta nfproto ipv6 counter drop
    iifname "wrenn-v*" oifname "eth0" accept
    iifname "wrenn-v*" counter drop
    oifname "wrenn-v*" counter drop
    iifname != "wrenn-v*" oifname != "wrenn-v*" counter drop comment "wrenn-forward-guard"
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" ip saddr 10.201.0.0/16 masquerade
  }
}
"#;
        assert_eq!(text, want);
    }

    #[test]
    fn ruleset_variants() {
        let no_egress = ruleset(None, false);
        assert!(!no_egress.contains("masquerade"), "{no_egress}");
        assert!(!no_egress.contains("postrouting"), "{no_egress}");
        assert!(!no_egress.contains(FORWARD_GUARD_MARK), "{no_egress}");
        // Without egress, everything a capsule sends to be forwarded is dropped.
        assert!(no_egress.contains("    iifname \"wrenn-v*\" counter drop\n  }"), "{no_egress}");
        let guarded = ruleset(None, true);
        assert!(guarded.contains(FORWARD_GUARD_MARK), "{guarded}");
        // The guard stays the last forward rule: capsule traffic is decided first.
        let guard_at = guarded.find(FORWARD_GUARD_MARK).unwrap();
        assert!(guarded[guard_at..].lines().nth(1).is_some_and(|line| line.trim() == "}"), "{guarded}");
    }

    #[test]
    fn forward_guard_decision() {
        let guarded = ruleset(None, true);
        let unguarded = ruleset(None, false);
        let table = [
            // (ip_forward now, table now, guard?)
            (false, None, true),
            (true, None, false),
            (false, Some(unguarded.as_str()), true),
            // The agent turned forwarding on earlier; its guard remembers.
            (true, Some(guarded.as_str()), true),
            (true, Some(unguarded.as_str()), false),
        ];
        for (forwarding, current, want) in table {
            assert_eq!(needs_forward_guard(forwarding, current), want, "forwarding={forwarding} table={current:?}");
        }
    }

    #[test]
    fn egress_names() {
        let table = [
            ("eth0", Ok(())),
            ("enp3s0f1", Ok(())),
            ("bond0.100", Ok(())),
            ("wt-ext_1", Ok(())),
            ("", Err(EgressNameError::Length)),
            ("a234567890123456", Err(EgressNameError::Length)),
            ("eth0\"; drop", Err(EgressNameError::Characters)),
            ("eth 0", Err(EgressNameError::Characters)),
            ("eth*", Err(EgressNameError::Characters)),
            ("wrenn-v1", Err(EgressNameError::CapsuleVeth)),
        ];
        for (name, want) in table {
            assert_eq!(check_egress_name(name), want, "{name:?}");
        }
    }
}
