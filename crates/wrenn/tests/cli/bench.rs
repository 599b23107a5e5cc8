//! `wrenn bench` against the node: an unknown template is refused before
//! anything starts; a quick run reports every metric with the number of
//! samples asked for, all positive, on stdout and in its file, and leaves
//! no capsule behind; Ctrl-C in the middle of a phase destroys what the
//! run started and exits 130.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{self, Node};

/// A quick run on a debug build takes about a minute; this is for a slow host.
const QUICK_RUN_LIMIT: Duration = Duration::from_secs(900);

pub(crate) fn scenario(node: &Node) {
    an_unknown_template_is_refused_before_anything_starts(node);
    a_quick_run_reports_every_sample(node);
    ctrl_c_destroys_what_the_run_started(node);
}

fn an_unknown_template_is_refused_before_anything_starts(node: &Node) {
    let output = node.wrenn().args(["bench", "--quick", "--template", "no-such-template"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-template") && stderr.contains("wrenn template ls"), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(node.live_capsules().is_empty());
}

fn a_quick_run_reports_every_sample(node: &Node) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    let output = node
        .wrenn()
        .args(["bench", "--quick", "--memory", "128", "--json", "--output"])
        .arg(&file)
        .timeout(QUICK_RUN_LIMIT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed: {stderr}\n{}", node.log());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!("stdout is not one JSON document ({err}): {}", String::from_utf8_lossy(&output.stdout))
    });

    assert_eq!(report["memory_mb"], 128, "the capsules' memory limit is recorded");

    let expected = [
        ("tti_sequential", 3),
        ("tti_concurrent", 4),
        ("exec", 20),
        ("upload", 3),
        ("download", 3),
        ("pause", 3),
        ("resume", 3),
        ("resume_exec", 3),
        ("density_mem", 4),
    ];
    let metrics = report["metrics"].as_array().unwrap();
    let names: Vec<&str> = metrics.iter().map(|metric| metric["name"].as_str().unwrap()).collect();
    assert_eq!(names, expected.map(|(name, _)| name), "{report}");
    for (metric, (name, n)) in metrics.iter().zip(expected) {
        let samples: Vec<f64> = metric["samples"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!((samples.len(), metric["failed"].as_u64()), (n, Some(0)), "{name}: {metric}");
        assert!(samples.iter().all(|sample| *sample > 0.0), "{name}: {samples:?}");
        let summary = &metric["summary"];
        assert_eq!(summary["n"].as_u64(), Some(n as u64), "{name}: {metric}");
        for key in ["p50", "p95", "p99", "mean"] {
            assert!(summary[key].as_f64().unwrap() > 0.0, "{name} {key}: {metric}");
        }
    }
    for throughput in report["throughput"].as_array().unwrap() {
        assert!(throughput["median_mib_per_s"].as_f64().unwrap() > 0.0, "{throughput}");
        assert_eq!(throughput["bytes"].as_u64(), Some(8 << 20), "{throughput}");
    }
    let density = &report["density"];
    assert_eq!((density["capsules"].as_u64(), density["started"].as_u64()), (Some(4), Some(4)), "{density}");
    assert!(density["host_drop_mib_per_capsule"].is_number(), "a loopback server gets the host view: {density}");
    assert_eq!(report["server"].as_str().unwrap().trim_end_matches('/'), node.base_url);
    assert_eq!(report["template"], "minimal");
    assert!(report["started_at"].as_str().unwrap().ends_with('Z'), "{report}");
    assert!(report["aborted"].is_null(), "{report}");

    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, report, "the file holds the same report, every sample included");
    let left = node.live_capsules();
    assert!(left.is_empty(), "bench left capsules: {left:?}");
}

fn ctrl_c_destroys_what_the_run_started(node: &Node) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("interrupted.json");
    let mut child = Command::new(harness::wrenn_bin())
        .args(["bench", "--only", "density", "--density", "4", "--output"])
        .arg(&file)
        .env("WRENN_BASE_URL", &node.base_url)
        .env("WRENN_API_KEY", harness::KEY)
        .env("WRENN_CONFIG_DIR", node.config_dir.path())
        .env_remove("WRENN_PROFILE")
        .env_remove("WRENN_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while node.live_capsules().is_empty() {
        assert!(matches!(child.try_wait(), Ok(None)), "bench ended before it started a capsule");
        assert!(Instant::now() < deadline, "bench started no capsule within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) of our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("bench did not exit within 120 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = node.live_capsules();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "capsules left after Ctrl-C: {left:?}\nstderr: {stderr}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // What was measured before the interruption is kept, marked as such.
    let kept: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(kept["aborted"], "interrupted", "{kept}");
}
