//! The control plane's side of the mTLS to host agents: a rustls client
//! configuration that trusts only the CA and presents the control plane's
//! client certificate, and the task that renews that certificate at half
//! life.
//!
//! The certificate sits behind a resolver ([`ClientCert`]) that rustls asks
//! on every handshake, so a renewal reaches every connection opened after
//! it without rebuilding clients; open connections keep the identity they
//! proved. Session resumption is off: a resumed TLS 1.3 session carries the
//! client identity of the session it resumes, so with resumption a renewed
//! (or expired) certificate would never be presented. The cost is a full
//! handshake per new connection, which the HTTP client's pooling amortises.
//! ALPN is left to the HTTP client (connectrpc sets `h2`, `http/1.1`).

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::SignatureScheme;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use rustls::sign::CertifiedKey;

use crate::pki::{CertificateAuthority, IssueError, IssuedCertificate};

/// Longest single sleep of the rotation task: it re-reads the wall clock at
/// least this often, so a clock step or a suspended machine delays a
/// renewal by at most this much.
const RECHECK: Duration = Duration::from_secs(600);
/// How long the rotation task waits after a failed renewal.
const RETRY: Duration = Duration::from_secs(60);

/// Why the client TLS configuration could not be built or its certificate
/// not be renewed.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    #[error("cannot issue the control plane's client certificate")]
    Issue {
        #[source]
        source: IssueError,
    },
    #[error("invalid PEM in the control plane's client key")]
    KeyPem {
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the client key is not usable with the client certificate")]
    Key {
        #[source]
        source: rustls::Error,
    },
    #[error("the CA certificate is not a usable trust anchor")]
    TrustAnchor {
        #[source]
        source: rustls::Error,
    },
    #[error("the TLS configuration was refused")]
    Config {
        #[source]
        source: rustls::Error,
    },
}

/// The control plane's current client certificate; replaceable while
/// clients use it.
#[derive(Debug)]
pub struct ClientCert {
    provider: Arc<CryptoProvider>,
    current: RwLock<Current>,
}

#[derive(Debug, Clone)]
struct Current {
    key: Arc<CertifiedKey>,
    serial: String,
    issued_at: SystemTime,
    expires_at: SystemTime,
}

impl ClientCert {
    /// Issues a first client certificate from `ca`.
    pub fn issue(ca: &CertificateAuthority) -> Result<Arc<ClientCert>, ClientTlsError> {
        let issued = ca.issue_control_plane_client_certificate().map_err(|source| ClientTlsError::Issue { source })?;
        ClientCert::new(&issued)
    }

    /// Wraps an issued client certificate.
    pub fn new(issued: &IssuedCertificate) -> Result<Arc<ClientCert>, ClientTlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = current(&provider, issued)?;
        Ok(Arc::new(ClientCert { provider, current: RwLock::new(current) }))
    }

    /// Presents `issued` on every handshake from now on.
    pub fn replace(&self, issued: &IssuedCertificate) -> Result<(), ClientTlsError> {
        let next = current(&self.provider, issued)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(())
    }

    /// Issues a new certificate from `ca` and presents it from now on.
    pub fn renew(&self, ca: &CertificateAuthority) -> Result<(), ClientTlsError> {
        let issued = ca.issue_control_plane_client_certificate().map_err(|source| ClientTlsError::Issue { source })?;
        self.replace(&issued)
    }

    /// The serial number (lowercase hex) of the certificate presented now.
    pub fn serial(&self) -> String {
        self.snapshot().serial
    }

    pub fn expires_at(&self) -> SystemTime {
        self.snapshot().expires_at
    }

    /// Half way between issue and expiry: when the rotation task renews.
    pub fn renew_at(&self) -> SystemTime {
        let current = self.snapshot();
        let lifetime = current.expires_at.duration_since(current.issued_at).unwrap_or(Duration::ZERO);
        current.issued_at + lifetime / 2
    }

    fn snapshot(&self) -> Current {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _root_hint_subjects: &[&[u8]], _sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).key))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A client configuration for calls to host agents: TLS 1.3 only, the CA as
/// the only root, `cert` presented, no session resumption.
pub fn client_config(
    ca: &CertificateAuthority,
    cert: Arc<ClientCert>,
) -> Result<Arc<rustls::ClientConfig>, ClientTlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert_der().clone()).map_err(|source| ClientTlsError::TrustAnchor { source })?;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&cert.provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| ClientTlsError::Config { source })?
        .with_root_certificates(roots)
        .with_client_cert_resolver(cert);
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Renews `cert` from `ca` at half life until `shutdown` resolves. A failed
/// renewal is logged and retried a minute later; the old certificate stays
/// in use meanwhile.
pub async fn rotate_client_certificate(
    ca: Arc<CertificateAuthority>,
    cert: Arc<ClientCert>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let due_in = cert.renew_at().duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        if !due_in.is_zero() {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(due_in.min(RECHECK)) => continue,
            }
        }
        match cert.renew(&ca) {
            Ok(()) => tracing::info!(serial = %cert.serial(), "renewed the control plane's client certificate"),
            Err(err) => {
                tracing::warn!(error = %ErrorChain(&err), retry_in = ?RETRY, "cannot renew the control plane's client certificate");
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }
}

fn current(provider: &CryptoProvider, issued: &IssuedCertificate) -> Result<Current, ClientTlsError> {
    let key =
        PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).map_err(|source| ClientTlsError::KeyPem { source })?;
    let key = CertifiedKey::from_der(vec![issued.cert_der.clone()], key, provider)
        .map_err(|source| ClientTlsError::Key { source })?;
    Ok(Current {
        key: Arc::new(key),
        serial: issued.serial.clone(),
        issued_at: issued.issued_at,
        expires_at: issued.expires_at,
    })
}

/// Displays an error with its sources, `: `-joined, for one log line.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
