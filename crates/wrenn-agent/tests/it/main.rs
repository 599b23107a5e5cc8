#![allow(clippy::tests_outside_test_module, clippy::print_stderr, clippy::disallowed_methods)]

mod capsule;
mod container;
mod cycles;
mod daemon;
mod hibernate;
mod leaks;
mod network;
mod proxy;
mod rpc;
mod template;

/// The envd binary `cargo test --workspace` built for wrenn-envd's own
/// integration tests. Running `cargo build` from a test would rebuild the
/// dependencies under another feature set and race the other tests.
/// `None` (the test skips) outside CI; in CI a missing binary fails.
pub(crate) fn built_envd() -> Option<std::path::PathBuf> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        std::path::PathBuf::from,
    );
    let envd = target_dir.join("debug/envd");
    if envd.is_file() {
        return Some(envd);
    }
    assert!(std::env::var_os("CI").is_none(), "CI must build envd first (cargo test --workspace): {}", envd.display());
    eprintln!("skipped (build envd first: cargo build -p wrenn-envd)");
    None
}
