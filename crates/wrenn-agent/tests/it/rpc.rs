//! The agent's Connect API over mTLS: certificates made here with `rcgen`,
//! a server on 127.0.0.1:0 and the generated client.
//!
//! The TLS tests need nothing; the lifecycle test runs real capsules and
//! needs root (see `capsule::harness`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use connectrpc::ErrorCode;
use connectrpc::client::{ClientConfig, HttpClient};
use futures::FutureExt;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use wrenn_agent::capsule::{CapsuleManager, CapsuleManagerConfig, host_limits};
use wrenn_agent::layout::Layout;
use wrenn_agent::network::NetworkManager;
use wrenn_agent::rpc::{self, HostSpec, TlsConfig};
use wrenn_agent::runtime::container::{ContainerConfig, ContainerRuntime};
use wrenn_agent::template::{TemplateStore, TemplateStoreOptions};
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::exec_stream_response::Event;
use wrenn_proto::agent::hostagent::__buffa::oneof::process_selector::Selector;
use wrenn_proto::agent::hostagent::__buffa::oneof::pty_attach_response::Event as PtyEvent;
use wrenn_proto::agent::hostagent::__buffa::oneof::write_file_stream_request::Event as WriteEvent;
use wrenn_types::CapsuleId;

pub(crate) type Client = pb::HostAgentServiceClient<HttpClient>;

/// A CA with a server certificate for 127.0.0.1 and a client certificate.
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) server_cert_pem: String,
    pub(crate) server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

pub(crate) fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &ca).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["control-plane".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &ca).unwrap();

    Pki {
        ca_pem: ca.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

/// Serves `manager` over mTLS trusting `pki`'s CA; returns the address.
pub(crate) async fn serve(manager: Arc<CapsuleManager>, pki: &Pki) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let host = HostSpec { limits: host_limits(), disk_mb: 1024 };
    let tls = TlsConfig {
        cert_pem: pki.server_cert_pem.clone().into_bytes(),
        key_pem: pki.server_key_pem.clone().into_bytes(),
        client_ca_pem: pki.ca_pem.clone().into_bytes(),
    };
    tokio::spawn(rpc::serve_mtls(listener, rpc::router(manager, host), tls));
    addr
}

/// A client trusting `server_ca`, presenting `identity` (cert, key) if any.
fn client(addr: SocketAddr, server_ca: &str, identity: Option<(&str, &str)>) -> Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(server_ca.as_bytes()).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => {
            let chain = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let url = format!("https://{addr}").parse().unwrap();
    pb::HostAgentServiceClient::new(HttpClient::with_tls(Arc::new(config)), ClientConfig::new(url))
}

pub(crate) fn authorized(addr: SocketAddr, pki: &Pki) -> Client {
    client(addr, &pki.ca_pem, Some((&pki.client_cert_pem, &pki.client_key_pem)))
}

/// A manager over an empty data dir: enough for calls that start nothing.
fn idle_manager(dir: &tempfile::TempDir) -> Arc<CapsuleManager> {
    let layout = Layout::new(dir.path().join("data"));
    let launcher = PathBuf::from(env!("CARGO_BIN_EXE_wrenn-launch"));
    let runtime = ContainerRuntime::new(ContainerConfig::new(layout.clone(), launcher));
    let options = TemplateStoreOptions { envd_binary: dir.path().join("envd"), mirror: None };
    let store = TemplateStore::new(layout.clone(), options);
    let config = CapsuleManagerConfig::new(layout, None);
    Arc::new(CapsuleManager::new(config, Arc::new(runtime), NetworkManager::new(), store))
}

#[tokio::test]
async fn a_client_with_a_ca_signed_certificate_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let addr = serve(idle_manager(&dir), &pki).await;
    let client = authorized(addr, &pki);

    let info = client.get_host_info(pb::GetHostInfoRequest::default()).await.unwrap().into_owned();
    assert!(info.cpu_cores >= 1);
    assert!(info.memory_mb > 0);
    assert_eq!(info.disk_mb, 1024);
    assert_eq!(info.n_capsules, 0);
    assert_eq!(info.runtimes, vec!["container".to_owned()]);
    assert_eq!(info.agent_version, env!("CARGO_PKG_VERSION"));

    let list = client.list_capsules(pb::ListCapsulesRequest::default()).await.unwrap().into_owned();
    assert!(list.capsules.is_empty());
}

#[tokio::test]
async fn clients_without_a_certificate_of_the_ca_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let other = self::pki();
    let addr = serve(idle_manager(&dir), &pki).await;

    let anonymous = client(addr, &pki.ca_pem, None);
    let err = anonymous.get_host_info(pb::GetHostInfoRequest::default()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable, "{err:?}");

    let stranger = client(addr, &pki.ca_pem, Some((&other.client_cert_pem, &other.client_key_pem)));
    let err = stranger.get_host_info(pb::GetHostInfoRequest::default()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Unavailable, "{err:?}");

    // The server still serves the rightful client afterwards.
    authorized(addr, &pki).list_capsules(pb::ListCapsulesRequest::default()).await.unwrap();
}

#[tokio::test]
async fn a_replaced_server_certificate_serves_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, renewed) = (pki(), self::pki());
    let tls = TlsConfig {
        cert_pem: pki.server_cert_pem.clone().into_bytes(),
        key_pem: pki.server_key_pem.clone().into_bytes(),
        client_ca_pem: pki.ca_pem.clone().into_bytes(),
    };
    let (config, cert) = rpc::tls::server_config(&tls).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = rpc::router(idle_manager(&dir), HostSpec { limits: host_limits(), disk_mb: 1 });
    tokio::spawn(rpc::tls::serve_with_config(listener, router, config));
    authorized(addr, &pki).list_capsules(pb::ListCapsulesRequest::default()).await.unwrap();

    cert.replace(renewed.server_cert_pem.as_bytes(), renewed.server_key_pem.as_bytes()).unwrap();
    // Clients are still those of the first CA; the server is now vouched for by the second.
    let identity = Some((pki.client_cert_pem.as_str(), pki.client_key_pem.as_str()));
    client(addr, &renewed.ca_pem, identity).list_capsules(pb::ListCapsulesRequest::default()).await.unwrap();
    let stale = client(addr, &pki.ca_pem, identity).list_capsules(pb::ListCapsulesRequest::default()).await;
    assert_eq!(stale.unwrap_err().code, ErrorCode::Unavailable);

    let garbage = cert.replace(b"not a certificate", renewed.server_key_pem.as_bytes());
    assert!(matches!(garbage, Err(rpc::TlsError::NoCertificate { .. })), "{garbage:?}");
}

#[tokio::test]
async fn bad_requests_and_unknown_capsules_get_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let client = authorized(serve(idle_manager(&dir), &pki).await, &pki);

    let bad = pb::PingCapsuleRequest { capsule_id: "not an id".into(), ..Default::default() };
    assert_eq!(client.ping_capsule(bad).await.unwrap_err().code, ErrorCode::InvalidArgument);

    let unknown = CapsuleId::from_u128(0x1234).to_string();
    let ping = pb::PingCapsuleRequest { capsule_id: unknown.clone(), ..Default::default() };
    assert_eq!(client.ping_capsule(ping).await.unwrap_err().code, ErrorCode::NotFound);
    let exec = pb::ExecRequest { capsule_id: unknown.clone(), cmd: "true".into(), ..Default::default() };
    assert_eq!(client.exec(exec).await.unwrap_err().code, ErrorCode::NotFound);
    let destroy = pb::DestroyCapsuleRequest { capsule_id: unknown, ..Default::default() };
    assert_eq!(client.destroy_capsule(destroy).await.unwrap_err().code, ErrorCode::NotFound);

    let empty = pb::CreateCapsuleRequest { capsule_id: CapsuleId::from_u128(1).to_string(), ..Default::default() };
    assert_eq!(client.create_capsule(empty).await.unwrap_err().code, ErrorCode::InvalidArgument);
}

#[tokio::test]
async fn a_capsule_lives_through_the_api() {
    let Some(mut harness) = crate::capsule::harness(|_| {}).await else { return };
    let manager = Arc::new(harness.manager.take().unwrap());
    let pki = pki();
    let client = authorized(serve(Arc::clone(&manager), &pki).await, &pki);

    let outcome = std::panic::AssertUnwindSafe(lifecycle(&client)).catch_unwind().await;
    // Whatever failed, leave no capsule behind.
    for info in manager.list() {
        let _ = manager.destroy(info.id).await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn lifecycle(client: &Client) {
    let id = CapsuleId::from_u128(0x00c0_ffee_0000_0000_0000_0000_0000_0042).to_string();
    let create = pb::CreateCapsuleRequest {
        capsule_id: id.clone(),
        template: "minimal".into(),
        vcpus: 1,
        memory_mb: 256,
        disk_mb: 256,
        default_user: "root".into(),
        ..Default::default()
    };
    let created = client.create_capsule(create.clone()).await.unwrap().into_owned();
    let capsule = created.capsule.into_option().unwrap();
    assert_eq!(capsule.capsule_id, id);
    assert_eq!(capsule.state, pb::CapsuleState::CAPSULE_STATE_RUNNING);
    assert_eq!(client.create_capsule(create).await.unwrap_err().code, ErrorCode::AlreadyExists);

    let echo = pb::ExecRequest {
        capsule_id: id.clone(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "echo hi".into()],
        timeout_sec: 30,
        ..Default::default()
    };
    let output = client.exec(echo).await.unwrap().into_owned();
    assert_eq!(output.stdout, b"hi\n");
    assert_eq!(output.exit_code, 0);

    // Unary exec output is bounded; large output belongs on ExecStream.
    let flood = pb::ExecRequest {
        capsule_id: id.clone(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "head -c 8000000 /dev/zero; sleep 30".into()],
        timeout_sec: 20,
        ..Default::default()
    };
    assert_eq!(client.exec(flood).await.unwrap_err().code, ErrorCode::ResourceExhausted);

    let slow = pb::ExecRequest {
        capsule_id: id.clone(),
        cmd: "/bin/sleep".into(),
        args: vec!["77".into()],
        timeout_sec: 1,
        ..Default::default()
    };
    assert_eq!(client.exec(slow).await.unwrap_err().code, ErrorCode::DeadlineExceeded);
    // envd forgets a killed process once it has reaped it, a moment later.
    let list = pb::ListProcessesRequest { capsule_id: id.clone(), ..Default::default() };
    let mut listed = Vec::new();
    for _ in 0..50 {
        listed = client.list_processes(list.clone()).await.unwrap().into_owned().processes;
        if listed.iter().all(|p| p.args != ["77"]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed.iter().all(|p| p.args != ["77"]), "a timed out command is killed: {listed:?}");

    let lines = pb::ExecRequest {
        capsule_id: id.clone(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "for i in 1 2 3; do echo line $i; done; echo oops >&2; exit 3".into()],
        ..Default::default()
    };
    let mut stream = client.exec_stream(lines).await.unwrap();
    let (mut stdout, mut stderr, mut started, mut exit_code) = (Vec::new(), Vec::new(), false, None);
    while let Some(message) = stream.message::<pb::ExecStreamResponse>().await.unwrap() {
        match message.to_owned_message().event {
            Some(Event::Start(start)) => started = start.pid > 0,
            Some(Event::Stdout(bytes)) => stdout.extend(bytes),
            Some(Event::Stderr(bytes)) => stderr.extend(bytes),
            Some(Event::End(end)) => exit_code = Some(end.exit_code),
            None => {}
        }
    }
    assert!(started);
    assert_eq!(String::from_utf8(stdout).unwrap(), "line 1\nline 2\nline 3\n");
    assert_eq!(stderr, b"oops\n");
    assert_eq!(exit_code, Some(3));

    files(client, &id).await;
    processes(client, &id).await;
    finished_processes(client, &id).await;
    terminal(client, &id).await;

    // A background process that runs across a pause still reports its exit.
    let across = pb::StartBackgroundRequest {
        capsule_id: id.clone(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "sleep 2; exit 9".into()],
        ..Default::default()
    };
    let across = client.start_background(across).await.unwrap().into_owned().pid;
    let pause = pb::PauseCapsuleRequest { capsule_id: id.clone(), ..Default::default() };
    let paused = client.pause_capsule(pause).await.unwrap().into_owned();
    assert_eq!(paused.capsule.into_option().unwrap().state, pb::CapsuleState::CAPSULE_STATE_PAUSED);
    let exec = pb::ExecRequest { capsule_id: id.clone(), cmd: "true".into(), ..Default::default() };
    assert_eq!(client.exec(exec).await.unwrap_err().code, ErrorCode::FailedPrecondition);
    let resume = pb::ResumeCapsuleRequest { capsule_id: id.clone(), ..Default::default() };
    let resumed = client.resume_capsule(resume).await.unwrap().into_owned();
    assert_eq!(resumed.capsule.into_option().unwrap().state, pb::CapsuleState::CAPSULE_STATE_RUNNING);
    client.ping_capsule(pb::PingCapsuleRequest { capsule_id: id.clone(), ..Default::default() }).await.unwrap();
    wait_until_gone(client, &id, across).await;
    assert_eq!(connect_to_end(client, &id, Selector::Pid(across)).await, Ok((across, 9)));

    let metrics = pb::GetCapsuleMetricsRequest { capsule_id: id.clone(), range: "5m".into(), ..Default::default() };
    client.get_capsule_metrics(metrics).await.unwrap();
    let bad_range = pb::GetCapsuleMetricsRequest { capsule_id: id.clone(), range: "1y".into(), ..Default::default() };
    assert_eq!(client.get_capsule_metrics(bad_range).await.unwrap_err().code, ErrorCode::InvalidArgument);

    let list = client.list_capsules(pb::ListCapsulesRequest::default()).await.unwrap().into_owned();
    assert_eq!(list.capsules.iter().map(|c| c.capsule_id.as_str()).collect::<Vec<_>>(), vec![id.as_str()]);
    let listed = &list.capsules[0];
    assert_eq!(listed.envd_version, "0.6.4", "envd's /health version is reported");
    assert!(listed.last_active_at_unix >= listed.created_at_unix && listed.created_at_unix > 0, "{listed:?}");
    assert_eq!(listed.reason, "", "a healthy capsule has no reason");
    let info = client.get_host_info(pb::GetHostInfoRequest::default()).await.unwrap().into_owned();
    assert_eq!((info.n_capsules, info.allocated_memory_mb), (1, 256));

    client.destroy_capsule(pb::DestroyCapsuleRequest { capsule_id: id.clone(), ..Default::default() }).await.unwrap();
    let ping = pb::PingCapsuleRequest { capsule_id: id, ..Default::default() };
    assert_eq!(client.ping_capsule(ping).await.unwrap_err().code, ErrorCode::NotFound);
}

async fn files(client: &Client, id: &str) {
    let dir = pb::MakeDirRequest { capsule_id: id.into(), path: "/tmp/rpc".into(), ..Default::default() };
    let made = client.make_dir(dir).await.unwrap().into_owned();
    assert_eq!(made.entry.into_option().unwrap().r#type, "directory");

    let content = b"hello over mtls\n".to_vec();
    let write = pb::WriteFileRequest {
        capsule_id: id.into(),
        path: "/tmp/rpc/small.txt".into(),
        content: content.clone(),
        ..Default::default()
    };
    client.write_file(write).await.unwrap();
    let read = pb::ReadFileRequest { capsule_id: id.into(), path: "/tmp/rpc/small.txt".into(), ..Default::default() };
    assert_eq!(client.read_file(read).await.unwrap().into_owned().content, content);

    // Several chunks in, the same bytes out through the stream.
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let meta = pb::WriteFileStreamMeta { capsule_id: id.into(), path: "/tmp/rpc/big.bin".into(), ..Default::default() };
    let mut messages = vec![pb::WriteFileStreamRequest { event: Some(WriteEvent::from(meta)), ..Default::default() }];
    messages.extend(big.chunks(700_000).map(|chunk| pb::WriteFileStreamRequest {
        event: Some(WriteEvent::Chunk(chunk.to_vec())),
        ..Default::default()
    }));
    client.write_file_stream(futures::stream::iter(messages)).await.unwrap();
    let read = pb::ReadFileRequest { capsule_id: id.into(), path: "/tmp/rpc/big.bin".into(), ..Default::default() };
    let mut stream = client.read_file_stream(read).await.unwrap();
    let mut back = Vec::new();
    while let Some(chunk) = stream.message::<pb::FileChunk>().await.unwrap() {
        back.extend(chunk.to_owned_message().data);
    }
    assert!(back == big, "streamed file differs: {} bytes back of {}", back.len(), big.len());

    let list = pb::ListDirRequest { capsule_id: id.into(), path: "/tmp/rpc".into(), depth: 1, ..Default::default() };
    let entries = client.list_dir(list.clone()).await.unwrap().into_owned().entries;
    let mut names: Vec<(String, String, i64)> = entries.into_iter().map(|e| (e.name, e.r#type, e.size)).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("big.bin".into(), "file".into(), big.len() as i64),
            ("small.txt".into(), "file".into(), content.len() as i64)
        ]
    );

    let missing = pb::ReadFileRequest { capsule_id: id.into(), path: "/tmp/rpc/none".into(), ..Default::default() };
    assert_eq!(client.read_file(missing).await.unwrap_err().code, ErrorCode::NotFound);
    let no_path = pb::ReadFileRequest { capsule_id: id.into(), ..Default::default() };
    assert_eq!(client.read_file(no_path).await.unwrap_err().code, ErrorCode::InvalidArgument);

    let remove = pb::RemovePathRequest { capsule_id: id.into(), path: "/tmp/rpc".into(), ..Default::default() };
    client.remove_path(remove).await.unwrap();
    assert_eq!(client.list_dir(list).await.unwrap_err().code, ErrorCode::NotFound);
}

async fn processes(client: &Client, id: &str) {
    let sleep = pb::StartBackgroundRequest {
        capsule_id: id.into(),
        cmd: "/bin/sleep".into(),
        args: vec!["600".into()],
        ..Default::default()
    };
    let started = client.start_background(sleep).await.unwrap().into_owned();
    assert!(started.pid > 0);
    assert!(
        started.tag.len() == 13
            && started.tag.starts_with("proc-")
            && started.tag[5..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        started.tag
    );

    let list = pb::ListProcessesRequest { capsule_id: id.into(), ..Default::default() };
    let listed = client.list_processes(list.clone()).await.unwrap().into_owned().processes;
    let entry = listed.iter().find(|p| p.pid == started.pid).expect("the background process is listed");
    assert_eq!((entry.tag.as_str(), entry.cmd.as_str()), (started.tag.as_str(), "/bin/sleep"));

    let by_tag = pb::ProcessSelector { selector: Some(Selector::Tag(started.tag.clone())), ..Default::default() };
    let connect =
        pb::ConnectProcessRequest { capsule_id: id.into(), process: by_tag.clone().into(), ..Default::default() };
    let mut attached = client.connect_process(connect).await.unwrap();

    let kill = pb::KillProcessRequest {
        capsule_id: id.into(),
        process: by_tag.into(),
        signal: pb::Signal::SIGNAL_SIGKILL.into(),
        ..Default::default()
    };
    client.kill_process(kill).await.unwrap();
    let mut ended = false;
    while let Some(message) = attached.message::<pb::ExecStreamResponse>().await.unwrap() {
        ended |= matches!(message.to_owned_message().event, Some(Event::End(_)));
    }
    assert!(ended, "the attached stream ends with the process");
    let mut listed = Vec::new();
    for _ in 0..50 {
        listed = client.list_processes(list.clone()).await.unwrap().into_owned().processes;
        if listed.iter().all(|p| p.pid != started.pid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(listed.iter().all(|p| p.pid != started.pid), "{listed:?}");

    let unknown = pb::ProcessSelector { selector: Some(Selector::Tag("nope".into())), ..Default::default() };
    let kill = pb::KillProcessRequest { capsule_id: id.into(), process: unknown.into(), ..Default::default() };
    assert_eq!(client.kill_process(kill).await.unwrap_err().code, ErrorCode::NotFound);
}

/// `ConnectProcess` to a background process that has already ended still
/// ends with its exit code (SDK contract §7.3), by pid and by tag.
async fn finished_processes(client: &Client, id: &str) {
    let start = pb::StartBackgroundRequest {
        capsule_id: id.into(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "exit 7".into()],
        tag: "exits-seven".into(),
        ..Default::default()
    };
    let pid = client.start_background(start).await.unwrap().into_owned().pid;
    wait_until_gone(client, id, pid).await;
    assert_eq!(connect_to_end(client, id, Selector::Pid(pid)).await, Ok((pid, 7)));
    assert_eq!(connect_to_end(client, id, Selector::Tag("exits-seven".into())).await, Ok((pid, 7)));
    // Asked again, the same answer: the exit is kept, not handed out once.
    assert_eq!(connect_to_end(client, id, Selector::Pid(pid)).await, Ok((pid, 7)));

    // Connected at once, the stream of a process that ends right away ends
    // with its exit code whichever way the race goes.
    let start = pb::StartBackgroundRequest {
        capsule_id: id.into(),
        cmd: "/bin/sh".into(),
        args: vec!["-c".into(), "exit 4".into()],
        ..Default::default()
    };
    let pid = client.start_background(start).await.unwrap().into_owned().pid;
    assert_eq!(connect_to_end(client, id, Selector::Pid(pid)).await, Ok((pid, 4)));

    // A pid that never ran here is still unknown.
    assert_eq!(connect_to_end(client, id, Selector::Pid(999_999)).await, Err(ErrorCode::NotFound));
    assert_eq!(connect_to_end(client, id, Selector::Tag("never".into())).await, Err(ErrorCode::NotFound));
}

/// Polls `ListProcesses` until envd has forgotten `pid`.
async fn wait_until_gone(client: &Client, id: &str, pid: u32) {
    let list = pb::ListProcessesRequest { capsule_id: id.into(), ..Default::default() };
    for _ in 0..100 {
        let listed = client.list_processes(list.clone()).await.unwrap().into_owned().processes;
        if listed.iter().all(|p| p.pid != pid) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("process {pid} is still listed after 10 s");
}

/// `ConnectProcess` read to its end: the start event's pid and the exit
/// code, in that order, or the call's error code.
async fn connect_to_end(client: &Client, id: &str, process: Selector) -> Result<(u32, i32), ErrorCode> {
    let process = pb::ProcessSelector { selector: Some(process), ..Default::default() };
    let connect = pb::ConnectProcessRequest { capsule_id: id.into(), process: process.into(), ..Default::default() };
    let mut stream = client.connect_process(connect).await.map_err(|err| err.code)?;
    let (mut pid, mut exit_code) = (None, None);
    while let Some(message) = stream.message::<pb::ExecStreamResponse>().await.map_err(|err| err.code)? {
        match message.to_owned_message().event {
            Some(Event::Start(start)) => {
                assert!(pid.is_none() && exit_code.is_none(), "one start, first");
                pid = Some(start.pid);
            }
            Some(Event::End(end)) => {
                assert!(exit_code.is_none(), "one end");
                exit_code = Some(end.exit_code);
            }
            Some(Event::Stdout(_) | Event::Stderr(_)) | None => {}
        }
    }
    Ok((pid.expect("a start event"), exit_code.expect("an end event")))
}

async fn terminal(client: &Client, id: &str) {
    let attach = pb::PtyAttachRequest {
        capsule_id: id.into(),
        tag: "term".into(),
        cmd: "/bin/sh".into(),
        cols: 100,
        rows: 30,
        ..Default::default()
    };
    let mut stream = client.pty_attach(attach).await.unwrap();
    let resize =
        pb::PtyResizeRequest { capsule_id: id.into(), tag: "term".into(), cols: 120, rows: 40, ..Default::default() };
    client.pty_resize(resize).await.unwrap();
    let input = pb::PtySendInputRequest {
        capsule_id: id.into(),
        tag: "term".into(),
        data: b"stty size; exit 7\n".to_vec(),
        ..Default::default()
    };
    client.pty_send_input(input).await.unwrap();
    let (mut output, mut exit_code) = (Vec::new(), None);
    while let Some(message) = stream.message::<pb::PtyAttachResponse>().await.unwrap() {
        match message.to_owned_message().event {
            Some(PtyEvent::Output(bytes)) => output.extend(bytes),
            Some(PtyEvent::Exited(end)) => exit_code = Some(end.exit_code),
            Some(PtyEvent::Started(_)) | None => {}
        }
    }
    let output = String::from_utf8_lossy(&output);
    assert!(output.contains("40 120"), "{output:?}");
    assert_eq!(exit_code, Some(7));
    let kill = pb::PtyKillRequest { capsule_id: id.into(), tag: "term".into(), ..Default::default() };
    assert_eq!(client.pty_kill(kill).await.unwrap_err().code, ErrorCode::NotFound);
}
