//! Inside a real capsule (`minimal`, envd as init): the seccomp allowlist
//! refuses what Docker's default profile refuses, ordinary programs still
//! work, and name resolution has its files. Commands run through the
//! capsule's envd, as a client's would; nothing leaves the host (no DNS
//! query is made: the hostname resolves from `/etc/hosts`).

use std::net::SocketAddr;

use base64::Engine;
use connectrpc::client::{ClientConfig, HttpClient};
use wrenn_agent::capsule::CreateCapsule;
use wrenn_agent::layout::Layout;
use wrenn_agent::runtime::container::dns;
use wrenn_proto::envd::process as pb;
use wrenn_proto::envd::process::__buffa::oneof::process_event::{Event, data_event::Output};

use crate::capsule::{harness, link_template, request};
use crate::container::unique_id;

/// Raw syscalls through perl (part of every Debian base), each printed as
/// `name=errno` or `name=ok`. x86_64 numbers.
const PROBES: &str = r#"
my @probes = (
    ["getpid", 39],
    ["personality_query", 135, 0xffffffff],
    ["personality_no_aslr", 135, 0x0040000],
    ["unshare_user", 272, 0x10000000],
    ["mount", 165, 0, 0, 0, 0, 0],
    ["setns", 308, 0, 0],
    ["keyctl", 250, 0, -3, 0],
    ["add_key", 248, 0, 0, 0, 0, 0],
    ["bpf", 321, 0, 0, 0],
    ["perf_event_open", 298, 0, 0, 0, 0, 0],
    ["userfaultfd", 323, 0],
    ["io_uring_setup", 425, 1, 0],
    ["name_to_handle_at", 303, 0, 0, 0, 0, 0],
    ["open_by_handle_at", 304, 0, 0, 0],
    ["kexec_load", 246, 0, 0, 0, 0],
    ["init_module", 175, 0, 0, 0],
    ["vsock", 41, 40, 1, 0],
    ["clone3", 435, 0, 0],
    ["no_such_syscall", 1000],
    ["x32_getpid", 0x40000000 + 39],
);
for my $probe (@probes) {
    my ($name, $nr, @args) = @$probe;
    $! = 0;
    my $ret = syscall($nr, @args);
    print "$name=", ($ret == -1 ? $! + 0 : "ok"), "\n";
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn seccomp_refuses_what_docker_refuses_and_programs_work() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    let addr = info.envd_addr.unwrap();

    let out = run(addr, "/usr/bin/perl", &["-e", PROBES]).await;
    eprintln!("{out}");
    // Without the filter most of these would fail differently (EFAULT,
    // EINVAL, ENOSYS) or succeed; EPERM is the filter's answer.
    let expected = [
        ("getpid", "ok"),
        ("personality_query", "ok"),
        ("personality_no_aslr", "1"),
        ("unshare_user", "1"),
        ("mount", "1"),
        ("setns", "1"),
        ("keyctl", "1"),
        ("add_key", "1"),
        ("bpf", "1"),
        ("perf_event_open", "1"),
        ("userfaultfd", "1"),
        ("io_uring_setup", "1"),
        ("name_to_handle_at", "1"),
        ("open_by_handle_at", "1"),
        ("kexec_load", "1"),
        ("init_module", "1"),
        ("vsock", "1"),
        ("clone3", "38"),
        ("no_such_syscall", "1"),
        ("x32_getpid", "1"),
    ];
    for (name, answer) in expected {
        assert!(out.contains(&format!("\n{name}={answer}\n")), "{name} should answer {answer}: {out}");
    }

    // Ordinary work: shells, process listing, package tools, curl's
    // startup, fork, threads (envd itself serves this request), and sudo
    // as root (it calls setgroups). sudo from a non-root user cannot gain
    // privileges: no_new_privs (issue 3) makes setuid bits inert. Replacing
    // a template directory needs overlay's opaque-dir xattr (`userxattr`).
    let script = r#"
        set -e
        ls / > /dev/null
        bash -c 'echo bash=ok'
        ps -e > /dev/null && echo ps=ok
        apt-cache policy > /dev/null && echo apt=ok
        curl --version > /dev/null && echo curl=ok
        (sleep 0.1 & wait) && echo fork=ok
        sudo -n true && echo sudo=ok
        rm -r /etc/apt && mkdir /etc/apt && [ -z "$(ls -A /etc/apt)" ] && echo opaque-dir=ok
        grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status | tr -s '\t ' ' '
    "#;
    let out = run(addr, "/bin/sh", &["-c", script]).await;
    eprintln!("{out}");
    for line in [
        "bash=ok",
        "ps=ok",
        "apt=ok",
        "curl=ok",
        "fork=ok",
        "sudo=ok",
        "NoNewPrivs: 1",
        "Seccomp: 2",
        "Seccomp_filters: 2",
        "exit=0",
    ] {
        assert!(out.contains(&format!("\n{line}\n")), "{line} missing: {out}");
    }

    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}

/// Python and pip under the filter, on the `python` template when the
/// template cache holds it (it is built with `minimal`; without it this
/// test prints why it skips).
#[tokio::test(flavor = "multi_thread")]
async fn python_and_pip_work_under_the_filter() {
    let Some(cache) = std::env::var_os("WRENN_TEST_TEMPLATE_CACHE") else {
        eprintln!("skipped (no template cache)");
        return;
    };
    let cached = Layout::new(&cache).template_rootfs("python");
    if !Layout::new(&cache).template_manifest("python").is_file() {
        eprintln!("skipped (no python template in {})", cached.display());
        return;
    }
    let Some(harness) = harness(|_| {}).await else { return };
    link_template(&cached, &harness.layout, "python");
    let manager = harness.manager();
    manager.templates().refresh_envd("python").await.unwrap();
    let id = unique_id();
    let info = manager.create(CreateCapsule { template: "python".into(), ..request(id) }).await.unwrap();
    let addr = info.envd_addr.unwrap();

    // Threads, subprocesses, sockets, sqlite, asyncio, a venv, pip.
    let program = r#"
import asyncio, socket, sqlite3, subprocess, threading
threads = [threading.Thread(target=sum, args=([1, 2],)) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert subprocess.run(["true"]).returncode == 0
a, b = socket.socketpair(); a.send(b"x"); assert b.recv(1) == b"x"
assert sqlite3.connect(":memory:").execute("select 1").fetchone() == (1,)
asyncio.run(asyncio.sleep(0.01))
print("python=ok")
"#;
    let script = format!(
        "python3 -c '{program}' && python3 -m venv /tmp/venv && /tmp/venv/bin/pip --version > /dev/null && echo pip=ok"
    );
    let out = run(addr, "/bin/sh", &["-c", &script]).await;
    eprintln!("{out}");
    for line in ["python=ok", "pip=ok", "exit=0"] {
        assert!(out.contains(&format!("\n{line}\n")), "{line} missing: {out}");
    }

    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}

#[tokio::test(flavor = "multi_thread")]
async fn capsules_get_resolv_conf_and_hosts() {
    let Some(harness) = harness(|_| {}).await else { return };
    let manager = harness.manager();
    let id = unique_id();
    let info = manager.create(request(id)).await.unwrap();
    let addr = info.envd_addr.unwrap();

    let script = r#"
        echo "hostname=$(hostname)"
        stat -c '%n %u %g %a' /etc /etc/resolv.conf /etc/hosts
        echo "--- resolv.conf"; cat /etc/resolv.conf
        echo "--- hosts"; cat /etc/hosts
        echo "--- getent"; getent hosts "$(hostname)"
    "#;
    let out = run(addr, "/bin/sh", &["-c", script]).await;
    eprintln!("{out}");
    let hostname = id.to_string();
    assert!(out.contains(&format!("\nhostname={hostname}\n")), "{out}");
    for line in ["/etc 0 0 755", "/etc/resolv.conf 0 0 644", "/etc/hosts 0 0 644"] {
        assert!(out.contains(&format!("\n{line}\n")), "{line} missing: {out}");
    }
    let host_resolv = std::fs::read_to_string(dns::HOST_RESOLV_CONF).unwrap_or_default();
    let resolv = section(&out, "resolv.conf");
    assert_eq!(resolv, dns::resolv_conf(&host_resolv));
    for line in resolv.lines().filter_map(|line| line.strip_prefix("nameserver ")) {
        let address: std::net::Ipv4Addr = line.parse().unwrap();
        assert!(!address.is_loopback() && !address.is_private() && !address.is_link_local(), "{resolv}");
    }
    let hosts = section(&out, "hosts");
    assert!(hosts.contains("localhost"), "{hosts}");
    assert!(hosts.contains(&format!("127.0.0.1\t{hostname}\t")), "{hosts}");
    let getent = section(&out, "getent");
    let resolved: Vec<&str> = getent.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(resolved, ["127.0.0.1", hostname.as_str()], "{out}");

    manager.destroy(id).await.unwrap();
    harness.assert_gone(&info);
}

/// Runs `cmd args` as root through envd; returns "\n" + stdout + stderr +
/// "exit=<code>\n", so every line can be matched as `\n<line>\n`.
async fn run(addr: SocketAddr, cmd: &str, args: &[&str]) -> String {
    let uri = format!("http://{addr}").parse().unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("root:");
    let config = ClientConfig::new(uri).with_default_header("authorization", format!("Basic {auth}"));
    let client = pb::ProcessClient::new(HttpClient::plaintext(), config);
    let process = pb::ProcessConfig {
        cmd: cmd.into(),
        args: args.iter().map(|&arg| arg.to_owned()).collect(),
        ..Default::default()
    };
    let mut stream = client.start(pb::StartRequest { process: process.into(), ..Default::default() }).await.unwrap();
    let (mut stdout, mut stderr, mut exit) = (Vec::new(), Vec::new(), None);
    while let Some(message) = stream.message::<pb::StartResponse>().await.unwrap() {
        match message.to_owned_message().event.into_option().and_then(|event| event.event) {
            Some(Event::Data(data)) => match data.output {
                Some(Output::Stdout(bytes) | Output::Pty(bytes)) => stdout.extend(bytes),
                Some(Output::Stderr(bytes)) => stderr.extend(bytes),
                None => {}
            },
            Some(Event::End(end)) => exit = Some(end.exit_code),
            _ => {}
        }
    }
    let (stdout, stderr) = (String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
    format!("\n{stdout}{stderr}exit={}\n", exit.expect("the process ended"))
}

/// The lines after `--- <name>` up to the next `---` line.
fn section(out: &str, name: &str) -> String {
    let start = out.find(&format!("--- {name}\n")).unwrap_or_else(|| panic!("no {name} section: {out}"));
    let rest = &out[start + name.len() + 5..];
    let end = rest.find("\n--- ").map_or(rest.len(), |end| end + 1);
    rest[..end].to_owned()
}
