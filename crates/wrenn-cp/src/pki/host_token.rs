//! Host access tokens: what an agent sends in `X-Host-Token` with its
//! heartbeats and capsule events.
//!
//! A token names its host and its expiry and carries an HMAC-SHA256 over
//! both: `v1.<host id>.<expires at, unix ms>.<mac, hex>`. The MAC key is
//! derived from the CA's private key, so every control plane replica that
//! holds the CA (they must, to issue certificates) checks tokens without
//! shared state or a lookup, and a new CA invalidates every token. Tokens
//! are short-lived ([`HOST_TOKEN_TTL`]); an agent trades its refresh token
//! (stored hashed, single use, `store::host_tokens`) for a new one, and a
//! deleted host is refused by the heartbeat itself, whatever its token.

use std::time::Duration;

use ring::hmac;
use wrenn_types::HostId;

/// How long a host access token is valid.
pub const HOST_TOKEN_TTL: Duration = Duration::from_secs(3600);

const VERSION: &str = "v1";
const KEY_CONTEXT: &[u8] = b"wrenn host access token key v1\0";

/// The key host tokens are signed with.
pub struct HostTokenKey {
    key: hmac::Key,
}

impl std::fmt::Debug for HostTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostTokenKey(..)")
    }
}

/// Why a host token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostTokenError {
    #[error("the host token is malformed")]
    Malformed,
    #[error("the host token's signature does not match")]
    BadSignature,
    #[error("the host token has expired")]
    Expired,
}

impl HostTokenKey {
    /// The key derived from the CA's private key (PKCS#8 DER).
    pub(crate) fn derive(ca_key_der: &[u8]) -> HostTokenKey {
        let mut material = Vec::with_capacity(KEY_CONTEXT.len() + ca_key_der.len());
        material.extend_from_slice(KEY_CONTEXT);
        material.extend_from_slice(ca_key_der);
        let digest = ring::digest::digest(&ring::digest::SHA256, &material);
        HostTokenKey { key: hmac::Key::new(hmac::HMAC_SHA256, digest.as_ref()) }
    }

    /// A token for `host_id` valid until `expires_at_ms` (unix ms).
    pub fn issue(&self, host_id: HostId, expires_at_ms: i64) -> String {
        let claims = format!("{VERSION}.{host_id}.{expires_at_ms}");
        let tag = hmac::sign(&self.key, claims.as_bytes());
        format!("{claims}.{}", hex::encode(tag.as_ref()))
    }

    /// The host a token names, if its signature holds and it has not
    /// expired at `now_ms`.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<HostId, HostTokenError> {
        let (claims, tag_hex) = token.rsplit_once('.').ok_or(HostTokenError::Malformed)?;
        let tag = hex::decode(tag_hex).map_err(|_| HostTokenError::Malformed)?;
        let mut parts = claims.split('.');
        let (Some(VERSION), Some(host), Some(expires), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HostTokenError::Malformed);
        };
        hmac::verify(&self.key, claims.as_bytes(), &tag).map_err(|_| HostTokenError::BadSignature)?;
        let expires_at_ms: i64 = expires.parse().map_err(|_| HostTokenError::Malformed)?;
        if expires_at_ms <= now_ms {
            return Err(HostTokenError::Expired);
        }
        host.parse().map_err(|_| HostTokenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_host_until_it_expires() {
        let key = HostTokenKey::derive(b"ca key one");
        let host = HostId::from_u128(42);
        let token = key.issue(host, 1_000);
        assert_eq!(key.verify(&token, 999), Ok(host));
        assert_eq!(key.verify(&token, 1_000), Err(HostTokenError::Expired));
    }

    #[test]
    fn forged_altered_and_foreign_tokens_are_refused() {
        let key = HostTokenKey::derive(b"ca key one");
        let other = HostTokenKey::derive(b"ca key two");
        let token = key.issue(HostId::from_u128(42), 5_000);
        assert_eq!(other.verify(&token, 0), Err(HostTokenError::BadSignature));
        // Another host or a later expiry under the same MAC.
        let (claims, tag) = token.rsplit_once('.').unwrap();
        let moved = claims.replace(&HostId::from_u128(42).to_string(), &HostId::from_u128(43).to_string());
        assert_eq!(key.verify(&format!("{moved}.{tag}"), 0), Err(HostTokenError::BadSignature));
        let later = claims.replace("5000", "9000");
        assert_eq!(key.verify(&format!("{later}.{tag}"), 0), Err(HostTokenError::BadSignature));
        for malformed in ["", "v1", "v1.a.b", "v2.host-1.5.00", "v1.x.5.zz", "v1.a.b.c.d"] {
            assert_eq!(key.verify(malformed, 0), Err(HostTokenError::Malformed), "{malformed}");
        }
    }
}
