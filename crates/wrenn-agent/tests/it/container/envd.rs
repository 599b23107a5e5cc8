//! The real envd as the capsule's init, reached over the capsule's own
//! network namespace (made here with `ip netns`; the `network` module's
//! veths are not needed to talk to loopback inside it).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use wrenn_agent::runtime::Runtime;

use crate::container::{Fixture, is_root};

const ENVD_PORT: u16 = 49983;

/// A network namespace under /run/netns, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(name: &str) -> Netns {
        run("ip", &["netns", "add", name]);
        let netns = Netns { name: name.to_owned() };
        run("ip", &["-n", name, "link", "set", "lo", "up"]);
        netns
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn envd_as_init_answers_health_inside_the_capsule_netns() {
    if !is_root() {
        return;
    }
    let Some(envd) = crate::built_envd() else { return };
    let fixture = Fixture::with_init(vec!["/usr/local/bin/envd".into(), "--port".into(), ENVD_PORT.to_string()]);
    install_dynamic_binary(&fixture.template(), &envd, "usr/local/bin/envd");
    let netns = Netns::new(&format!("wrenn-ct-{}", std::process::id()));

    let mut spec = fixture.spec(256);
    spec.netns_path = netns.path();
    fixture.started.lock().unwrap().push(spec.id);
    let started = Instant::now();
    let pid = fixture.runtime.create(&spec).await.unwrap();
    let created = started.elapsed();
    let netns_path = netns.path();
    let response = tokio::task::spawn_blocking(move || poll_health(&netns_path)).await.unwrap();
    let ready = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 2"), "{response}");
    eprintln!(
        "envd: create {:.1} ms, create → /health 2xx {:.1} ms (debug envd)",
        created.as_secs_f64() * 1e3,
        ready.as_secs_f64() * 1e3
    );
    // The capsule's loopback is not the host's.
    assert!(
        TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, ENVD_PORT)), Duration::from_millis(200))
            .is_err()
    );

    fixture.destroy_and_check(&spec.id, pid).await;
    drop(netns);
}

/// Copies `binary` and the libraries `ldd` names into the rootfs (owned by
/// root, as templates are stored).
fn install_dynamic_binary(rootfs: &Path, binary: &Path, target: &str) {
    let ldd = run("ldd", &[binary.to_str().unwrap()]);
    let mut files = vec![(binary.to_owned(), rootfs.join(target))];
    for line in ldd.lines() {
        let path = line.split_whitespace().find(|word| word.starts_with('/')).map(PathBuf::from);
        if let Some(path) = path {
            files.push((path.clone(), rootfs.join(path.strip_prefix("/").unwrap())));
        }
    }
    for (from, to) in files {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|err| panic!("{}: {err}", from.display()));
    }
}

/// GET /health from inside the netns, retried until envd listens (5 s).
fn poll_health(netns: &Path) -> String {
    let netns = std::fs::File::open(netns).unwrap();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(&netns, CloneFlags::CLONE_NEWNET).unwrap();
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    if let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, ENVD_PORT)) {
                        stream.write_all(b"GET /health HTTP/1.1\r\nHost: envd\r\nConnection: close\r\n\r\n").unwrap();
                        let mut response = String::new();
                        let _ = stream.read_to_string(&mut response);
                        return response;
                    }
                    assert!(Instant::now() < deadline, "envd did not listen within 5 s");
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .join()
            .unwrap()
    })
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
