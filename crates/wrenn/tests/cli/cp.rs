//! `wrenn cp` both ways against a real capsule: a tree with nested, empty,
//! binary, large and oddly named entries goes up and comes back identical
//! (every path, every file's SHA-256); modes go up (`chmod`) and the
//! executable bit comes back; single files go both ways with `--json`;
//! `cp -r` placement into an existing directory; the failures a user meets
//! print one `error:` line.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::harness::{self, Node};

/// Relative path → `None` for a directory, the SHA-256 for a file.
type Digests = BTreeMap<String, Option<String>>;

pub(crate) fn scenario(node: &Node) {
    let id = harness::create_capsule(node);
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    make_tree(&tree);

    let up = node.wrenn().arg("cp").arg(&tree).arg(format!("{id}:/tmp/t")).output().unwrap();
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "upload failed: {stderr}\n{}", node.log());
    assert!(stderr.contains("warning: skipping symlink"), "the link inside is skipped with a warning: {stderr}");
    assert!(stderr.contains("copied 8 files"), "{stderr}");

    let files = node.client.files(&id);
    let modes: BTreeMap<String, u32> =
        node.block_on(files.list("/tmp/t", 8)).unwrap().into_iter().map(|entry| (entry.path, entry.mode)).collect();
    assert_eq!(modes.get("/tmp/t/run.sh"), Some(&0o755), "the mode went up: {modes:?}");
    assert_eq!(modes.get("/tmp/t/a/one.txt"), Some(&0o600), "{modes:?}");

    let back = work.path().join("back");
    let down = node.wrenn().arg("cp").arg(format!("{id}:/tmp/t")).arg(format!("{}/", back.display())).output().unwrap();
    assert!(down.status.success(), "download failed: {}\n{}", String::from_utf8_lossy(&down.stderr), node.log());
    let (sent, got) = (digests(&tree), digests(&back));
    assert!(sent.contains_key("empty dir") && sent.len() == 13, "{sent:#?}");
    assert_eq!(got, sent, "the tree came back different");
    let mode = std::fs::metadata(back.join("run.sh")).unwrap().permissions().mode();
    assert!(mode & 0o100 != 0, "the executable bit came back: {mode:o}");

    // cp -r: a directory copied to an existing one goes inside it.
    let again = node.wrenn().arg("cp").arg(&tree).arg(format!("{id}:/tmp/t")).output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(node.block_on(files.exists("/tmp/t/tree/a/b/c/deep.txt")).unwrap());

    single_files(node, &id, work.path());
    failures(node, &id, work.path());
    if std::env::var_os("WRENN_TEST_CP_THROUGHPUT").is_some() {
        throughput(node, &id, work.path());
    }

    let removed = node.wrenn().args(["capsule", "rm", &id]).output().unwrap();
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
}

fn single_files(node: &Node, id: &str, work: &Path) {
    let local = work.join("single file.txt");
    std::fs::write(&local, "one file\n").unwrap();
    // A trailing slash on a missing destination puts the file inside it.
    let up = node.wrenn().arg("cp").arg(&local).arg(format!("{id}:/tmp/inbox/")).arg("--json").output().unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let report: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    assert_eq!((report["files"].as_u64(), report["bytes"].as_u64()), (Some(1), Some(9)), "{report}");
    assert!(report["seconds"].as_f64().is_some(), "{report}");
    let stored = node.block_on(node.client.files(id).read("/tmp/inbox/single file.txt")).unwrap();
    assert_eq!(&stored[..], b"one file\n");

    let got = work.join("got.txt");
    let down = node
        .wrenn()
        .arg("cp")
        .arg(format!("{id}:/tmp/inbox/single file.txt"))
        .arg(&got)
        .arg("--json")
        .output()
        .unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    let report: serde_json::Value = serde_json::from_slice(&down.stdout).unwrap();
    assert_eq!((report["files"].as_u64(), report["bytes"].as_u64()), (Some(1), Some(9)), "{report}");
    assert_eq!(std::fs::read(&got).unwrap(), b"one file\n");

    // Into an existing local directory, keeping the executable bit.
    let down = node.wrenn().arg("cp").arg(format!("{id}:/bin/sh")).arg(work).output().unwrap();
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    let mode = std::fs::metadata(work.join("sh")).unwrap().permissions().mode();
    assert!(mode & 0o100 != 0, "the executable bit came along: {mode:o}");
}

fn failures(node: &Node, id: &str, work: &Path) {
    let cases: Vec<(Vec<String>, u8)> = vec![
        (vec![format!("{id}:/no/such/file"), work.join("x").display().to_string()], 1),
        (vec!["/no/such".into(), format!("{id}:/tmp")], 1),
        (vec![work.display().to_string(), format!("{id}:/tmp/inbox/single file.txt")], 1),
        (vec!["cl-nope:/tmp".into(), work.display().to_string()], 1),
        (vec!["a".into(), "b".into()], 2),
        (vec![format!("{id}:/a"), format!("{id}:/b")], 2),
    ];
    for (args, code) in cases {
        let output = node.wrenn().arg("cp").args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(i32::from(code)), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(lines.len() == 1 && lines[0].starts_with("error:"), "{args:?}: one error line, got {stderr:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Prints the CLI's throughput for 64 MiB each way (opt-in: it is a
/// measurement, not a check).
fn throughput(node: &Node, id: &str, work: &Path) {
    let big = work.join("64m.bin");
    std::fs::write(&big, pseudo_random(64 << 20, 7)).unwrap();
    for (label, from, to) in [
        ("upload", big.display().to_string(), format!("{id}:/tmp/64m.bin")),
        ("download", format!("{id}:/tmp/64m.bin"), work.join("64m.back").display().to_string()),
    ] {
        let started = Instant::now();
        let output = node.wrenn().args(["cp", &from, &to]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("cp throughput: {label} 64 MiB in {seconds:.2} s = {:.1} MiB/s (whole command)", 64.0 / seconds);
        eprintln!("  wrenn says: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    assert_eq!(digest(&std::fs::read(work.join("64m.back")).unwrap()), digest(&std::fs::read(&big).unwrap()));
}

/// The tree: 3-deep nesting, an empty file, an empty directory, every
/// byte value, 6 MiB of noise, spaces and non-ASCII names, and a symlink
/// (skipped by design).
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("a/b/c")).unwrap();
    std::fs::create_dir_all(root.join("empty dir")).unwrap();
    std::fs::create_dir_all(root.join("ünïcødé ✓")).unwrap();
    std::fs::write(root.join("a/one.txt"), "one\n").unwrap();
    std::fs::write(root.join("a/b/two.txt"), "two\n").unwrap();
    std::fs::write(root.join("a/b/c/deep.txt"), "deep\n").unwrap();
    std::fs::write(root.join("empty.txt"), "").unwrap();
    std::fs::write(root.join("all bytes.bin"), (0..=255u8).collect::<Vec<u8>>()).unwrap();
    std::fs::write(root.join("random.bin"), pseudo_random(6 << 20, 42)).unwrap();
    std::fs::write(root.join("ünïcødé ✓/文件 名.txt"), "名前\n").unwrap();
    std::fs::write(root.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(root.join("a/one.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("a/one.txt", root.join("link")).unwrap();
}

/// Every path under `root` (links left out), with files' digests.
fn digests(root: &Path) -> Digests {
    let mut out = Digests::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for child in std::fs::read_dir(&dir).unwrap() {
            let path = child.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(relative, None);
                pending.push(path);
            } else if meta.is_file() {
                out.insert(relative, Some(digest(&std::fs::read(&path).unwrap())));
            }
        }
    }
    out
}

fn digest(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Deterministic noise (xorshift64), so a failure can be reproduced.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}
