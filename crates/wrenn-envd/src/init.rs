//! Process-1 duties for envd inside a capsule.
//!
//! Inside a capsule envd is the first process. Orphaned processes are
//! re-parented to pid 1 and must be reaped, or they stay zombies forever;
//! and tokio's child handling reaps only the children it spawned. So envd
//! splits in two before any thread exists: the original pid-1 process
//! becomes a tiny init (reap everything, forward termination signals, exit
//! with the server's status), and the forked child runs the server. This is
//! the model of tini, without a second binary in every template.

/// Forks; the parent never returns (it reaps and forwards signals until the
/// server child exits), the child returns and runs envd.
///
/// Must be called while the process is still single-threaded.
pub fn become_init_parent() {
    crate::sys::init::split_off_server();
}
