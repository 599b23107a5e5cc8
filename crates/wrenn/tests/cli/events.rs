//! `wrenn events` and `wrenn capsule metrics` against the real node:
//! followers run as child processes while the CLI creates, pauses, resumes
//! and destroys a capsule, and what they printed is parsed back. Also the
//! two ways following can fail: a refused key, and a stream the server
//! ends (a tiny local server that closes after the first event).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{self, KEY, Node};

/// What the server publishes for create, pause, resume and destroy: each
/// action event and the state change that starts it
/// (`pending → starting`, `running → pausing`, `paused → resuming`,
/// `running → stopping`).
const LIFECYCLE_EVENTS: usize = 8;
/// The actions, in the order the scenario makes them.
const ACTIONS: [&str; 4] = ["capsule.create", "capsule.pause", "capsule.resume", "capsule.destroy"];

pub(crate) fn scenario(node: &Node) {
    a_refused_key_is_one_clear_line(node);
    lifecycle_events_and_metrics(node);
}

fn a_refused_key_is_one_clear_line(node: &Node) {
    let output = node.wrenn().env("WRENN_API_KEY", "wrn_not_a_key_of_this_node_0000").arg("events").output().unwrap();
    harness::assert_one_error_line(&output, "events with a wrong key");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("(hint: ") && stderr.contains("wrenn login"), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
}

fn lifecycle_events_and_metrics(node: &Node) {
    wait_until_quiet(node);
    let count = LIFECYCLE_EVENTS.to_string();
    let mut json = Follower::spawn(node, &["events", "--json", "--count", &count]);
    let mut human = Follower::spawn(node, &["events"]);
    let connected = json.wait_line("the connected event", |line| line.contains(r#""event":"connected""#));
    assert!(json.seen.len() == 1, "`connected` comes first: {:?}", json.seen);
    assert!(serde_json::from_str::<Value>(&connected).is_ok(), "{connected}");
    human.wait_line("the header", |line| line.starts_with("TIME") && line.contains("OUTCOME"));

    let id = harness::create_capsule(node);
    metrics_of_a_running_capsule(node, &id);
    for change in ["pause", "resume"] {
        let output = node.wrenn().args(["capsule", change, &id]).output().unwrap();
        assert!(output.status.success(), "{change}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let output = node.wrenn().args(["capsule", "rm", &id]).output().unwrap();
    assert!(output.status.success(), "rm: {}", String::from_utf8_lossy(&output.stderr));

    // The JSON follower stops by itself after --count events.
    let (status, lines, stderr) = json.finish(Duration::from_secs(30), node);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}\nlines: {lines:#?}");
    let events: Vec<Value> =
        lines.iter().map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}"))).collect();
    assert_eq!(events.len(), 1 + LIFECYCLE_EVENTS, "the connected line and --count events: {lines:#?}");
    let ours = |event: &&Value| event["resource"]["id"] == id.as_str();
    let actions: Vec<&Value> =
        events.iter().filter(ours).filter(|event| event["event"] != "capsule.state.changed").collect();
    let kinds: Vec<&str> = actions.iter().filter_map(|event| event["event"].as_str()).collect();
    assert_eq!(kinds, ACTIONS, "{lines:#?}");
    for action in &actions {
        assert_eq!(action["outcome"], "success", "{action}");
        assert_eq!(action["sandbox"]["id"], id.as_str(), "{action}");
        assert!(action["timestamp"].as_str().is_some_and(|time| time.ends_with('Z')), "{action}");
    }
    let last_status = |kind: &str| {
        actions.iter().find(|event| event["event"] == kind).map(|event| event["sandbox"]["status"].clone())
    };
    assert_eq!(last_status("capsule.pause"), Some(Value::from("paused")));
    assert_eq!(last_status("capsule.destroy"), Some(Value::from("stopped")));
    let changes: Vec<(String, String)> = events
        .iter()
        .filter(ours)
        .filter(|event| event["event"] == "capsule.state.changed")
        .map(|event| (event["metadata"]["from"].to_string(), event["metadata"]["to"].to_string()))
        .collect();
    assert!(changes.contains(&(r#""running""#.to_owned(), r#""pausing""#.to_owned())), "{changes:?}");

    // The human follower shows the same story, one line each, until Ctrl-C.
    human.wait_line("the destroy line", |line| line.contains("capsule.destroy") && line.contains(&id));
    // SAFETY: kill(2) of our own child, not yet reaped.
    let sent = unsafe { libc::kill(human.child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let (status, lines, stderr) = human.finish(Duration::from_secs(10), node);
    assert_eq!(status.code(), Some(130), "Ctrl-C ends it as interrupted; stderr: {stderr}");
    let create = lines.iter().find(|line| line.contains("capsule.create") && line.contains(&id));
    let create = create.unwrap_or_else(|| panic!("no create line: {lines:#?}"));
    assert!(create.contains("success") && create.contains("running"), "{create}");
    assert!(lines.iter().any(|line| line.contains("running → pausing")), "{lines:#?}");
    assert!(!lines.iter().any(|line| line.contains('\u{1b}')), "no colours through a pipe: {lines:#?}");
    eprintln!("wrenn events, as people see it:\n{}", lines.join("\n"));
}

/// `wrenn capsule metrics` once the capsule has run a moment.
fn metrics_of_a_running_capsule(node: &Node, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let output = node.wrenn().args(["capsule", "metrics", id, "--json"]).output().unwrap();
        assert!(output.status.success(), "metrics: {}", String::from_utf8_lossy(&output.stderr));
        let metrics: Value = serde_json::from_slice(&output.stdout).unwrap();
        if metrics["points"].as_array().is_some_and(|points| !points.is_empty()) {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no samples after 20 s: {metrics}\n{}", node.log());
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(metrics["sandbox_id"], id);
    assert_eq!(metrics["range"], "10m");
    for point in metrics["points"].as_array().unwrap() {
        let cpu = point["cpu_pct"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{point}");
        assert!(point["timestamp_unix"].as_i64().unwrap() > 1_600_000_000, "{point}");
        assert!(point["mem_bytes"].as_u64().is_some() && point["disk_bytes"].as_u64().is_some(), "{point}");
    }
    assert!(
        metrics["points"].as_array().unwrap().iter().any(|point| point["mem_bytes"].as_u64() > Some(0)),
        "{metrics}"
    );

    let output = node.wrenn().args(["capsule", "metrics", id, "--range", "5m"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with(id) && stdout.contains("last 5m"), "{stdout}");
    for row in ["LATEST", "MIN", "AVG", "MAX", "cpu", "memory", "disk", "%", "iB"] {
        assert!(stdout.contains(row), "{row} missing from:\n{stdout}");
    }

    let bad_range = node.wrenn().args(["capsule", "metrics", id, "--range", "3m"]).output().unwrap();
    harness::assert_one_error_line(&bad_range, "metrics with a bad range");
    assert!(String::from_utf8_lossy(&bad_range.stderr).contains("10m"), "the error lists the ranges");
}

/// Waits until no capsule is between states, so that the only events the
/// followers see are this scenario's.
fn wait_until_quiet(node: &Node) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let capsules = node.block_on(node.client.capsules().list()).unwrap();
        let busy: Vec<String> = capsules
            .iter()
            .filter(|capsule| !capsule.status.is_settled())
            .map(|capsule| format!("{} {}", capsule.id, capsule.status))
            .collect();
        if busy.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "capsules still changing after 60 s: {busy:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A `wrenn events` child whose stdout lines arrive on a channel.
struct Follower {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Every line received so far.
    seen: Vec<String>,
}

impl Follower {
    /// Starts `wrenn ARGS` with the node's URL and key, as `Node::wrenn` sets them.
    fn spawn(node: &Node, args: &[&str]) -> Follower {
        let mut child = Command::new(harness::wrenn_bin())
            .args(args)
            .env("WRENN_BASE_URL", &node.base_url)
            .env("WRENN_API_KEY", KEY)
            .env("WRENN_CONFIG_DIR", node.config_dir.path())
            .env_remove("WRENN_PROFILE")
            .env_remove("WRENN_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Follower { child, lines, stderr: Some(stderr), seen: Vec::new() }
    }

    /// Waits up to 15 s for a line that `wanted` accepts and returns it.
    fn wait_line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {what} in 15 s; lines so far: {:#?}", self.seen),
                Err(RecvTimeoutError::Disconnected) => {
                    let stderr = self.stderr.take().map(|reader| reader.join().unwrap_or_default()).unwrap_or_default();
                    panic!(
                        "the follower exited before {what} ({:?}); stderr: {stderr}\nlines: {:#?}",
                        self.child.try_wait(),
                        self.seen
                    );
                }
            }
        }
    }

    /// Waits up to `limit` for the child to exit; returns its status,
    /// every stdout line and its stderr. Kills it and fails after `limit`.
    fn finish(mut self, limit: Duration, node: &Node) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.seen.extend(self.lines.try_iter());
                panic!("the follower did not exit in {limit:?}; lines: {:#?}\nserver log:\n{}", self.seen, node.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stderr = self.stderr.take().map(|reader| reader.join().unwrap_or_default()).unwrap_or_default();
        (status, std::mem::take(&mut self.seen), stderr)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A stream the server ends is a failure with one line, after what was
/// printed; needs no node: a local server sends `connected` and closes.
#[test]
fn a_stream_the_server_ends_is_one_clear_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut connection, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0_u8; 1];
            while !request.ends_with(b"\r\n\r\n") && connection.read(&mut byte).unwrap() == 1 {
                request.push(byte[0]);
            }
            let body =
                "event: connected\ndata: {\"event\":\"connected\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"}\n\n";
            let answer =
                format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{body}");
            connection.write_all(answer.as_bytes()).unwrap();
        }
    });
    let config = tempfile::tempdir().unwrap();
    let base_url = format!("http://{address}");
    for json in [false, true] {
        let mut command = assert_cmd::Command::new(harness::wrenn_bin());
        command
            .env("WRENN_CONFIG_DIR", config.path())
            .env_remove("WRENN_PROFILE")
            .env_remove("WRENN_LOG")
            .args(["events", "--base-url", &base_url, "--api-key", "wrn_any"])
            .timeout(Duration::from_secs(30));
        if json {
            command.arg("--json");
        }
        let output = command.output().unwrap();
        harness::assert_one_error_line(&output, "a stream the server ends");
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("the event stream ended") && stderr.contains("hint:"), "{stderr}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        if json {
            assert!(stdout.starts_with(r#"{"event":"connected""#), "{stdout}");
        } else {
            assert!(stdout.starts_with("TIME"), "{stdout}");
        }
    }
    server.join().unwrap();
}
