//! Which tool installs the host firewall: nftables when `nft` exists,
//! iptables only when it does not (or when configured so).

/// The operator's choice of firewall tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirewallBackend {
    /// `nft` if installed, else `iptables`.
    Auto,
    Nftables,
    Iptables,
}

/// Picks the tool, or `None` when the wanted one is not installed.
pub(crate) fn choose(wanted: FirewallBackend, has_nft: bool, has_iptables: bool) -> Option<FirewallBackend> {
    match wanted {
        FirewallBackend::Auto if has_nft => Some(FirewallBackend::Nftables),
        FirewallBackend::Auto if has_iptables => Some(FirewallBackend::Iptables),
        FirewallBackend::Nftables if has_nft => Some(FirewallBackend::Nftables),
        FirewallBackend::Iptables if has_iptables => Some(FirewallBackend::Iptables),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FirewallBackend::{Auto, Iptables, Nftables};

    #[test]
    fn nftables_first_iptables_only_without_nft() {
        let table = [
            (Auto, true, true, Some(Nftables)),
            (Auto, true, false, Some(Nftables)),
            (Auto, false, true, Some(Iptables)),
            (Auto, false, false, None),
            (Nftables, false, true, None),
            (Iptables, true, true, Some(Iptables)),
            (Iptables, true, false, None),
        ];
        for (wanted, nft, iptables, want) in table {
            assert_eq!(choose(wanted, nft, iptables), want, "{wanted:?} nft={nft} iptables={iptables}");
        }
    }
}
