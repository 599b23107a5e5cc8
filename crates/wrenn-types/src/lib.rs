//! Typed identifiers and small value types shared by every Wrenn component.
//!
//! No IO and no serialization framework here: components convert at their
//! edges. Identifiers are newtypes so a capsule id can never be passed where
//! a host id is expected.

mod base36;
mod capsule_id;
mod error_chain;
mod ids;

pub use capsule_id::{CapsuleId, IdError};
pub use error_chain::ErrorChain;
pub use ids::{ApiKeyId, AuditLogId, HostId, HostTokenId, ParseIdError, RefreshTokenId, TeamId, TemplateId, UserId};
