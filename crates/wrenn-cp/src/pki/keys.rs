//! Reading the CA's private key from PEM: PKCS#8 (`PRIVATE KEY`) or SEC1
//! (`EC PRIVATE KEY`, what Go's `x509.MarshalECPrivateKey` and
//! `openssl ecparam -genkey` write).
//!
//! rcgen on `ring` signs only with keys it reads as PKCS#8, so a SEC1 key is
//! wrapped into a PKCS#8 `PrivateKeyInfo` for P-256 here (RFC 5958 around
//! RFC 5915). `ring` then checks the curve named inside the SEC1 key and
//! requires its public key, which both tools above always include.

use rcgen::KeyPair;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::pki::CaError;

/// DER of `AlgorithmIdentifier { id-ecPublicKey, prime256v1 }`.
const P256_ALGORITHM: &[u8] = &[
    0x30, 0x13, // SEQUENCE, 19 bytes
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // 1.2.840.10045.2.1
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, // 1.2.840.10045.3.1.7
];

/// Reads a PEM private key that `ring` can sign with.
pub(crate) fn key_pair_from_pem(key_pem: &[u8]) -> Result<KeyPair, CaError> {
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| CaError::KeyPem { source })?;
    let pkcs8 = match key {
        PrivateKeyDer::Pkcs8(pkcs8) => pkcs8,
        PrivateKeyDer::Sec1(sec1) => PrivatePkcs8KeyDer::from(wrap_p256_sec1(sec1.secret_sec1_der())),
        PrivateKeyDer::Pkcs1(_) => return Err(CaError::UnsupportedKey { format: "PKCS#1 (RSA PRIVATE KEY)" }),
        _ => return Err(CaError::UnsupportedKey { format: "unknown" }),
    };
    KeyPair::try_from(&pkcs8).map_err(|source| CaError::Key { source })
}

/// `PrivateKeyInfo { version 0, P-256 algorithm, OCTET STRING sec1 }`.
fn wrap_p256_sec1(sec1: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(P256_ALGORITHM);
    body.push(0x04);
    push_der_length(&mut body, sec1.len());
    body.extend_from_slice(sec1);

    let mut der = vec![0x30];
    push_der_length(&mut der, body.len());
    der.extend_from_slice(&body);
    der
}

/// Appends a DER definite length (short form below 128, else long form).
fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        // Cannot truncate: below 128.
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    // Cannot truncate: a usize has at most 8 bytes.
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use rcgen::PublicKeyData;

    use super::*;

    // Test keys only, made with `openssl ecparam -name <curve> -genkey -noout`.
    const P256_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIAtI6Sy5nqDF1hEPD9mQmslXfgKTAGoksQJNakIp3P03oAoGCCqGSM49
AwEHoUQDQgAE1CuXBvuPTI0wL1+bnbljs6vIXOAtjCbg5/ca3h5mVaiqriGoQK8p
caYU5rDI1GfMUCxNDn4xXuHwInvph/MWZQ==
-----END EC PRIVATE KEY-----
";
    /// The public key of `P256_SEC1` (`openssl ec -pubout -outform DER`).
    const P256_SPKI_HEX: &str = "3059301306072a8648ce3d020106082a8648ce3d03010703420004d42b9706fb8f4c8d302f5f9b9db963b3abc85ce02d8c26e0e7f71ade1e6655a8aaae21a840af2971a614e6b0c8d467cc502c4d0e7e315ee1f0227be987f31665";
    const P384_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDDGnXnTOaJKcz48Cpkq9i50PqtiTwkY3QQqu3grAboKJdS7E6E3YUJL
55A8FevDl+SgBwYFK4EEACKhZANiAASR+fKzbaNwlATrb5rlZpNH7StynBAPgCdS
Chft0bVfc8RVH2E9cCSYkz08hKyKqTRmVk4FEab8Qvdu+JK66I9n/zOUoaS+Om2R
tpOx8fKnvUZjz9v84iFUrT3MEyBuusQ=
-----END EC PRIVATE KEY-----
";

    #[test]
    fn sec1_p256_keys_are_read() {
        let key = key_pair_from_pem(P256_SEC1.as_bytes()).unwrap();
        assert_eq!(hex::encode(key.subject_public_key_info()), P256_SPKI_HEX);
    }

    #[test]
    fn pkcs8_keys_are_read() {
        let generated = KeyPair::generate().unwrap();
        let key = key_pair_from_pem(generated.serialize_pem().as_bytes()).unwrap();
        assert_eq!(key.subject_public_key_info(), generated.subject_public_key_info());
    }

    #[test]
    fn other_keys_are_refused() {
        assert!(matches!(key_pair_from_pem(P384_SEC1.as_bytes()), Err(CaError::Key { .. })));
        assert!(matches!(key_pair_from_pem(b"no key here"), Err(CaError::KeyPem { .. })));
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(key_pair_from_pem(rsa.as_bytes()), Err(CaError::UnsupportedKey { .. })));
    }

    #[test]
    fn der_lengths_use_the_short_and_long_forms() {
        let encode = |len| {
            let mut out = Vec::new();
            push_der_length(&mut out, len);
            out
        };
        assert_eq!(encode(0x79), [0x79]);
        assert_eq!(encode(0x80), [0x81, 0x80]);
        assert_eq!(encode(0x0123), [0x82, 0x01, 0x23]);
    }
}
