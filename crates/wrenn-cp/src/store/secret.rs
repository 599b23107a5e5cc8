//! Secrets handed out once (API keys, capsule traffic tokens, host
//! registration and refresh tokens) and the SHA-256 hex form under which the store keeps them.

use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// The hex SHA-256 of a secret: what the database holds instead of it.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new API key: `wrn_` and 32 hex digits (16 random bytes).
pub fn generate_api_key() -> Result<String, StoreError> {
    Ok(format!("wrn_{}", hex::encode(random_bytes::<16>()?)))
}

/// A new capsule traffic token: `wrt_` and 32 hex digits (16 random bytes).
pub fn generate_traffic_token() -> Result<String, StoreError> {
    Ok(format!("wrt_{}", hex::encode(random_bytes::<16>()?)))
}

/// A new host token: 64 hex digits (32 random bytes).
pub(crate) fn generate_token() -> Result<String, StoreError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// A random 128-bit value for a new id.
pub(crate) fn random_u128() -> Result<u128, StoreError> {
    Ok(u128::from_be_bytes(random_bytes::<16>()?))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|source| StoreError::Randomness { source })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_their_documented_shape() {
        let key = generate_api_key().unwrap();
        assert_eq!(key.len(), 36);
        assert!(key.starts_with("wrn_"));
        let traffic = generate_traffic_token().unwrap();
        assert_eq!((traffic.len(), &traffic[..4]), (36, "wrt_"));
        assert_eq!(generate_token().unwrap().len(), 64);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
