//! mTLS for the agent's API: TLS 1.3 only, and every client must present a
//! certificate signed by the control plane's CA.
//!
//! The server certificate sits behind a resolver that can be swapped at run
//! time ([`ServerCert::replace`]), so a renewed certificate takes effect for
//! new connections without restarting the listener. The client CA is fixed
//! for the life of the server. The crypto provider is chosen explicitly
//! (`ring`), so the process-wide default never matters.

use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;

/// PEM material for the agent's API listener.
#[derive(Clone)]
pub struct TlsConfig {
    /// The agent's certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    /// The CA(s) whose client certificates are accepted.
    pub client_ca_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// Why TLS could not be set up, or serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("invalid PEM in the {what}")]
    Pem {
        what: &'static str,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the {what} holds no certificate")]
    NoCertificate { what: &'static str },
    #[error("the server key is not usable with the server certificate")]
    Key {
        #[source]
        source: rustls::Error,
    },
    #[error("the client CA is not a usable trust anchor")]
    ClientCa {
        #[source]
        source: rustls::Error,
    },
    #[error("the client certificate verifier could not be built")]
    Verifier {
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    #[error("the TLS configuration was refused")]
    Config {
        #[source]
        source: rustls::Error,
    },
    #[error("the API server stopped")]
    Serve {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The agent's current server certificate; replaceable while serving.
#[derive(Debug)]
pub struct ServerCert {
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ServerCert {
    /// Installs a renewed certificate and key for new connections.
    pub fn replace(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), TlsError> {
        let key = certified_key(&self.provider, cert_pem, key_pem)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = key;
        Ok(())
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner)))
    }
}

/// A rustls server configuration for the API plus the handle that swaps its
/// certificate.
pub fn server_config(tls: &TlsConfig) -> Result<(Arc<rustls::ServerConfig>, Arc<ServerCert>), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = Arc::new(ServerCert {
        current: RwLock::new(certified_key(&provider, &tls.cert_pem, &tls.key_pem)?),
        provider: Arc::clone(&provider),
    });

    let mut roots = rustls::RootCertStore::empty();
    for ca in certificates(&tls.client_ca_pem, "client CA")? {
        roots.add(ca).map_err(|source| TlsError::ClientCa { source })?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .build()
        .map_err(|source| TlsError::Verifier { source })?;

    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| TlsError::Config { source })?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::clone(&cert) as Arc<dyn ResolvesServerCert>);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), cert))
}

/// Serves `router` over mTLS on `listener` until the server fails.
pub async fn serve_mtls(listener: TcpListener, router: connectrpc::Router, tls: TlsConfig) -> Result<(), TlsError> {
    let (config, _cert) = server_config(&tls)?;
    serve_with_config(listener, router, config).await
}

/// Serves `router` with a configuration from [`server_config`], so the caller
/// keeps the [`ServerCert`] handle for rotation.
pub async fn serve_with_config(
    listener: TcpListener,
    router: connectrpc::Router,
    config: Arc<rustls::ServerConfig>,
) -> Result<(), TlsError> {
    connectrpc::Server::from_listener(listener)
        .with_tls(config)
        .serve(router)
        .await
        .map_err(|source| TlsError::Serve { source })
}

fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem { what, source })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { what });
    }
    Ok(certs)
}

fn certified_key(provider: &CryptoProvider, cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = certificates(cert_pem, "server certificate")?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| TlsError::Pem { what: "server key", source })?;
    let key = CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Key { source })?;
    Ok(Arc::new(key))
}
