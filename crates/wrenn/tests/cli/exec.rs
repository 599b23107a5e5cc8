//! `wrenn capsule exec` (streamed and `--json`) and the SDK's command
//! routes behind it: foreground, background, list, connect, kill and the
//! exec stream, against a real capsule.

use std::time::{Duration, Instant};

use futures::StreamExt;
use wrenn_client::{ExecRequest, ProcessEvent};

use crate::harness::{self, KEY, Node};

pub(crate) fn scenario(node: &Node) {
    let id = harness::create_capsule(node);
    streamed_output_keeps_stdout_stderr_and_the_exit_code(node, &id);
    json_output_parses_back(node, &id);
    env_and_cwd_are_honoured(node, &id);
    an_unknown_capsule_is_one_error_line(node, &id);
    ctrl_c_kills_the_remote_command(node, &id);
    sdk_foreground_background_and_streams(node, &id);
    let removed = node.wrenn().args(["capsule", "rm", &id]).output().unwrap();
    assert!(removed.status.success(), "rm: {}", String::from_utf8_lossy(&removed.stderr));
}

fn streamed_output_keeps_stdout_stderr_and_the_exit_code(node: &Node, id: &str) {
    // One argument with shell syntax runs through /bin/sh -c …
    let output = node.wrenn().args(["capsule", "exec", id, "echo out; echo err >&2; exit 7"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(7), "stdout {stdout:?} stderr {stderr:?}\n{}", node.log());
    assert_eq!(stdout, "out\n");
    assert_eq!(stderr, "err\n");

    // … and words after `--` run as they are, flags included.
    let output = node
        .wrenn()
        .args(["capsule", "exec", id, "--", "sh", "-c", "printf '%s|' \"$@\"", "x", "-a", "b c"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "-a|b c|");

    // Output arrives as it is written, not at the end.
    let started = Instant::now();
    let output = node
        .wrenn()
        .args(["capsule", "exec", id, "--", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n2\n3\n");
    assert!(started.elapsed() >= Duration::from_millis(400), "the command really ran");

    // A timeout kills it: not a success.
    let output = node.wrenn().args(["capsule", "exec", id, "--timeout", "1", "--", "sleep", "30"]).output().unwrap();
    assert!(!output.status.success(), "{:?}", output.status);
}

fn json_output_parses_back(node: &Node, id: &str) {
    let output = node
        .wrenn()
        .args(["capsule", "exec", id, "--json", "--", "sh", "-c", "echo out; echo err >&2; exit 5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", String::from_utf8_lossy(&output.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["stdout"], "out\n", "{parsed}");
    assert_eq!(parsed["stderr"], "err\n", "{parsed}");
    assert_eq!(parsed["exit_code"], 5, "{parsed}");
    assert!(parsed["duration_ms"].is_u64(), "{parsed}");
    assert!(output.stderr.is_empty(), "nothing but the document: {}", String::from_utf8_lossy(&output.stderr));
}

fn env_and_cwd_are_honoured(node: &Node, id: &str) {
    for json in [false, true] {
        let mut command = node.wrenn();
        command.args(["capsule", "exec", id, "--env", "GREETING=hello there", "-e", "EMPTY=", "--cwd", "/tmp"]);
        if json {
            command.arg("--json");
        }
        let output = command.args(["--", "sh", "-c", "echo \"$GREETING|${EMPTY-unset}|$(pwd)\""]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = if json {
            let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            parsed["stdout"].as_str().unwrap().to_owned()
        } else {
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        assert_eq!(stdout, "hello there||/tmp\n", "json: {json}");
    }
}

fn an_unknown_capsule_is_one_error_line(node: &Node, id: &str) {
    // A well-formed id that names no capsule: the last digit changed.
    let mut unknown = id.to_owned();
    let last = unknown.pop().unwrap();
    unknown.push(if last == '0' { '1' } else { '0' });
    for json in [false, true] {
        let mut command = node.wrenn();
        command.args(["capsule", "exec", &unknown]);
        if json {
            command.arg("--json");
        }
        let output = command.args(["--", "true"]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "json {json}: {}", String::from_utf8_lossy(&output.stderr));
        harness::assert_one_error_line(&output, "exec in an unknown capsule");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("not found"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn ctrl_c_kills_the_remote_command(node: &Node, id: &str) {
    let commands = node.client.commands(id);
    let child = std::process::Command::new(harness::wrenn_bin())
        .args(["capsule", "exec", id, "--", "sleep", "271"])
        .env("WRENN_BASE_URL", &node.base_url)
        .env("WRENN_API_KEY", KEY)
        .env("WRENN_CONFIG_DIR", node.config_dir.path())
        .env_remove("WRENN_PROFILE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let is_ours = |process: &wrenn_client::ProcessInfo| process.cmd == "sleep" && process.args == ["271"];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !node.block_on(commands.list()).unwrap().iter().any(is_ours) {
        assert!(Instant::now() < deadline, "the remote sleep never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling our own child, which has not been reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    let left = node.block_on(commands.list()).unwrap();
    assert!(!left.iter().any(is_ours), "Ctrl-C killed the remote command: {left:?}");
}

fn sdk_foreground_background_and_streams(node: &Node, id: &str) {
    let commands = node.client.commands(id);

    // Foreground: output that is not UTF-8 comes back byte for byte.
    let output = node
        .block_on(commands.run(&ExecRequest::shell("printf 'a\\377'; echo e >&2; exit 4").timeout_sec(20)))
        .unwrap();
    assert_eq!((output.stdout.as_slice(), output.stderr.as_slice(), output.exit_code), (&b"a\xff"[..], &b"e\n"[..], 4));

    // Background: listed, followed, killed.
    let started = node.block_on(commands.spawn(&ExecRequest::new("sleep", ["300"]).tag("cli-test-sleep"))).unwrap();
    assert!(started.pid > 0, "{started:?}");
    assert_eq!(started.tag, "cli-test-sleep");
    let listed = node.block_on(commands.list()).unwrap();
    let sleeper = listed.iter().find(|process| process.pid == started.pid).unwrap_or_else(|| panic!("{listed:?}"));
    assert_eq!((sleeper.tag.as_str(), sleeper.cmd.as_str()), ("cli-test-sleep", "sleep"));
    let exit = node.block_on(async {
        let mut follow = commands.connect(started.pid).await.unwrap();
        commands.kill(started.pid).await.unwrap();
        let mut last = None;
        while let Some(event) = tokio::time::timeout(Duration::from_secs(20), follow.next()).await.unwrap() {
            last = Some(event.unwrap());
        }
        last
    });
    assert!(matches!(exit, Some(ProcessEvent::Exit { .. })), "{exit:?}");
    let gone = node.block_on(commands.list()).unwrap();
    assert!(gone.iter().all(|process| process.pid != started.pid), "{gone:?}");
    let again = node.block_on(commands.kill(started.pid)).unwrap_err();
    assert!(again.is_not_found(), "{again:?}");

    // The exec stream: start first, output in order, the exit last.
    let events = node.block_on(async {
        let request = ExecRequest::shell("echo a; sleep 0.1; echo b >&2; sleep 0.1; echo c; exit 3").env("X", "1");
        let stream = commands.stream(&request).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), stream.map(Result::unwrap).collect::<Vec<_>>()).await.unwrap()
    });
    assert!(matches!(events.first(), Some(ProcessEvent::Start { pid }) if *pid > 0), "{events:?}");
    assert_eq!(
        events[1..],
        [
            ProcessEvent::Stdout("a\n".into()),
            ProcessEvent::Stderr("b\n".into()),
            ProcessEvent::Stdout("c\n".into()),
            ProcessEvent::Exit { exit_code: 3 },
        ],
    );

    // A stream's stop kills its process; the exit still comes.
    let exit = node.block_on(async {
        let mut stream = commands.stream(&ExecRequest::new("sleep", ["300"])).await.unwrap();
        assert!(matches!(stream.next().await, Some(Ok(ProcessEvent::Start { .. }))));
        stream.stop().await.unwrap();
        let last = tokio::time::timeout(Duration::from_secs(20), stream.next()).await.unwrap();
        last.map(Result::unwrap)
    });
    assert!(matches!(exit, Some(ProcessEvent::Exit { exit_code }) if exit_code != 0), "{exit:?}");
}
