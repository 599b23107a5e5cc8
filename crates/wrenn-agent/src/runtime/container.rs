//! The `container` runtime: Linux namespaces, cgroups, seccomp and an
//! overlayfs root, started by the `wrenn-launch` helper process.
//!
//! ```text
//! create:  dirs (owned by the capsule's uid_base) → disk image (sparse ext4, loop-mounted
//!          at layer/ when disk_mb > 0) → cgroups → wrenn-launch (JSON on
//!          stdin) → init pid from its stdout (also in <capsule>/init.pid)
//! pause:   freezer              resume: thaw
//! hibernate / restore: CRIU, see `container::hibernate`
//! destroy: freeze, SIGKILL every pid, thaw, wait until empty,
//!          remove cgroups, unmount layer/, remove the capsule dir
//! ```
//!
//! The only host mount of a capsule is its disk image at `layer/`; all
//! other mounts live in its own mount namespace and vanish with its last
//! process. The capsule's processes are orphans of the launcher, not
//! children of the agent: an agent killed with `kill -9` leaves them
//! running, and a new agent adopts them with [`ContainerRuntime::recover`]
//! through `<capsule>/init.pid` and the cgroups.
//!
//! An empty [`CapsuleSpec::netns_path`] keeps the launcher's network
//! namespace (tests only).
//!
//! What it does not do: networking (the capsule joins the netns in
//! [`CapsuleSpec::netns_path`], prepared by `network`), and uid ranges
//! (each capsule comes with its own [`CapsuleSpec::uid_base`], see
//! `uid_range`; the template is mapped into it by an idmapped mount, see
//! `sys::rootfs`).

pub mod dns;
pub mod hibernate;
pub mod launch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wrenn_types::CapsuleId;

use crate::cgroup::{CGROUP_ROOT, CgroupLimits, CgroupSet};
use crate::layout::{Layout, OBJECT_PREFIX};
use crate::runtime::container::launch::{
    DISK_IMAGE, LAYER_DIR, LOWER_DIR, LaunchReport, LaunchSpec, ROOTFS_DIR, UPPER_DIR, WORK_DIR,
};
use crate::runtime::{Capabilities, CapsuleSpec, CapsuleStats, Runtime, RuntimeError, RuntimeFuture};

const NAME: &str = "container";
/// A launch that takes longer than this is broken, not slow (~ms normally).
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(10);

/// How the container runtime runs on this host.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    pub layout: Layout,
    /// The `wrenn-launch` binary.
    pub launcher: PathBuf,
    /// Normally [`CGROUP_ROOT`].
    pub cgroup_root: PathBuf,
    /// Absolute path in the capsule, then arguments; normally envd.
    pub init: Vec<String>,
    pub env: Vec<String>,
    pub pids_max: u64,
    /// The CRIU binary hibernate runs (`scripts/build-criu.sh` installs it
    /// at [`DEFAULT_CRIU`]); `None` or a binary whose `criu check` fails
    /// turns hibernate off.
    pub criu: Option<PathBuf>,
}

/// Where `scripts/build-criu.sh` installs the patched CRIU.
pub const DEFAULT_CRIU: &str = "/usr/local/lib/wrenn/criu";

impl ContainerConfig {
    /// envd as init, on the host's cgroups.
    pub fn new(layout: Layout, launcher: PathBuf) -> ContainerConfig {
        ContainerConfig {
            layout,
            launcher,
            cgroup_root: PathBuf::from(CGROUP_ROOT),
            init: vec!["/usr/local/bin/envd".into(), "--port".into(), "49983".into()],
            env: Vec::new(),
            pids_max: 4096,
            criu: Some(PathBuf::from(DEFAULT_CRIU)),
        }
    }
}

/// One capsule, running or hibernated.
#[derive(Debug)]
struct Capsule {
    /// Host pid of the init; `None` while hibernated.
    pid: Option<u32>,
    dir: PathBuf,
    cgroups: Arc<CgroupSet>,
}

#[derive(Debug)]
pub struct ContainerRuntime {
    config: ContainerConfig,
    /// Whether `config.criu` passed `criu check` when the runtime was made.
    criu_works: bool,
    capsules: Mutex<HashMap<CapsuleId, Capsule>>,
}

#[derive(Debug, thiserror::Error)]
enum ContainerError {
    #[error("could not prepare {path}")]
    Prepare {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not set up cgroups")]
    Cgroup(#[source] crate::cgroup::CgroupError),
    #[error("launcher failed")]
    Launch(#[source] crate::sys::cmd::CmdError),
    #[error("launcher printed no report: {output:?}")]
    Report { output: String },
    #[error("could not set up the capsule disk")]
    Disk(#[source] crate::sys::disk::DiskError),
    #[error("background task failed")]
    Join(#[source] tokio::task::JoinError),
}

impl ContainerRuntime {
    /// Probes `config.criu` once (`criu check`, ~80 ms) when it exists.
    pub fn new(config: ContainerConfig) -> ContainerRuntime {
        let criu_works = match config.criu.as_deref().filter(|criu| criu.exists()) {
            Some(criu) => match crate::sys::criu::check(criu) {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(error = &err as &dyn std::error::Error, "hibernate is off");
                    false
                }
            },
            None => false,
        };
        ContainerRuntime { config, criu_works, capsules: Mutex::new(HashMap::new()) }
    }

    pub fn config(&self) -> &ContainerConfig {
        &self.config
    }

    /// Takes over the capsules a previous agent left running (after a crash
    /// or `kill -9`) and removes the remains of those that died meanwhile.
    ///
    /// A capsule is adopted when the pid in its `init.pid` is a member of
    /// its cgroups: that rules out a reused pid. Anything else under the
    /// capsules dir with a capsule id for a name is torn down like
    /// `destroy` would. Returns the adopted ids.
    pub async fn recover(&self) -> Result<Vec<CapsuleId>, RuntimeError> {
        let capsules_dir = self.config.layout.capsules_dir();
        let cgroup_root = self.config.cgroup_root.clone();
        let found =
            tokio::task::spawn_blocking(move || recover_dir(&capsules_dir, &cgroup_root)).await.map_err(|e| {
                RuntimeError::Failed {
                    id: String::new(),
                    operation: "recover",
                    source: Box::new(ContainerError::Join(e)),
                }
            })?;
        let mut adopted = Vec::new();
        let mut capsules = self.lock();
        for (id, capsule) in found {
            if let std::collections::hash_map::Entry::Vacant(entry) = capsules.entry(id) {
                entry.insert(capsule);
                adopted.push(id);
            }
        }
        Ok(adopted)
    }

    /// Host pid of the capsule's init, if the capsule is known and not
    /// hibernated.
    pub fn init_pid(&self, id: &CapsuleId) -> Option<u32> {
        self.lock().get(id).and_then(|capsule| capsule.pid)
    }

    /// Host directory of a capsule's writable layer.
    pub fn upper_dir(&self, id: &CapsuleId) -> PathBuf {
        self.config.layout.capsule_dir(&id.to_string()).join(UPPER_DIR)
    }

    /// Cgroup name of a capsule under each hierarchy.
    pub fn cgroup_name(id: &CapsuleId) -> String {
        format!("{OBJECT_PREFIX}/{id}")
    }

    /// Starts a capsule and reports how long the launcher took to exec its
    /// init (for benchmarks).
    pub async fn create_timed(&self, spec: &CapsuleSpec) -> Result<LaunchReport, RuntimeError> {
        let key = spec.id.to_string();
        {
            let capsules = self.lock();
            if capsules.contains_key(&spec.id) {
                return Err(RuntimeError::AlreadyExists { id: key });
            }
        }
        let dir = self.config.layout.capsule_dir(&key);
        if dir.exists() {
            return Err(RuntimeError::AlreadyExists { id: key });
        }
        match self.start(spec, &dir).await {
            Ok((report, cgroups)) => {
                let capsule = Capsule { pid: Some(report.pid), dir, cgroups: Arc::new(cgroups) };
                self.lock().insert(spec.id, capsule);
                Ok(report)
            }
            Err(err) => {
                let _ = tokio::task::spawn_blocking(move || remove_capsule_dir(&dir)).await;
                Err(RuntimeError::Failed { id: key, operation: "create", source: Box::new(err) })
            }
        }
    }

    async fn start(&self, spec: &CapsuleSpec, dir: &Path) -> Result<(LaunchReport, CgroupSet), ContainerError> {
        prepare_dirs(dir, spec.disk_mb, spec.uid_base).await?;
        dns::write_files(&dir.join(UPPER_DIR), &spec.template_rootfs, &spec.hostname, spec.uid_base)
            .map_err(|err| ContainerError::Prepare { path: err.path, source: err.source })?;
        let limits = CgroupLimits {
            memory_bytes: spec.memory_mb.saturating_mul(1 << 20),
            vcpus: spec.vcpus,
            pids_max: self.config.pids_max,
        };
        let cgroups = CgroupSet::create(&self.config.cgroup_root, &Self::cgroup_name(&spec.id), &limits)
            .map_err(ContainerError::Cgroup)?;
        let launch_spec = LaunchSpec {
            capsule_dir: dir.to_owned(),
            template_rootfs: spec.template_rootfs.clone(),
            // An empty path keeps the launcher's network namespace (tests).
            netns_path: (!spec.netns_path.as_os_str().is_empty()).then(|| spec.netns_path.clone()),
            hostname: spec.hostname.clone(),
            uid_base: spec.uid_base,
            cgroup_procs: cgroups.procs_files(),
            init: self.config.init.clone(),
            env: self.config.env.clone(),
        };
        if let Err(source) = hibernate::save_launch_spec(dir, &launch_spec) {
            let _ = tokio::task::spawn_blocking(move || cgroups.destroy()).await;
            return Err(ContainerError::Prepare { path: dir.to_owned(), source });
        }
        match self.run_launcher(&launch_spec).await {
            Ok(report) => Ok((report, cgroups)),
            Err(err) => {
                // The init may have been cloned before the launcher failed.
                let _ = tokio::task::spawn_blocking(move || cgroups.destroy()).await;
                Err(err)
            }
        }
    }

    async fn run_launcher(&self, spec: &LaunchSpec) -> Result<LaunchReport, ContainerError> {
        let input = serde_json::to_vec(spec).map_err(|e| ContainerError::Report { output: e.to_string() })?;
        let launcher = self.config.launcher.to_string_lossy();
        let output = crate::sys::cmd::run(&launcher, [""; 0], Some(&input), LAUNCH_TIMEOUT)
            .await
            .map_err(ContainerError::Launch)?;
        let text = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(text.trim()).map_err(|_| ContainerError::Report { output: text.into_owned() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CapsuleId, Capsule>> {
        // A panic while holding the map leaves it consistent (every update
        // is a single insert or remove), so poisoning is ignored.
        self.capsules.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The working CRIU binary, if hibernate is available.
    fn criu(&self) -> Option<PathBuf> {
        self.config.criu.clone().filter(|_| self.criu_works)
    }

    /// Init pid, dir and cgroups of a known capsule.
    fn parts(&self, id: &CapsuleId) -> Result<(Option<u32>, PathBuf, Arc<CgroupSet>), RuntimeError> {
        self.lock()
            .get(id)
            .map(|capsule| (capsule.pid, capsule.dir.clone(), Arc::clone(&capsule.cgroups)))
            .ok_or(RuntimeError::NotFound { id: id.to_string() })
    }

    fn set_pid(&self, id: &CapsuleId, pid: Option<u32>) {
        if let Some(capsule) = self.lock().get_mut(id) {
            capsule.pid = pid;
        }
    }

    fn cgroups(&self, id: &CapsuleId) -> Result<Arc<CgroupSet>, RuntimeError> {
        self.lock()
            .get(id)
            .map(|capsule| Arc::clone(&capsule.cgroups))
            .ok_or(RuntimeError::NotFound { id: id.to_string() })
    }

    async fn with_cgroups<T: Send + 'static>(
        &self,
        id: &CapsuleId,
        operation: &'static str,
        work: impl FnOnce(&CgroupSet) -> Result<T, crate::cgroup::CgroupError> + Send + 'static,
    ) -> Result<T, RuntimeError> {
        let cgroups = self.cgroups(id)?;
        let failed =
            |source: ContainerError| RuntimeError::Failed { id: id.to_string(), operation, source: Box::new(source) };
        tokio::task::spawn_blocking(move || work(&cgroups))
            .await
            .map_err(|e| failed(ContainerError::Join(e)))?
            .map_err(|e| failed(ContainerError::Cgroup(e)))
    }
}

impl Runtime for ContainerRuntime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { pause: true, hibernate: self.criu_works, memory_snapshot: false, disk_snapshot: true }
    }

    fn create<'a>(&'a self, spec: &'a CapsuleSpec) -> RuntimeFuture<'a, u32> {
        Box::pin(async move { Ok(self.create_timed(spec).await?.pid) })
    }

    fn destroy<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            self.with_cgroups(id, "destroy", CgroupSet::destroy).await?;
            let Some(capsule) = self.lock().remove(id) else { return Ok(()) };
            let failed = |source: ContainerError| RuntimeError::Failed {
                id: id.to_string(),
                operation: "destroy",
                source: Box::new(source),
            };
            tokio::task::spawn_blocking(move || remove_capsule_dir(&capsule.dir))
                .await
                .map_err(|e| failed(ContainerError::Join(e)))?
                .map_err(failed)
        })
    }

    fn pause<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            self.require_running(id, "pause")?;
            self.with_cgroups(id, "pause", CgroupSet::freeze).await
        })
    }

    fn resume<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, ()> {
        Box::pin(async move {
            self.require_running(id, "resume")?;
            self.with_cgroups(id, "resume", CgroupSet::thaw).await
        })
    }

    fn hibernate<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, ()> {
        Box::pin(self.hibernate_capsule(id))
    }

    fn restore<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, u32> {
        Box::pin(self.restore_capsule(id))
    }

    fn recover(&self) -> RuntimeFuture<'_, Vec<CapsuleId>> {
        Box::pin(ContainerRuntime::recover(self))
    }

    fn is_alive<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, bool> {
        Box::pin(async move {
            // A dead init leaves its cgroup at once (before it is reaped),
            // and with it its pid namespace's every process.
            let Some(pid) = self.init_pid(id) else { return Ok(true) };
            self.with_cgroups(id, "check", move |cgroups| Ok(cgroups.pids()?.contains(&pid))).await
        })
    }

    fn stats<'a>(&'a self, id: &'a CapsuleId) -> RuntimeFuture<'a, CapsuleStats> {
        Box::pin(async move {
            let stats = self.with_cgroups(id, "stats", CgroupSet::stats).await?;
            let layer = self.config.layout.capsule_dir(&id.to_string()).join(LAYER_DIR);
            let disk_bytes = crate::sys::disk::used_bytes(&layer).unwrap_or(0);
            Ok(CapsuleStats { cpu_usage_ns: stats.cpu_usage_ns, memory_bytes: stats.memory_bytes, disk_bytes })
        })
    }
}

/// Creates the capsule dir and its subdirs, owned by the capsule's root,
/// with the writable layer on a `disk_mb` disk image (none if 0).
async fn prepare_dirs(dir: &Path, disk_mb: u64, uid_base: u32) -> Result<(), ContainerError> {
    let prepare = |path: &Path, result: std::io::Result<()>| {
        result.map_err(|source| ContainerError::Prepare { path: path.to_owned(), source })
    };
    if let Some(parent) = dir.parent() {
        prepare(parent, std::fs::create_dir_all(parent))?;
    }
    prepare(dir, std::fs::create_dir(dir))?;
    let layer = dir.join(LAYER_DIR);
    prepare(&layer, std::fs::create_dir(&layer))?;
    if disk_mb > 0 {
        let image = dir.join(DISK_IMAGE);
        crate::sys::disk::create(&image, disk_mb.saturating_mul(1 << 20), uid_base)
            .await
            .map_err(ContainerError::Disk)?;
        crate::sys::disk::mount(&image, &layer).await.map_err(ContainerError::Disk)?;
    }
    for sub in ["", LAYER_DIR, UPPER_DIR, WORK_DIR, LOWER_DIR, ROOTFS_DIR] {
        let path = dir.join(sub);
        if !path.exists() {
            prepare(&path, std::fs::create_dir(&path))?;
        }
        prepare(&path, std::os::unix::fs::chown(&path, Some(uid_base), Some(uid_base)))?;
    }
    Ok(())
}

/// Unmounts the capsule's disk (if any) and removes its dir.
fn remove_capsule_dir(dir: &Path) -> Result<(), ContainerError> {
    crate::sys::disk::unmount(&dir.join(LAYER_DIR)).map_err(ContainerError::Disk)?;
    let image = dir.join(DISK_IMAGE);
    if image.exists() {
        crate::sys::disk::wait_released(&image).map_err(ContainerError::Disk)?;
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ContainerError::Prepare { path: dir.to_owned(), source }),
    }
}

/// Scans `capsules_dir`: live and hibernated capsules are returned, dead
/// ones removed.
fn recover_dir(capsules_dir: &Path, cgroup_root: &Path) -> Vec<(CapsuleId, Capsule)> {
    let Ok(entries) = std::fs::read_dir(capsules_dir) else { return Vec::new() };
    let mut live = Vec::new();
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().and_then(|name| name.parse::<CapsuleId>().ok()) else { continue };
        let dir = entry.path();
        let Ok(cgroups) = CgroupSet::open(cgroup_root, &ContainerRuntime::cgroup_name(&id)) else { continue };
        let pid = launch::read_pid_file(&dir).filter(|pid| cgroups.pids().is_ok_and(|pids| pids.contains(pid)));
        match pid {
            Some(pid) => {
                // A dump that died with the agent before its commit point.
                let _ = std::fs::remove_dir_all(dir.join(hibernate::HIBERNATE_DIR));
                live.push((id, Capsule { pid: Some(pid), dir, cgroups: Arc::new(cgroups) }));
            }
            None if hibernate::is_hibernated(&dir) => {
                live.push((id, Capsule { pid: None, dir, cgroups: Arc::new(cgroups) }));
            }
            None => {
                if let Err(err) = cgroups.destroy() {
                    tracing::warn!(%id, error = &err as &dyn std::error::Error, "could not remove cgroups of a dead capsule");
                }
                if let Err(err) = remove_capsule_dir(&dir) {
                    tracing::warn!(%id, error = &err as &dyn std::error::Error, "could not remove a dead capsule");
                }
            }
        }
    }
    live
}
