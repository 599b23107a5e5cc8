//! Privileged tests of the container runtime against real namespaces,
//! cgroups and overlayfs. They run as root (CI does); otherwise each prints
//! `skipped (needs root)`.
//!
//! Every test builds a tiny busybox rootfs in its own temp dir, stored
//! canonical like every template (owned by root, uid 0), and runs
//! `/bin/sh -c <script>` as the capsule init. Each capsule gets a uid range
//! of its own ([`Fixture::spec`]), as the capsule manager gives one per slot. Scripts
//! report through files in `/` (the overlay's upper dir, readable from the
//! host) and touch `/done` when they are finished. A [`Fixture`] removes
//! every capsule it started (cgroups, processes, dirs) when dropped, also
//! when an assertion fails.

mod envd;
mod isolation;
mod launch;
mod limits;
mod pause;
mod recover;
mod uids;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use wrenn_agent::cgroup::{CGROUP_ROOT, CgroupSet};
use wrenn_agent::layout::Layout;
use wrenn_agent::runtime::container::{ContainerConfig, ContainerRuntime};
use wrenn_agent::runtime::{CapsuleSpec, Runtime};
use wrenn_agent::uid_range::UidRange;
use wrenn_types::CapsuleId;

const V1_CONTROLLERS: &[&str] = &["memory", "cpu", "cpuacct", "pids", "freezer", "devices"];

/// A runtime over a temp data dir with a busybox template.
struct Fixture {
    dir: tempfile::TempDir,
    runtime: ContainerRuntime,
    started: Mutex<Vec<CapsuleId>>,
}

fn is_root() -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    eprintln!("skipped (needs root)");
    false
}

impl Fixture {
    /// A fixture whose capsules run `script` under `/bin/sh -c`.
    fn new(script: &str) -> Fixture {
        Fixture::with_init(vec!["/bin/sh".into(), "-c".into(), script.into()])
    }

    fn with_init(init: Vec<String>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        // The capsule's root (an unmapped host uid) must traverse it.
        chmod(dir.path(), 0o755);
        let layout = Layout::new(dir.path());
        build_busybox_rootfs(&layout.template_rootfs("busybox"));
        let mut config = ContainerConfig::new(layout, PathBuf::from(env!("CARGO_BIN_EXE_wrenn-launch")));
        config.init = init;
        config.pids_max = 64;
        Fixture { dir, runtime: ContainerRuntime::new(config), started: Mutex::new(Vec::new()) }
    }

    fn template(&self) -> PathBuf {
        Layout::new(self.dir.path()).template_rootfs("busybox")
    }

    /// A spec with a uid range no other capsule of this process has.
    fn spec(&self, memory_mb: u64) -> CapsuleSpec {
        CapsuleSpec {
            id: unique_id(),
            template_rootfs: self.template(),
            vcpus: 1,
            memory_mb,
            disk_mb: 1024,
            netns_path: PathBuf::new(),
            hostname: "capsule-test".into(),
            uid_base: unique_uid_base(),
        }
    }

    /// Creates a capsule and returns its id and init pid.
    async fn start(&self, memory_mb: u64) -> (CapsuleId, u32) {
        let spec = self.spec(memory_mb);
        (spec.id, self.start_spec(&spec).await)
    }

    /// Creates the capsule of `spec` and returns its init pid.
    async fn start_spec(&self, spec: &CapsuleSpec) -> u32 {
        self.started.lock().unwrap().push(spec.id);
        self.runtime.create(spec).await.unwrap()
    }

    fn upper(&self, id: &CapsuleId) -> PathBuf {
        self.runtime.upper_dir(id)
    }

    /// Waits until the capsule's script touched `/done`.
    fn wait_done(&self, id: &CapsuleId) {
        let done = self.upper(id).join("done");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done.exists() {
            assert!(Instant::now() < deadline, "capsule {id} did not finish its script");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn read_upper(&self, id: &CapsuleId, name: &str) -> String {
        std::fs::read_to_string(self.upper(id).join(name)).unwrap_or_default()
    }

    /// Destroys the capsule and checks that nothing of it is left.
    async fn destroy_and_check(&self, id: &CapsuleId, pid: u32) {
        self.runtime.destroy(id).await.unwrap();
        self.started.lock().unwrap().retain(|started| started != id);
        assert_cleaned(self.dir.path(), id, pid);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for id in started {
            if let Ok(cgroups) = CgroupSet::open(Path::new(CGROUP_ROOT), &ContainerRuntime::cgroup_name(&id)) {
                let _ = cgroups.destroy();
            }
            let layer = Layout::new(self.dir.path()).capsule_dir(&id.to_string()).join("layer");
            let _ = nix::mount::umount2(&layer, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// No cgroup dir, no live process, no host mount and no capsule dir left.
pub(crate) fn assert_cleaned(data_dir: &Path, id: &CapsuleId, pid: u32) {
    let name = ContainerRuntime::cgroup_name(id);
    for controller in V1_CONTROLLERS {
        let dir = Path::new(CGROUP_ROOT).join(controller).join(&name);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    assert!(!is_alive(pid), "init {pid} still running");
    let capsule_dir = Layout::new(data_dir).capsule_dir(&id.to_string());
    assert!(!capsule_dir.exists(), "capsule dir left behind");
    let capsule_dir = capsule_dir.to_string_lossy().into_owned();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(&capsule_dir), "host mount under {capsule_dir}: {mountinfo}");
    for entry in std::fs::read_dir("/sys/block").unwrap() {
        let backing = entry.unwrap().path().join("loop/backing_file");
        let backing = std::fs::read_to_string(backing).unwrap_or_default();
        assert!(!backing.contains(&capsule_dir), "loop device left on {backing}");
    }
}

/// True while `pid` exists and is not a zombie (host pid 1 reaps orphans
/// late on these machines).
pub(crate) fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// A uid base of a slot far above those the capsule manager's tests use.
pub(crate) fn unique_uid_base() -> u32 {
    static NEXT_SLOT: AtomicU32 = AtomicU32::new(10_000);
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    UidRange::for_slot(u16::try_from(slot).unwrap()).base
}

pub(crate) fn unique_id() -> CapsuleId {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let value =
        (u128::from(std::process::id()) << 96) ^ (nanos << 16) ^ u128::from(NEXT.fetch_add(1, Ordering::Relaxed));
    CapsuleId::from_u128(value)
}

/// `/bin/busybox` plus one symlink per applet, owned by root (canonical),
/// and a few files owned by other ids to check the mapping with.
fn build_busybox_rootfs(root: &Path) {
    for dir in ["bin", "proc", "dev", "tmp", "etc", "root", "mnt"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    let list = std::process::Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
    }
    std::fs::write(root.join("etc/template-file"), "from the template\n").unwrap();
    // Like Debian's: root:shadow (42), 0640.
    std::fs::write(root.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
    std::os::unix::fs::lchown(root.join("etc/shadow"), Some(0), Some(42)).unwrap();
    chmod(&root.join("etc/shadow"), 0o640);
    std::fs::create_dir_all(root.join("home/user")).unwrap();
    std::fs::write(root.join("home/user/notes"), "a user's file\n").unwrap();
    for path in ["home/user", "home/user/notes"] {
        std::os::unix::fs::lchown(root.join(path), Some(1000), Some(1000)).unwrap();
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn v1_file(id: &CapsuleId, controller: &str, file: &str) -> String {
    let path = Path::new(CGROUP_ROOT).join(controller).join(ContainerRuntime::cgroup_name(id)).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
