//! Privileged tests of the capsule manager: real runtime, real networks and
//! the real `minimal` template with the envd this workspace built.
//!
//! Each test gets its own data dir with a hard-linked copy of `minimal` from
//! `WRENN_TEST_TEMPLATE_CACHE` (hard links: a copy costs milliseconds, and
//! the store replaces envd by rename, so the cache is never written). The
//! tests create `wrenn-<slot>` namespaces and `recover` runs
//! `cleanup_stale`, so every test holds the network tests' lock. A
//! [`Harness`] removes whatever its capsules left when dropped, also when
//! an assertion fails.

mod bench;
mod confinement;
mod failures;
mod lifecycle;
mod recover;
mod snapshot;
mod uids;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use nix::fcntl::Flock;
use wrenn_agent::capsule::{CapsuleInfo, CapsuleManager, CapsuleManagerConfig, CreateCapsule};
use wrenn_agent::cgroup::{CGROUP_ROOT, CgroupSet};
use wrenn_agent::layout::Layout;
use wrenn_agent::network::NetworkManager;
use wrenn_agent::runtime::container::{ContainerConfig, ContainerRuntime};
use wrenn_agent::template::{TemplateStore, TemplateStoreOptions};
use wrenn_types::CapsuleId;

pub(crate) struct Harness {
    _dir: tempfile::TempDir,
    pub(crate) layout: Layout,
    pub(crate) manager: Option<CapsuleManager>,
    envd: PathBuf,
    pub(crate) http: reqwest::Client,
    config: CapsuleManagerConfig,
    _lock: Flock<File>,
}

/// A manager over a fresh data dir holding `minimal`, or `None` (the test
/// skips) without root, envd or the template cache.
pub(crate) async fn harness(tweak: impl FnOnce(&mut CapsuleManagerConfig)) -> Option<Harness> {
    let in_ci = std::env::var_os("CI").is_some();
    if !nix::unistd::Uid::effective().is_root() {
        assert!(!in_ci, "CI runs privileged tests as root");
        eprintln!("skipped (needs root)");
        return None;
    }
    let built = crate::built_envd()?;
    let Some(cache) = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE") else {
        assert!(!in_ci, "CI sets WRENN_TEST_TEMPLATE_CACHE");
        eprintln!("skipped (set WRENN_TEST_TEMPLATE_CACHE to a dir holding the minimal template)");
        return None;
    };
    let lock = crate::network::privileged().await?;
    let dir = tempfile::tempdir().unwrap();
    // The capsule's root (an unmapped host uid) must traverse it.
    sh("chmod", &["755", dir.path().to_str().unwrap()]);
    let envd = dir.path().join("envd");
    std::fs::copy(&built, &envd).unwrap();
    let options = TemplateStoreOptions { envd_binary: envd.clone(), mirror: None };
    let cache = TemplateStore::new(Layout::new(&cache), options.clone());
    let minimal = cache.ensure("minimal", &|_| {}).await.unwrap();
    let layout = Layout::new(dir.path().join("data"));
    link_template(&minimal.rootfs, &layout, "minimal");
    let store = TemplateStore::new(layout.clone(), options);
    store.refresh_envd("minimal").await.unwrap();

    let mut config = CapsuleManagerConfig::new(layout.clone(), None);
    config.install_host_rules = false;
    tweak(&mut config);
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(0).build().unwrap();
    let mut harness = Harness { _dir: dir, layout, manager: None, envd, http, config, _lock: lock };
    harness.manager = Some(harness.new_manager());
    Some(harness)
}

impl Harness {
    pub(crate) fn manager(&self) -> &CapsuleManager {
        self.manager.as_ref().unwrap()
    }

    /// A manager (with a fresh runtime and network manager) on this data dir,
    /// as a restarted agent would make.
    pub(crate) fn new_manager(&self) -> CapsuleManager {
        let launcher = PathBuf::from(env!("CARGO_BIN_EXE_wrenn-launch"));
        let runtime = ContainerRuntime::new(ContainerConfig::new(self.layout.clone(), launcher));
        let options = TemplateStoreOptions { envd_binary: self.envd.clone(), mirror: None };
        let store = TemplateStore::new(self.layout.clone(), options);
        CapsuleManager::new(self.config.clone(), Arc::new(runtime), NetworkManager::new(), store)
    }

    /// A template like `minimal` whose envd is replaced by `script` (or
    /// removed when `None`).
    pub(crate) fn broken_template(&self, name: &str, script: Option<&str>) {
        link_template(&self.layout.template_rootfs("minimal"), &self.layout, name);
        let envd = self.layout.template_rootfs(name).join("usr/local/bin/envd");
        std::fs::remove_file(&envd).unwrap();
        if let Some(script) = script {
            std::fs::write(&envd, script).unwrap();
            sh("chmod", &["755", envd.to_str().unwrap()]);
            sh("chown", &["0:0", envd.to_str().unwrap()]);
        }
    }

    /// Runs `sh -c script` as root through envd (`process.Process/Start`,
    /// Connect streaming with JSON); returns its stdout once it exited 0.
    pub(crate) async fn exec(&self, addr: SocketAddr, script: &str) -> String {
        use base64::Engine;

        let request = serde_json::json!({ "process": { "cmd": "/bin/sh", "args": ["-c", script] }, "stdin": false });
        let payload = serde_json::to_vec(&request).unwrap();
        let mut body = vec![0u8];
        body.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&payload);
        let response = self
            .http
            .post(format!("http://{addr}/process.Process/Start"))
            .header("content-type", "application/connect+json")
            .header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("root:")))
            .timeout(Duration::from_secs(20))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let bytes = response.bytes().await.unwrap();
        let (mut stdout, mut rest, mut exit) = (Vec::new(), &bytes[..], None);
        while rest.len() >= 5 {
            let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
            let (flags, message) = (rest[0], &rest[5..5 + len]);
            rest = &rest[5 + len..];
            let message: serde_json::Value = serde_json::from_slice(message).unwrap();
            if flags & 2 != 0 {
                assert!(message.get("error").is_none(), "{script}: stream ended with {message}");
                break;
            }
            let event = &message["event"];
            if let Some(data) = event["data"]["stdout"].as_str() {
                stdout.extend(base64::engine::general_purpose::STANDARD.decode(data).unwrap());
            }
            if event.get("end").is_some() {
                exit = Some(event["end"].clone());
            }
        }
        let exit = exit.expect("no end event");
        assert!(exit.get("exitCode").is_none_or(|code| code == 0), "{script}: {exit}");
        String::from_utf8(stdout).unwrap()
    }

    pub(crate) async fn health(&self, addr: SocketAddr, timeout: Duration) -> Result<u16, reqwest::Error> {
        let response = self.http.get(format!("http://{addr}/health")).timeout(timeout).send().await?;
        Ok(response.status().as_u16())
    }

    /// Checks that nothing of a destroyed capsule is left.
    pub(crate) fn assert_gone(&self, info: &CapsuleInfo) {
        crate::container::assert_cleaned(self.layout.data_dir(), &info.id, info.init_pid.unwrap());
        assert_eq!(crate::network::leftovers(info.slot), Vec::<String>::new());
    }

    /// Checks that a capsule that failed to start left nothing.
    pub(crate) fn assert_nothing_of(&self, id: &CapsuleId) {
        let cgroup = Path::new(CGROUP_ROOT).join("memory").join(ContainerRuntime::cgroup_name(id));
        assert!(!cgroup.exists(), "{} left", cgroup.display());
        assert!(!self.layout.capsule_dir(&id.to_string()).exists(), "capsule dir left");
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mountinfo.contains(self.layout.data_dir().to_str().unwrap()), "mount left: {mountinfo}");
        assert!(self.manager().get(*id).is_err());
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let Some(manager) = self.manager.take() else { return };
        for info in manager.list() {
            if let Ok(cgroups) = CgroupSet::open(Path::new(CGROUP_ROOT), &ContainerRuntime::cgroup_name(&info.id)) {
                let _ = cgroups.destroy();
            }
            let layer = self.layout.capsule_dir(&info.id.to_string()).join("layer");
            let _ = nix::mount::umount2(&layer, nix::mount::MntFlags::MNT_DETACH);
            let _ = Command::new("ip").args(["link", "del", &format!("wrenn-v{}", info.slot)]).output();
            let _ = Command::new("ip").args(["netns", "del", &format!("wrenn-{}", info.slot)]).output();
        }
    }
}

pub(crate) fn request(id: CapsuleId) -> CreateCapsule {
    CreateCapsule {
        id,
        template: "minimal".into(),
        vcpus: 1,
        memory_mb: 256,
        disk_mb: 256,
        timeout_sec: 0,
        default_user: Some("root".into()),
        default_env: BTreeMap::from([("WRENN_TEST".into(), "1".into())]),
    }
}

/// Hard-links template rootfs `from` into `layout` as `name`, with a manifest.
fn link_template(from: &Path, layout: &Layout, name: &str) {
    let dir = layout.template_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    sh("cp", &["-al", from.to_str().unwrap(), layout.template_rootfs(name).to_str().unwrap()]);
    let manifest = from.parent().unwrap().join("manifest.json");
    std::fs::copy(manifest, layout.template_manifest(name)).unwrap();
}

fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    sorted[(sorted.len() * pct / 100).min(sorted.len() - 1)]
}
