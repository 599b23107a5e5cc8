//! `wrenn login`, `wrenn capsule create|ls|info|pause|resume|rm`,
//! `wrenn snapshot` and `wrenn template`: every `--json` answer parsed back
//! and checked against the server through the SDK.

use serde_json::Value;

use crate::harness::{self, KEY, Node};

/// Runs `wrenn ARGS --json` and parses stdout; fails with stderr and the
/// server log when the command does.
fn json(node: &Node, args: &[&str]) -> Value {
    let output = node.wrenn().args(args).arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "wrenn {args:?} failed: {}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        node.log()
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!("wrenn {args:?} printed no JSON ({err}): {}", String::from_utf8_lossy(&output.stdout))
    })
}

pub(crate) fn scenario(node: &Node) {
    login_saves_a_profile_the_other_commands_use(node);
    lifecycle(node);
    snapshots_and_templates(node);
}

fn login_saves_a_profile_the_other_commands_use(node: &Node) {
    let config = tempfile::tempdir().unwrap();
    // The key comes on stdin, as from `wrenn login < key-file`.
    let output = node
        .wrenn()
        .env("WRENN_CONFIG_DIR", config.path())
        .env_remove("WRENN_API_KEY")
        .env_remove("WRENN_BASE_URL")
        .args(["login", "--profile", "local", "--base-url", &node.base_url])
        .write_stdin(format!("{KEY}\n"))
        .output()
        .unwrap();
    assert!(output.status.success(), "login failed: {}", String::from_utf8_lossy(&output.stderr));
    let file = config.path().join("config.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("[profiles.local]") && text.contains(KEY), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // With no key in the environment, the saved (current) profile is used.
    let listed = node
        .wrenn()
        .env("WRENN_CONFIG_DIR", config.path())
        .env_remove("WRENN_API_KEY")
        .env_remove("WRENN_BASE_URL")
        .args(["capsule", "ls", "--json"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(serde_json::from_slice::<Value>(&listed.stdout).unwrap().is_array());

    // A wrong key is refused by the server before anything is saved.
    let refused = node
        .wrenn()
        .env("WRENN_CONFIG_DIR", config.path())
        .args([
            "login",
            "--profile",
            "bad",
            "--api-key",
            "wrn_wrong_key_000000000000000000",
            "--base-url",
            &node.base_url,
        ])
        .output()
        .unwrap();
    harness::assert_one_error_line(&refused, "wrenn login");
    assert!(!std::fs::read_to_string(&file).unwrap().contains("[profiles.bad]"));
}

fn lifecycle(node: &Node) {
    let created =
        json(node, &["capsule", "create", "--template", "minimal", "--label", "suite=cli", "--memory", "256"]);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "running");
    assert_eq!(created["metadata"]["suite"], "cli");
    assert_eq!(created["memory_mb"], 256);

    let listed = json(node, &["capsule", "ls"]);
    let mine: Vec<&Value> = listed.as_array().unwrap().iter().filter(|capsule| capsule["id"] == id.as_str()).collect();
    assert_eq!(mine.len(), 1, "{listed}");

    // The table for people names the capsule and its state.
    let table = node.wrenn().args(["capsule", "ls"]).output().unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("ID") && text.contains(&id) && text.contains("running"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colours when stdout is not a terminal: {text:?}");

    let info = json(node, &["capsule", "info", &id]);
    assert_eq!(info["template"], "minimal");

    let paused = json(node, &["capsule", "pause", &id]);
    assert_eq!(paused["status"], "paused");
    let sdk_view = node.block_on(node.client.capsules().get(&id)).unwrap();
    assert_eq!(sdk_view.status, wrenn_client::CapsuleStatus::Paused);
    let resumed = json(node, &["capsule", "resume", &id]);
    assert_eq!(resumed["status"], "running");

    // Wrong state: a running capsule cannot be resumed.
    let conflict = node.wrenn().args(["capsule", "resume", &id]).output().unwrap();
    harness::assert_one_error_line(&conflict, "resume of a running capsule");

    let removed = json(node, &["capsule", "rm", &id]);
    assert_eq!(removed["destroyed"][0], id.as_str());
    assert!(!node.live_capsules().contains(&id));
}

fn snapshots_and_templates(node: &Node) {
    let id = harness::create_capsule(node);
    let marker = node
        .wrenn()
        .args(["capsule", "exec", &id, "--", "/bin/sh", "-c", "echo kept > /root/marker"])
        .output()
        .unwrap();
    assert!(marker.status.success(), "{}", String::from_utf8_lossy(&marker.stderr));

    let snapshot = json(node, &["snapshot", "create", &id, "--name", "cli-snap"]);
    assert_eq!(snapshot["name"], "cli-snap");
    let snapshots = json(node, &["snapshot", "ls"]);
    assert!(snapshots.as_array().unwrap().iter().any(|template| template["name"] == "cli-snap"), "{snapshots}");
    let templates = json(node, &["template", "ls"]);
    let names: Vec<&str> =
        templates.as_array().unwrap().iter().filter_map(|template| template["name"].as_str()).collect();
    assert!(names.contains(&"minimal") && names.contains(&"cli-snap"), "{names:?}");
    let bases = json(node, &["template", "ls", "--type", "base"]);
    assert!(bases.as_array().unwrap().iter().all(|template| template["type"] == "base"), "{bases}");

    // A capsule from the snapshot starts with its files.
    let from_snapshot = json(node, &["capsule", "create", "--template", "cli-snap"]);
    let copy = from_snapshot["id"].as_str().unwrap().to_owned();
    let read = node.wrenn().args(["capsule", "exec", &copy, "--", "cat", "/root/marker"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "kept", "{}", String::from_utf8_lossy(&read.stderr));

    json(node, &["capsule", "rm", &copy, &id]);
    let deleted = json(node, &["template", "rm", "cli-snap"]);
    assert_eq!(deleted["deleted"][0], "cli-snap");
    let missing = node.wrenn().args(["template", "rm", "cli-snap"]).output().unwrap();
    harness::assert_one_error_line(&missing, "delete of a deleted template");
}
