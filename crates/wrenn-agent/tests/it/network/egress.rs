//! Outbound NAT through the egress interface, and no way to metadata.
//!
//! "Outside" is a namespace this test builds: `wtout0` on the host
//! (198.51.100.1/24, TEST-NET-2) paired with its `eth0` (198.51.100.2/24),
//! which also answers on 169.254.169.254. The outside namespace has no route
//! back to capsules, so a reply can only arrive through the masquerade.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use wrenn_agent::network::NetworkManager;
use wrenn_agent::network::slots::SlotAddrs;

use super::{
    BACKENDS, EchoPeer, FirewallRestore, SlotCleanup, ask_blocked_peer, ask_peer, in_netns, privileged, sh, sh_quiet,
};

const OUTSIDE_NETNS: &str = "wrenntest-outside";
const OUTSIDE_VETH: &str = "wtout0";
const SLOT: u16 = 16004;
const METADATA: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// Removes the outside namespace, its veth and the test's policy route.
struct OutsideCleanup;

impl Drop for OutsideCleanup {
    fn drop(&mut self) {
        sh_quiet("ip", &["rule", "del", "priority", &SLOT.to_string()]);
        sh_quiet("ip", &["route", "flush", "table", &SLOT.to_string()]);
        sh_quiet("ip", &["link", "del", OUTSIDE_VETH]);
        sh_quiet("ip", &["netns", "del", OUTSIDE_NETNS]);
    }
}

#[tokio::test]
async fn egress_is_masqueraded_and_metadata_is_dropped() {
    let Some(_serial) = privileged().await else { return };
    let _restore = FirewallRestore::save();
    let _cleanup = SlotCleanup(vec![SLOT]);
    let _outside_cleanup = OutsideCleanup;
    sh("ip", &["netns", "add", OUTSIDE_NETNS]);
    sh("ip", &["link", "add", OUTSIDE_VETH, "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE_NETNS]);
    sh("ip", &["addr", "add", "198.51.100.1/24", "dev", OUTSIDE_VETH]);
    sh("ip", &["link", "set", OUTSIDE_VETH, "up"]);
    for step in [
        "link set lo up",
        "addr add 198.51.100.2/24 dev eth0",
        "addr add 169.254.169.254/32 dev lo",
        "link set eth0 up",
    ] {
        let mut args = vec!["-n", OUTSIDE_NETNS];
        args.extend(step.split(' '));
        sh("ip", &args);
    }
    let outside_path = Path::new("/run/netns").join(OUTSIDE_NETNS);
    let outside = EchoPeer::serve(in_netns(&outside_path, || TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap()));

    let manager = NetworkManager::new();
    let capsule = manager.create(SlotAddrs::of(SLOT)).await.unwrap();

    // Route the capsule's metadata traffic to the outside namespace (policy
    // routing for this capsule's veth only), so that only the firewall stands
    // between the capsule and a listening 169.254.169.254.
    let table = SLOT.to_string();
    sh("ip", &["route", "add", "169.254.169.254/32", "via", "198.51.100.2", "dev", OUTSIDE_VETH, "table", &table]);
    sh("ip", &["rule", "add", "iif", &format!("wrenn-v{SLOT}"), "lookup", &table, "priority", &table]);

    for backend in BACKENDS {
        let firewall = NetworkManager::with_firewall_backend(backend);
        firewall.ensure_host_rules(Some(OUTSIDE_VETH)).await.unwrap();
        // With forwarding on, the route exists: only the firewall is in the way.
        let route = sh(
            "ip",
            &[
                "route",
                "get",
                "169.254.169.254",
                "from",
                &capsule.capsule_ip.to_string(),
                "iif",
                &format!("wrenn-v{SLOT}"),
            ],
        );
        assert!(route.contains(OUTSIDE_VETH), "{route}");
        let seen = in_netns(&capsule.netns_path, || ask_peer(Ipv4Addr::new(198, 51, 100, 2), outside.addr.port()));
        assert_eq!(seen.unwrap(), "198.51.100.1", "{backend:?}: the outside sees the host's egress address");

        let n_before = outside.n_accepted();
        let result = in_netns(&capsule.netns_path, || ask_blocked_peer(METADATA, outside.addr.port()));
        assert!(result.is_err(), "{backend:?}: capsule reached the metadata address: {result:?}");
        assert_eq!(outside.n_accepted(), n_before, "{backend:?}");
        firewall.remove_host_rules().await.unwrap();
    }

    manager.destroy(SLOT).await.unwrap();
}
