//! The host reaches into a capsule; failed creates leave nothing behind.

use std::net::{Ipv4Addr, TcpListener};

use wrenn_agent::network::slots::SlotAddrs;
use wrenn_agent::network::{NetworkError, NetworkManager, SlotStep};

use super::{EchoPeer, FirewallRestore, SlotCleanup, ask_peer, in_netns, leftovers, privileged, sh};

#[tokio::test]
async fn host_reaches_a_server_inside_the_capsule() {
    let Some(_serial) = privileged().await else { return };
    let _restore = FirewallRestore::save();
    let _cleanup = SlotCleanup(vec![16001]);
    let manager = NetworkManager::new();
    manager.ensure_host_rules(None).await.unwrap();

    let capsule = manager.create(SlotAddrs::of(16001)).await.unwrap();
    assert_eq!(capsule.netns_path.to_str(), Some("/run/netns/wrenn-16001"));
    assert_eq!((capsule.host_ip, capsule.capsule_ip), (SlotAddrs::of(16001).host, SlotAddrs::of(16001).capsule));

    let server = EchoPeer::serve(in_netns(&capsule.netns_path, || TcpListener::bind((capsule.capsule_ip, 0)).unwrap()));
    let seen = ask_peer(capsule.capsule_ip, server.addr.port()).unwrap();
    assert_eq!(seen, capsule.host_ip.to_string());

    // iproute2 sees the namespace (bind mount under /run/netns), with lo up
    // and the default route via the host end.
    let routes = sh("ip", &["netns", "exec", "wrenn-16001", "ip", "route"]);
    assert!(routes.contains(&format!("default via {}", capsule.host_ip)), "{routes}");
    let lo = in_netns(&capsule.netns_path, || {
        let local = EchoPeer::serve(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap());
        ask_peer(Ipv4Addr::LOCALHOST, local.addr.port())
    });
    assert_eq!(lo.unwrap(), "127.0.0.1");

    manager.destroy(16001).await.unwrap();
    assert_eq!(leftovers(16001), Vec::<String>::new());
    // Destroying what is gone is fine.
    manager.destroy(16001).await.unwrap();
}

#[tokio::test]
async fn failed_creates_roll_back_and_existing_slots_are_refused() {
    let Some(_serial) = privileged().await else { return };
    let _cleanup = SlotCleanup(vec![16030, 16031, 16032]);
    let manager = NetworkManager::new();

    // Fails on the host side after the namespace and veth exist.
    let bad_prefix = SlotAddrs { prefix_len: 33, ..SlotAddrs::of(16030) };
    let err = manager.create(bad_prefix).await.unwrap_err();
    assert!(matches!(err, NetworkError::Slot { slot: 16030, step: SlotStep::HostSide, .. }), "{err:?}");
    assert_eq!(leftovers(16030), Vec::<String>::new());

    // Fails inside the capsule: the gateway is not on the capsule's link.
    let off_link = SlotAddrs { host: SlotAddrs::of(16000).host, ..SlotAddrs::of(16031) };
    let err = manager.create(off_link).await.unwrap_err();
    assert!(matches!(err, NetworkError::Slot { slot: 16031, step: SlotStep::CapsuleSide, .. }), "{err:?}");
    assert_eq!(leftovers(16031), Vec::<String>::new());

    // A slot in use is refused and left as it is.
    manager.create(SlotAddrs::of(16032)).await.unwrap();
    let err = manager.create(SlotAddrs::of(16032)).await.unwrap_err();
    assert!(matches!(err, NetworkError::AlreadyExists { slot: 16032 }), "{err:?}");
    assert_eq!(leftovers(16032).len(), 3, "{:?}", leftovers(16032));
    manager.destroy(16032).await.unwrap();
    assert_eq!(leftovers(16032), Vec::<String>::new());
}
