//! Executes a base template's build plan: staging directory, debootstrap or
//! a copy of the parent plus `apt-get` in a chroot, trimming, envd, the
//! manifest, and the rename into place. The result is canonical: owned by
//! the ids a capsule sees (host root built it as root), with no shift.
//!
//! Everything external goes through `sys` (`sys::stream` for the tools whose
//! output is progress, `sys::ownership` for the size walk).

use std::error::Error;
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::layout::Layout;
use crate::sys::{cmd, mounts, ownership, stream};
use crate::template::manifest::{CANONICAL_UID_BASE, MANIFEST_FORMAT, Manifest};
use crate::template::plan::{self, BaseTemplate, BuildPhase, BuildStep, SUITE};
use crate::template::{BuildProgress, ProgressFn, TemplateError, TemplateStoreOptions};

/// debootstrap took 38–75 s here; a slow mirror gets plenty of slack.
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const APT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const COPY_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Environment of debootstrap and apt: no prompts, no locale warnings.
const TOOL_ENV: &[(&str, &str)] = &[("DEBIAN_FRONTEND", "noninteractive"), ("LC_ALL", "C")];

/// Written over the build host's resolv.conf; the runtime provides the real one.
const RESOLV_CONF_PLACEHOLDER: &str = "# Wrenn does not configure DNS for capsules yet.\n";
const HOSTNAME_PLACEHOLDER: &str = "capsule\n";

type BoxError = Box<dyn Error + Send + Sync>;

/// Owner of envd in a template: root as the capsule sees it.
const CAPSULE_ROOT: u32 = 0;

/// Builds `base` into staging and renames it into place, replacing any
/// existing template of that name. The caller holds the store's lock and has
/// built the parent.
pub(crate) async fn build(
    layout: &Layout,
    options: &TemplateStoreOptions,
    mirror: &str,
    base: &BaseTemplate,
    progress: &ProgressFn<'_>,
) -> Result<(), TemplateError> {
    let staging = layout.template_staging_dir(base.name);
    // Leftovers of a crashed build are never resumed.
    remove_dir_if_present(&staging).await?;
    let result = run_steps(layout, options, mirror, base, progress).await;
    if result.is_err() {
        // Best effort: the next build clears it anyway.
        let _ = remove_dir_if_present(&staging).await;
    }
    result
}

async fn run_steps(
    layout: &Layout,
    options: &TemplateStoreOptions,
    mirror: &str,
    base: &BaseTemplate,
    progress: &ProgressFn<'_>,
) -> Result<(), TemplateError> {
    let started = Instant::now();
    let staging = layout.template_staging_dir(base.name);
    let rootfs = layout.template_staging_rootfs(base.name);
    std::fs::create_dir_all(&staging).map_err(|source| TemplateError::Io { path: staging.clone(), source })?;

    let report = |phase: BuildPhase, message: String| {
        progress(BuildProgress { template: base.name.to_owned(), phase, message });
    };
    let mut envd_sha256 = String::new();
    for step in plan::plan(base) {
        let phase = step.phase();
        let step_started = Instant::now();
        let fail = |step: &'static str| {
            move |source: BoxError| TemplateError::Step { name: base.name.to_owned(), step, source }
        };
        match step {
            BuildStep::Debootstrap { packages } => {
                report(phase, format!("debootstrap {SUITE} from {mirror}"));
                let include = format!("--include={}", packages.join(","));
                let args = ["--variant=minbase", include.as_str(), SUITE, path_str(&rootfs)?, mirror];
                let mut forward = |line: &str| report(phase, line.to_owned());
                stream::run_lines("debootstrap", args, TOOL_ENV, DEBOOTSTRAP_TIMEOUT, &mut forward)
                    .await
                    .map_err(|e| fail("debootstrap")(e.into()))?;
            }
            BuildStep::CopyParent { parent } => {
                report(phase, format!("copying {parent}"));
                let source = layout.template_rootfs(parent);
                let args = ["-a", "--reflink=auto", path_str(&source)?, path_str(&rootfs)?];
                cmd::run("cp", args, None, COPY_TIMEOUT).await.map_err(|e| fail("copying the parent")(e.into()))?;
                report(phase, format!("copied {parent} in {:.2?}", step_started.elapsed()));
            }
            BuildStep::AptInstall { packages } => {
                report(phase, format!("apt-get install {}", packages.join(" ")));
                // apt in the chroot resolves the mirror with the host's resolver.
                let resolv = rootfs.join("etc/resolv.conf");
                replace_file(&resolv, &std::fs::read("/etc/resolv.conf").unwrap_or_default())
                    .map_err(|e| fail("resolv.conf")(e.into()))?;
                let mut forward = |line: &str| report(phase, line.to_owned());
                let root = path_str(&rootfs)?;
                stream::run_lines("chroot", [root, "apt-get", "update", "-q"], TOOL_ENV, APT_TIMEOUT, &mut forward)
                    .await
                    .map_err(|e| fail("apt-get update")(e.into()))?;
                let mut args = vec![root, "apt-get", "install", "-y", "-q", "--no-install-recommends"];
                args.extend(packages.iter().map(String::as_str));
                stream::run_lines("chroot", args, TOOL_ENV, APT_TIMEOUT, &mut forward)
                    .await
                    .map_err(|e| fail("apt-get install")(e.into()))?;
            }
            BuildStep::Trim => {
                trim(&rootfs).map_err(|e| fail("trimming")(e.into()))?;
                report(phase, "trimmed apt caches".to_owned());
            }
            BuildStep::InjectEnvd => {
                envd_sha256 = inject_envd(&rootfs, options).await.map_err(fail("envd injection"))?;
                report(phase, format!("envd {} injected", &envd_sha256[..12]));
            }
            BuildStep::Publish => {
                let size_bytes = {
                    let rootfs = rootfs.clone();
                    tokio::task::spawn_blocking(move || ownership::tree_size(&rootfs))
                        .await
                        .expect("the size walk does not panic")
                        .map_err(|e| fail("measuring")(e.into()))?
                };
                let manifest = Manifest {
                    format: MANIFEST_FORMAT,
                    name: base.name.to_owned(),
                    created_at: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                    suite: SUITE.to_owned(),
                    parent: base.parent.map(str::to_owned),
                    packages: plan::all_packages(base),
                    envd_sha256: envd_sha256.clone(),
                    size_bytes,
                    uid_base: CANONICAL_UID_BASE,
                };
                manifest
                    .write(&layout.template_staging_manifest(base.name))
                    .map_err(|e| fail("writing the manifest")(e.into()))?;
                publish(layout, base.name, &staging).await?;
                report(phase, format!("built in {:.1?}, {} MB", started.elapsed(), size_bytes / 1_000_000));
            }
        }
        tracing::info!(template = base.name, ?phase, elapsed = ?step_started.elapsed(), "build step done");
    }
    Ok(())
}

/// Copies the store's envd binary to `<rootfs>/usr/local/bin/envd` (via a
/// temporary name and a rename), owned by capsule root (canonical uid 0),
/// mode 0755. Returns
/// its SHA-256 in hex.
pub(crate) async fn inject_envd(rootfs: &Path, options: &TemplateStoreOptions) -> Result<String, BoxError> {
    let binary = tokio::fs::read(&options.envd_binary)
        .await
        .map_err(|source| TemplateError::Io { path: options.envd_binary.clone(), source })?;
    let bin_dir = rootfs.join("usr/local/bin");
    if !bin_dir.exists() {
        std::fs::create_dir_all(&bin_dir)?;
        ownership::chown_path(&bin_dir, CAPSULE_ROOT, CAPSULE_ROOT)?;
    }
    let target = bin_dir.join("envd");
    let tmp = bin_dir.join(".envd.new");
    std::fs::write(&tmp, &binary)?;
    ownership::chown_path(&tmp, CAPSULE_ROOT, CAPSULE_ROOT)?;
    std::fs::set_permissions(&tmp, Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, &target)?;
    Ok(hex::encode(Sha256::digest(&binary)))
}

/// Moves `dir` under the trash directory (atomic, so it stops being a
/// template at once) and removes it.
pub(crate) async fn discard(layout: &Layout, dir: &Path) -> Result<(), TemplateError> {
    let trash = layout.templates_trash_dir();
    std::fs::create_dir_all(&trash).map_err(|source| TemplateError::Io { path: trash.clone(), source })?;
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("template");
    let doomed = trash.join(format!("{name}-{nanos}"));
    std::fs::rename(dir, &doomed).map_err(|source| TemplateError::Io { path: dir.to_owned(), source })?;
    // Removes leftovers of earlier interrupted deletions as well.
    remove_dir_if_present(&trash).await
}

/// Renames the complete staging directory into place, discarding an older
/// template of the same name first. Between the two renames the template is
/// briefly absent, never half-built.
pub(crate) async fn publish(layout: &Layout, name: &str, staging: &Path) -> Result<(), TemplateError> {
    let target = layout.template_dir(name);
    if target.exists() {
        discard(layout, &target).await?;
    }
    std::fs::rename(staging, &target).map_err(|source| TemplateError::Io { path: target, source })
}

/// Drops what apt downloaded (the .debs and the package lists: ~80 MB of a
/// 200 MB minbase) and writes placeholders for host-specific files.
fn trim(rootfs: &Path) -> std::io::Result<()> {
    for (dir, keep) in [("var/cache/apt/archives", ".deb"), ("var/lib/apt/lists", ""), ("var/cache/apt", ".bin")] {
        let dir = rootfs.join(dir);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // `partial/` and `lock` are apt's own bookkeeping; it recreates the rest.
            if entry.file_type()?.is_file() && name != "lock" && name.ends_with(keep) {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    replace_file(&rootfs.join("etc/resolv.conf"), RESOLV_CONF_PLACEHOLDER.as_bytes())?;
    replace_file(&rootfs.join("etc/hostname"), HOSTNAME_PLACEHOLDER.as_bytes())
}

/// Writes `contents` to `path`, replacing a symlink rather than following it
/// (a rootfs symlink could point anywhere on the host).
fn replace_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(path)?;
    }
    std::fs::write(path, contents)
}

pub(crate) async fn remove_dir_if_present(dir: &Path) -> Result<(), TemplateError> {
    let owned: PathBuf = dir.to_owned();
    let result = tokio::task::spawn_blocking(move || {
        if !owned.exists() {
            return Ok(());
        }
        mounts::detach_all_under(&owned)?;
        std::fs::remove_dir_all(&owned)
    })
    .await
    .expect("remove_dir_all does not panic");
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(TemplateError::Io { path: dir.to_owned(), source }),
    }
}

fn path_str(path: &Path) -> Result<&str, TemplateError> {
    path.to_str().ok_or_else(|| TemplateError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not utf-8"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_drops_caches_and_writes_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["var/cache/apt/archives/partial", "var/lib/apt/lists/partial", "etc"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("var/cache/apt/archives/curl_1_amd64.deb"), "x").unwrap();
        std::fs::write(root.join("var/cache/apt/archives/lock"), "").unwrap();
        std::fs::write(root.join("var/cache/apt/pkgcache.bin"), "x").unwrap();
        std::fs::write(root.join("var/lib/apt/lists/deb.debian.org_InRelease"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/hostname-of-the-host", root.join("etc/resolv.conf")).unwrap();
        trim(root).unwrap();
        assert!(!root.join("var/cache/apt/archives/curl_1_amd64.deb").exists());
        assert!(root.join("var/cache/apt/archives/lock").exists());
        assert!(root.join("var/cache/apt/archives/partial").is_dir());
        assert!(!root.join("var/cache/apt/pkgcache.bin").exists());
        assert!(!root.join("var/lib/apt/lists/deb.debian.org_InRelease").exists());
        assert!(root.join("var/lib/apt/lists/partial").is_dir());
        assert_eq!(std::fs::read_to_string(root.join("etc/resolv.conf")).unwrap(), RESOLV_CONF_PLACEHOLDER);
        assert_eq!(std::fs::read_to_string(root.join("etc/hostname")).unwrap(), HOSTNAME_PLACEHOLDER);
    }
}
