//! Capsule identifiers: `cl-` followed by the 25-digit base-36 form of a
//! 128-bit value.
//!
//! They appear in host names (`{port}-{capsule_id}.{domain}`), so they must
//! be DNS-label safe: lowercase ASCII letters, digits and one hyphen.

use std::fmt;
use std::str::FromStr;

use crate::base36;

const PREFIX: &str = "cl-";

/// The id of a capsule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CapsuleId(u128);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("capsule id {0:?} must start with \"cl-\"")]
    MissingPrefix(String),
    #[error("capsule id {0:?} must have 25 base-36 digits after \"cl-\"")]
    BadDigits(String),
}

impl CapsuleId {
    pub fn from_u128(value: u128) -> CapsuleId {
        CapsuleId(value)
    }

    pub fn as_u128(self) -> u128 {
        self.0
    }
}

impl fmt::Display for CapsuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        base36::write(f, PREFIX, self.0)
    }
}

impl FromStr for CapsuleId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<CapsuleId, IdError> {
        let digits = s.strip_prefix(PREFIX).ok_or_else(|| IdError::MissingPrefix(s.to_owned()))?;
        base36::parse(digits).map(CapsuleId).ok_or_else(|| IdError::BadDigits(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base36::DIGITS;

    #[test]
    fn round_trips_at_the_edges() {
        for value in [0, 1, 35, 36, u128::from(u64::MAX), u128::MAX - 1, u128::MAX] {
            let id = CapsuleId::from_u128(value);
            let text = id.to_string();
            assert_eq!(text.len(), PREFIX.len() + DIGITS);
            assert_eq!(text.parse::<CapsuleId>(), Ok(id), "{text}");
        }
        assert_eq!(CapsuleId::from_u128(35).to_string(), "cl-000000000000000000000000z");
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        let cases = [
            ("", IdError::MissingPrefix(String::new())),
            ("sb-000000000000000000000000z", IdError::MissingPrefix("sb-000000000000000000000000z".into())),
            ("cl-00z", IdError::BadDigits("cl-00z".into())),
            ("cl-000000000000000000000000Z", IdError::BadDigits("cl-000000000000000000000000Z".into())),
            // 36^25 exceeds u128: the largest 25-digit strings overflow.
            ("cl-zzzzzzzzzzzzzzzzzzzzzzzzz", IdError::BadDigits("cl-zzzzzzzzzzzzzzzzzzzzzzzzz".into())),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<CapsuleId>(), Err(want), "{input:?}");
        }
    }
}
