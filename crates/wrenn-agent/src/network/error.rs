//! What can go wrong building, removing or guarding capsule networks.

use std::fmt;

pub use crate::network::firewall::EgressNameError;

/// The cause of a failed step: a failed tool (with its stderr) or a failed
/// file operation. Boxed so the tool runner's error type stays internal.
pub type StepSource = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network slot {slot} already has a namespace or host veth")]
    AlreadyExists { slot: u16 },
    #[error("network slot {slot}: {step} failed")]
    Slot {
        slot: u16,
        step: SlotStep,
        #[source]
        source: StepSource,
    },
    #[error("network slot {slot}: the task doing the work was lost")]
    TaskLost {
        slot: u16,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("listing network namespaces and links failed")]
    List {
        #[source]
        source: std::io::Error,
    },
    #[error("invalid egress interface {name:?}")]
    Egress {
        name: String,
        #[source]
        source: EgressNameError,
    },
    #[error("host firewall: the firewall tool (nft or iptables) is not installed")]
    NoFirewallTool,
    #[error("host firewall: {step} failed")]
    Firewall {
        step: FirewallStep,
        #[source]
        source: StepSource,
    },
}

/// The step of one slot's create or destroy that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStep {
    /// Namespace, veth pair, host address (`ip -batch` in the host namespace).
    HostSide,
    /// Loopback, capsule address, default route (inside the namespace).
    CapsuleSide,
    /// Deleting the veth and the namespace.
    Teardown,
}

impl fmt::Display for SlotStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlotStep::HostSide => "creating the namespace and veth pair",
            SlotStep::CapsuleSide => "configuring the capsule side",
            SlotStep::Teardown => "removing the veth and namespace",
        })
    }
}

/// The step of installing or removing the host firewall that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirewallStep {
    ReadRules,
    ReadForwarding,
    Apply,
    EnableForwarding,
    DisableForwarding,
    DeleteRules,
}

impl fmt::Display for FirewallStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FirewallStep::ReadRules => "reading the wrenn rules",
            FirewallStep::ReadForwarding => "reading net.ipv4.ip_forward",
            FirewallStep::Apply => "applying the ruleset",
            FirewallStep::EnableForwarding => "enabling net.ipv4.ip_forward",
            FirewallStep::DisableForwarding => "restoring net.ipv4.ip_forward to 0",
            FirewallStep::DeleteRules => "deleting the wrenn rules",
        })
    }
}
