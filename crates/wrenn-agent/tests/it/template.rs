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
    BuildPhase, BuildProgress, CANONICAL_UID_BASE, MANIFEST_FORMAT, Manifest, TemplateStore, TemplateStoreOptions,
};

/// How templates were stored by agents before per-capsule uid ranges.
const LEGACY_UID_BASE: u32 = 100_000;

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
    let store = TemplateStore::new(layout.clone(), TemplateStoreOptions { envd_binary: envd.clone(), mirror: None });

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
    assert_eq!(minimal.manifest.uid_base, CANONICAL_UID_BASE);
    let templates_dir = std::fs::metadata(layout.templates_dir()).unwrap();
    assert_eq!(templates_dir.permissions().mode() & 0o777, 0o700, "templates are root's alone");
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
    let options = TemplateStoreOptions { envd_binary: "/nonexistent".into(), mirror: None };
    let store = TemplateStore::new(layout.clone(), options);
    let manifest = bare_manifest("leftover", CANONICAL_UID_BASE);
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

/// A template stored shifted by an older agent (the CI cache holds such
/// templates) is shifted back once, in place, when first opened: ids in the
/// legacy range move down, others stay, setuid bits survive the chown.
#[tokio::test]
async fn shifted_templates_of_older_agents_are_made_canonical() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs privileged tests as root");
        eprintln!("skipped (needs root)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let layout = Layout::new(scratch.path());
    let store = TemplateStore::new(layout.clone(), TemplateStoreOptions { envd_binary: "/x".into(), mirror: None });
    let rootfs = layout.template_rootfs("old");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/shadow"), "").unwrap();
    std::fs::write(rootfs.join("sudo"), "").unwrap();
    std::fs::write(rootfs.join("foreign"), "").unwrap();
    std::os::unix::fs::symlink("etc", rootfs.join("link")).unwrap();
    let base = LEGACY_UID_BASE;
    for (path, uid, gid) in
        [("", base, base), ("etc", base, base), ("etc/shadow", base, base + 42), ("sudo", base, base)]
    {
        std::os::unix::fs::lchown(rootfs.join(path), Some(uid), Some(gid)).unwrap();
    }
    std::os::unix::fs::lchown(rootfs.join("link"), Some(base + 1000), Some(base + 1000)).unwrap();
    std::os::unix::fs::lchown(rootfs.join("foreign"), Some(7), Some(7)).unwrap();
    std::fs::set_permissions(rootfs.join("sudo"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::write(layout.template_manifest("old"), bare_manifest("old", base).to_json()).unwrap();

    assert_eq!(store.get("old").unwrap().unwrap().manifest.uid_base, base, "get reports what is stored");
    let opened = store.open("old").await.unwrap().unwrap();
    assert_eq!(opened.manifest.uid_base, CANONICAL_UID_BASE);
    assert_eq!(store.get("old").unwrap().unwrap().manifest.uid_base, CANONICAL_UID_BASE, "manifest rewritten");
    let owner = |path: &str| {
        let meta = std::fs::symlink_metadata(rootfs.join(path)).unwrap();
        (meta.uid(), meta.gid())
    };
    assert_eq!(owner(""), (0, 0));
    assert_eq!(owner("etc/shadow"), (0, 42));
    assert_eq!(owner("link"), (1000, 1000), "symlinks themselves move");
    assert_eq!(owner("foreign"), (7, 7), "ids outside the legacy range stay");
    let sudo = std::fs::metadata(rootfs.join("sudo")).unwrap();
    assert_eq!((sudo.uid(), sudo.mode() & 0o7777), (0, 0o4755));
    // A second open has nothing to do.
    assert_eq!(store.open("old").await.unwrap().unwrap(), opened);
}

fn bare_manifest(name: &str, uid_base: u32) -> Manifest {
    Manifest {
        format: MANIFEST_FORMAT,
        name: name.into(),
        created_at: 0,
        suite: "bookworm".into(),
        parent: None,
        packages: vec![],
        envd_sha256: String::new(),
        size_bytes: 0,
        uid_base,
    }
}

/// What every base template must look like from inside a capsule.
fn check_rootfs(rootfs: &Path, envd: &Path) {
    for path in ["usr/bin/curl", "usr/bin/sudo", "usr/bin/ps", "etc/ssl/certs/ca-certificates.crt"] {
        assert!(rootfs.join(path).exists(), "{} lacks {path}", rootfs.display());
    }
    let envd_meta = std::fs::metadata(rootfs.join("usr/local/bin/envd")).unwrap();
    assert_eq!(envd_meta.permissions().mode() & 0o777, 0o755);
    assert_eq!((envd_meta.uid(), envd_meta.gid()), (0, 0));
    assert_eq!(std::fs::read(rootfs.join("usr/local/bin/envd")).unwrap(), std::fs::read(envd).unwrap());

    // Stored canonical: owned as the capsule sees it (root is 0), setuid intact.
    let sudo = std::fs::metadata(rootfs.join("usr/bin/sudo")).unwrap();
    assert_eq!((sudo.uid(), sudo.gid()), (0, 0));
    assert_ne!(sudo.mode() & 0o4000, 0, "sudo keeps its setuid bit");
    let root_dir = std::fs::metadata(rootfs).unwrap();
    assert_eq!(root_dir.uid(), 0);
    let symlink = std::fs::symlink_metadata(rootfs.join("bin")).unwrap();
    assert!(symlink.file_type().is_symlink());
    assert_eq!(symlink.uid(), 0);
    // Group-owned files keep their group (`shadow` is gid 42 in Debian).
    let shadow = std::fs::metadata(rootfs.join("etc/shadow")).unwrap();
    assert_eq!((shadow.uid(), shadow.gid()), (0, 42));

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
