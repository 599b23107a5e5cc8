//! A census of the host objects that belong to wrenn, taken before and after
//! a test to show that nothing was left behind: host mounts, network
//! namespaces, links, cgroups in every hierarchy, firewall rules, loop
//! devices, capsule dirs and processes in the capsule uid range.
//!
//! Other tests run at the same time in this process (and maybe in another
//! one), so the census is scoped: mounts, loop devices and capsule dirs to
//! the test's data dir, cgroups to the capsule ids the test names, and
//! processes to those ids' cgroups (plus capsule-range processes outside any
//! capsule cgroup, which would be escapees). Namespaces, links and the
//! firewall are host-wide: only tests holding the network tests' lock make
//! them, so the caller must hold it for the whole test.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use wrenn_agent::cgroup::CGROUP_ROOT;
use wrenn_agent::layout::{Layout, OBJECT_PREFIX};
use wrenn_types::CapsuleId;

/// Lowest host uid of a capsule's user namespace.
const CAPSULE_UID_MIN: u32 = 100_000;

/// One snapshot; each set holds one line per object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Census {
    pub(crate) mounts: BTreeSet<String>,
    pub(crate) netns: BTreeSet<String>,
    pub(crate) links: BTreeSet<String>,
    pub(crate) cgroups: BTreeSet<String>,
    pub(crate) firewall: BTreeSet<String>,
    pub(crate) loops: BTreeSet<String>,
    pub(crate) capsule_dirs: BTreeSet<String>,
    pub(crate) processes: BTreeSet<String>,
}

impl Census {
    /// Takes the census for `data_dir` and the capsules `ids`.
    pub(crate) fn take(data_dir: &Path, ids: &[CapsuleId]) -> Census {
        let data_dir = data_dir.to_string_lossy().into_owned();
        let ids: BTreeSet<String> = ids.iter().map(ToString::to_string).collect();
        Census {
            mounts: mounts(&data_dir),
            netns: names_in(Path::new("/run/netns"), OBJECT_PREFIX),
            links: links(),
            cgroups: cgroups(&ids),
            firewall: firewall(),
            loops: loops(&data_dir),
            capsule_dirs: names_in(&Layout::new(&data_dir).capsules_dir(), ""),
            processes: processes(&ids),
        }
    }

    /// What this census holds that `before` did not, as `kind: object` lines.
    pub(crate) fn added_since(&self, before: &Census) -> Vec<String> {
        self.kinds()
            .into_iter()
            .zip(before.kinds())
            .flat_map(|((kind, now), (_, then))| now.difference(then).map(move |object| format!("{kind}: {object}")))
            .collect()
    }

    /// Like [`added_since`](Self::added_since), leaving out the firewall
    /// (the agent installs its table once and keeps it).
    pub(crate) fn added_since_except_firewall(&self, before: &Census) -> Vec<String> {
        let mut now = self.clone();
        now.firewall.clone_from(&before.firewall);
        now.added_since(before)
    }

    fn kinds(&self) -> [(&'static str, &BTreeSet<String>); 8] {
        [
            ("mount", &self.mounts),
            ("netns", &self.netns),
            ("link", &self.links),
            ("cgroup", &self.cgroups),
            ("firewall", &self.firewall),
            ("loop", &self.loops),
            ("capsule dir", &self.capsule_dirs),
            ("process", &self.processes),
        ]
    }
}

/// Mount points under the data dir, and wrenn network namespace mounts.
fn mounts(data_dir: &str) -> BTreeSet<String> {
    let netns = format!("/run/netns/{OBJECT_PREFIX}");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| point.starts_with(data_dir) || point.starts_with(&netns))
        .map(str::to_owned)
        .collect()
}

/// Names of the entries of `dir` that start with `prefix`.
fn names_in(dir: &Path, prefix: &str) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeSet::new() };
    entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// Host links named with the wrenn prefix (`ip -o link`: `N: name@peer: …`).
fn links() -> BTreeSet<String> {
    let out = Command::new("ip").args(["-o", "link"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .filter(|name| name.starts_with(OBJECT_PREFIX))
        .collect()
}

/// `<hierarchy>/wrenn/<id>` for the named capsules, in every v1 hierarchy
/// and the v2 one.
fn cgroups(ids: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut parents = vec![Path::new(CGROUP_ROOT).join(OBJECT_PREFIX)];
    for hierarchy in std::fs::read_dir(CGROUP_ROOT).unwrap().flatten() {
        parents.push(hierarchy.path().join(OBJECT_PREFIX));
    }
    for parent in parents {
        let Ok(children) = std::fs::read_dir(&parent) else { continue };
        for child in children.flatten() {
            let name = child.file_name().to_string_lossy().into_owned();
            if ids.contains(&name) && child.path().is_dir() {
                found.insert(child.path().to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// The rules of `inet wrenn` (stateless) and every iptables line naming wrenn.
fn firewall() -> BTreeSet<String> {
    let mut rules = BTreeSet::new();
    if let Ok(out) = Command::new("nft").args(["-s", "list", "table", "inet", "wrenn"]).output()
        && out.status.success()
    {
        rules.extend(String::from_utf8_lossy(&out.stdout).lines().map(|line| format!("nft {}", line.trim())));
    }
    for tool in ["iptables-save", "ip6tables-save"] {
        let Ok(out) = Command::new(tool).output() else { continue };
        let text = String::from_utf8_lossy(&out.stdout);
        let named = text.lines().filter(|line| line.to_ascii_lowercase().contains(OBJECT_PREFIX));
        rules.extend(named.map(|line| format!("{tool} {line}")));
    }
    rules
}

/// Loop devices backed by a file under the data dir.
fn loops(data_dir: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let backing = std::fs::read_to_string(entry.path().join("loop/backing_file")).unwrap_or_default();
        if backing.starts_with(data_dir) {
            found.insert(format!("{} on {}", entry.file_name().to_string_lossy(), backing.trim()));
        }
    }
    found
}

/// Live processes with a uid in the capsule range that are in the named
/// capsules' cgroups or in no capsule cgroup at all.
fn processes(ids: &BTreeSet<String>) -> BTreeSet<String> {
    let capsule_cgroup = format!("/{OBJECT_PREFIX}/");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
        let uid: u32 = field("Uid:").and_then(|uids| uids.split_whitespace().next()?.parse().ok()).unwrap_or(0);
        let zombie = field("State:").is_some_and(|state| state.starts_with('Z'));
        if uid < CAPSULE_UID_MIN || zombie {
            continue;
        }
        let cgroup = std::fs::read_to_string(entry.path().join("cgroup")).unwrap_or_default();
        let in_capsule = cgroup.contains(&capsule_cgroup);
        let ours = ids.iter().any(|id| cgroup.contains(id.as_str()));
        if ours || !in_capsule {
            let name = field("Name:").unwrap_or("?");
            found.insert(format!("pid {pid} uid {uid} {name}"));
        }
    }
    found
}
