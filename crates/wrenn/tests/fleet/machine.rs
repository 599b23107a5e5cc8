//! A simulated host machine for the fleet test: a network namespace joined
//! to this machine by a veth pair (`10.250.<n>.1` here, `10.250.<n>.2`
//! there), and a persistent mount namespace whose `/run/netns` is its own
//! tmpfs. An agent started in both sees its own network (its firewall
//! table, capsule veths and namespaces do not meet the other agent's) and
//! keeps its capsules' namespaces across a `kill -9`, as on a real host.
//! Everything is removed on drop, including capsules a failed test left.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One simulated host.
pub(crate) struct Machine {
    pub(crate) name: String,
    /// This side of the link (where the control plane listens for it).
    pub(crate) gateway: String,
    /// The machine's own address.
    pub(crate) ip: String,
    mount_ns: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) agent: Option<Child>,
}

impl Machine {
    /// Creates machine `index`: its mount namespace file under `ns_dir`
    /// (which must be a private mount), its data dir under `data_root`
    /// (on the template cache's filesystem, for hard links).
    pub(crate) fn create(ns_dir: &Path, data_root: &Path, index: u8) -> Machine {
        let name = format!("wfleet-{index}");
        remove_network(&name);
        let (host_end, far_end) = (format!("{name}-h"), format!("{name}-n"));
        let (gateway, ip) = (format!("10.250.{index}.1"), format!("10.250.{index}.2"));
        run("ip", &["netns", "add", &name]);
        run("ip", &["link", "add", &host_end, "type", "veth", "peer", "name", &far_end, "netns", &name]);
        run("ip", &["addr", "add", &format!("{gateway}/30"), "dev", &host_end]);
        run("ip", &["link", "set", &host_end, "up"]);
        run("ip", &["-n", &name, "addr", "add", &format!("{ip}/30"), "dev", &far_end]);
        run("ip", &["-n", &name, "link", "set", &far_end, "up"]);
        run("ip", &["-n", &name, "link", "set", "lo", "up"]);
        run("ip", &["-n", &name, "route", "add", "default", "via", &gateway]);
        let mount_ns = ns_dir.join(format!("{name}.mnt"));
        std::fs::write(&mount_ns, b"").expect("create the mount namespace file");
        let ns = format!("--mount={}", mount_ns.display());
        run(
            "unshare",
            &[&ns, "--propagation", "private", "mount", "-t", "tmpfs", "-o", "mode=755", "netns", "/run/netns"],
        );
        let data_dir = data_root.join(format!("{name}-data"));
        Machine { name, gateway, ip, mount_ns, data_dir, agent: None }
    }

    /// A command that runs `program` on this machine.
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--mount={}", self.mount_ns.display()))
            .arg(format!("--net=/run/netns/{}", self.name))
            .arg("--")
            .arg(program)
            .stdin(Stdio::null());
        command
    }

    /// SIGKILL to the agent, as a crash would.
    pub(crate) fn kill_agent(&mut self) {
        if let Some(mut agent) = self.agent.take() {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }

    /// Kills what a failed test may have left: capsule inits (their pid
    /// namespace goes with them) and their cgroups.
    fn kill_capsules(&self) {
        let Ok(entries) = std::fs::read_dir(self.data_dir.join("capsules")) else { return };
        for entry in entries.flatten() {
            let pid = std::fs::read_to_string(entry.path().join("init.pid")).unwrap_or_default();
            if let Ok(pid) = pid.trim().parse::<i32>() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            let id = entry.file_name();
            for controller in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
                let _ = std::fs::remove_dir(controller.path().join("wrenn").join(&id));
            }
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.data_dir.join("agent.log")).unwrap_or_default();
            eprintln!("--- agent log of {} ---\n{log}", self.name);
        }
        self.kill_agent();
        self.kill_capsules();
        let _ = Command::new("umount").arg(&self.mount_ns).status();
        remove_network(&self.name);
    }
}

/// Removes the namespace (and with it both veth ends) if it exists.
fn remove_network(name: &str) {
    let _ = Command::new("ip").args(["netns", "del", name]).stderr(Stdio::null()).status();
    let _ = Command::new("ip").args(["link", "del", &format!("{name}-h")]).stderr(Stdio::null()).status();
}

pub(crate) fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|error| panic!("{program}: {error}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
