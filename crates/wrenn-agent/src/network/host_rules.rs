//! Installing and removing the host firewall and the `ip_forward` switch
//! that goes with it (see `network::firewall` for the policy, and
//! `network::iptables_rules` for the same policy without `nft`).
//!
//! Order matters for the host's safety: the rules (with their forward guard)
//! are in place before `ip_forward` is turned on, and `ip_forward` is turned
//! back off before the rules go, so the host never forwards unguarded.

use crate::network::backend::{self, FirewallBackend};
use crate::network::error::{FirewallStep, NetworkError};
use crate::network::manager::NetworkManager;
use crate::network::{firewall, iptables_rules};
use crate::sys::iptables::{self, Family};
use crate::sys::{nft, sysctl};

impl NetworkManager {
    /// Installs (or replaces) the host firewall and enables IPv4 forwarding.
    /// `egress` is the interface capsules reach the outside through,
    /// masqueraded; `None` gives capsules no outbound traffic.
    pub async fn ensure_host_rules(&self, egress: Option<&str>) -> Result<(), NetworkError> {
        if let Some(name) = egress {
            firewall::check_egress_name(name)
                .map_err(|source| NetworkError::Egress { name: name.to_owned(), source })?;
        }
        let _guard = self.firewall_lock.lock().await;
        let forwarding = sysctl::ip_forward().await.map_err(|err| fw(FirewallStep::ReadForwarding, err))?;
        match self.pick_backend().await? {
            FirewallBackend::Iptables => ensure_iptables(egress, forwarding).await?,
            _ => ensure_nftables(egress, forwarding).await?,
        }
        if !forwarding {
            tracing::info!("enabling net.ipv4.ip_forward for capsule egress; non-capsule forwarding stays dropped");
            sysctl::set_ip_forward(true).await.map_err(|err| fw(FirewallStep::EnableForwarding, err))?;
        }
        Ok(())
    }

    /// Deletes the host firewall. If the agent had turned `ip_forward` on
    /// (the rules carry the forward guard), it is turned off again first.
    pub async fn remove_host_rules(&self) -> Result<(), NetworkError> {
        let _guard = self.firewall_lock.lock().await;
        match self.pick_backend().await {
            Ok(FirewallBackend::Iptables) => remove_iptables().await,
            Ok(_) => remove_nftables().await,
            Err(NetworkError::NoFirewallTool) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn pick_backend(&self) -> Result<FirewallBackend, NetworkError> {
        backend::choose(self.firewall_backend, nft::available().await, iptables::available().await)
            .ok_or(NetworkError::NoFirewallTool)
    }
}

async fn ensure_nftables(egress: Option<&str>, forwarding: bool) -> Result<(), NetworkError> {
    let current = nft::list_table(firewall::TABLE).await.map_err(|err| fw(FirewallStep::ReadRules, err))?;
    let guard = firewall::needs_forward_guard(forwarding, current.as_deref());
    nft::apply(&firewall::ruleset(egress, guard)).await.map_err(|err| fw(FirewallStep::Apply, err))
}

async fn remove_nftables() -> Result<(), NetworkError> {
    let Some(current) = nft::list_table(firewall::TABLE).await.map_err(|err| fw(FirewallStep::ReadRules, err))? else {
        return Ok(());
    };
    if current.contains(firewall::FORWARD_GUARD_MARK) {
        sysctl::set_ip_forward(false).await.map_err(|err| fw(FirewallStep::DisableForwarding, err))?;
    }
    nft::delete_table(firewall::TABLE).await.map_err(|err| fw(FirewallStep::DeleteRules, err))
}

async fn ensure_iptables(egress: Option<&str>, forwarding: bool) -> Result<(), NetworkError> {
    let forward = iptables_rules::FORWARD;
    let current = iptables::list_chain(Family::V4, forward.table, forward.chain)
        .await
        .map_err(|err| fw(FirewallStep::ReadRules, err))?;
    let guard = firewall::needs_forward_guard(forwarding, current.as_deref());
    let scripts = [
        (Family::V4, iptables_rules::v4_restore(egress, guard), &iptables_rules::V4_JUMPS[..]),
        (Family::V6, iptables_rules::v6_restore(), &iptables_rules::V6_JUMPS[..]),
    ];
    for (family, script, jumps) in scripts {
        iptables::restore(family, &script).await.map_err(|err| fw(FirewallStep::Apply, err))?;
        for jump in jumps {
            if !iptables::has_jump(family, jump.table, jump.hook, jump.chain).await {
                iptables::insert_jump(family, jump.table, jump.hook, jump.chain)
                    .await
                    .map_err(|err| fw(FirewallStep::Apply, err))?;
            }
        }
    }
    Ok(())
}

async fn remove_iptables() -> Result<(), NetworkError> {
    let forward = iptables_rules::FORWARD;
    let current = iptables::list_chain(Family::V4, forward.table, forward.chain)
        .await
        .map_err(|err| fw(FirewallStep::ReadRules, err))?;
    if current.is_some_and(|rules| rules.contains(firewall::FORWARD_GUARD_MARK)) {
        sysctl::set_ip_forward(false).await.map_err(|err| fw(FirewallStep::DisableForwarding, err))?;
    }
    for (family, jumps) in [(Family::V4, &iptables_rules::V4_JUMPS[..]), (Family::V6, &iptables_rules::V6_JUMPS[..])] {
        for jump in jumps {
            while iptables::has_jump(family, jump.table, jump.hook, jump.chain).await {
                iptables::delete_jump(family, jump.table, jump.hook, jump.chain)
                    .await
                    .map_err(|err| fw(FirewallStep::DeleteRules, err))?;
            }
            let exists = iptables::list_chain(family, jump.table, jump.chain)
                .await
                .map_err(|err| fw(FirewallStep::ReadRules, err))?;
            if exists.is_some() {
                iptables::delete_chain(family, jump.table, jump.chain)
                    .await
                    .map_err(|err| fw(FirewallStep::DeleteRules, err))?;
            }
        }
    }
    Ok(())
}

fn fw(step: FirewallStep, err: impl std::error::Error + Send + Sync + 'static) -> NetworkError {
    NetworkError::Firewall { step, source: Box::new(err) }
}
