//! The host agent: owns everything that runs on one machine.
//!
//! The control plane asks; the agent makes it so — capsules under a runtime
//! (the hardened `container` runtime today), their networks, the template
//! store, metrics — and never leaks a mount, cgroup, namespace, veth,
//! firewall rule or process, even when it crashes halfway.
//!
//! What it deliberately does not do: it keeps no desired state (that is the
//! control plane's store); it is the truth only for what runs here.

pub mod capsule;
pub mod cgroup;
pub mod daemon;
pub mod layout;
pub mod metrics;
pub mod network;
pub mod proxy;
pub mod rpc;
pub mod runtime;
pub mod template;
pub mod uid_range;

mod sys;
