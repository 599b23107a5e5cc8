//! Regenerates `crates/wrenn-proto/src/generated` from the `.proto` files.
//!
//! Generated code is committed so that building the workspace never needs
//! `protoc`; `wrenn-proto`'s staleness test runs the same generation into a
//! temporary directory and fails if the committed files differ.

use std::path::{Path, PathBuf};

use anyhow::Context;

pub(crate) fn generated_dir(repo_root: &Path) -> PathBuf {
    repo_root.join("crates/wrenn-proto/src/generated")
}

pub(crate) fn generate(out_dir: &Path) -> anyhow::Result<()> {
    let proto_dir =
        out_dir.parent().and_then(Path::parent).context("generated dir has a crate root two levels up")?.join("proto");
    connectrpc_build::Config::new()
        .files(&proto_files(&proto_dir))
        .includes(&[proto_dir.clone(), PathBuf::from("/usr/include")])
        .out_dir(out_dir)
        .include_file("_include.rs")
        .emit_rerun_directives(false)
        .compile()
        .context("generating code from envd protos (is protoc installed?)")?;
    println!("generated {}", out_dir.display());
    Ok(())
}

/// Every `.proto` under `dir`, sorted: the file set is derived, never listed by hand.
fn proto_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
