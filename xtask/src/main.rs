//! Repository tasks, run with `cargo xtask <task>`.
//!
//! Kept dependency-light on purpose: it is built before anything else in CI.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod codegen;

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "codegen" => codegen::generate(&codegen::generated_dir(&repo_root())),
        _ => {
            eprintln!("usage: cargo xtask <codegen>");
            std::process::exit(2)
        }
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the repository root")
        .to_path_buf()
}
