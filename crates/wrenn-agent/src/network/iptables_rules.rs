//! The host firewall for hosts without `nft`: the same policy as
//! `network::firewall`, as `iptables-restore` input.
//!
//! Our rules live in chains of our own (`WRENN-*`), reached by one jump
//! from each built-in chain, so the jumps are the only thing shared with
//! other users of iptables. Unlike an nftables table, an `ACCEPT` in a chain
//! we jump to would end the built-in chain for everyone after us, so what
//! we allow `RETURN`s instead: like the nftables table, these chains only
//! ever restrict. The interface wildcard is iptables' `wrenn-v+`.

use std::fmt::Write as _;

use crate::network::firewall::{BLOCKED_DESTINATIONS, FORWARD_GUARD_MARK};
use crate::network::slots::CAPSULE_SUBNET;

/// A jump from a built-in chain into one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Jump {
    pub(crate) table: &'static str,
    pub(crate) hook: &'static str,
    pub(crate) chain: &'static str,
}

pub(crate) const INPUT: Jump = Jump { table: "filter", hook: "INPUT", chain: "WRENN-INPUT" };
pub(crate) const FORWARD: Jump = Jump { table: "filter", hook: "FORWARD", chain: "WRENN-FORWARD" };
pub(crate) const POSTROUTING: Jump = Jump { table: "nat", hook: "POSTROUTING", chain: "WRENN-POSTROUTING" };

/// Jumps of the IPv4 rules (`iptables`).
pub(crate) const V4_JUMPS: [Jump; 3] = [INPUT, FORWARD, POSTROUTING];
/// Jumps of the IPv6 rules (`ip6tables`): capsules get no IPv6 at all.
pub(crate) const V6_JUMPS: [Jump; 2] = [INPUT, FORWARD];

const VETHS: &str = "wrenn-v+";

/// IPv4 chains for `iptables-restore --noflush`; declaring a chain there
/// creates or empties it, so the script replaces our previous rules.
pub(crate) fn v4_restore(egress: Option<&str>, forward_guard: bool) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "*filter");
    let _ = writeln!(text, ":{} - [0:0]", INPUT.chain);
    let _ = writeln!(text, ":{} - [0:0]", FORWARD.chain);
    input_rules(&mut text);
    let forward = FORWARD.chain;
    let _ = writeln!(text, "-A {forward} -o {VETHS} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN");
    let _ = writeln!(text, "-A {forward} -i {VETHS} -o {VETHS} -j DROP");
    for destination in BLOCKED_DESTINATIONS {
        let _ = writeln!(text, "-A {forward} -i {VETHS} -d {destination} -j DROP");
    }
    if let Some(egress) = egress {
        let _ = writeln!(text, "-A {forward} -i {VETHS} -o {egress} -j RETURN");
    }
    let _ = writeln!(text, "-A {forward} -i {VETHS} -j DROP");
    let _ = writeln!(text, "-A {forward} -o {VETHS} -j DROP");
    if forward_guard {
        // Every packet involving a capsule veth has returned or been dropped above.
        let _ = writeln!(text, "-A {forward} -m comment --comment {FORWARD_GUARD_MARK} -j DROP");
    }
    let _ = writeln!(text, "COMMIT");
    let _ = writeln!(text, "*nat");
    let _ = writeln!(text, ":{} - [0:0]", POSTROUTING.chain);
    if let Some(egress) = egress {
        let _ = writeln!(text, "-A {} -s {CAPSULE_SUBNET}/16 -o {egress} -j MASQUERADE", POSTROUTING.chain);
    }
    let _ = writeln!(text, "COMMIT");
    text
}

/// IPv6 chains for `ip6tables-restore --noflush`.
pub(crate) fn v6_restore() -> String {
    let mut text = String::new();
    let _ = writeln!(text, "*filter");
    let _ = writeln!(text, ":{} - [0:0]", INPUT.chain);
    let _ = writeln!(text, ":{} - [0:0]", FORWARD.chain);
    input_rules(&mut text);
    let _ = writeln!(text, "-A {} -i {VETHS} -j DROP", FORWARD.chain);
    let _ = writeln!(text, "-A {} -o {VETHS} -j DROP", FORWARD.chain);
    let _ = writeln!(text, "COMMIT");
    text
}

fn input_rules(text: &mut String) {
    let input = INPUT.chain;
    let _ = writeln!(text, "-A {input} -i {VETHS} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN");
    let _ = writeln!(text, "-A {input} -i {VETHS} -j DROP");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_with_egress_and_guard() {
        let want = "*filter
:WRENN-INPUT - [0:0]
:WRENN-FORWARD - [0:0]
-A WRENN-INPUT -i wrenn-v+ -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
-A WRENN-INPUT -i wrenn-v+ -j DROP
-A WRENN-FORWARD -o wrenn-v+ -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
-A WRENN-FORWARD -i wrenn-v+ -o wrenn-v+ -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 0.0.0.0/8 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 10.0.0.0/8 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 100.64.0.0/10 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 127.0.0.0/8 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 169.254.0.0/16 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 172.16.0.0/12 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 192.0.0.0/24 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 192.168.0.0/16 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 198.18.0.0/15 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -d 224.0.0.0/3 -j DROP
-A WRENN-FORWARD -i wrenn-v+ -o eth0 -j RETURN
-A WRENN-FORWARD -i wrenn-v+ -j DROP
-A WRENN-FORWARD -o wrenn-v+ -j DROP
-A WRENN-FORWARD -m comment --comment wrenn-forward-guard -j DROP
COMMIT
*nat
:WRENN-POSTROUTING - [0:0]
-A WRENN-POSTROUTING -s 10.201.0.0/16 -o eth0 -j MASQUERADE
COMMIT
";
        assert_eq!(v4_restore(Some("eth0"), true), want);
    }

    #[test]
    fn v4_without_egress_or_guard_and_v6() {
        let text = v4_restore(None, false);
        assert!(
            !text.contains("MASQUERADE") && !text.contains("RETURN\n-A WRENN-FORWARD -i wrenn-v+ -j DROP"),
            "{text}"
        );
        assert!(!text.contains(FORWARD_GUARD_MARK), "{text}");
        assert!(text.contains(":WRENN-POSTROUTING - [0:0]\nCOMMIT\n"), "{text}");
        let v6 = v6_restore();
        assert!(v6.contains("-A WRENN-FORWARD -i wrenn-v+ -j DROP\n"), "{v6}");
        assert!(!v6.contains("nat"), "{v6}");
    }
}
