//! Privileged tests of per-capsule networking against real namespaces,
//! veths and nftables. They run as root (CI does); otherwise each prints
//! `skipped (needs root)`.
//!
//! Traffic goes only to loopback, to capsule namespaces and to an "outside"
//! namespace the egress test builds itself. Slots are 16000 and up so they
//! do not clash with other tests. The tests share one host firewall table and
//! one `cleanup_stale`, so they run one at a time (`privileged` takes a lock
//! file, which also keeps two test processes apart), and every object
//! they make is removed by a drop guard, also when an assertion fails.

mod crash;
mod cycles;
mod egress;
mod forward_guard;
mod isolation;
mod reach;

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::sched::CloneFlags;
use wrenn_agent::network::FirewallBackend;

/// Lock file serialising these tests, across test threads and across test
/// processes (two `cargo test` runs on one host share its firewall).
const LOCK_FILE: &str = "/tmp/wrenn-network-tests.lock";

/// Takes the test lock if running as root, otherwise says why the test is skipped.
pub(crate) async fn privileged() -> Option<Flock<File>> {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped (needs root)");
        return None;
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(LOCK_FILE).unwrap();
    // flock locks belong to the open file, so this also excludes other test threads.
    let lock =
        tokio::task::spawn_blocking(move || Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| errno));
    Some(lock.await.unwrap().unwrap())
}

/// Runs a command, returning its stdout; panics with stderr when it fails.
fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|err| panic!("{program}: {err}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command and ignores how it went (cleanup).
fn sh_quiet(program: &str, args: &[&str]) {
    let _ = Command::new(program).args(args).output();
}

/// Runs `f` on a thread that has entered the network namespace at `netns`.
/// Sockets made there stay in that namespace wherever they are used later.
fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(netns).unwrap();
                nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
                f()
            })
            .join()
            .unwrap()
    })
}

/// A TCP server answering each connection with the peer address it sees.
struct EchoPeer {
    addr: SocketAddr,
    n_accepted: Arc<AtomicUsize>,
}

impl EchoPeer {
    fn serve(listener: TcpListener) -> EchoPeer {
        let addr = listener.local_addr().unwrap();
        let n_accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&n_accepted);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                if let Ok(peer) = stream.peer_addr() {
                    let _ = writeln!(stream, "{}", peer.ip());
                }
            }
        });
        EchoPeer { addr, n_accepted }
    }

    fn n_accepted(&self) -> usize {
        self.n_accepted.load(Ordering::SeqCst)
    }
}

/// Connects and returns the peer address the server reported.
fn ask_peer(ip: Ipv4Addr, port: u16) -> io::Result<String> {
    ask_peer_within(ip, port, Duration::from_secs(5))
}

/// [`ask_peer`] for a connection the test expects to be dropped: a short
/// wait, since the answer is a timeout. An expected success must not use
/// it: a first SYN lost on a fresh veth is only resent after 1 s.
fn ask_blocked_peer(ip: Ipv4Addr, port: u16) -> io::Result<String> {
    ask_peer_within(ip, port, Duration::from_millis(700))
}

fn ask_peer_within(ip: Ipv4Addr, port: u16, connect_timeout: Duration) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&SocketAddr::from((ip, port)), connect_timeout)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.trim().to_owned())
}

/// Removes the named slots' veths and namespaces when dropped.
struct SlotCleanup(Vec<u16>);

impl Drop for SlotCleanup {
    fn drop(&mut self) {
        for &slot in &self.0 {
            sh_quiet("ip", &["link", "del", &format!("wrenn-v{slot}")]);
            sh_quiet("ip", &["netns", "del", &format!("wrenn-{slot}")]);
        }
    }
}

/// Both firewall tools: the policy tests run once with each.
const BACKENDS: [FirewallBackend; 2] = [FirewallBackend::Nftables, FirewallBackend::Iptables];

/// Puts the host firewall (our nftables table, our iptables chains and the
/// tables iptables-nft makes for them) and `ip_forward` back as they were.
struct FirewallRestore {
    table: Option<String>,
    nft_tables: String,
    ip_forward: String,
}

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

impl FirewallRestore {
    fn save() -> FirewallRestore {
        FirewallRestore {
            table: wrenn_table(),
            nft_tables: sh("nft", &["list", "tables"]),
            ip_forward: std::fs::read_to_string(IP_FORWARD).unwrap(),
        }
    }
}

impl Drop for FirewallRestore {
    fn drop(&mut self) {
        let _ = std::fs::write(IP_FORWARD, &self.ip_forward);
        sh_quiet("nft", &["delete", "table", "inet", "wrenn"]);
        remove_iptables_chains();
        let before: Vec<&str> = self.nft_tables.lines().collect();
        for table in ["table ip filter", "table ip nat", "table ip6 filter"] {
            if !before.contains(&table) {
                let words: Vec<&str> = table.split(' ').collect();
                sh_quiet("nft", &["delete", words[0], words[1], words[2]]);
            }
        }
        if let Some(table) = &self.table {
            let mut child = Command::new("nft").args(["-f", "-"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
            let _ = child.stdin.take().unwrap().write_all(table.as_bytes());
            let _ = child.wait();
        }
    }
}

/// Removes the fallback's `WRENN-*` chains and the jumps to them.
fn remove_iptables_chains() {
    let v4 = [
        ("filter", "INPUT", "WRENN-INPUT"),
        ("filter", "FORWARD", "WRENN-FORWARD"),
        ("nat", "POSTROUTING", "WRENN-POSTROUTING"),
    ];
    for (tool, jumps) in [("iptables", &v4[..]), ("ip6tables", &v4[..2])] {
        for &(table, hook, chain) in jumps {
            for _ in 0..10 {
                let deleted = Command::new(tool).args(["-w", "-t", table, "-D", hook, "-j", chain]).output();
                if !deleted.is_ok_and(|out| out.status.success()) {
                    break;
                }
            }
            sh_quiet(tool, &["-w", "-t", table, "-F", chain]);
            sh_quiet(tool, &["-w", "-t", table, "-X", chain]);
        }
    }
}

/// The stateless listing of `inet wrenn`, if it exists.
fn wrenn_table() -> Option<String> {
    let out = Command::new("nft").args(["-s", "list", "table", "inet", "wrenn"]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Slots of every `wrenn-<n>` namespace and `wrenn-v<n>` link on the host.
fn wrenn_slots() -> std::collections::BTreeSet<u16> {
    let mut slots = std::collections::BTreeSet::new();
    for dir in ["/run/netns", "/sys/class/net"] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let digits = name.strip_prefix("wrenn-v").or_else(|| name.strip_prefix("wrenn-"));
            if let Some(slot) = digits.and_then(|d| d.parse().ok()) {
                slots.insert(slot);
            }
        }
    }
    slots
}

/// Whether anything of `slot` is left: namespace file, mount, or host veth.
pub(crate) fn leftovers(slot: u16) -> Vec<String> {
    let mut found = Vec::new();
    let netns = format!("/run/netns/wrenn-{slot}");
    if Path::new(&netns).exists() {
        found.push(netns.clone());
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if mountinfo.lines().any(|line| line.split(' ').nth(4) == Some(netns.as_str())) {
        found.push(format!("mount {netns}"));
    }
    if Path::new(&format!("/sys/class/net/wrenn-v{slot}")).exists() {
        found.push(format!("link wrenn-v{slot}"));
    }
    found
}
