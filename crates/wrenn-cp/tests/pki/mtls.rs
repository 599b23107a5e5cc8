//! The CA's certificates in real mTLS: the control plane's client
//! configuration against the host agent's RPC server (`wrenn_agent::rpc`,
//! its own TLS configuration and router) on 127.0.0.1.
//!
//! The agent's manager here has an empty data directory: `GetHostInfo`
//! starts nothing, so these tests need neither root nor templates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use connectrpc::ErrorCode;
use connectrpc::client::{ClientConfig, HttpClient};
use rustls::pki_types::CertificateDer;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use wrenn_agent::capsule::{CapsuleManager, CapsuleManagerConfig, host_limits};
use wrenn_agent::layout::Layout;
use wrenn_agent::network::NetworkManager;
use wrenn_agent::rpc::{self, HostSpec, TlsConfig};
use wrenn_agent::runtime::container::{ContainerConfig, ContainerRuntime};
use wrenn_agent::template::{TemplateStore, TemplateStoreOptions};
use wrenn_cp::pki::{AgentName, CertificateAuthority, ClientCert, IssuedCertificate, Lifetimes};
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::HostId;
use x509_parser::prelude::{FromDer, X509Certificate};

type AgentClient = pb::HostAgentServiceClient<HttpClient>;

/// A running agent API; the temporary directory lives as long as it.
struct Agent {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Starts the agent's RPC server on 127.0.0.1 with a host certificate that
/// `ca` issued for `cert_address` (`None`: the address it listens on).
async fn start_agent(ca: &CertificateAuthority, cert_address: Option<&str>) -> Agent {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cert_address = cert_address.map_or_else(|| addr.to_string(), str::to_owned);
    let issued = ca.issue_host_certificate(HostId::from_u128(0x42), &cert_address).unwrap();
    let tls = agent_tls(ca, &issued);
    let router = rpc::router(idle_manager(&dir), HostSpec { limits: host_limits(), disk_mb: 1024 });
    tokio::spawn(rpc::serve_mtls(listener, router, tls));
    Agent { addr, _dir: dir }
}

/// What an agent receives at registration: its certificate and key, and
/// the CA that vouches for the control plane.
fn agent_tls(ca: &CertificateAuthority, issued: &IssuedCertificate) -> TlsConfig {
    TlsConfig {
        cert_pem: issued.cert_pem.clone().into_bytes(),
        key_pem: issued.key_pem.clone().into_bytes(),
        client_ca_pem: ca.cert_pem().as_bytes().to_vec(),
    }
}

/// An agent manager over an empty data dir: enough for calls that start nothing.
fn idle_manager(dir: &tempfile::TempDir) -> Arc<CapsuleManager> {
    let layout = Layout::new(dir.path().join("data"));
    let runtime =
        ContainerRuntime::new(ContainerConfig::new(layout.clone(), PathBuf::from("/nonexistent/wrenn-launch")));
    let options = TemplateStoreOptions { envd_binary: dir.path().join("envd"), mirror: None };
    let store = TemplateStore::new(layout.clone(), options);
    let config = CapsuleManagerConfig::new(layout, None);
    Arc::new(CapsuleManager::new(config, Arc::new(runtime), NetworkManager::new(), store))
}

/// The generated agent client over the control plane's TLS configuration.
fn agent_client(ca: &CertificateAuthority, cert: Arc<ClientCert>, addr: SocketAddr) -> AgentClient {
    let config = wrenn_cp::pki::client_config(ca, cert).unwrap();
    let url = format!("https://{addr}").parse().unwrap();
    pb::HostAgentServiceClient::new(HttpClient::with_tls(config), ClientConfig::new(url))
}

async fn host_info(client: &AgentClient) -> Result<pb::GetHostInfoResponse, connectrpc::ConnectError> {
    client.get_host_info(pb::GetHostInfoRequest::default()).await.map(|response| response.into_owned())
}

#[tokio::test]
async fn the_control_plane_calls_an_agent_holding_a_host_certificate() {
    let ca = CertificateAuthority::generate().unwrap();
    let agent = start_agent(&ca, None).await;
    let client = agent_client(&ca, ClientCert::issue(&ca).unwrap(), agent.addr);

    let info = host_info(&client).await.unwrap();
    assert_eq!(info.disk_mb, 1024);
    assert_eq!(info.agent_version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn agents_refuse_clients_the_ca_did_not_vouch_for_as_the_control_plane() {
    let ca = CertificateAuthority::generate().unwrap();
    let agent = start_agent(&ca, None).await;

    // A control plane certificate from another CA, trusting the right CA.
    let other = CertificateAuthority::generate().unwrap();
    let stranger = ClientCert::issue(&other).unwrap();
    let err = host_info(&agent_client(&ca, stranger, agent.addr)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable, "{err:?}");

    // A host's own certificate (serverAuth only) cannot act as the control plane.
    let host = ca.issue_host_certificate(HostId::from_u128(9), "127.0.0.1:1").unwrap();
    let err = host_info(&agent_client(&ca, ClientCert::new(&host).unwrap(), agent.addr)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable, "{err:?}");

    // The rightful control plane is still served.
    host_info(&agent_client(&ca, ClientCert::issue(&ca).unwrap(), agent.addr)).await.unwrap();
}

#[tokio::test]
async fn the_control_plane_refuses_an_agent_certificate_for_another_address() {
    let ca = CertificateAuthority::generate().unwrap();
    let cert = ClientCert::issue(&ca).unwrap();
    let config = wrenn_cp::pki::client_config(&ca, Arc::clone(&cert)).unwrap();

    for wrong in ["127.0.0.2:9443", "agent.internal:9443"] {
        let agent = start_agent(&ca, Some(wrong)).await;
        let err = tls_connect(&config, agent.addr).await.unwrap_err();
        let cause = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
        let refused = matches!(
            cause,
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        );
        assert!(refused, "{wrong}: {err:?}");
        let err = host_info(&agent_client(&ca, Arc::clone(&cert), agent.addr)).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Unavailable, "{err:?}");
    }

    // The same agent certificate from a CA the control plane does not trust.
    let other = CertificateAuthority::generate().unwrap();
    let impostor = start_agent(&other, None).await;
    let err = tls_connect(&config, impostor.addr).await.unwrap_err();
    let cause = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    assert!(
        matches!(cause, Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_replaced_client_certificate_is_presented_on_the_next_connection() {
    let ca = CertificateAuthority::generate().unwrap();
    let (addr, mut presented) = start_recording_server(&ca).await;
    let first = ca.issue_control_plane_client_certificate().unwrap();
    let cert = ClientCert::new(&first).unwrap();
    let config = wrenn_cp::pki::client_config(&ca, Arc::clone(&cert)).unwrap();

    tls_connect(&config, addr).await.unwrap();
    assert_eq!(presented.recv().await.unwrap(), first.cert_der);
    // Without resumption, a second connection proves the identity again.
    tls_connect(&config, addr).await.unwrap();
    assert_eq!(presented.recv().await.unwrap(), first.cert_der);

    let second = ca.issue_control_plane_client_certificate().unwrap();
    cert.replace(&second).unwrap();
    assert_eq!(cert.serial(), second.serial);
    tls_connect(&config, addr).await.unwrap();
    let seen = presented.recv().await.unwrap();
    assert_eq!(seen, second.cert_der);
    assert_ne!(serial_of(&seen), first.serial);
}

#[tokio::test]
async fn the_rotation_task_renews_at_half_life_until_shutdown() {
    let lifetimes = Lifetimes { host: Duration::from_secs(3600), control_plane: Duration::from_secs(4) };
    let ca = Arc::new(CertificateAuthority::generate().unwrap().with_lifetimes(lifetimes));
    let (addr, mut presented) = start_recording_server(&ca).await;
    let cert = ClientCert::issue(&ca).unwrap();
    let config = wrenn_cp::pki::client_config(&ca, Arc::clone(&cert)).unwrap();
    let first_serial = cert.serial();
    let renew_at = cert.renew_at();
    assert_eq!(cert.expires_at().duration_since(renew_at).unwrap(), Duration::from_secs(2));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(wrenn_cp::pki::rotate_client_certificate(Arc::clone(&ca), Arc::clone(&cert), async {
        let _ = stopped.await;
    }));
    let renewed = tokio::time::timeout(Duration::from_secs(10), async {
        while cert.serial() == first_serial {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(renewed.is_ok(), "no renewal within 10 s");
    assert!(std::time::SystemTime::now() >= renew_at, "renewed before half life");

    tls_connect(&config, addr).await.unwrap();
    assert_eq!(serial_of(&presented.recv().await.unwrap()), cert.serial());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("the task stops on shutdown").unwrap();
}

/// A server with the agent's TLS configuration that reports the client
/// certificate of every connection it accepts.
async fn start_recording_server(
    ca: &CertificateAuthority,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<CertificateDer<'static>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let issued = ca.issue_host_certificate(HostId::from_u128(1), &addr.to_string()).unwrap();
    let (config, _cert) = rpc::tls::server_config(&agent_tls(ca, &issued)).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(tls) = acceptor.accept(tcp).await else { continue };
            let peer = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first().cloned());
            if let Some(peer) = peer {
                let _ = tx.send(peer.into_owned());
            }
        }
    });
    (addr, rx)
}

/// One TLS handshake to `addr`, verifying the server as the control plane
/// does: the name comes from the address.
async fn tls_connect(config: &Arc<rustls::ClientConfig>, addr: SocketAddr) -> std::io::Result<()> {
    let name = AgentName::from_address(&addr.to_string()).unwrap().server_name();
    let tcp = TcpStream::connect(addr).await?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::clone(config)).connect(name, tcp).await?;
    tls.shutdown().await
}

fn serial_of(cert: &CertificateDer<'_>) -> String {
    hex::encode(X509Certificate::from_der(cert).unwrap().1.raw_serial())
}
