//! Turning `ip_forward` on for capsules does not make the host a router for
//! anything else, and removing the rules puts the host back as it was.
//!
//! Two namespaces of the test's own, "left" (203.0.113.2/25) and "right"
//! (203.0.113.130/25, TEST-NET-3), each with a veth to the host and a default
//! route via it: with forwarding on and no guard, left would reach right
//! through the host.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use wrenn_agent::network::{FirewallBackend, NetworkManager};

use super::{
    BACKENDS, EchoPeer, FirewallRestore, ask_blocked_peer, ask_peer, in_netns, privileged, sh, sh_quiet, wrenn_table,
};

const SIDES: [(&str, &str, &str, &str); 2] = [
    ("wrenntest-left", "wtleft0", "203.0.113.1/25", "203.0.113.2/25"),
    ("wrenntest-right", "wtright0", "203.0.113.129/25", "203.0.113.130/25"),
];
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

struct SidesCleanup;

impl Drop for SidesCleanup {
    fn drop(&mut self) {
        for (netns, veth, _, _) in SIDES {
            sh_quiet("ip", &["link", "del", veth]);
            sh_quiet("ip", &["netns", "del", netns]);
        }
    }
}

#[tokio::test]
async fn forwarding_is_enabled_for_capsules_only() {
    let Some(_serial) = privileged().await else { return };
    let restore = FirewallRestore::save();
    let _cleanup = SidesCleanup;
    if restore.ip_forward.trim() != "0" {
        eprintln!("skipped (host already forwards: the guard is not installed)");
        return;
    }
    sh_quiet("nft", &["delete", "table", "inet", "wrenn"]);
    for (netns, veth, host_cidr, inner_cidr) in SIDES {
        sh("ip", &["netns", "add", netns]);
        sh("ip", &["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
        sh("ip", &["addr", "add", host_cidr, "dev", veth]);
        sh("ip", &["link", "set", veth, "up"]);
        sh("ip", &["-n", netns, "addr", "add", inner_cidr, "dev", "eth0"]);
        sh("ip", &["-n", netns, "link", "set", "eth0", "up"]);
        let gateway = host_cidr.trim_end_matches("/25");
        sh("ip", &["-n", netns, "route", "add", "default", "via", gateway]);
    }
    let right_path = Path::new("/run/netns").join(SIDES[1].0);
    let left_path = Path::new("/run/netns").join(SIDES[0].0);
    let right = EchoPeer::serve(in_netns(&right_path, || TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap()));
    let right_ip = Ipv4Addr::new(203, 0, 113, 130);

    for backend in BACKENDS {
        let manager = NetworkManager::with_firewall_backend(backend);
        manager.ensure_host_rules(None).await.unwrap();
        assert_eq!(std::fs::read_to_string(IP_FORWARD).unwrap().trim(), "1");
        assert!(guard_installed(backend), "{backend:?}");
        let result = in_netns(&left_path, || ask_blocked_peer(right_ip, right.addr.port()));
        assert!(result.is_err(), "{backend:?}: the host forwarded left to right: {result:?}");
        assert_eq!(right.n_accepted(), 0);

        // A restarted agent finds forwarding on (it turned it on) and keeps the guard.
        let restarted = NetworkManager::with_firewall_backend(backend);
        restarted.ensure_host_rules(None).await.unwrap();
        assert!(guard_installed(backend), "{backend:?}");

        restarted.remove_host_rules().await.unwrap();
        assert!(!guard_installed(backend), "{backend:?}");
        assert_eq!(wrenn_table(), None);
        assert!(!sh("iptables", &["-S"]).contains("WRENN"), "{backend:?}");
        assert!(!sh("iptables", &["-t", "nat", "-S"]).contains("WRENN"), "{backend:?}");
        assert!(!sh("ip6tables", &["-S"]).contains("WRENN"), "{backend:?}");
        assert_eq!(std::fs::read_to_string(IP_FORWARD).unwrap().trim(), "0");
        restarted.remove_host_rules().await.unwrap();
    }

    // Control: with forwarding on and no guard, left does reach right.
    std::fs::write(IP_FORWARD, "1\n").unwrap();
    let seen = in_netns(&left_path, || ask_peer(right_ip, right.addr.port()));
    assert_eq!(seen.unwrap(), "203.0.113.2");
}

fn guard_installed(backend: FirewallBackend) -> bool {
    let rules = match backend {
        FirewallBackend::Iptables => sh("iptables", &["-S"]),
        _ => wrenn_table().unwrap_or_default(),
    };
    rules.contains("wrenn-forward-guard")
}
