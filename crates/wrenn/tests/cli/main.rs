//! The `wrenn` CLI as a developer runs it, against a real `wrenn up`: the
//! built binary, driven through `assert_cmd` (and a real pseudo-terminal
//! for `wrenn capsule shell`), its output parsed back.
//!
//! One node serves every scenario (starting one costs seconds and holds
//! the host's network lock), so the scenarios run in order inside one
//! test; each lives in its own module and cleans up its capsules.
//!
//! Needs root, the built `wrenn-launch` and `envd` next to `wrenn`, and
//! `WRENN_TEST_TEMPLATE_CACHE` holding `templates/minimal`; skipped
//! otherwise (CI has all three). The failures that need no server
//! (unreachable server, no key) run everywhere.

#![allow(clippy::tests_outside_test_module, clippy::print_stderr, clippy::disallowed_methods)]

mod bench;
mod capsule;
mod cp;
mod events;
mod exec;
mod harness;
mod shell;

use harness::Node;

#[test]
fn the_cli_drives_a_real_node() {
    let Some(node) = Node::start() else {
        return;
    };
    capsule::scenario(&node);
    exec::scenario(&node);
    shell::scenario(&node);
    bench::scenario(&node);
    cp::scenario(&node);
    events::scenario(&node);
}

/// Failures that need no server: each is one line and a non-zero exit.
#[test]
fn failures_without_a_server_are_one_clear_line() {
    let config = tempfile::tempdir().unwrap();
    let wrenn = || {
        let mut command = assert_cmd::Command::new(harness::wrenn_bin());
        command.env("WRENN_CONFIG_DIR", config.path()).env_remove("WRENN_PROFILE").env_remove("WRENN_LOG");
        command
    };
    // Nobody listens on port 1.
    let unreachable =
        wrenn().args(["capsule", "ls", "--base-url", "http://127.0.0.1:1", "--api-key", "wrn_any"]).output().unwrap();
    harness::assert_one_error_line(&unreachable, "unreachable server");
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach"));

    let no_key = wrenn().env_remove("WRENN_API_KEY").args(["capsule", "ls"]).output().unwrap();
    harness::assert_one_error_line(&no_key, "no key");
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("wrenn login"));

    let bad_url = wrenn().args(["capsule", "ls", "--base-url", "ftp://x", "--api-key", "k"]).output().unwrap();
    harness::assert_one_error_line(&bad_url, "bad base URL");

    let missing_profile = wrenn().args(["capsule", "ls", "--profile", "nope"]).output().unwrap();
    harness::assert_one_error_line(&missing_profile, "unknown profile");

    let completions = wrenn().args(["completions", "bash"]).output().unwrap();
    assert!(completions.status.success());
    assert!(String::from_utf8_lossy(&completions.stdout).contains("capsule"));
}
