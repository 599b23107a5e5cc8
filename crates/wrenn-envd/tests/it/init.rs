//! envd as process 1 of a pid namespace: orphans are reaped, SIGTERM is
//! forwarded and ends the server. Needs root (for the pid namespace).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wrenn_proto::envd::process as pb;
use wrenn_proto::envd::process::__buffa::oneof;

use crate::harness;

#[tokio::test]
async fn as_pid_one_envd_reaps_orphans_and_forwards_sigterm() {
    if !harness::is_root() {
        eprintln!("skipped (needs root for a pid namespace)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = KillOnDrop(
        Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
                env!("CARGO_BIN_EXE_envd"),
                "--listen",
                "127.0.0.1",
                "--port",
            ])
            .arg(port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare is installed"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "envd did not come up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let client = pb::ProcessClient::new(
        connectrpc::client::HttpClient::plaintext(),
        connectrpc::client::ClientConfig::new(base.parse().unwrap()),
    );
    let run = |script: &'static str| {
        let client = client.clone();
        async move {
            let request = pb::StartRequest {
                process: pb::ProcessConfig {
                    cmd: "/bin/sh".to_owned(),
                    args: vec!["-c".to_owned(), script.to_owned()],
                    ..Default::default()
                }
                .into(),
                stdin: Some(false),
                ..Default::default()
            };
            let mut stream = client.start(request).await.unwrap();
            let mut stdout = Vec::new();
            while let Some(message) = stream.message::<pb::StartResponse>().await.unwrap() {
                if let Some(oneof::process_event::Event::Data(data)) =
                    message.to_owned_message().event.into_option().unwrap().event
                    && let Some(oneof::process_event::data_event::Output::Stdout(bytes)) = data.output
                {
                    stdout.extend(bytes);
                }
            }
            String::from_utf8(stdout).unwrap()
        }
    };
    assert_eq!(run("echo $$ > /dev/null; cat /proc/1/comm").await.trim(), "envd");
    // Orphan five children: they are re-parented to pid 1, which must reap them.
    run("for i in 1 2 3 4 5; do (sleep 0.2 &); done").await;
    // Wait until the orphans have exited (however slow a loaded machine is);
    // then none of them may linger as a zombie.
    let deadline = Instant::now() + Duration::from_secs(10);
    let zombies = loop {
        let sleeping = run("ps -eo stat=,comm= | grep -v '^Z' | grep -c sleep || true").await;
        let zombies = run("ps -eo stat=,pid=,comm= | grep '^Z' || true").await;
        if sleeping.trim() == "0" || Instant::now() > deadline {
            break zombies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(zombies.trim(), "", "zombies left: {zombies}");

    // SIGTERM to the namespace's init ends envd and so the whole namespace.
    let init_pid = run("echo 1").await; // still alive
    assert_eq!(init_pid.trim(), "1");
    let unshare_pid = child.0.id();
    let inner = std::fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children")).unwrap();
    let inner: i32 = inner.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill(2) on the init process of our own child namespace.
    unsafe { libc::kill(inner, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "envd exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "envd ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the namespace (and so envd) when the test ends, pass or fail.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
