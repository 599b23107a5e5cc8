//! After a simulated agent crash, `cleanup_stale` removes exactly the leftovers.

use std::collections::BTreeSet;

use wrenn_agent::network::NetworkManager;
use wrenn_agent::network::slots::SlotAddrs;

use super::{SlotCleanup, leftovers, privileged, sh, wrenn_slots};

#[tokio::test]
async fn cleanup_stale_removes_leftovers_of_a_crash() {
    let Some(_serial) = privileged().await else { return };
    let _cleanup = SlotCleanup(vec![16020, 16021, 16022, 16023, 16024]);
    {
        // The "crashed" agent: built two capsules and never destroyed them.
        let crashed = NetworkManager::new();
        crashed.create(SlotAddrs::of(16020)).await.unwrap();
        crashed.create(SlotAddrs::of(16021)).await.unwrap();
    }
    // Half-built leftovers: a namespace without veth, a veth without
    // namespace, and a namespace file that was never mounted.
    sh("ip", &["netns", "add", "wrenn-16022"]);
    sh("ip", &["link", "add", "wrenn-v16023", "type", "veth", "peer", "name", "wt16023p"]);
    std::fs::write("/run/netns/wrenn-16024", b"").unwrap();

    // The restarted agent adopts 16021. Slots of anything else running on
    // this machine are kept too: the test removes only what it made.
    let ours: BTreeSet<u16> = [16020, 16022, 16023, 16024].into();
    let keep: BTreeSet<u16> = wrenn_slots().difference(&ours).copied().collect();
    assert!(keep.contains(&16021));
    let restarted = NetworkManager::new();
    let removed = restarted.cleanup_stale(&keep).await.unwrap();
    assert_eq!(removed.namespaces, [16020, 16022, 16024].into());
    assert_eq!(removed.host_veths, [16020, 16023].into());
    for slot in ours {
        assert_eq!(leftovers(slot), Vec::<String>::new(), "slot {slot}");
    }
    assert_eq!(leftovers(16021).len(), 3, "the adopted slot is untouched");
    assert!(!std::path::Path::new("/sys/class/net/wt16023p").exists());

    // Nothing left to remove the second time.
    assert!(restarted.cleanup_stale(&keep).await.unwrap().is_empty());
    restarted.destroy(16021).await.unwrap();
    assert_eq!(leftovers(16021), Vec::<String>::new());
}
