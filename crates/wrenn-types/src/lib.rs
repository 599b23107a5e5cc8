//! Typed identifiers and small value types shared by every Wrenn component.
//!
//! No IO and no serialization framework here: components convert at their
//! edges. Identifiers are newtypes so a capsule id can never be passed where
//! a host id is expected.

mod capsule_id;

pub use capsule_id::{CapsuleId, IdError};
