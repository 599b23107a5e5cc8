//! Repository tasks, run with `cargo xtask <task>`.
//!
//! `ci` is what `.ci/run` and the README's test command run; `codegen`
//! regenerates committed protobuf code; `bench` runs the benchmarks; `tidy`
//! checks architecture rules (also run as a test).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ci;
mod codegen;
mod tidy;

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    match args.first().map(String::as_str) {
        Some("ci") => ci::run(&root),
        Some("codegen") => codegen::generate(&codegen::generated_dir(&root)),
        Some("bench") => ci::bench(&root, args.iter().any(|a| a == "--quick")),
        Some("tidy") => tidy::check(&root),
        _ => {
            eprintln!("usage: cargo xtask <ci | codegen | bench [--quick] | tidy>");
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
