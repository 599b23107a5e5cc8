//! The full check run by CI: format, lints, every test tier this machine
//! can run, the E2B and wrenn SDK conformance suites and a quick benchmark.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    step(root, "format", "cargo", &["fmt", "--all", "--", "--check"], &[])?;
    step(root, "tidy", "cargo", &["run", "--quiet", "--package", "xtask", "--", "tidy"], &[])?;
    step(root, "clippy", "cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])?;
    step(root, "tests", "cargo", &["test", "--workspace"], &[])?;
    // `cargo test` built envd already (integration tests run the binary);
    // building it again with `cargo build` would rebuild dependencies under
    // a different feature set.
    let envd = target_dir(root).join("debug/envd");
    if !envd.is_file() {
        step(root, "build envd", "cargo", &["build", "--package", "wrenn-envd", "--bin", "envd"], &[])?;
    }
    let envd = envd.to_str().context("target dir is not UTF-8")?;
    step(root, "e2b conformance", "bash", &["tests/conformance/e2b/run.sh"], &[("ENVD_BIN", envd)])?;
    // The wrenn SDK suite runs `wrenn up`, which starts the launcher and
    // envd from beside its own binary: all three must be built.
    step(root, "build wrenn", "cargo", &["build", "--package", "wrenn", "--package", "wrenn-agent", "--bins"], &[])?;
    let wrenn = target_dir(root).join("debug/wrenn");
    let wrenn = wrenn.to_str().context("target dir is not UTF-8")?;
    step(root, "wrenn sdk conformance", "bash", &["tests/conformance/wrenn/run.sh"], &[("WRENN_BIN", wrenn)])?;
    bench(root, true)
}

/// The envd benchmark, the host agent's (as root: it starts capsules; it
/// uses the release envd the first one built and the base templates in
/// `WRENN_TEST_TEMPLATE_CACHE`), then the API's through a real `wrenn up`
/// (which starts the release launcher and envd from beside itself).
pub(crate) fn bench(root: &Path, quick: bool) -> anyhow::Result<()> {
    for (name, package) in [("envd", "wrenn-envd"), ("agent", "wrenn-agent"), ("api", "wrenn")] {
        if name == "api" {
            let build = ["build", "--release", "--package", "wrenn-agent", "--package", "wrenn-envd", "--bins"];
            step(root, "build release launcher and envd", "cargo", &build, &[])?;
        }
        let mut args = vec!["bench", "--package", package, "--bench", name];
        if quick {
            args.extend(["--", "--quick"]);
        }
        step(root, &format!("{name} benchmark"), "cargo", &args, &[])?;
    }
    Ok(())
}

fn target_dir(root: &Path) -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn step(root: &Path, name: &str, program: &str, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<()> {
    println!("==> {name}: {program} {}", args.join(" "));
    let started = Instant::now();
    #[expect(clippy::disallowed_methods, reason = "xtask drives external tools")]
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("running {program}"))?;
    println!(
        "<== {name}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
