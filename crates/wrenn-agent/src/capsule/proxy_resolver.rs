//! The capsule manager as the port proxy's [`CapsuleResolver`]: a capsule
//! is reachable while it runs and its network exists, at the address of its
//! private link (envd's address, without envd's port).
//!
//! Both answers come from memory (the owner's `watch` of [`CapsuleInfo`]
//! and the registry lock held for one lookup), as the proxy requires.
//! Activity is reported to the owner as a ping it need not answer, at most
//! once per second of `last_active_at` per capsule, so a busy port does not
//! fill the owner's queue; a full queue drops the ping (the owner is busy
//! with work that counts as activity anyway).
//!
//! [`CapsuleInfo`]: crate::capsule::CapsuleInfo

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use wrenn_types::CapsuleId;

use crate::capsule::owner::CapsuleRequest;
use crate::capsule::{CapsuleManager, CapsuleState};
use crate::proxy::{CapsuleResolver, ResolveError};

impl CapsuleResolver for CapsuleManager {
    fn resolve(&self, capsule_id: &CapsuleId) -> Result<IpAddr, ResolveError> {
        let info = self.get(*capsule_id).map_err(|_| ResolveError::NotFound)?;
        match (info.state, info.envd_addr) {
            (CapsuleState::Running, Some(envd)) => Ok(envd.ip()),
            _ => Err(ResolveError::Unavailable),
        }
    }

    fn touch(&self, capsule_id: &CapsuleId) {
        let Ok(handle) = self.handle(*capsule_id) else { return };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        if handle.info.borrow().last_active_at >= now {
            return;
        }
        let (reply, _unanswered) = oneshot::channel();
        let _ = handle.requests.try_send(CapsuleRequest::Ping { reply });
    }
}
