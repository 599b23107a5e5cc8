//! The process service over the wire.

use std::time::Duration;

use connectrpc::ErrorCode;
use connectrpc::client::HttpClient;
use wrenn_proto::envd::process as pb;
use wrenn_proto::envd::process::__buffa::oneof;

use crate::harness::{self, TestEnvd};

type Stream = connectrpc::client::ServerStream<
    <HttpClient as connectrpc::client::ClientTransport>::ResponseBody,
    pb::__buffa::view::StartResponseView<'static>,
>;

/// What a finished process produced, as seen by one client.
#[derive(Debug, Default)]
struct Collected {
    pid: u32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    pty: Vec<u8>,
    end: Option<pb::process_event::EndEvent>,
    n_keepalives: usize,
}

fn start_request(cmd: &str, args: &[&str]) -> pb::StartRequest {
    pb::StartRequest {
        process: pb::ProcessConfig {
            cmd: cmd.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }
        .into(),
        stdin: Some(false),
        ..Default::default()
    }
}

fn sh(script: &str) -> pb::StartRequest {
    start_request("/bin/sh", &["-c", script])
}

fn apply(collected: &mut Collected, event: pb::ProcessEvent) {
    match event.event {
        Some(oneof::process_event::Event::Start(start)) => collected.pid = start.pid,
        Some(oneof::process_event::Event::Data(data)) => match data.output {
            Some(oneof::process_event::data_event::Output::Stdout(b)) => collected.stdout.extend(b),
            Some(oneof::process_event::data_event::Output::Stderr(b)) => collected.stderr.extend(b),
            Some(oneof::process_event::data_event::Output::Pty(b)) => collected.pty.extend(b),
            None => {}
        },
        Some(oneof::process_event::Event::End(end)) => collected.end = Some(*end),
        Some(oneof::process_event::Event::Keepalive(_)) => collected.n_keepalives += 1,
        None => {}
    }
}

async fn collect(mut stream: Stream) -> Collected {
    let mut collected = Collected::default();
    while let Some(message) = stream.message::<pb::StartResponse>().await.expect("stream ok") {
        apply(&mut collected, message.to_owned_message().event.into_option().unwrap());
    }
    collected
}

async fn run(envd: &TestEnvd, request: pb::StartRequest) -> Collected {
    collect(envd.process().start(request).await.expect("start")).await
}

/// Reads events until the start event, returning the pid.
async fn first_pid(stream: &mut Stream) -> u32 {
    let message = stream.message::<pb::StartResponse>().await.unwrap().unwrap().to_owned_message();
    match message.event.into_option().unwrap().event {
        Some(oneof::process_event::Event::Start(start)) => start.pid,
        other => panic!("first event is not start: {other:?}"),
    }
}

fn pid_selector(pid: u32) -> pb::ProcessSelector {
    pb::ProcessSelector { selector: Some(oneof::process_selector::Selector::Pid(pid)), ..Default::default() }
}

fn tag_selector(tag: &str) -> pb::ProcessSelector {
    pb::ProcessSelector { selector: Some(oneof::process_selector::Selector::Tag(tag.to_owned())), ..Default::default() }
}

#[tokio::test]
async fn foreground_command_reports_output_and_exit_code() {
    let envd = TestEnvd::start().await;
    let out = run(&envd, sh("echo out; echo err >&2; exit 3")).await;
    assert!(out.pid > 0);
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    let end = out.end.expect("end event");
    assert_eq!((end.exit_code, end.exited, end.status.as_str()), (3, true, "exit status 3"));
    envd.stop().await;
}

#[tokio::test]
async fn env_cwd_and_defaults_reach_the_process() {
    let envd = TestEnvd::start().await;
    std::fs::create_dir(envd.path("work")).unwrap();
    let mut request = sh("echo \"$GREETING|$PWD|$HOME|$E2B_SANDBOX\"");
    let mut config = request.process.take().unwrap();
    config.envs = [("GREETING".to_owned(), "hello world".to_owned())].into_iter().collect();
    config.cwd = Some("work".to_owned());
    request.process = config.into();
    let out = run(&envd, request).await;
    let root = envd.root().display().to_string();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("hello world|{root}/work|{root}|true\n"));

    // /init defaults: env vars and a working directory for later processes.
    let response = envd
        .http()
        .post(envd.url("/init"))
        .json(&serde_json::json!({"envVars": {"FROM_INIT": "yes"}, "defaultWorkdir": envd.path("work")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let out = run(&envd, sh("echo $FROM_INIT; pwd")).await;
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("yes\n{root}/work\n"));
}

#[tokio::test]
async fn invalid_start_requests_are_rejected() {
    let envd = TestEnvd::start().await;
    let process = envd.process();
    let cases: Vec<(pb::StartRequest, ErrorCode)> = vec![
        (start_request("", &[]), ErrorCode::InvalidArgument),
        (start_request("/definitely/not/here", &[]), ErrorCode::InvalidArgument),
        (
            {
                let mut r = sh("true");
                let mut c = r.process.take().unwrap();
                c.cwd = Some("/no/such/dir".to_owned());
                r.process = c.into();
                r
            },
            ErrorCode::InvalidArgument,
        ),
        (
            {
                let mut r = sh("true");
                let mut c = r.process.take().unwrap();
                c.envs = [("A=B".to_owned(), "x".to_owned())].into_iter().collect();
                r.process = c.into();
                r
            },
            ErrorCode::InvalidArgument,
        ),
        (
            pb::StartRequest {
                pty: pb::PTY {
                    size: pb::pty::Size { cols: 0, rows: 10, ..Default::default() }.into(),
                    ..Default::default()
                }
                .into(),
                ..sh("true")
            },
            ErrorCode::InvalidArgument,
        ),
    ];
    for (request, code) in cases {
        let err = match process.start(request.clone()).await {
            Err(err) => err,
            Ok(mut stream) => stream.message::<pb::StartResponse>().await.expect_err("start must fail"),
        };
        assert_eq!(err.code, code, "{request:?}: {err:?}");
    }
    let err = match envd.process_as("no-such-user-xyz").start(sh("true")).await {
        Err(err) => err,
        Ok(mut stream) => stream.message::<pb::StartResponse>().await.expect_err("unknown user"),
    };
    assert_eq!(err.code, ErrorCode::Unauthenticated);
}

#[tokio::test]
async fn runs_as_the_requested_user() {
    if !harness::is_root() {
        return;
    }
    let envd = TestEnvd::start().await;
    let out = collect(envd.process_as("nobody").start(sh("id -un; id -u; echo $HOME $USER")).await.unwrap()).await;
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "nobody");
    assert_ne!(lines[1], "0");
    assert!(lines[2].ends_with(" nobody"), "{text}");
    // And it cannot do what only root can.
    let out = collect(envd.process_as("nobody").start(sh("touch /root/wrenn-nobody-test")).await.unwrap()).await;
    assert_ne!(out.end.unwrap().exit_code, 0);
}

#[tokio::test]
async fn background_process_survives_its_client_and_can_be_attached_listed_and_killed() {
    let envd = TestEnvd::start().await;
    let mut request = sh("i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done");
    request.tag = Some("ticker".to_owned());
    let mut stream = envd.process().start(request).await.unwrap();
    let pid = first_pid(&mut stream).await;
    drop(stream); // the client goes away; the process must not

    tokio::time::sleep(Duration::from_millis(150)).await;
    let listed = envd.process().list(pb::ListRequest::default()).await.unwrap().into_owned();
    let info = listed.processes.iter().find(|p| p.pid == pid).expect("still listed");
    assert_eq!(info.tag.as_deref(), Some("ticker"));
    assert_eq!(info.config.as_option().unwrap().cmd, "/bin/sh");

    // Two clients attach at once, one by pid and one by tag; both see live output.
    let connect = |selector| pb::ConnectRequest { process: selector, ..Default::default() };
    let mut by_pid = envd.process().connect(connect(pid_selector(pid).into())).await.unwrap();
    let mut by_tag = envd.process().connect(connect(tag_selector("ticker").into())).await.unwrap();
    for stream in [&mut by_pid, &mut by_tag] {
        let mut saw_tick = false;
        let mut n = 0;
        while let Some(message) = stream.message::<pb::ConnectResponse>().await.unwrap() {
            let event = message.to_owned_message().event.into_option().unwrap();
            if n == 0 {
                assert!(matches!(event.event, Some(oneof::process_event::Event::Start(ref s)) if s.pid == pid));
            }
            if let Some(oneof::process_event::Event::Data(_)) = event.event {
                saw_tick = true;
                break;
            }
            n += 1;
        }
        assert!(saw_tick);
    }

    let signal = pb::SendSignalRequest {
        process: pid_selector(pid).into(),
        signal: pb::Signal::SIGNAL_SIGKILL.into(),
        ..Default::default()
    };
    envd.process().send_signal(signal).await.unwrap();
    let mut end = None;
    while let Some(message) = by_pid.message::<pb::ConnectResponse>().await.unwrap() {
        if let Some(oneof::process_event::Event::End(e)) = message.to_owned_message().event.into_option().unwrap().event
        {
            end = Some(*e);
        }
    }
    let end = end.expect("end after kill");
    assert_eq!((end.exit_code, end.exited, end.status.as_str()), (-1, false, "signal: killed"));

    // Once ended it is gone.
    let err = envd.process().connect(connect(pid_selector(pid).into())).await;
    let err = match err {
        Err(err) => err,
        Ok(mut s) => s.message::<pb::ConnectResponse>().await.expect_err("gone"),
    };
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn stdin_send_and_close() {
    let envd = TestEnvd::start().await;
    let mut request = sh("cat; echo done");
    request.stdin = Some(true);
    let mut stream = envd.process().start(request).await.unwrap();
    let pid = first_pid(&mut stream).await;
    let input = |data: &[u8]| pb::SendInputRequest {
        process: pid_selector(pid).into(),
        input: pb::ProcessInput {
            input: Some(oneof::process_input::Input::Stdin(data.to_vec())),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    envd.process().send_input(input(b"hello ")).await.unwrap();
    // Streamed input on the same process.
    let messages = vec![
        pb::StreamInputRequest {
            event: Some(
                pb::stream_input_request::StartEvent { process: pid_selector(pid).into(), ..Default::default() }.into(),
            ),
            ..Default::default()
        },
        pb::StreamInputRequest {
            event: Some(
                pb::stream_input_request::DataEvent {
                    input: pb::ProcessInput {
                        input: Some(oneof::process_input::Input::Stdin(b"world\n".to_vec())),
                        ..Default::default()
                    }
                    .into(),
                    ..Default::default()
                }
                .into(),
            ),
            ..Default::default()
        },
    ];
    envd.process().stream_input(connectrpc::stream_iter(messages)).await.unwrap();
    envd.process()
        .close_stdin(pb::CloseStdinRequest { process: pid_selector(pid).into(), ..Default::default() })
        .await
        .unwrap();
    let mut rest = Collected::default();
    while let Some(message) = stream.message::<pb::StartResponse>().await.unwrap() {
        apply(&mut rest, message.to_owned_message().event.into_option().unwrap());
    }
    assert_eq!(rest.stdout, b"hello world\ndone\n");
    assert_eq!(rest.end.unwrap().exit_code, 0);

    // Without stdin, input is refused.
    let mut stream = envd.process().start(sh("sleep 5")).await.unwrap();
    let pid = first_pid(&mut stream).await;
    let err = envd
        .process()
        .send_input(pb::SendInputRequest {
            process: pid_selector(pid).into(),
            input: pb::ProcessInput {
                input: Some(oneof::process_input::Input::Stdin(b"x".to_vec())),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::FailedPrecondition);
    let kill = pb::SendSignalRequest {
        process: pid_selector(pid).into(),
        signal: pb::Signal::SIGNAL_SIGTERM.into(),
        ..Default::default()
    };
    envd.process().send_signal(kill).await.unwrap();
    let ended = collect(stream).await;
    assert_eq!(ended.end.unwrap().status, "signal: terminated");
}

#[tokio::test]
async fn pty_echoes_input_resizes_and_is_killed() {
    let envd = TestEnvd::start().await;
    let request = pb::StartRequest {
        process: pb::ProcessConfig { cmd: "/bin/sh".to_owned(), ..Default::default() }.into(),
        pty: pb::PTY { size: pb::pty::Size { cols: 80, rows: 24, ..Default::default() }.into(), ..Default::default() }
            .into(),
        ..Default::default()
    };
    let mut stream = envd.process().start(request).await.unwrap();
    let pid = first_pid(&mut stream).await;
    let send = |data: &[u8]| pb::SendInputRequest {
        process: pid_selector(pid).into(),
        input: pb::ProcessInput { input: Some(oneof::process_input::Input::Pty(data.to_vec())), ..Default::default() }
            .into(),
        ..Default::default()
    };
    let resize = pb::UpdateRequest {
        process: pid_selector(pid).into(),
        pty: pb::PTY { size: pb::pty::Size { cols: 123, rows: 45, ..Default::default() }.into(), ..Default::default() }
            .into(),
        ..Default::default()
    };
    envd.process().update(resize).await.unwrap();
    envd.process().send_input(send(b"stty size; tty; echo marker-$((6*7))\n")).await.unwrap();
    let mut seen = Collected::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen.pty).contains("marker-42") {
        let message =
            tokio::time::timeout_at(deadline, stream.message::<pb::StartResponse>()).await.unwrap().unwrap().unwrap();
        apply(&mut seen, message.to_owned_message().event.into_option().unwrap());
    }
    let text = String::from_utf8_lossy(&seen.pty).into_owned();
    assert!(text.contains("45 123"), "{text}");
    assert!(text.contains("/dev/pts/"), "{text}");

    // Closing stdin of a pty is refused with a hint; updating a pipe process's pty too.
    let err = envd
        .process()
        .close_stdin(pb::CloseStdinRequest { process: pid_selector(pid).into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::FailedPrecondition);

    let kill = pb::SendSignalRequest {
        process: pid_selector(pid).into(),
        signal: pb::Signal::SIGNAL_SIGKILL.into(),
        ..Default::default()
    };
    envd.process().send_signal(kill).await.unwrap();
    let rest = collect(stream).await;
    assert_eq!(rest.end.unwrap().exit_code, -1);
}

#[tokio::test]
async fn unknown_selectors_and_signals() {
    let envd = TestEnvd::start().await;
    let process = envd.process();
    let err = process
        .send_signal(pb::SendSignalRequest {
            process: pid_selector(999_999).into(),
            signal: pb::Signal::SIGNAL_SIGKILL.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = process
        .send_signal(pb::SendSignalRequest {
            process: tag_selector("nope").into(),
            signal: pb::Signal::SIGNAL_SIGKILL.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = process
        .send_signal(pb::SendSignalRequest { signal: pb::Signal::SIGNAL_SIGKILL.into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    let mut stream = process.start(sh("sleep 5")).await.unwrap();
    let pid = first_pid(&mut stream).await;
    let err = process
        .send_signal(pb::SendSignalRequest {
            process: pid_selector(pid).into(),
            signal: pb::Signal::SIGNAL_UNSPECIFIED.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    let err = process
        .update(pb::UpdateRequest {
            process: pid_selector(pid).into(),
            pty: pb::PTY {
                size: pb::pty::Size { cols: 10, rows: 10, ..Default::default() }.into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::FailedPrecondition);
    process
        .send_signal(pb::SendSignalRequest {
            process: pid_selector(pid).into(),
            signal: pb::Signal::SIGNAL_SIGKILL.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    drop(stream);
}

#[tokio::test]
async fn chatty_process_with_a_stalled_client_neither_blocks_nor_bloats() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // envd runs as its own process so that its memory alone is measured.
    let envd = TestEnvd::spawn_process().await;
    // A raw client that starts 256 MiB of output, reads the first bytes of
    // the response, and then never reads again: its TCP window closes.
    let body = serde_json::to_vec(&serde_json::json!({
        "process": {"cmd": "/bin/sh", "args": ["-c", "sleep 0.2; head -c 268435456 /dev/zero; echo finished >&2"]},
        "tag": "chatty",
        "stdin": false
    }))
    .unwrap();
    let mut envelope = vec![0u8];
    envelope.extend((body.len() as u32).to_be_bytes());
    envelope.extend(body);
    let mut stalled = tokio::net::TcpStream::connect(envd.addr).await.unwrap();
    let head = format!(
        "POST /process.Process/Start HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\nConnect-Protocol-Version: 1\r\nContent-Length: {}\r\n\r\n",
        envelope.len()
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&envelope).await.unwrap();
    let mut first = [0u8; 256];
    let n = stalled.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));

    // A second client that does read sees the process finish, although the
    // first one blocks it for at most the slow-subscriber grace.
    let mut reader = envd
        .process()
        .connect(pb::ConnectRequest { process: tag_selector("chatty").into(), ..Default::default() })
        .await
        .unwrap();
    let rss_before = envd.child_rss_kib();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut seen = Collected::default();
    let mut n_stdout = 0;
    while let Some(message) =
        tokio::time::timeout_at(deadline, reader.message::<pb::ConnectResponse>()).await.unwrap().unwrap()
    {
        apply(&mut seen, message.to_owned_message().event.into_option().unwrap());
        n_stdout += std::mem::take(&mut seen.stdout).len();
    }
    assert_eq!(seen.end.expect("the process ended").exit_code, 0);
    assert_eq!(seen.stderr, b"finished\n");
    assert!(n_stdout > 128 << 20, "the reading client got {n_stdout} bytes");
    let grown_mib = envd.child_rss_kib().saturating_sub(rss_before) / 1024;
    assert!(grown_mib < 64, "envd grew by {grown_mib} MiB");
    drop(stalled);
}

#[tokio::test]
async fn keepalives_follow_the_requested_interval() {
    let envd = TestEnvd::start().await;
    let process = envd.process();
    let options = connectrpc::client::CallOptions::default().with_header("keepalive-ping-interval", "1");
    let stream = process.start_with_options(sh("sleep 2.5"), options).await.unwrap();
    let out = collect(stream).await;
    assert!(out.n_keepalives >= 2, "{} keepalives", out.n_keepalives);
}

#[tokio::test]
async fn the_start_deadline_kills_the_process_but_a_connect_deadline_does_not() {
    let envd = TestEnvd::start().await;

    // Start with a timeout: E2B's command `timeout` semantics.
    let options = connectrpc::client::CallOptions::default().with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let mut stream = envd.process().start_with_options(sh("sleep 30"), options).await.unwrap();
    let pid = first_pid(&mut stream).await;
    let err = loop {
        match stream.message::<pb::StartResponse>().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("stream ended without an error"),
            Err(err) => break err,
        }
    };
    assert_eq!(err.code, ErrorCode::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(2));
    wait_until_gone(&envd, pid).await;

    // Start without one, then attach with a short deadline: only the attached stream ends.
    let mut stream = envd.process().start(sh("sleep 30")).await.unwrap();
    let pid = first_pid(&mut stream).await;
    let options = connectrpc::client::CallOptions::default().with_timeout(Duration::from_millis(300));
    let mut attached = envd
        .process()
        .connect_with_options(pb::ConnectRequest { process: pid_selector(pid).into(), ..Default::default() }, options)
        .await
        .unwrap();
    let err = loop {
        match attached.message::<pb::ConnectResponse>().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("stream ended without an error"),
            Err(err) => break err,
        }
    };
    assert_eq!(err.code, ErrorCode::DeadlineExceeded);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let listed = envd.process().list(pb::ListRequest::default()).await.unwrap().into_owned();
    assert!(listed.processes.iter().any(|p| p.pid == pid), "a connect deadline must not kill the process");
    let kill = pb::SendSignalRequest {
        process: pid_selector(pid).into(),
        signal: pb::Signal::SIGNAL_SIGKILL.into(),
        ..Default::default()
    };
    envd.process().send_signal(kill).await.unwrap();
    drop(stream);
}

async fn wait_until_gone(envd: &TestEnvd, pid: u32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let listed = envd.process().list(pb::ListRequest::default()).await.unwrap().into_owned();
        if !listed.processes.iter().any(|p| p.pid == pid) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "process {pid} outlived its deadline");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
