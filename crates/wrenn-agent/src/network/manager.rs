//! Building and removing capsule networks, safely under concurrency.
//!
//! Each slot has its own lock, so calls for different slots run in parallel
//! while calls for one slot are serialised. The work of each call runs in a
//! spawned task that finishes even if the caller's future is dropped: a
//! cancelled `create` still completes or rolls back instead of leaving half a
//! network behind. Every failed `create` tears down what it did; `destroy` and
//! `cleanup_stale` look at what exists and remove exactly that.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

use crate::layout;
use crate::network::backend::FirewallBackend;
use crate::network::error::{NetworkError, SlotStep};
use crate::network::names;
use crate::network::plumbing;
use crate::network::slots::SlotAddrs;
use crate::sys::ip;

/// One capsule's network, as built by [`NetworkManager::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsuleNetwork {
    pub slot: u16,
    /// `/run/netns/wrenn-<slot>`: pass to `setns` or `ip netns exec`.
    pub netns_path: PathBuf,
    /// Host end of the veth (`wrenn-v<slot>`); the capsule's default gateway.
    pub host_ip: Ipv4Addr,
    /// The capsule's `eth0`.
    pub capsule_ip: Ipv4Addr,
}

/// What [`NetworkManager::cleanup_stale`] removed, by slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaleNetworks {
    pub namespaces: BTreeSet<u16>,
    pub host_veths: BTreeSet<u16>,
}

impl StaleNetworks {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.host_veths.is_empty()
    }
}

/// Creates and destroys per-capsule networks and owns the host firewall.
#[derive(Debug)]
pub struct NetworkManager {
    slot_locks: Mutex<HashMap<u16, Arc<tokio::sync::Mutex<()>>>>,
    /// Whether a create has set up `/run/netns` yet. iproute2 makes that
    /// directory a shared bind mount on first use; two first uses at once
    /// would both bind-mount it, stacking mounts. So creates wait for the
    /// first one's host side, then run in parallel.
    netns_dir_ready: Arc<tokio::sync::Mutex<bool>>,
    pub(crate) firewall_lock: tokio::sync::Mutex<()>,
    pub(crate) firewall_backend: FirewallBackend,
}

impl NetworkManager {
    /// A manager whose host firewall uses nftables, or iptables when `nft`
    /// is not installed.
    pub fn new() -> NetworkManager {
        NetworkManager::with_firewall_backend(FirewallBackend::Auto)
    }

    pub fn with_firewall_backend(firewall_backend: FirewallBackend) -> NetworkManager {
        NetworkManager {
            slot_locks: Mutex::new(HashMap::new()),
            netns_dir_ready: Arc::new(tokio::sync::Mutex::new(false)),
            firewall_lock: tokio::sync::Mutex::new(()),
            firewall_backend,
        }
    }

    /// Builds the namespace, veth pair, addresses and default route of a slot.
    /// Refuses a slot that already has either object (see `cleanup_stale`).
    pub async fn create(&self, addrs: SlotAddrs) -> Result<CapsuleNetwork, NetworkError> {
        let guard = self.lock_slot(addrs.slot).await;
        let netns_dir = Arc::clone(&self.netns_dir_ready).lock_owned().await;
        let first_use = (!*netns_dir).then_some(netns_dir);
        detached(addrs.slot, async move {
            let _guard = guard;
            create_locked(addrs, first_use).await
        })
        .await
    }

    /// Removes a slot's veth and namespace; whatever is already gone is fine.
    pub async fn destroy(&self, slot: u16) -> Result<(), NetworkError> {
        let guard = self.lock_slot(slot).await;
        detached(slot, async move {
            let _guard = guard;
            teardown_locked(slot).await
        })
        .await
    }

    /// Removes every agent namespace and host veth whose slot is not in
    /// `keep`, e.g. after the agent died with capsules half built.
    pub async fn cleanup_stale(&self, keep: &BTreeSet<u16>) -> Result<StaleNetworks, NetworkError> {
        let namespaces = ip::netns_names().map_err(|source| NetworkError::List { source })?;
        let links = ip::link_names().map_err(|source| NetworkError::List { source })?;
        let stale = StaleNetworks {
            namespaces: namespaces
                .iter()
                .filter_map(|name| names::netns_slot(name))
                .filter(|s| !keep.contains(s))
                .collect(),
            host_veths: links
                .iter()
                .filter_map(|name| names::host_veth_slot(name))
                .filter(|s| !keep.contains(s))
                .collect(),
        };
        for &slot in stale.namespaces.union(&stale.host_veths) {
            tracing::info!(slot, "removing stale capsule network");
            self.destroy(slot).await?;
        }
        Ok(stale)
    }

    async fn lock_slot(&self, slot: u16) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.slot_locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(slot).or_default())
        };
        lock.lock_owned().await
    }
}

impl Default for NetworkManager {
    fn default() -> NetworkManager {
        NetworkManager::new()
    }
}

/// Runs `work` in its own task so that it finishes even if the caller stops
/// waiting.
async fn detached<T, F>(slot: u16, work: F) -> Result<T, NetworkError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, NetworkError>> + Send + 'static,
{
    tokio::spawn(work).await.map_err(|source| NetworkError::TaskLost { slot, source })?
}

/// `first_use` is held while `/run/netns` may still need setting up, and
/// marked done once a host side has succeeded.
async fn create_locked(
    addrs: SlotAddrs,
    mut first_use: Option<OwnedMutexGuard<bool>>,
) -> Result<CapsuleNetwork, NetworkError> {
    let slot = addrs.slot;
    let netns = layout::netns_name(slot);
    if ip::netns_exists(&netns) || ip::link_exists(&layout::host_veth_name(slot)) {
        return Err(NetworkError::AlreadyExists { slot });
    }
    let steps = [
        (SlotStep::HostSide, None, plumbing::host_script(&addrs)),
        (SlotStep::CapsuleSide, Some(netns.as_str()), plumbing::capsule_script(&addrs)),
    ];
    for (step, in_netns, script) in steps {
        if let Err(err) = ip::batch(in_netns, &script).await {
            roll_back(slot).await;
            return Err(NetworkError::Slot { slot, step, source: Box::new(err) });
        }
        if let Some(mut ready) = first_use.take() {
            *ready = true;
        }
    }
    Ok(CapsuleNetwork { slot, netns_path: ip::netns_path(&netns), host_ip: addrs.host, capsule_ip: addrs.capsule })
}

async fn teardown_locked(slot: u16) -> Result<(), NetworkError> {
    let veth_exists = ip::link_exists(&layout::host_veth_name(slot));
    let netns_exists = ip::netns_exists(&layout::netns_name(slot));
    let Some(script) = plumbing::teardown_script(slot, veth_exists, netns_exists) else {
        return Ok(());
    };
    ip::batch(None, &script).await.map_err(|err| NetworkError::Slot {
        slot,
        step: SlotStep::Teardown,
        source: Box::new(err),
    })
}

/// Undoes a failed create. A failure here is logged, not returned: the
/// caller gets the error that made the create fail, and `cleanup_stale`
/// catches whatever is left.
async fn roll_back(slot: u16) {
    if let Err(err) = teardown_locked(slot).await {
        tracing::error!(slot, error = &err as &dyn std::error::Error, "rolling back a failed capsule network failed");
    }
}
