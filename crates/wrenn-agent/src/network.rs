//! Per-capsule networking: one network namespace per capsule, a veth pair
//! with a /30 from the slot allocator, and one host firewall table for all.
//!
//! ```text
//!  host namespace                              /run/netns/wrenn-<slot>
//!  wrenn-v<slot>  10.201.x.(4n+1)/30  <─veth─>  eth0  10.201.x.(4n+2)/30
//!                                              lo up, default via .(4n+1)
//! ```
//!
//! The host reaches every port of every capsule directly (a connected /30
//! route, no forwarding involved): that is how the agent talks to envd and
//! how the proxy reaches capsule ports. Capsules reach neither each other nor
//! the host, and go out only through the egress interface, masqueraded; the
//! rules and the deliberate `ip_forward` handling are described in
//! `network::firewall` (nftables; `network::iptables_rules` is the same
//! policy for hosts without `nft`).
//!
//! Crash safety: every object is named from its slot (`layout`), so after a
//! restart `NetworkManager::cleanup_stale` finds and removes whatever the
//! agent does not adopt; the firewall matches veths by wildcard, so it holds
//! nothing per capsule that could go stale.
//!
//! What this module does not do: choose slots (`slots`, pure), or put
//! processes into the namespace (the runtime does, from `netns_path`).

mod backend;
mod error;
pub(crate) mod firewall;
mod host_rules;
mod iptables_rules;
mod manager;
mod names;
mod plumbing;
pub mod slots;

pub use backend::FirewallBackend;
pub use error::{EgressNameError, FirewallStep, NetworkError, SlotStep, StepSource};
pub use manager::{CapsuleNetwork, NetworkManager, StaleNetworks};
