//! The other entity ids of the control plane (`team-…`, `usr-…`, `key-…`,
//! `host-…`, …): a prefix and the 25-digit base-36 form of a 128-bit value,
//! like [`CapsuleId`](crate::CapsuleId).
//!
//! Each kind is its own type so a host id can never be passed where a team
//! id is expected; the store keeps them in their text form.

use std::fmt;
use std::str::FromStr;

use crate::base36;

/// Why a text is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a valid {kind} id (\"{prefix}\" and 25 lowercase base-36 digits)")]
pub struct ParseIdError {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub input: String,
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u128);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn from_u128(value: u128) -> $name {
                $name(value)
            }

            pub fn as_u128(self) -> u128 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                base36::write(f, $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<$name, ParseIdError> {
                s.strip_prefix($prefix)
                    .and_then(base36::parse)
                    .map($name)
                    .ok_or_else(|| ParseIdError { kind: $kind, prefix: $prefix, input: s.to_owned() })
            }
        }
    };
}

define_id!(
    /// A team: the owner of capsules, templates, API keys and BYOC hosts.
    /// The platform team is `team-0000000000000000000000000`.
    TeamId, "team", "team-"
);
define_id!(
    /// A user account.
    UserId, "user", "usr-"
);
define_id!(
    /// A team API key (the row, not the secret).
    ApiKeyId, "API key", "key-"
);
define_id!(
    /// A host running an agent.
    HostId, "host", "host-"
);
define_id!(
    /// A host registration token (the row, not the secret).
    HostTokenId, "host token", "htok-"
);
define_id!(
    /// A host refresh token (the row, not the secret).
    RefreshTokenId, "refresh token", "hrt-"
);
define_id!(
    /// A template (base or snapshot).
    TemplateId, "template", "tpl-"
);
define_id!(
    /// An audit log entry.
    AuditLogId, "audit log", "log-"
);

impl TeamId {
    /// The platform team: owner of the base templates and the regular hosts.
    pub const PLATFORM: TeamId = TeamId(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let host = HostId::from_u128(35);
        assert_eq!(host.to_string(), "host-000000000000000000000000z");
        assert_eq!("host-000000000000000000000000z".parse::<HostId>(), Ok(host));
        assert_eq!(TeamId::PLATFORM.to_string(), "team-0000000000000000000000000");
        let err = "host-000000000000000000000000z".parse::<TeamId>().unwrap_err();
        assert_eq!(err.kind, "team");
        for bad in ["", "usr-", "usr-00z", "usr-000000000000000000000000Z", "usr-zzzzzzzzzzzzzzzzzzzzzzzzz"] {
            assert!(bad.parse::<UserId>().is_err(), "{bad:?}");
        }
        let max = AuditLogId::from_u128(u128::MAX);
        assert_eq!(max.to_string().parse::<AuditLogId>(), Ok(max));
    }
}
