//! What can go wrong managing capsules. One enum for the manager's public
//! operations: the control plane maps its variants to API errors.

use std::path::PathBuf;
use std::time::Duration;

use wrenn_types::CapsuleId;

use crate::capsule::admission::{CapsuleState, Operation, SpecProblem};

#[derive(Debug, thiserror::Error)]
pub enum CapsuleError {
    #[error("invalid capsule {id}: {problem}")]
    InvalidSpec { id: CapsuleId, problem: SpecProblem },
    #[error("template {name} does not exist on this host")]
    UnknownTemplate { name: String },
    #[error("template {name} could not be used")]
    Template {
        name: String,
        #[source]
        source: crate::template::TemplateError,
    },
    #[error("capsule {id} already exists")]
    AlreadyExists { id: CapsuleId },
    #[error("template {name} is the root of capsules {capsules:?}; destroy them first")]
    TemplateInUse { name: String, capsules: Vec<CapsuleId> },
    #[error("template {name} could not be deleted")]
    TemplateDelete {
        name: String,
        #[source]
        source: crate::template::TemplateError,
    },
    #[error("capsule {id} does not exist")]
    NotFound { id: CapsuleId },
    #[error("capsule {id} is already being destroyed")]
    AlreadyStopping { id: CapsuleId },
    #[error("capsule {id} cannot {operation} while {state}")]
    InvalidState { id: CapsuleId, operation: Operation, state: CapsuleState },
    #[error("the {runtime} runtime cannot {operation} capsules")]
    Unsupported { runtime: &'static str, operation: Operation },
    #[error("no network slot for capsule {id}")]
    NoSlot {
        id: CapsuleId,
        #[source]
        source: crate::network::slots::SlotError,
    },
    #[error("network of capsule {id} failed")]
    Network {
        id: CapsuleId,
        #[source]
        source: crate::network::NetworkError,
    },
    #[error("runtime could not {operation} capsule {id}")]
    Runtime {
        id: CapsuleId,
        operation: Operation,
        #[source]
        source: crate::runtime::RuntimeError,
    },
    #[error("envd of capsule {id} was not ready within {timeout:?}")]
    NotReady {
        id: CapsuleId,
        timeout: Duration,
        #[source]
        source: crate::capsule::envd::EnvdError,
    },
    #[error("envd of capsule {id} refused its init")]
    Init {
        id: CapsuleId,
        #[source]
        source: crate::capsule::envd::EnvdError,
    },
    #[error("could not write the record of capsule {id} at {path}")]
    Record {
        id: CapsuleId,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot of capsule {id} into template {template} failed")]
    Snapshot {
        id: CapsuleId,
        template: String,
        #[source]
        source: crate::template::TemplateError,
    },
    #[error("the task owning capsule {id} is gone (the manager is shutting down)")]
    TaskLost { id: CapsuleId },
}
