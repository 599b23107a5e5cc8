//! Every system call and external command of the agent lives under here.
//!
//! Code above `sys` deals in typed requests (a slot, a capsule spec) and is
//! testable without root; `sys` turns them into netlink messages, mounts,
//! clone flags and commands.

pub(crate) mod cmd;
pub(crate) mod criu;
pub(crate) mod disk;
pub(crate) mod idmap;
pub(crate) mod ip;
pub(crate) mod iptables;
pub(crate) mod launch;
pub(crate) mod mounts;
pub(crate) mod nft;
pub(crate) mod ownership;
pub(crate) mod rootfs;
pub(crate) mod signal;
pub(crate) mod statfs;
pub(crate) mod stream;
pub(crate) mod sysctl;
