//! Pins the wire contract: the committed generated code matches the protos,
//! and the protos still declare exactly the methods E2B clients call.
#![allow(clippy::tests_outside_test_module, clippy::print_stderr, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Regenerates into a temporary directory with the configuration of
/// `cargo xtask codegen` and compares byte for byte.
#[test]
fn generated_code_is_fresh() {
    let has_protoc = std::process::Command::new("protoc").arg("--version").output().is_ok();
    if !has_protoc {
        assert!(std::env::var_os("CI").is_none(), "protoc is required in CI (apt-get install protobuf-compiler)");
        eprintln!("skipped (protoc not installed)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let proto = crate_dir().join("proto");
    connectrpc_build::Config::new()
        .files(&proto_files(&proto))
        .includes(&[proto.clone(), PathBuf::from("/usr/include")])
        .out_dir(out.path())
        .include_file("_include.rs")
        .emit_rerun_directives(false)
        .compile()
        .unwrap();
    let committed = crate_dir().join("src/generated");
    let mut names = file_names(out.path());
    assert_eq!(names, file_names(&committed), "generated file set changed: run `cargo xtask codegen`");
    names.sort();
    for name in names {
        let fresh = std::fs::read_to_string(out.path().join(&name)).unwrap();
        let old = std::fs::read_to_string(committed.join(&name)).unwrap();
        assert!(fresh == old, "{name} is stale: run `cargo xtask codegen`");
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Methods may be added, never removed or renamed: old envd binaries live on
/// in templates and snapshots, and E2B's SDK calls these exact paths.
#[test]
fn method_set_is_pinned() {
    let mut methods: Vec<String> = Vec::new();
    for proto in ["envd/process.proto", "envd/filesystem.proto"] {
        let text = std::fs::read_to_string(crate_dir().join("proto").join(proto)).unwrap();
        let package = text.lines().find_map(|l| l.strip_prefix("package ")).unwrap().trim_end_matches(';').to_owned();
        let service = text.lines().find_map(|l| l.strip_prefix("service ")).unwrap().trim_end_matches(" {").to_owned();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("rpc ") {
                let name = rest.split('(').next().unwrap();
                methods.push(format!("/{package}.{service}/{name}"));
            }
        }
    }
    let expected = [
        "/process.Process/List",
        "/process.Process/Connect",
        "/process.Process/Start",
        "/process.Process/Update",
        "/process.Process/StreamInput",
        "/process.Process/SendInput",
        "/process.Process/SendSignal",
        "/process.Process/CloseStdin",
        "/filesystem.Filesystem/Stat",
        "/filesystem.Filesystem/MakeDir",
        "/filesystem.Filesystem/Move",
        "/filesystem.Filesystem/ListDir",
        "/filesystem.Filesystem/Remove",
        "/filesystem.Filesystem/WatchDir",
        "/filesystem.Filesystem/CreateWatcher",
        "/filesystem.Filesystem/GetWatcherEvents",
        "/filesystem.Filesystem/RemoveWatcher",
    ];
    assert_eq!(methods, expected);
}

/// Every `.proto` under `dir`, sorted, exactly as `cargo xtask codegen` picks them.
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
