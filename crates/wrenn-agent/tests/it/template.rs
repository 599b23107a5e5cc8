//! Privileged test of the template store: builds the real `minimal` and
//! `python` base templates with debootstrap from the host's apt mirror.
//!
//! Building takes a minute or two, so the data dir comes from
//! `WRENN_TEST_TEMPLATE_CACHE` when set (CI points it outside the clone and
//! builds once); otherwise a temporary dir. Needs root: without it the test
//! prints `skipped (needs root)`, unless `CI` is set, where that is a failure.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use wrenn_agent::layout::Layout;
use wrenn_agent::template::{
    BuildPhase, BuildProgress, MANIFEST_FORMAT, Manifest, TemplateStore, TemplateStoreOptions,
};

const UID_BASE: u32 = 100_000;

#[tokio::test(flavor = "multi_thread")]
async fn builds_caches_and_refreshes_base_templates() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs privileged tests as root");
        eprintln!("skipped (needs root)");
        return;
    }
    let Some(built) = crate::built_envd() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let data_dir =
        std::env::var_os("WRENN_TEST_TEMPLATE_CACHE").map_or_else(|| scratch.path().join("data"), PathBuf::from);
    let envd = scratch.path().join("envd");
    std::fs::copy(&built, &envd).unwrap();
    let layout = Layout::new(&data_dir);
    let store = TemplateStore::new(
        layout.clone(),
        TemplateStoreOptions { envd_binary: envd.clone(), uid_base: UID_BASE, mirror: None },
    );

    let test_started = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let reports = Mutex::new(Vec::new());
    let record = |report: BuildProgress| {
        if report.phase != BuildPhase::Debootstrap || !report.message.starts_with(['I', 'W', 'E']) {
            eprintln!("[{} {:?}] {}", report.template, report.phase, report.message);
        }
        reports.lock().unwrap().push(report);
    };

    let started = Instant::now();
    let minimal = store.ensure("minimal", &record).await.unwrap();
    let minimal_elapsed = started.elapsed();
    let fresh = minimal.manifest.created_at >= test_started;
    eprintln!("ensure(minimal): {minimal_elapsed:.2?} ({})", if fresh { "built" } else { "from cache" });
    if fresh {
        let reports = reports.lock().unwrap();
        let phases: Vec<BuildPhase> = reports.iter().map(|r| r.phase).collect();
        assert!(phases.is_sorted(), "{phases:?}");
        assert_eq!(phases.last(), Some(&BuildPhase::Done));
        let debootstrap_lines = reports.iter().filter(|r| r.message.starts_with("I: ")).count();
        assert!(debootstrap_lines > 10, "debootstrap output is forwarded line by line");
        assert_eq!(std::fs::read(minimal.rootfs.join("usr/local/bin/envd")).unwrap(), std::fs::read(&envd).unwrap());
    } else {
        // A cached template may hold an older envd; bring it up to date first.
        store.refresh_envd("minimal").await.unwrap();
    }
    check_rootfs(&minimal.rootfs, &envd);
    assert!(layout.template_manifest("minimal").is_file());
    assert_eq!(minimal.manifest.uid_base, UID_BASE);
    assert_eq!(minimal.manifest.packages, ["ca-certificates", "curl", "procps", "sudo"]);
    assert!(minimal.manifest.size_bytes > 50_000_000, "{}", minimal.manifest.size_bytes);
    assert!(!layout.template_staging_dir("minimal").exists());

    let started = Instant::now();
    let cached = store.ensure("minimal", &record).await.unwrap();
    let cached_elapsed = started.elapsed();
    eprintln!("ensure(minimal), cached: {cached_elapsed:.2?}");
    assert!(cached_elapsed < Duration::from_millis(100), "{cached_elapsed:?}");
    assert_eq!(cached.rootfs, minimal.rootfs);

    // A newer envd goes in without a rebuild; then the real one goes back.
    let original = std::fs::read(&envd).unwrap();
    let mut newer = original.clone();
    newer.extend_from_slice(b"\0newer envd");
    std::fs::write(&envd, &newer).unwrap();
    let refreshed = store.refresh_envd("minimal").await.unwrap();
    assert_eq!(std::fs::read(minimal.rootfs.join("usr/local/bin/envd")).unwrap(), newer);
    assert_ne!(refreshed.manifest.envd_sha256, cached.manifest.envd_sha256);
    assert_eq!(store.get("minimal").unwrap().unwrap().manifest, refreshed.manifest);
    std::fs::write(&envd, &original).unwrap();
    store.refresh_envd("minimal").await.unwrap();
    check_rootfs(&minimal.rootfs, &envd);

    let started = Instant::now();
    let python = store.ensure("python", &record).await.unwrap();
    eprintln!("ensure(python): {:.2?}", started.elapsed());
    if python.manifest.created_at < test_started {
        store.refresh_envd("python").await.unwrap();
    }
    check_rootfs(&python.rootfs, &envd);
    for path in ["usr/bin/python3", "usr/bin/pip3", "usr/lib/python3.11/ensurepip/__init__.py"] {
        assert!(python.rootfs.join(path).exists(), "python template lacks {path}");
    }
    assert_eq!(python.manifest.parent.as_deref(), Some("minimal"));
    let names: Vec<String> = store.list().unwrap().into_iter().map(|t| t.name).collect();
    assert!(names.contains(&"minimal".to_owned()) && names.contains(&"python".to_owned()), "{names:?}");
}

/// A template (or a crashed build) with something still mounted inside is
/// removed without walking into the mount.
#[tokio::test]
async fn delete_detaches_mounts_left_inside() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs privileged tests as root");
        eprintln!("skipped (needs root)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let layout = Layout::new(scratch.path());
    let options = TemplateStoreOptions { envd_binary: "/nonexistent".into(), uid_base: UID_BASE, mirror: None };
    let store = TemplateStore::new(layout.clone(), options);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        name: "leftover".into(),
        created_at: 0,
        suite: "bookworm".into(),
        parent: None,
        packages: vec![],
        envd_sha256: String::new(),
        size_bytes: 0,
        uid_base: UID_BASE,
    };
    let proc_dir = layout.template_rootfs("leftover").join("proc");
    std::fs::create_dir_all(&proc_dir).unwrap();
    std::fs::write(layout.template_manifest("leftover"), manifest.to_json()).unwrap();
    let status = Command::new("mount").args(["-t", "proc", "proc"]).arg(&proc_dir).status().unwrap();
    assert!(status.success());
    assert!(proc_dir.join("self").exists());

    store.delete("leftover").await.unwrap();
    assert!(!layout.template_dir("leftover").exists());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(scratch.path().to_str().unwrap()), "{mountinfo}");
}

/// What every base template must look like from inside a capsule.
fn check_rootfs(rootfs: &Path, envd: &Path) {
    for path in ["usr/bin/curl", "usr/bin/sudo", "usr/bin/ps", "etc/ssl/certs/ca-certificates.crt"] {
        assert!(rootfs.join(path).exists(), "{} lacks {path}", rootfs.display());
    }
    let envd_meta = std::fs::metadata(rootfs.join("usr/local/bin/envd")).unwrap();
    assert_eq!(envd_meta.permissions().mode() & 0o777, 0o755);
    assert_eq!((envd_meta.uid(), envd_meta.gid()), (UID_BASE, UID_BASE));
    assert_eq!(std::fs::read(rootfs.join("usr/local/bin/envd")).unwrap(), std::fs::read(envd).unwrap());

    // Root-owned files now belong to the capsule's root, setuid intact.
    let sudo = std::fs::metadata(rootfs.join("usr/bin/sudo")).unwrap();
    assert_eq!((sudo.uid(), sudo.gid()), (UID_BASE, UID_BASE));
    assert_ne!(sudo.mode() & 0o4000, 0, "sudo keeps its setuid bit");
    let root_dir = std::fs::metadata(rootfs).unwrap();
    assert_eq!(root_dir.uid(), UID_BASE);
    let symlink = std::fs::symlink_metadata(rootfs.join("bin")).unwrap();
    assert!(symlink.file_type().is_symlink());
    assert_eq!(symlink.uid(), UID_BASE);
    // Group-owned files keep their offset (`shadow` is gid 42 in Debian).
    let shadow = std::fs::metadata(rootfs.join("etc/shadow")).unwrap();
    assert_eq!(shadow.gid(), UID_BASE + 42);

    // Only apt's own bookkeeping (`lock`, `partial/`, `auxfiles/`) stays.
    for entry in std::fs::read_dir(rootfs.join("var/lib/apt/lists")).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_dir() || entry.file_name() == "lock", "{entry:?} left in apt lists");
    }
    let debs = std::fs::read_dir(rootfs.join("var/cache/apt/archives")).unwrap();
    assert!(!debs.into_iter().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".deb")));
    assert!(std::fs::read_to_string(rootfs.join("etc/resolv.conf")).unwrap().starts_with('#'));
}

/// Builds envd (a no-op when it is fresh) and returns its path.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
