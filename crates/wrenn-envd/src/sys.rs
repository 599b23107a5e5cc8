//! Every system call envd makes beyond std's portable surface lives here.
//!
//! Code above this module is testable without privileges: it deals in
//! identities, paths and byte streams, and asks `sys` to act on the kernel.

pub(crate) mod as_user;
pub(crate) mod errno;
pub(crate) mod init;
pub(crate) mod inotify;
pub(crate) mod open;
pub(crate) mod path_xattr;
pub(crate) mod pty;
pub(crate) mod random;
pub(crate) mod spawn;
pub(crate) mod statfs;
pub(crate) mod stats;
pub(crate) mod users;
pub(crate) mod xattr;
