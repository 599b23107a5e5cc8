//! A real host for one test: the whole agent (`Daemon`) on 127.0.0.1:0 with
//! a server certificate from the test's CA, over a fresh data dir holding
//! `minimal` hard-linked from the template cache, registered in the store
//! the way `wrenn up` registers its node (host row and registration token,
//! then the specs the agent reports over mTLS).
//!
//! [`Host::shutdown`] stops serving, destroys whatever capsules are left
//! and takes the host firewall away again if the agent installed it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wrenn_agent::capsule::CapsuleManager;
use wrenn_agent::cgroup::{CGROUP_ROOT, CgroupSet};
use wrenn_agent::daemon::{Daemon, DaemonConfig, DaemonError};
use wrenn_agent::layout::Layout;
use wrenn_agent::network::NetworkManager;
use wrenn_agent::rpc::TlsConfig;
use wrenn_agent::runtime::container::ContainerRuntime;
use wrenn_agent::template::{TemplateStore, TemplateStoreOptions};
use wrenn_cp::Store;
use wrenn_cp::app::AgentPool;
use wrenn_cp::pki::CertificateAuthority;
use wrenn_cp::store::{HostKind, HostSpecs, NewHost, Registration};
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::HostId;

/// Lock file of the privileged tests: an agent's start sweeps every stale
/// `wrenn-*` network on the host, and capsules take `wrenn-<slot>` names.
const LOCK_FILE: &str = "/tmp/wrenn-network-tests.lock";
const TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
/// Longest a leftover capsule's destroy may take at the end of a test.
const CLEANUP_DESTROY: Duration = Duration::from_secs(30);

/// What a test needs from the machine, or `None` (skip) outside CI.
#[derive(Debug, Clone)]
pub(crate) struct Prerequisites {
    launcher: PathBuf,
    envd: PathBuf,
    cache: PathBuf,
}

pub(crate) fn prerequisites() -> Option<Prerequisites> {
    let in_ci = std::env::var_os("CI").is_some();
    let skip = |why: String| {
        assert!(!in_ci, "CI runs the lifecycle tests as root with everything they need: {why}");
        eprintln!("skipped ({why})");
        None
    };
    if !is_root() {
        return skip("needs root".to_owned());
    }
    // target/debug/deps/lifecycle-… → target/debug, where `cargo test
    // --workspace` put the binaries of the other crates.
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe.parent().and_then(Path::parent).expect("the test binary lives in target/<profile>/deps");
    let (launcher, envd) = (target.join("wrenn-launch"), target.join("envd"));
    for binary in [&launcher, &envd] {
        if !binary.is_file() {
            return skip(format!("{} is not built: cargo build -p wrenn-agent -p wrenn-envd", binary.display()));
        }
    }
    let Some(cache) = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE").map(PathBuf::from) else {
        return skip("set WRENN_TEST_TEMPLATE_CACHE to a dir holding templates/minimal".to_owned());
    };
    if !Layout::new(&cache).template_manifest("minimal").is_file() {
        return skip(format!("{} holds no templates/minimal", cache.display()));
    }
    Some(Prerequisites { launcher, envd, cache })
}

/// Whether this process runs as (effective) root: `/proc/self/status`
/// lists the real, effective, saved and fs uids.
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .is_some_and(|effective| effective == "0")
}

/// The privileged tests' lock, held while this lives: a `flock(1)` child
/// took it and waits for its stdin to close (which also happens when this
/// process dies).
#[derive(Debug)]
pub(crate) struct HostLock {
    _holder: tokio::process::Child,
}

/// Takes the lock (other test threads and processes wait).
pub(crate) async fn lock() -> HostLock {
    let mut holder = tokio::process::Command::new("flock")
        .args(["--exclusive", LOCK_FILE, "sh", "-c", "echo locked; read _"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run flock(1)");
    let stdout = holder.stdout.take().expect("flock's stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await.expect("read flock's answer");
    assert_eq!(line.trim(), "locked", "flock(1) did not take {LOCK_FILE}");
    HostLock { _holder: holder }
}

/// A running agent registered as an online host.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) id: HostId,
    pub(crate) address: String,
    pub(crate) manager: Arc<CapsuleManager>,
    layout: Layout,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), DaemonError>>>,
    firewall_before: bool,
    _dir: tempfile::TempDir,
    _lock: HostLock,
}

impl Host {
    /// Starts the agent and registers it in `store`; `lock` is held until
    /// the host is dropped.
    pub(crate) async fn start(
        store: &Store,
        ca: &CertificateAuthority,
        agents: &AgentPool,
        machine: &Prerequisites,
        lock: HostLock,
    ) -> Host {
        let dir = tempfile::tempdir().expect("temporary directory");
        // The capsules' root (an unmapped host uid) must traverse it.
        sh("chmod", &["755", &dir.path().to_string_lossy()]);
        let data_dir = dir.path().join("data");
        let layout = Layout::new(&data_dir);
        // The template store replaces envd by rename; a copy keeps the
        // build's binary out of it.
        let envd = dir.path().join("envd");
        std::fs::copy(&machine.envd, &envd).expect("copy envd");
        link_minimal(&machine.cache, &envd, &layout).await;

        let (host, token) = store
            .create_host(NewHost { kind: HostKind::Regular, team_id: None, created_by: None }, TOKEN_TTL_MS)
            .await
            .expect("create the host");
        // An IP SAN names the IP only: the certificate does not need the port.
        let issued = ca.issue_host_certificate(host.id, "127.0.0.1").expect("issue the host certificate");
        let firewall_before = firewall_installed();
        let daemon = Daemon::start(DaemonConfig {
            data_dir,
            listen: "127.0.0.1:0".parse().expect("an address"),
            tls: TlsConfig {
                cert_pem: issued.cert_pem.clone().into_bytes(),
                key_pem: issued.key_pem.clone().into_bytes(),
                client_ca_pem: ca.cert_pem().as_bytes().to_vec(),
            },
            launcher: machine.launcher.clone(),
            envd_binary: envd,
            egress_interface: None,
            mirror: None,
            base_templates: Vec::new(),
        })
        .await
        .expect("start the agent");
        let address = daemon.local_addr().to_string();
        let manager = Arc::clone(daemon.manager());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(daemon.serve(async {
            let _ = stopped.await;
        }));
        let mut started = Host {
            id: host.id,
            address,
            manager,
            layout,
            stop: Some(stop),
            serving: Some(serving),
            firewall_before,
            _dir: dir,
            _lock: lock,
        };
        started.register(store, agents, &token.secret, &issued).await;
        started
    }

    async fn register(
        &mut self,
        store: &Store,
        agents: &AgentPool,
        token: &str,
        issued: &wrenn_cp::pki::IssuedCertificate,
    ) {
        let client = agents.client_at(&self.address).expect("an agent client");
        let info = client
            .get_host_info(pb::GetHostInfoRequest::default())
            .await
            .expect("the agent answers over mTLS")
            .into_owned();
        let expires_at = issued.expires_at.duration_since(UNIX_EPOCH).expect("a certificate after 1970");
        let specs = HostSpecs {
            address: self.address.clone(),
            arch: info.arch,
            cpu_cores: info.cpu_cores,
            memory_mb: info.memory_mb,
            disk_mb: info.disk_mb,
            cert_fingerprint: issued.fingerprint_sha256.clone(),
            cert_expires_at: i64::try_from(expires_at.as_millis()).expect("expiry in range"),
        };
        match store.register_host(token, &specs).await.expect("register the host") {
            Registration::Registered(host) => assert_eq!(host.id, self.id),
            other => panic!("registration failed: {other:?}"),
        }
    }

    /// Stops serving, destroys every capsule still on the agent and
    /// removes the firewall the agent installed (if it was not there).
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            match serving.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("the agent stopped with an error: {error}"),
                Err(error) => eprintln!("the agent task failed: {error}"),
            }
        }
        for info in self.manager.list() {
            match tokio::time::timeout(CLEANUP_DESTROY, self.manager.destroy(info.id)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => eprintln!("cleanup: destroying {} failed: {error}", info.id),
                Err(_) => eprintln!("cleanup: destroying {} took longer than {CLEANUP_DESTROY:?}", info.id),
            }
        }
        if !self.firewall_before
            && let Err(error) = NetworkManager::new().remove_host_rules().await
        {
            eprintln!("cleanup: removing the host firewall failed: {error}");
        }
    }
}

impl Drop for Host {
    /// What `shutdown` could not destroy (or never ran for): the kernel
    /// objects of every capsule the agent still lists.
    fn drop(&mut self) {
        for info in self.manager.list() {
            if let Ok(cgroups) = CgroupSet::open(Path::new(CGROUP_ROOT), &ContainerRuntime::cgroup_name(&info.id)) {
                let _ = cgroups.destroy();
            }
            let layer = self.layout.capsule_dir(&info.id.to_string()).join("layer");
            let _ = Command::new("umount").args(["-l", &layer.to_string_lossy()]).output();
            let _ = Command::new("ip").args(["link", "del", &format!("wrenn-v{}", info.slot)]).output();
            let _ = Command::new("ip").args(["netns", "del", &format!("wrenn-{}", info.slot)]).output();
        }
    }
}

/// Hard-links `minimal` from the cache into `layout` (a copy costs
/// milliseconds and the cache is never written: envd is then replaced by
/// rename) and injects the envd this workspace built.
async fn link_minimal(cache: &Path, envd: &Path, layout: &Layout) {
    let options = TemplateStoreOptions { envd_binary: envd.to_owned(), mirror: None };
    // Opening brings a template of an older agent back to canonical
    // ownership once, in the cache itself, before it is linked.
    let cached = TemplateStore::new(Layout::new(cache), options.clone())
        .open("minimal")
        .await
        .expect("read the cached minimal template")
        .expect("the cache holds minimal");
    std::fs::create_dir_all(layout.template_dir("minimal")).expect("create the template dir");
    sh("cp", &["-al", &cached.rootfs.to_string_lossy(), &layout.template_rootfs("minimal").to_string_lossy()]);
    let manifest = cached.rootfs.parent().expect("a rootfs has a parent").join("manifest.json");
    std::fs::copy(manifest, layout.template_manifest("minimal")).expect("copy the manifest");
    TemplateStore::new(layout.clone(), options).refresh_envd("minimal").await.expect("inject envd");
}

/// Whether the host firewall of wrenn is installed (nftables or iptables).
fn firewall_installed() -> bool {
    let nft = Command::new("nft").args(["list", "table", "inet", "wrenn"]).output();
    if nft.is_ok_and(|out| out.status.success()) {
        return true;
    }
    ["iptables-save", "ip6tables-save"].into_iter().any(|tool| {
        Command::new(tool)
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).to_ascii_lowercase().contains("wrenn"))
    })
}

fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
