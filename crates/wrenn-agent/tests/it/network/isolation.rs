//! Capsules reach neither each other nor any host port.

use std::net::{Ipv4Addr, TcpListener};

use wrenn_agent::network::NetworkManager;
use wrenn_agent::network::slots::SlotAddrs;

use super::{BACKENDS, EchoPeer, FirewallRestore, SlotCleanup, ask_blocked_peer, ask_peer, in_netns, privileged};

#[tokio::test]
async fn capsules_reach_neither_each_other_nor_the_host() {
    let Some(_serial) = privileged().await else { return };
    let _restore = FirewallRestore::save();
    let _cleanup = SlotCleanup(vec![16002, 16003]);
    let manager = NetworkManager::new();
    let a = manager.create(SlotAddrs::of(16002)).await.unwrap();
    let b = manager.create(SlotAddrs::of(16003)).await.unwrap();

    let in_b = EchoPeer::serve(in_netns(&b.netns_path, || TcpListener::bind((b.capsule_ip, 0)).unwrap()));
    let on_veth = EchoPeer::serve(TcpListener::bind((a.host_ip, 0)).unwrap());
    let on_any = EchoPeer::serve(TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap());

    // The servers are up: the host reaches all three.
    assert_eq!(ask_peer(b.capsule_ip, in_b.addr.port()).unwrap(), b.host_ip.to_string());
    assert!(ask_peer(a.host_ip, on_veth.addr.port()).is_ok());
    assert!(ask_peer(Ipv4Addr::LOCALHOST, on_any.addr.port()).is_ok());
    let mut accepted = (in_b.n_accepted(), on_veth.n_accepted(), on_any.n_accepted());

    let attempts = [
        ("capsule B", b.capsule_ip, in_b.addr.port()),
        ("host on A's veth address", a.host_ip, on_veth.addr.port()),
        ("host 0.0.0.0 via A's gateway", a.host_ip, on_any.addr.port()),
        ("host 0.0.0.0 via B's veth address", b.host_ip, on_any.addr.port()),
    ];
    for backend in BACKENDS {
        let firewall = NetworkManager::with_firewall_backend(backend);
        firewall.ensure_host_rules(None).await.unwrap();
        for (what, ip, port) in attempts {
            let result = in_netns(&a.netns_path, || ask_blocked_peer(ip, port));
            assert!(result.is_err(), "{backend:?}: capsule A reached {what} ({ip}:{port}): {result:?}");
        }
        assert_eq!((in_b.n_accepted(), on_veth.n_accepted(), on_any.n_accepted()), accepted, "{backend:?}");
        // The host still reaches into the capsule with the rules on.
        assert_eq!(ask_peer(b.capsule_ip, in_b.addr.port()).unwrap(), b.host_ip.to_string(), "{backend:?}");
        accepted.0 += 1;
        firewall.remove_host_rules().await.unwrap();
    }

    manager.destroy(16002).await.unwrap();
    manager.destroy(16003).await.unwrap();
}
