//! The certificate authority: loaded from PEM or generated on first start,
//! and the two kinds of leaf it issues (host server certificates, the
//! control plane's client certificate).
//!
//! Every leaf gets a fresh P-256 key, a random 126-bit serial, `NotBefore`
//! one minute in the past (clock skew between hosts) and an end no later
//! than the CA's own: a leaf that outlived its CA would fail verification
//! anyway. Times are whole seconds, as X.509 stores them, so what
//! [`IssuedCertificate`] reports is exactly what the certificate says.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use wrenn_types::HostId;

use crate::pki::{AddressError, AgentName, HostTokenKey, files, keys};

/// The common name of the control plane's client certificate.
pub const CONTROL_PLANE_COMMON_NAME: &str = "wrenn-cp";

/// How long a generated CA is valid: long enough never to be an operational
/// event, since replacing it means re-registering every host.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How far `NotBefore` lies in the past, for hosts whose clocks run behind.
const BACKDATE: Duration = Duration::from_secs(60);
const CA_COMMON_NAME: &str = "Wrenn control plane CA";

/// How long issued certificates live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// A host agent's server certificate (renewed when the agent refreshes
    /// its credentials).
    pub host: Duration,
    /// The control plane's client certificate (renewed at half life).
    pub control_plane: Duration,
}

impl Lifetimes {
    /// 7 days for hosts, 24 hours for the control plane.
    pub const STANDARD: Lifetimes =
        Lifetimes { host: Duration::from_secs(7 * 24 * 3600), control_plane: Duration::from_secs(24 * 3600) };
}

/// The CA: its certificate, its signing key and the lifetimes it issues.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    expires_at: SystemTime,
    lifetimes: Lifetimes,
    host_token_key: HostTokenKey,
}

/// A certificate and its new private key, with what the host record keeps.
#[derive(Clone)]
pub struct IssuedCertificate {
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM. Secret: sent once to its holder.
    pub key_pem: String,
    pub cert_der: CertificateDer<'static>,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// SHA-256 of the certificate's DER, lowercase hex.
    pub fingerprint_sha256: String,
    /// When it was issued (`NotBefore` is a minute earlier).
    pub issued_at: SystemTime,
    /// `NotAfter`.
    pub expires_at: SystemTime,
}

/// Why the CA could not be loaded, generated or stored.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{present} exists but {missing} does not: restore or remove it, the CA is not regenerated over it")]
    Incomplete { present: PathBuf, missing: PathBuf },
    #[error("{path} already exists; an existing CA is never overwritten")]
    Exists { path: PathBuf },
    #[error("invalid PEM in the CA certificate")]
    CertPem {
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the CA certificate cannot be parsed")]
    CertParse,
    #[error("the CA certificate is not a CA (basicConstraints cA is not set)")]
    NotACa,
    #[error("the CA certificate expired at unix time {expired_at_unix}")]
    Expired { expired_at_unix: i64 },
    #[error("invalid PEM in the CA key")]
    KeyPem {
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the CA key is in {format} form; use a P-256 key in PKCS#8 or SEC1 (EC PRIVATE KEY) form")]
    UnsupportedKey { format: &'static str },
    #[error("the CA key cannot be read as a signing key")]
    Key {
        #[source]
        source: rcgen::Error,
    },
    #[error("the CA key does not belong to the CA certificate")]
    KeyMismatch,
    #[error("cannot generate the CA")]
    Generate {
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot read operating system randomness")]
    Randomness {
        #[source]
        source: getrandom::Error,
    },
}

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("cannot issue a certificate for host {host_id}")]
    Address {
        host_id: HostId,
        #[source]
        source: AddressError,
    },
    #[error("the CA expires before the certificate would start (lifetime {lifetime:?})")]
    NoLifetime { lifetime: Duration },
    #[error("cannot sign the certificate for {common_name}")]
    Sign {
        common_name: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot read operating system randomness")]
    Randomness {
        #[source]
        source: getrandom::Error,
    },
}

impl CertificateAuthority {
    /// Generates a new P-256 CA in memory (see [`Self::load_or_generate`]
    /// for the persisted one).
    pub fn generate() -> Result<CertificateAuthority, CaError> {
        let (cert_pem, key_pem) = generate_pem()?;
        CertificateAuthority::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
    }

    /// Reads a CA from PEM: the certificate (the first one if several) and
    /// its key (PKCS#8, or SEC1 for P-256). Refuses a certificate that is
    /// not a CA, has expired, or does not match the key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertificateAuthority, CaError> {
        let cert_der = CertificateDer::pem_slice_iter(cert_pem)
            .next()
            .ok_or(CaError::CertPem { source: rustls::pki_types::pem::Error::NoItemsFound })?
            .map_err(|source| CaError::CertPem { source })?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).map_err(|_| CaError::CertParse)?;
        if !cert.is_ca() {
            return Err(CaError::NotACa);
        }
        let expires_unix = cert.validity().not_after.timestamp();
        let expires_at = UNIX_EPOCH + Duration::from_secs(u64::try_from(expires_unix).unwrap_or(0));
        if expires_at <= SystemTime::now() {
            return Err(CaError::Expired { expired_at_unix: expires_unix });
        }
        let key = keys::key_pair_from_pem(key_pem)?;
        if key.der_bytes() != &*cert.public_key().subject_public_key.data {
            return Err(CaError::KeyMismatch);
        }
        let host_token_key = HostTokenKey::derive(&key.serialize_der());
        let issuer = Issuer::from_ca_cert_der(&cert_der, key).map_err(|_| CaError::CertParse)?;
        let cert_pem = pem_text(&cert_der);
        Ok(CertificateAuthority {
            issuer,
            cert_pem,
            cert_der,
            expires_at,
            lifetimes: Lifetimes::STANDARD,
            host_token_key,
        })
    }

    /// Reads a CA configured as two PEM files.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<CertificateAuthority, CaError> {
        CertificateAuthority::from_pem(&files::read_file(cert_path)?, &files::read_file(key_path)?)
    }

    /// Reads the CA stored in `dir` (`ca.pem`, `ca-key.pem`), or generates
    /// one and stores it there when the directory holds none. An existing or
    /// half-present CA is never overwritten.
    pub fn load_or_generate(dir: &Path) -> Result<CertificateAuthority, CaError> {
        match files::read(dir) {
            Ok(Some(stored)) => return CertificateAuthority::from_pem(&stored.cert_pem, &stored.key_pem),
            Ok(None) => {}
            // Perhaps another process is storing its CA right now.
            Err(CaError::Incomplete { .. }) => return read_when_complete(dir),
            Err(err) => return Err(err),
        }
        let (cert_pem, key_pem) = generate_pem()?;
        match files::write_new(dir, cert_pem.as_bytes(), key_pem.as_bytes()) {
            Ok(()) => {
                let ca = CertificateAuthority::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
                tracing::info!(dir = %dir.display(), fingerprint = %ca.fingerprint_sha256(), "generated a new CA");
                Ok(ca)
            }
            Err(CaError::Exists { .. }) => read_when_complete(dir),
            Err(err) => Err(err),
        }
    }

    /// Replaces the lifetimes of the certificates issued from now on.
    pub fn with_lifetimes(mut self, lifetimes: Lifetimes) -> CertificateAuthority {
        self.lifetimes = lifetimes;
        self
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// The CA certificate, PEM: what agents trust for client certificates.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The key of host access tokens, derived from the CA key.
    pub fn host_token_key(&self) -> &HostTokenKey {
        &self.host_token_key
    }

    /// SHA-256 of the CA certificate's DER, lowercase hex.
    pub fn fingerprint_sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.cert_der))
    }

    /// A server certificate for host `host_id` reachable at `address`
    /// (`ip:port` gives an IP SAN, `name:port` a DNS SAN): CN = the host id,
    /// serverAuth only.
    pub fn issue_host_certificate(&self, host_id: HostId, address: &str) -> Result<IssuedCertificate, IssueError> {
        let name = AgentName::from_address(address).map_err(|source| IssueError::Address { host_id, source })?;
        let common_name = host_id.to_string();
        let san =
            name.subject_alt_name().map_err(|source| IssueError::Sign { common_name: common_name.clone(), source })?;
        self.issue(&common_name, vec![san], ExtendedKeyUsagePurpose::ServerAuth, self.lifetimes.host)
    }

    /// The control plane's client certificate: CN `wrenn-cp`, clientAuth
    /// only, no subject alternative name.
    pub fn issue_control_plane_client_certificate(&self) -> Result<IssuedCertificate, IssueError> {
        let purpose = ExtendedKeyUsagePurpose::ClientAuth;
        self.issue(CONTROL_PLANE_COMMON_NAME, Vec::new(), purpose, self.lifetimes.control_plane)
    }

    fn issue(
        &self,
        common_name: &str,
        subject_alt_names: Vec<SanType>,
        purpose: ExtendedKeyUsagePurpose,
        lifetime: Duration,
    ) -> Result<IssuedCertificate, IssueError> {
        let issued_at = whole_seconds(SystemTime::now());
        let expires_at = (issued_at + lifetime).min(self.expires_at);
        if expires_at <= issued_at {
            return Err(IssueError::NoLifetime { lifetime });
        }
        let sign_error = |source| IssueError::Sign { common_name: common_name.to_owned(), source };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(sign_error)?;
        let serial = random_serial().map_err(|source| IssueError::Randomness { source })?;

        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_only(common_name);
        params.subject_alt_names = subject_alt_names;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        params.not_before = OffsetDateTime::from(issued_at - BACKDATE);
        params.not_after = OffsetDateTime::from(expires_at);
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).map_err(sign_error)?;

        let cert_der = cert.der().clone();
        Ok(IssuedCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            fingerprint_sha256: hex::encode(Sha256::digest(&cert_der)),
            cert_der,
            serial: hex::encode(serial),
            issued_at,
            expires_at,
        })
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("fingerprint_sha256", &self.fingerprint_sha256())
            .field("expires_at", &self.expires_at)
            .field("lifetimes", &self.lifetimes)
            .finish_non_exhaustive()
    }
}

impl IssuedCertificate {
    /// `NotAfter` in unix ms, as the host record and the API keep it.
    pub fn expires_at_ms(&self) -> i64 {
        self.expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
    }
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("serial", &self.serial)
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Reads the CA another process is storing in `dir` right now: its key may
/// be in place a moment before its certificate. A directory still missing
/// its certificate after a second is reported as incomplete.
fn read_when_complete(dir: &Path) -> Result<CertificateAuthority, CaError> {
    let mut n_attempts = 0;
    loop {
        n_attempts += 1;
        match files::read(dir) {
            Ok(Some(stored)) => return CertificateAuthority::from_pem(&stored.cert_pem, &stored.key_pem),
            Err(CaError::Incomplete { .. }) | Ok(None) if n_attempts < 20 => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(None) => {
                let (present, missing) = (dir.join(files::KEY_FILE), dir.join(files::CERT_FILE));
                return Err(CaError::Incomplete { present, missing });
            }
            Err(err) => return Err(err),
        }
    }
}

/// A new self-signed P-256 CA: certificate PEM and PKCS#8 key PEM.
fn generate_pem() -> Result<(String, String), CaError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|source| CaError::Generate { source })?;
    let now = whole_seconds(SystemTime::now());
    let mut params = CertificateParams::default();
    // Each generated CA has a name of its own, so a certificate from another
    // Wrenn installation is reported as from an unknown issuer, not as a
    // bad signature by this one.
    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix).map_err(|source| CaError::Randomness { source })?;
    params.distinguished_name = common_name_only(&format!("{CA_COMMON_NAME} {}", hex::encode(suffix)));
    // Path length 0: the CA signs leaves only, never another CA.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = OffsetDateTime::from(now - BACKDATE);
    params.not_after = OffsetDateTime::from(now + CA_LIFETIME);
    params.serial_number =
        Some(SerialNumber::from_slice(&random_serial().map_err(|source| CaError::Randomness { source })?));
    let cert = params.self_signed(&key).map_err(|source| CaError::Generate { source })?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn common_name_only(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// 16 random bytes with the top bits fixed to `01`: positive, encoded in
/// exactly 16 bytes (RFC 5280 allows up to 20), 126 bits of randomness.
fn random_serial() -> Result<[u8; 16], getrandom::Error> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial)?;
    serial[0] = (serial[0] & 0x3f) | 0x40;
    Ok(serial)
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs()))
}

fn pem_text(der: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
