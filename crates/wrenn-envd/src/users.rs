//! Who a request acts as.
//!
//! Every process and file operation runs as a named user of the capsule: its
//! uid, primary gid, supplementary groups, home and login environment. The
//! user comes from the request (E2B's `Authorization: Basic <user>:` header or
//! the `username` query of `/files`) or from the default set by `/init`.

use std::path::PathBuf;

use crate::sys;

/// A resolved user of the capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) groups: Vec<u32>,
    pub(crate) home: PathBuf,
    pub(crate) shell: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum UserError {
    #[error("user {name:?} does not exist")]
    Unknown { name: String },
    #[error("invalid user name {name:?}")]
    InvalidName { name: String },
    #[error("cannot act as user {name:?}: envd runs as uid {own_uid} without the privilege to switch users")]
    CannotSwitch { name: String, own_uid: u32 },
}

impl Identity {
    /// Looks a user up by name in the capsule's user database.
    pub(crate) fn lookup(name: &str) -> Result<Identity, UserError> {
        if name.is_empty() || name.len() > 256 || name.contains(['\0', '/', ':']) {
            return Err(UserError::InvalidName { name: name.to_owned() });
        }
        let identity = sys::users::lookup(name).ok_or_else(|| UserError::Unknown { name: name.to_owned() })?;
        let own_uid = sys::users::effective_uid();
        if own_uid != 0 && identity.uid != own_uid {
            return Err(UserError::CannotSwitch { name: name.to_owned(), own_uid });
        }
        Ok(identity)
    }

    /// The user envd itself runs as: the default user in development mode.
    pub(crate) fn current() -> Identity {
        sys::users::current()
    }

    /// Whether acting as this user needs a credential switch.
    pub(crate) fn needs_switch(&self) -> bool {
        sys::users::effective_uid() != self.uid || sys::users::effective_gid() != self.gid
    }
}
