//! Host agent benchmark: capsule start latency against two floors on the
//! same rootfs, pause and resume, and host memory per idle capsule. Not a
//! test: it asserts nothing but cleanup, it reports.
//!
//! `cargo build --release -p wrenn-envd && cargo bench -p wrenn-agent --bench agent`
//! (add `-- --quick` for a CI-sized run). Runs as root. Prints a table and
//! writes every sample to `target/bench/agent.json`.
//!
//! ```text
//! floors     wrenn-launch of `/bin/true` (bare namespaces), `runc run` of `/bin/true`
//! runtime    ContainerRuntime::create → init exec'ed (busybox rootfs), seq and 20 at once
//! capsule    CapsuleManager::create → envd ready (`minimal` template), seq and 20 at once
//! pause      runtime freezer, and manager pause / resume (thaw + envd /init)
//! hibernate  manager hibernate (CRIU dump) / resume (restore + envd ready), cgroup memory
//!            before and after; skipped without a working CRIU (`scripts/build-criu.sh`)
//! density    N idle capsules: MemAvailable delta and cgroup memory usage, per capsule
//! ```
//!
//! The capsule rows need the `minimal` template in `WRENN_TEST_TEMPLATE_CACHE`
//! (as the privileged tests do) and a release envd next to this bench's
//! binary; without them they are skipped and density falls back to busybox
//! `sleep` capsules. Every capsule is destroyed at the end, also on error or
//! Ctrl-C, and the bench checks that none of its cgroups, mounts, loop
//! devices, processes or network namespaces are left.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use wrenn_agent::capsule::{CapsuleError, CapsuleManager, CapsuleManagerConfig, CreateCapsule};
use wrenn_agent::cgroup::{CGROUP_ROOT, CgroupSet};
use wrenn_agent::layout::Layout;
use wrenn_agent::network::NetworkManager;
use wrenn_agent::network::slots::MAX_SLOTS;
use wrenn_agent::runtime::container::launch::{LaunchReport, LaunchSpec};
use wrenn_agent::runtime::container::{ContainerConfig, ContainerRuntime};
use wrenn_agent::runtime::{CapsuleSpec, Runtime};
use wrenn_agent::template::{TemplateStore, TemplateStoreOptions};
use wrenn_agent::uid_range::UidRange;
use wrenn_types::CapsuleId;
use wrenn_types::ErrorChain;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Uid base of the bare-namespace floor (its capsules never overlap).
const FLOOR_UID_BASE: u32 = 1 << 30;
const LAUNCHER: &str = env!("CARGO_BIN_EXE_wrenn-launch");
/// Capsules started at once in the concurrent rows (the issue's number).
const CONCURRENT: usize = 20;
/// Same lock as the privileged network tests: capsules take `wrenn-<slot>`
/// namespaces, so a bench and a test run must not overlap.
const LOCK_FILE: &str = "/tmp/wrenn-network-tests.lock";
const V1_CONTROLLERS: &[&str] = &["memory", "cpu", "cpuacct", "pids", "freezer", "devices"];

struct Sizes {
    n_floor: usize,
    n_seq: usize,
    concurrent_rounds: usize,
    n_pause: usize,
    n_idle: usize,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes { n_floor: 10, n_seq: 5, concurrent_rounds: 1, n_pause: 5, n_idle: 20 }
    } else {
        Sizes { n_floor: 30, n_seq: 20, concurrent_rounds: 3, n_pause: 20, n_idle: 200 }
    };
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("the agent benchmark needs root");
        std::process::exit(2);
    }
    let code = match run(&sizes) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("agent benchmark failed: {}", ErrorChain(err.as_ref()));
            1
        }
    };
    std::process::exit(code)
}

fn run(sizes: &Sizes) -> BenchResult<()> {
    let _lock = take_lock()?;
    let dir = tempfile::tempdir()?;
    // The capsule's root (an unmapped host uid) must traverse it.
    chmod(dir.path(), 0o755)?;
    let layout = Layout::new(dir.path().join("data"));
    let rootfs = layout.template_rootfs("busybox");
    build_busybox_rootfs(&rootfs)?;
    let mut report = Report::default();

    // Floors run before tokio starts: the bare launch makes this process a
    // child subreaper for a moment, which must not catch anything else.
    floor_bare_ns(&rootfs, dir.path(), sizes.n_floor, &mut report)?;
    match which("runc") {
        Some(runc) => floor_runc(&runc, &rootfs, dir.path(), sizes.n_floor, &mut report)?,
        None => eprintln!("runc floor skipped: runc is not installed (apt-get install -y runc)"),
    }

    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let guard = Guard::new(&layout, dir.path());
    let outcome = tokio.block_on(async {
        let work = bench_capsules(&guard, &layout, sizes, &mut report);
        let outcome = tokio::select! {
            outcome = work => outcome,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        };
        guard.destroy_all().await;
        outcome
    });
    let leftovers = guard.leftovers();
    drop(guard);
    drop(tokio);
    let printed = outcome.map(|()| {
        report.print(sizes);
        report.write_json()
    });
    if !leftovers.is_empty() {
        return Err(format!("left behind: {leftovers:?}").into());
    }
    println!("cleanup: no cgroup, mount, loop device, process or netns of this run is left");
    printed?
}

async fn bench_capsules(guard: &Guard, layout: &Layout, sizes: &Sizes, report: &mut Report) -> BenchResult<()> {
    let runtime = guard.runtime(vec!["/bin/sleep".into(), "1000000".into()]);
    runtime_creates(guard, &runtime, layout, sizes, report).await?;
    runtime_pause(guard, &runtime, layout, sizes, report).await?;
    match minimal_template(layout).await {
        Ok(Some(envd)) => {
            let manager = guard.manager(layout, &envd);
            manager_creates(guard, &manager, sizes, report).await?;
            manager_pause(guard, &manager, sizes, report).await?;
            manager_hibernate(guard, &manager, sizes, report).await?;
            density_manager(guard, &manager, sizes, report).await?;
        }
        Ok(None) => {
            report.notes.push("capsule rows skipped (no minimal template or release envd); density uses busybox sleep");
            density_runtime(guard, &runtime, layout, sizes, report).await?;
        }
        Err(err) => return Err(err),
    }
    Ok(())
}

// ---- floors ----

/// `wrenn-launch` running `/bin/true` as the init of fresh user, pid, mount,
/// uts and ipc namespaces on the overlay of the busybox rootfs (no cgroups,
/// no netns): from spawning the launcher to reaping the init (includes the
/// namespaces' teardown, like `runc run`), and to the launcher's exit (the
/// init has exec'ed: what `ContainerRuntime::create` waits for).
fn floor_bare_ns(rootfs: &Path, scratch: &Path, n: usize, report: &mut Report) -> BenchResult<()> {
    nix::sys::prctl::set_child_subreaper(true)?;
    // Iteration 0 warms caches and is not recorded.
    let result = (0..=n).try_for_each(|i| {
        let capsule_dir = scratch.join(format!("bare-{i}"));
        for sub in ["", "layer", "layer/upper", "layer/work", "lower", "rootfs"] {
            let path = capsule_dir.join(sub);
            std::fs::create_dir_all(&path)?;
            std::os::unix::fs::chown(&path, Some(FLOOR_UID_BASE), Some(FLOOR_UID_BASE))?;
        }
        let spec = LaunchSpec {
            capsule_dir: capsule_dir.clone(),
            template_rootfs: rootfs.to_owned(),
            netns_path: None,
            hostname: "bench".into(),
            uid_base: FLOOR_UID_BASE,
            cgroup_procs: Vec::new(),
            init: vec!["/bin/true".into()],
            env: Vec::new(),
        };
        let input = serde_json::to_vec(&spec)?;
        let started = Instant::now();
        let mut child =
            Command::new(LAUNCHER).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        child.stdin.take().ok_or("no stdin")?.write_all(&input)?;
        let output = child.wait_with_output()?;
        let exec_elapsed = started.elapsed();
        if !output.status.success() {
            return Err(format!("wrenn-launch failed: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        let launched: LaunchReport = serde_json::from_slice(&output.stdout)?;
        // The launcher has exited, so its orphaned init is now our child.
        let pid = nix::unistd::Pid::from_raw(i32::try_from(launched.pid)?);
        let status = nix::sys::wait::waitpid(pid, None)?;
        if i > 0 {
            report.sample("floor_bare_ns_true_ms", started.elapsed());
            report.sample("floor_bare_ns_to_exec_ms", exec_elapsed);
        }
        if !matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)) {
            return Err(format!("bare init ended with {status:?}").into());
        }
        std::fs::remove_dir_all(&capsule_dir)?;
        Ok(())
    });
    nix::sys::prctl::set_child_subreaper(false)?;
    result
}

/// `runc run` of the same rootfs (read-only, `runc spec` defaults: pid, net,
/// ipc, uts, mount namespaces, cgroups) running `/bin/true`.
fn floor_runc(runc: &Path, rootfs: &Path, scratch: &Path, n: usize, report: &mut Report) -> BenchResult<()> {
    let bundle = scratch.join("runc-bundle");
    let state = scratch.join("runc-state");
    std::fs::create_dir_all(&bundle)?;
    std::fs::create_dir_all(&state)?;
    let spec = Command::new(runc).arg("spec").current_dir(&bundle).output()?;
    if !spec.status.success() {
        return Err(format!("runc spec failed: {}", String::from_utf8_lossy(&spec.stderr)).into());
    }
    let path = bundle.join("config.json");
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    config["root"] = serde_json::json!({ "path": rootfs, "readonly": true });
    config["process"]["terminal"] = serde_json::json!(false);
    config["process"]["args"] = serde_json::json!(["/bin/true"]);
    config["hostname"] = serde_json::json!("bench");
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?)?;
    let pid = std::process::id();
    // Iteration 0 warms caches and is not recorded.
    for i in 0..=n {
        let started = Instant::now();
        let output = Command::new(runc)
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(format!("wrenn-bench-{pid}-{i}"))
            .stdin(Stdio::null())
            .output()?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            return Err(format!("runc run failed: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        if i > 0 {
            report.sample("floor_runc_run_true_ms", elapsed);
        }
    }
    let list = Command::new(runc).arg("--root").arg(&state).args(["list", "-q"]).output()?;
    if !String::from_utf8_lossy(&list.stdout).trim().is_empty() {
        return Err(format!("runc left containers: {}", String::from_utf8_lossy(&list.stdout)).into());
    }
    Ok(())
}

// ---- container runtime ----

/// `ContainerRuntime::create` until the init (busybox `sleep`) has exec'ed:
/// overlay, cgroups, no disk image, the host's network namespace.
async fn runtime_creates(
    guard: &Guard,
    runtime: &ContainerRuntime,
    layout: &Layout,
    sizes: &Sizes,
    report: &mut Report,
) -> BenchResult<()> {
    // A first create and destroy warms caches and is not recorded.
    let spec = busybox_spec(layout);
    guard.create_runtime(runtime, &spec).await?;
    guard.destroy_runtime(runtime, &spec.id).await?;
    for _ in 0..sizes.n_seq {
        let spec = busybox_spec(layout);
        let started = Instant::now();
        let launched = guard.create_runtime(runtime, &spec).await?;
        report.sample("runtime_create_to_init_exec_seq_ms", started.elapsed());
        report.sample("runtime_launcher_exec_ms", Duration::from_micros(launched.exec_us));
        let started = Instant::now();
        guard.destroy_runtime(runtime, &spec.id).await?;
        report.sample("runtime_destroy_ms", started.elapsed());
    }
    for _ in 0..sizes.concurrent_rounds {
        let specs: Vec<CapsuleSpec> = (0..CONCURRENT).map(|_| busybox_spec(layout)).collect();
        let started = Instant::now();
        let timed = join_all(specs.iter().map(|spec| async move {
            let outcome = guard.create_runtime(runtime, spec).await;
            (outcome, started.elapsed())
        }))
        .await;
        for (outcome, elapsed) in timed {
            outcome?;
            report.sample("runtime_create_to_init_exec_conc20_ms", elapsed);
        }
        for result in join_all(specs.iter().map(|spec| guard.destroy_runtime(runtime, &spec.id))).await {
            result?;
        }
    }
    Ok(())
}

/// Freezer pause and thaw of one idle busybox capsule.
async fn runtime_pause(
    guard: &Guard,
    runtime: &ContainerRuntime,
    layout: &Layout,
    sizes: &Sizes,
    report: &mut Report,
) -> BenchResult<()> {
    let spec = busybox_spec(layout);
    guard.create_runtime(runtime, &spec).await?;
    for _ in 0..sizes.n_pause {
        let started = Instant::now();
        runtime.pause(&spec.id).await?;
        report.sample("runtime_pause_ms", started.elapsed());
        let started = Instant::now();
        runtime.resume(&spec.id).await?;
        report.sample("runtime_resume_ms", started.elapsed());
    }
    guard.destroy_runtime(runtime, &spec.id).await
}

// ---- capsule manager ----

/// `CapsuleManager::create` of `minimal` until envd answers: record, netns
/// and veth, runtime, envd `/health` and `/init`.
async fn manager_creates(
    guard: &Guard,
    manager: &CapsuleManager,
    sizes: &Sizes,
    report: &mut Report,
) -> BenchResult<()> {
    for (disk_mb, name) in
        [(0, "capsule_create_to_envd_ready_seq_ms"), (256, "capsule_create_to_envd_ready_seq_disk256_ms")]
    {
        // A first create and destroy warms caches and is not recorded.
        let id = unique_id();
        guard.create_capsule(manager, request(id, disk_mb)).await?;
        guard.destroy_capsule(manager, id).await?;
        for _ in 0..sizes.n_seq {
            let id = unique_id();
            let started = Instant::now();
            guard.create_capsule(manager, request(id, disk_mb)).await?;
            report.sample(name, started.elapsed());
            let started = Instant::now();
            guard.destroy_capsule(manager, id).await?;
            report.sample("capsule_destroy_ms", started.elapsed());
        }
    }
    for _ in 0..sizes.concurrent_rounds {
        let ids: Vec<CapsuleId> = (0..CONCURRENT).map(|_| unique_id()).collect();
        let started = Instant::now();
        let timed = join_all(ids.iter().map(|&id| async move {
            let outcome = guard.create_capsule(manager, request(id, 0)).await;
            (outcome, started.elapsed())
        }))
        .await;
        for (outcome, elapsed) in timed {
            outcome?;
            report.sample("capsule_create_to_envd_ready_conc20_ms", elapsed);
        }
        for result in join_all(ids.iter().map(|&id| guard.destroy_capsule(manager, id))).await {
            result?;
        }
    }
    Ok(())
}

async fn manager_pause(guard: &Guard, manager: &CapsuleManager, sizes: &Sizes, report: &mut Report) -> BenchResult<()> {
    let id = unique_id();
    guard.create_capsule(manager, request(id, 0)).await?;
    for _ in 0..sizes.n_pause {
        let started = Instant::now();
        manager.pause(id).await?;
        report.sample("capsule_pause_ms", started.elapsed());
        let started = Instant::now();
        manager.resume(id).await?;
        report.sample("capsule_resume_envd_init_ms", started.elapsed());
    }
    guard.destroy_capsule(manager, id).await
}

async fn manager_hibernate(
    guard: &Guard,
    manager: &CapsuleManager,
    sizes: &Sizes,
    report: &mut Report,
) -> BenchResult<()> {
    let id = unique_id();
    guard.create_capsule(manager, request(id, 0)).await?;
    let cgroups = CgroupSet::open(Path::new(CGROUP_ROOT), &ContainerRuntime::cgroup_name(&id))?;
    let (mut running_kib, mut hibernated_kib) = (Vec::new(), Vec::new());
    for _ in 0..sizes.n_pause {
        running_kib.push(cgroups.stats()?.memory_bytes as f64 / 1024.0);
        let started = Instant::now();
        match manager.hibernate(id).await {
            Err(CapsuleError::Unsupported { .. }) => {
                report.notes.push("hibernate rows skipped (no working CRIU: scripts/build-criu.sh)");
                return guard.destroy_capsule(manager, id).await;
            }
            result => result?,
        };
        report.sample("capsule_hibernate_ms", started.elapsed());
        hibernated_kib.push(cgroups.stats()?.memory_bytes as f64 / 1024.0);
        let started = Instant::now();
        manager.resume(id).await?;
        report.sample("capsule_restore_envd_ready_ms", started.elapsed());
    }
    report.values("capsule_cgroup_memory_kib_running", running_kib);
    report.values("capsule_cgroup_memory_kib_hibernated", hibernated_kib);
    guard.destroy_capsule(manager, id).await
}

// ---- density ----

/// N idle `minimal` capsules (envd as init, own netns, no disk image),
/// started 20 at a time.
async fn density_manager(
    guard: &Guard,
    manager: &CapsuleManager,
    sizes: &Sizes,
    report: &mut Report,
) -> BenchResult<()> {
    let before = settle_and_read_available().await?;
    let mut ids = Vec::new();
    let started = Instant::now();
    while ids.len() < sizes.n_idle {
        let batch: Vec<CapsuleId> = (0..CONCURRENT.min(sizes.n_idle - ids.len())).map(|_| unique_id()).collect();
        for result in join_all(batch.iter().map(|&id| guard.create_capsule(manager, request(id, 0)))).await {
            result?;
        }
        ids.extend(batch);
    }
    report.sample("density_start_all_ms", started.elapsed());
    measure_density(&ids, before, report).await?;
    let started = Instant::now();
    for result in join_all(ids.iter().map(|&id| guard.destroy_capsule(manager, id))).await {
        result?;
    }
    report.sample("density_destroy_all_ms", started.elapsed());
    report.density = Some(("minimal + envd, own netns, no disk image", ids.len()));
    Ok(())
}

/// N idle busybox `sleep` capsules under the bare runtime.
async fn density_runtime(
    guard: &Guard,
    runtime: &ContainerRuntime,
    layout: &Layout,
    sizes: &Sizes,
    report: &mut Report,
) -> BenchResult<()> {
    let before = settle_and_read_available().await?;
    let specs: Vec<CapsuleSpec> = (0..sizes.n_idle).map(|_| busybox_spec(layout)).collect();
    let started = Instant::now();
    for chunk in specs.chunks(CONCURRENT) {
        for result in join_all(chunk.iter().map(|spec| guard.create_runtime(runtime, spec))).await {
            result?;
        }
    }
    report.sample("density_start_all_ms", started.elapsed());
    let ids: Vec<CapsuleId> = specs.iter().map(|spec| spec.id).collect();
    measure_density(&ids, before, report).await?;
    let started = Instant::now();
    for result in join_all(ids.iter().map(|id| guard.destroy_runtime(runtime, id))).await {
        result?;
    }
    report.sample("density_destroy_all_ms", started.elapsed());
    report.density = Some(("busybox sleep, host netns, no disk image", ids.len()));
    Ok(())
}

async fn measure_density(ids: &[CapsuleId], before_kib: u64, report: &mut Report) -> BenchResult<()> {
    let after_kib = settle_and_read_available().await?;
    let n = ids.len() as f64;
    report.values("idle_mem_available_drop_kib_per_capsule", vec![before_kib.saturating_sub(after_kib) as f64 / n]);
    let mut usage = Vec::new();
    for id in ids {
        let cgroups = CgroupSet::open(Path::new(CGROUP_ROOT), &ContainerRuntime::cgroup_name(id))?;
        usage.push(cgroups.stats()?.memory_bytes as f64 / 1024.0);
    }
    report.values("idle_cgroup_memory_kib_per_capsule", usage);
    Ok(())
}

/// MemAvailable after letting the capsules (and page cache) settle.
async fn settle_and_read_available() -> BenchResult<u64> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let line = meminfo.lines().find_map(|l| l.strip_prefix("MemAvailable:")).ok_or("no MemAvailable")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

// ---- cleanup guard ----

/// Owns the runtime and manager of the run and every capsule they started.
/// [`Guard::destroy_all`] destroys what is still alive (also after an error
/// or Ctrl-C); dropping it removes by force whatever that left.
struct Guard {
    data_dir: PathBuf,
    scratch: PathBuf,
    runtimes: Mutex<Vec<Arc<ContainerRuntime>>>,
    manager: Mutex<Option<Arc<CapsuleManager>>>,
    /// Runtime capsules not yet destroyed.
    runtime_alive: Mutex<BTreeMap<CapsuleId, Arc<ContainerRuntime>>>,
    /// Every capsule id, init pid and slot this run used, for the final check.
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    ids: BTreeSet<CapsuleId>,
    pids: BTreeSet<u32>,
    slots: BTreeSet<u16>,
}

impl Guard {
    fn new(layout: &Layout, scratch: &Path) -> Guard {
        Guard {
            data_dir: layout.data_dir().to_owned(),
            scratch: scratch.to_owned(),
            runtimes: Mutex::default(),
            manager: Mutex::default(),
            runtime_alive: Mutex::default(),
            seen: Mutex::default(),
        }
    }

    fn runtime(&self, init: Vec<String>) -> Arc<ContainerRuntime> {
        let mut config = ContainerConfig::new(Layout::new(&self.data_dir), PathBuf::from(LAUNCHER));
        config.init = init;
        let runtime = Arc::new(ContainerRuntime::new(config));
        lock(&self.runtimes).push(Arc::clone(&runtime));
        runtime
    }

    fn manager(&self, layout: &Layout, envd: &Path) -> Arc<CapsuleManager> {
        let runtime = ContainerRuntime::new(ContainerConfig::new(layout.clone(), PathBuf::from(LAUNCHER)));
        let options = TemplateStoreOptions { envd_binary: envd.to_owned(), mirror: None };
        let mut config = CapsuleManagerConfig::new(layout.clone(), None);
        config.install_host_rules = false;
        let manager = Arc::new(CapsuleManager::new(
            config,
            Arc::new(runtime),
            NetworkManager::new(),
            TemplateStore::new(layout.clone(), options),
        ));
        *lock(&self.manager) = Some(Arc::clone(&manager));
        manager
    }

    async fn create_runtime(&self, runtime: &ContainerRuntime, spec: &CapsuleSpec) -> BenchResult<LaunchReport> {
        let owner = lock(&self.runtimes).iter().find(|r| std::ptr::eq(r.as_ref(), runtime)).cloned();
        let owner = owner.ok_or("runtime not made by the guard")?;
        lock(&self.seen).ids.insert(spec.id);
        lock(&self.runtime_alive).insert(spec.id, owner);
        let launched = runtime.create_timed(spec).await?;
        lock(&self.seen).pids.insert(launched.pid);
        Ok(launched)
    }

    async fn destroy_runtime(&self, runtime: &ContainerRuntime, id: &CapsuleId) -> BenchResult<()> {
        runtime.destroy(id).await?;
        lock(&self.runtime_alive).remove(id);
        Ok(())
    }

    async fn create_capsule(&self, manager: &CapsuleManager, request: CreateCapsule) -> BenchResult<()> {
        lock(&self.seen).ids.insert(request.id);
        let info = manager.create(request).await?;
        let mut seen = lock(&self.seen);
        seen.slots.insert(info.slot);
        seen.pids.extend(info.init_pid);
        Ok(())
    }

    async fn destroy_capsule(&self, manager: &CapsuleManager, id: CapsuleId) -> BenchResult<()> {
        Ok(manager.destroy(id).await?)
    }

    /// Destroys every capsule still alive, through its runtime or manager.
    async fn destroy_all(&self) {
        let manager = lock(&self.manager).clone();
        if let Some(manager) = manager {
            let infos = manager.list();
            for info in &infos {
                lock(&self.seen).slots.insert(info.slot);
            }
            for (info, result) in infos.iter().zip(join_all(infos.iter().map(|info| manager.destroy(info.id))).await) {
                if let Err(err) = result {
                    eprintln!("cleanup: capsule {}: {}", info.id, ErrorChain(&err));
                }
            }
        }
        let alive: Vec<(CapsuleId, Arc<ContainerRuntime>)> =
            lock(&self.runtime_alive).iter().map(|(id, runtime)| (*id, Arc::clone(runtime))).collect();
        for (id, runtime) in alive {
            match runtime.destroy(&id).await {
                Ok(()) => {
                    lock(&self.runtime_alive).remove(&id);
                }
                // A create that was interrupted never registered the capsule;
                // `Drop` removes its cgroups and dir.
                Err(err) => eprintln!("cleanup: capsule {id}: {}", ErrorChain(&err)),
            }
        }
    }

    /// What of this run is still on the host.
    fn leftovers(&self) -> Vec<String> {
        let seen = lock(&self.seen);
        let mut found = Vec::new();
        for id in &seen.ids {
            let name = ContainerRuntime::cgroup_name(id);
            for controller in V1_CONTROLLERS.iter().copied().chain(std::iter::once("")) {
                let dir = Path::new(CGROUP_ROOT).join(controller).join(&name);
                if dir.exists() {
                    found.push(dir.display().to_string());
                }
            }
        }
        for pid in &seen.pids {
            if is_alive(*pid) {
                found.push(format!("process {pid}"));
            }
        }
        for slot in &seen.slots {
            for path in [format!("/run/netns/wrenn-{slot}"), format!("/sys/class/net/wrenn-v{slot}")] {
                if Path::new(&path).exists() {
                    found.push(path);
                }
            }
        }
        let scratch = self.scratch.to_string_lossy().into_owned();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        found.extend(mountinfo.lines().filter(|line| line.contains(&scratch)).map(|line| format!("mount {line}")));
        if let Ok(entries) = std::fs::read_dir("/sys/block") {
            for entry in entries.flatten() {
                let backing = std::fs::read_to_string(entry.path().join("loop/backing_file")).unwrap_or_default();
                if backing.contains(&scratch) {
                    found.push(format!("loop device on {}", backing.trim()));
                }
            }
        }
        found
    }
}

impl Drop for Guard {
    /// Last resort for what `destroy_all` could not remove.
    fn drop(&mut self) {
        let manager = lock(&self.manager).take();
        let mut ids: Vec<CapsuleId> = lock(&self.runtime_alive).keys().copied().collect();
        let mut slots = Vec::new();
        if let Some(manager) = &manager {
            for info in manager.list() {
                ids.push(info.id);
                slots.push(info.slot);
            }
        }
        for id in ids {
            if let Ok(cgroups) = CgroupSet::open(Path::new(CGROUP_ROOT), &ContainerRuntime::cgroup_name(&id)) {
                let _ = cgroups.destroy();
            }
            let layer = Layout::new(&self.data_dir).capsule_dir(&id.to_string()).join("layer");
            let _ = nix::mount::umount2(&layer, nix::mount::MntFlags::MNT_DETACH);
        }
        for slot in slots {
            let _ = Command::new("ip").args(["link", "del", &format!("wrenn-v{slot}")]).output();
            let _ = Command::new("ip").args(["netns", "del", &format!("wrenn-{slot}")]).output();
        }
    }
}

// ---- fixtures ----

/// A busybox capsule with a uid range of its own (slots from 1000 up, as
/// the capsule manager would give them).
fn busybox_spec(layout: &Layout) -> CapsuleSpec {
    static NEXT_SLOT: AtomicU32 = AtomicU32::new(1000);
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % u32::from(MAX_SLOTS) + 1;
    CapsuleSpec {
        id: unique_id(),
        template_rootfs: layout.template_rootfs("busybox"),
        vcpus: 1,
        memory_mb: 128,
        disk_mb: 0,
        netns_path: PathBuf::new(),
        hostname: "bench".into(),
        uid_base: UidRange::for_slot(u16::try_from(slot).unwrap_or(MAX_SLOTS)).base,
    }
}

fn request(id: CapsuleId, disk_mb: u64) -> CreateCapsule {
    CreateCapsule {
        id,
        template: "minimal".into(),
        vcpus: 1,
        memory_mb: 256,
        disk_mb,
        timeout_sec: 0,
        default_user: Some("root".into()),
        default_env: BTreeMap::new(),
    }
}

/// Links `minimal` from `WRENN_TEST_TEMPLATE_CACHE` into `layout` and injects
/// the release envd; returns the envd path, or `None` when either is missing.
async fn minimal_template(layout: &Layout) -> BenchResult<Option<PathBuf>> {
    let Some(cache) = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE") else {
        eprintln!("capsule rows skipped: set WRENN_TEST_TEMPLATE_CACHE to a dir holding the minimal template");
        return Ok(None);
    };
    // This bench runs from <target>/release/deps/; envd sits in <target>/release/.
    let exe = std::env::current_exe()?;
    let built = exe.parent().and_then(Path::parent).map(|dir| dir.join("envd"));
    let Some(built) = built.filter(|path| path.is_file()) else {
        eprintln!("capsule rows skipped: build envd first (cargo build --release -p wrenn-envd)");
        return Ok(None);
    };
    let envd = layout.data_dir().join("envd");
    std::fs::create_dir_all(layout.data_dir())?;
    std::fs::copy(&built, &envd)?;
    let options = TemplateStoreOptions { envd_binary: envd.clone(), mirror: None };
    let Some(minimal) = TemplateStore::new(Layout::new(&cache), options.clone()).open("minimal").await? else {
        eprintln!("capsule rows skipped: no minimal template in the cache (run the template tests once)");
        return Ok(None);
    };
    std::fs::create_dir_all(layout.template_dir("minimal"))?;
    let target = layout.template_rootfs("minimal");
    // Hard links cost milliseconds; the store replaces envd by rename, so
    // the cache is never written.
    let linked = Command::new("cp").arg("-al").arg(&minimal.rootfs).arg(&target).status()?;
    if !linked.success() {
        let copied = Command::new("cp").arg("-a").arg(&minimal.rootfs).arg(&target).status()?;
        if !copied.success() {
            return Err("could not copy the minimal template".into());
        }
    }
    std::fs::copy(minimal.rootfs.with_file_name("manifest.json"), layout.template_manifest("minimal"))?;
    TemplateStore::new(layout.clone(), options).refresh_envd("minimal").await?;
    Ok(Some(envd))
}

/// `/bin/busybox` plus one symlink per applet, owned by root (templates are
/// stored canonical), as the container tests build it.
fn build_busybox_rootfs(root: &Path) -> BenchResult<()> {
    for dir in ["bin", "proc", "dev", "sys", "tmp", "etc", "root", "mnt"] {
        std::fs::create_dir_all(root.join(dir))?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))?;
    let list = Command::new("/bin/busybox").arg("--list").output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))?;
        }
    }
    let mut dir = root.parent();
    while let Some(parent) = dir {
        chmod(parent, 0o755)?;
        if parent.ends_with("data") {
            break;
        }
        dir = parent.parent();
    }
    Ok(())
}

fn chmod(path: &Path, mode: u32) -> BenchResult<()> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?)
}

fn unique_id() -> CapsuleId {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let value =
        (u128::from(std::process::id()) << 96) ^ (nanos << 16) ^ u128::from(NEXT.fetch_add(1, Ordering::Relaxed));
    CapsuleId::from_u128(value)
}

fn take_lock() -> BenchResult<nix::fcntl::Flock<std::fs::File>> {
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(LOCK_FILE)?;
    eprintln!("waiting for {LOCK_FILE} (held while privileged network tests run)");
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, errno)| errno.into())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// True while `pid` exists and is not a zombie.
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- report ----

#[derive(Default)]
struct Report {
    series: Vec<(&'static str, Vec<f64>)>,
    notes: Vec<&'static str>,
    /// What the idle capsules were, and how many.
    density: Option<(&'static str, usize)>,
}

impl Report {
    fn sample(&mut self, name: &'static str, elapsed: Duration) {
        let value = elapsed.as_secs_f64() * 1e3;
        match self.series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => self.series.push((name, vec![value])),
        }
    }

    fn values(&mut self, name: &'static str, values: Vec<f64>) {
        self.series.push((name, values));
    }

    fn p50(&self, name: &str) -> Option<f64> {
        self.series.iter().find(|(n, _)| *n == name).map(|(_, values)| percentile(values, 50.0))
    }

    fn print(&self, sizes: &Sizes) {
        println!(
            "agent benchmark (floors n={}, sequential n={}, {} round(s) of {CONCURRENT} concurrent, pause n={})",
            sizes.n_floor, sizes.n_seq, sizes.concurrent_rounds, sizes.n_pause
        );
        println!("{:<46} {:>6} {:>10} {:>10} {:>10}", "metric (ms unless named)", "n", "p50", "p95", "p99");
        for (name, values) in &self.series {
            println!(
                "{:<46} {:>6} {:>10.3} {:>10.3} {:>10.3}",
                name,
                values.len(),
                percentile(values, 50.0),
                percentile(values, 95.0),
                percentile(values, 99.0)
            );
        }
        if let Some((what, n)) = self.density {
            println!("density: {n} idle capsules ({what})");
        }
        let floors = ["floor_bare_ns_true_ms", "floor_bare_ns_to_exec_ms", "floor_runc_run_true_ms"];
        let ours = [
            "runtime_create_to_init_exec_seq_ms",
            "runtime_create_to_init_exec_conc20_ms",
            "capsule_create_to_envd_ready_seq_ms",
            "capsule_create_to_envd_ready_seq_disk256_ms",
            "capsule_create_to_envd_ready_conc20_ms",
        ];
        println!("{:<46} {:>14} {:>14} {:>14}", "ratio of p50 to floor p50", "bare ns", "bare → exec", "runc run");
        for name in ours {
            let Some(ours) = self.p50(name) else { continue };
            let ratio = |floor: &str| self.p50(floor).map_or("-".to_owned(), |floor| format!("{:.2}x", ours / floor));
            println!("{:<46} {:>14} {:>14} {:>14}", name, ratio(floors[0]), ratio(floors[1]), ratio(floors[2]));
        }
        for note in &self.notes {
            println!("note: {note}");
        }
    }

    fn write_json(&self) -> BenchResult<()> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
        std::fs::create_dir_all(&dir)?;
        let map: serde_json::Map<String, serde_json::Value> =
            self.series.iter().map(|(name, values)| (name.to_string(), serde_json::json!(values))).collect();
        let path = dir.join("agent.json");
        std::fs::File::create(&path)?.write_all(serde_json::to_string_pretty(&map)?.as_bytes())?;
        println!("samples: {}", path.display());
        Ok(())
    }
}

fn percentile(values: &[f64], pct: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((pct / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
