//! The one trait every isolation backend implements.
//!
//! The capsule core holds an `Arc<dyn Runtime>` and never asks which runtime
//! it has; it asks for [`Capabilities`] instead. Backends: `container` (Linux
//! namespaces, cgroups, seccomp, overlayfs; the default, works on any Linux
//! host where the agent is root) and later `microvm`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

pub mod container;

/// What a runtime can do beyond create and destroy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Stop every process in place and continue later, memory kept.
    pub pause: bool,
    /// Write memory to disk and free it; restore later
    /// ([`Runtime::hibernate`], [`Runtime::restore`]).
    pub hibernate: bool,
    /// Capture memory state into a template.
    pub memory_snapshot: bool,
    /// Capture the capsule's disk into a template while it keeps running.
    pub disk_snapshot: bool,
}

/// Everything a runtime needs to start one capsule.
#[derive(Debug, Clone)]
pub struct CapsuleSpec {
    pub id: wrenn_types::CapsuleId,
    /// Read-only root filesystem of the template (lower layer).
    pub template_rootfs: PathBuf,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    /// Network namespace the capsule joins (see `network`).
    pub netns_path: PathBuf,
    pub hostname: String,
    /// Host uid (and gid) of root in the capsule, for runtimes with a user
    /// namespace: `uid_range::UidRange::for_slot` of its network slot.
    pub uid_base: u32,
}

/// Resource use of a running capsule, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CapsuleStats {
    /// Cumulative CPU time of every process in the capsule.
    pub cpu_usage_ns: u64,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("capsule {id} is not known to this runtime")]
    NotFound { id: String },
    #[error("capsule {id} already exists")]
    AlreadyExists { id: String },
    #[error("the {runtime} runtime cannot {operation}")]
    Unsupported { runtime: &'static str, operation: &'static str },
    /// The operation failed after the capsule's processes were gone: the
    /// capsule cannot run again and only destroy is left.
    #[error("{operation} of capsule {id} failed and the capsule is lost")]
    Lost {
        id: String,
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{operation} of capsule {id} failed")]
    Failed {
        id: String,
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type RuntimeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, RuntimeError>> + Send + 'a>>;

/// An isolation backend. Implementations serialise nothing themselves: the
/// capsule core guarantees one operation at a time per capsule.
pub trait Runtime: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    fn capabilities(&self) -> Capabilities;
    /// Starts the capsule with envd as its init; returns its init's host pid.
    fn create<'a>(&'a self, spec: &'a CapsuleSpec) -> RuntimeFuture<'a, u32>;
    /// Stops every process and releases every resource of the capsule.
    fn destroy<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, ()>;
    fn pause<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, ()>;
    fn resume<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, ()>;
    fn stats<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, CapsuleStats>;
    /// Whether the capsule's init still runs (a hibernated capsule counts
    /// as alive). Asked every tick: a capsule whose init died (killed from
    /// the host, or by the kernel's OOM killer) is reported, not left
    /// looking as if it ran.
    fn is_alive<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, bool> {
        let _ = id;
        Box::pin(async { Ok(true) })
    }
    /// Writes the capsule's processes and memory to disk and ends them; its
    /// disk, network and limits stay. A failed hibernate leaves the capsule
    /// as it was (running or paused), unless it says [`RuntimeError::Lost`].
    fn hibernate<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, ()> {
        let _ = id;
        let runtime = self.name();
        Box::pin(async move { Err(RuntimeError::Unsupported { runtime, operation: "hibernate" }) })
    }
    /// Brings a hibernated capsule back, running; returns its init's new
    /// host pid. A failed restore leaves no process of the capsule behind.
    fn restore<'a>(&'a self, id: &'a wrenn_types::CapsuleId) -> RuntimeFuture<'a, u32> {
        let _ = id;
        let runtime = self.name();
        Box::pin(async move { Err(RuntimeError::Unsupported { runtime, operation: "restore" }) })
    }
    /// Adopts the capsules a previous agent left running (or hibernated)
    /// and removes the remains of dead ones; returns the adopted ids. Runtimes whose
    /// capsules cannot outlive the agent adopt none.
    fn recover(&self) -> RuntimeFuture<'_, Vec<wrenn_types::CapsuleId>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
