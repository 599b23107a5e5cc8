//! Name resolution inside a capsule: its `/etc/resolv.conf` and
//! `/etc/hosts`, written into the capsule's upper layer at create time,
//! before the init starts (so they shadow the template's files and belong
//! to the capsule's root, who may change them).
//!
//! Which nameservers: the host's, when a capsule can reach them; otherwise
//! public resolvers ([`FALLBACK_NAMESERVERS`]). A capsule reaches only what
//! the firewall lets it (`network::firewall`): no loopback (the host's own
//! stub resolver, such as systemd-resolved's 127.0.0.53, is the host's
//! loopback, not the capsule's), no private, link-local or other blocked
//! range (cloud VPC resolvers live there), no IPv6, no port on the host.
//! So a host nameserver is kept only if it is IPv4 outside
//! `firewall::BLOCKED_DESTINATIONS`; the check reuses that list, so the two
//! cannot disagree. The host's `search` and `options` lines come along only
//! with its nameservers: with public resolvers, the host's internal search
//! domains would only leak its internal names to them. The host file is
//! read at every create, so a host whose resolvers change (DHCP) hands the
//! new ones to new capsules.
//!
//! `/etc/hosts`: the template's file (or a minimal one if it has none, or
//! it is not a plain file) plus `127.0.0.1 <hostname>`, so that programs
//! resolving their own hostname (sudo, Java, many test suites) do not stall
//! on DNS. The added line carries a marker, so a template snapshotted from
//! a capsule does not pile up the hostnames of earlier capsules.
//!
//! The template is read with `symlink_metadata` checks and a size limit: a
//! snapshot template comes from a capsule, whose `/etc/hosts` could be a
//! symlink to a host file.

use std::fmt::Write as _;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::network::firewall::BLOCKED_DESTINATIONS;

/// The host's resolver configuration.
pub const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";
/// Used when the host has no nameserver a capsule can reach: Cloudflare's
/// and Google's, two operators for redundancy.
pub const FALLBACK_NAMESERVERS: [Ipv4Addr; 2] = [Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(8, 8, 8, 8)];
/// The resolver reads at most this many nameservers (glibc `MAXNS`).
const MAX_NAMESERVERS: usize = 3;
/// Ends the `/etc/hosts` line wrenn adds.
const HOSTS_MARKER: &str = "# wrenn capsule hostname";
/// A template's `/etc/hosts` larger than this is ignored.
const MAX_TEMPLATE_HOSTS: u64 = 64 << 10;
const DEFAULT_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// A file or dir of the capsule's upper layer that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("could not write {path}")]
pub struct DnsFilesError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Writes `etc/resolv.conf` and `etc/hosts` into `upper` (a fresh upper
/// dir), owned by the capsule's root (`uid_base` on the host).
pub fn write_files(upper: &Path, template_rootfs: &Path, hostname: &str, uid_base: u32) -> Result<(), DnsFilesError> {
    let host_resolv = read_small(Path::new(HOST_RESOLV_CONF)).unwrap_or_default();
    let template_hosts = read_small(&template_rootfs.join("etc/hosts"));
    let etc = upper.join("etc");
    let fail = |path: &Path| {
        let path = path.to_owned();
        move |source| DnsFilesError { path, source }
    };
    if !etc.exists() {
        // The upper dir's attributes win over the template's in the merged
        // view, so it copies the template's mode.
        let mode = std::fs::symlink_metadata(template_rootfs.join("etc"))
            .ok()
            .filter(std::fs::Metadata::is_dir)
            .map_or(0o755, |meta| meta.permissions().mode() & 0o7777);
        std::fs::create_dir(&etc).map_err(fail(&etc))?;
        std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(mode)).map_err(fail(&etc))?;
        std::os::unix::fs::chown(&etc, Some(uid_base), Some(uid_base)).map_err(fail(&etc))?;
    }
    let files = [("resolv.conf", resolv_conf(&host_resolv)), ("hosts", hosts(template_hosts.as_deref(), hostname))];
    for (name, text) in files {
        let path = etc.join(name);
        std::fs::write(&path, text).map_err(fail(&path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).map_err(fail(&path))?;
        std::os::unix::fs::chown(&path, Some(uid_base), Some(uid_base)).map_err(fail(&path))?;
    }
    Ok(())
}

/// The capsule's `resolv.conf` for a host whose `resolv.conf` reads `host`.
pub fn resolv_conf(host: &str) -> String {
    let mut nameservers = Vec::new();
    let mut extra = Vec::new();
    for line in host.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                let address = words.next().and_then(|word| word.parse::<Ipv4Addr>().ok());
                if let Some(address) = address.filter(|&address| reachable_from_capsule(address))
                    && !nameservers.contains(&address)
                {
                    nameservers.push(address);
                }
            }
            Some("search" | "domain" | "options") => extra.push(line),
            _ => {}
        }
    }
    nameservers.truncate(MAX_NAMESERVERS);
    let mut text = String::new();
    if nameservers.is_empty() {
        text.push_str("# Written by wrenn: the host has no nameserver a capsule can reach.\n");
        nameservers.extend(FALLBACK_NAMESERVERS);
        extra.clear();
    } else {
        text.push_str("# Written by wrenn: the host's nameservers that a capsule can reach.\n");
    }
    for address in nameservers {
        let _ = writeln!(text, "nameserver {address}");
    }
    for line in extra {
        let _ = writeln!(text, "{line}");
    }
    text
}

/// The capsule's `/etc/hosts`: `template` (or a minimal file) without
/// lines wrenn added before, plus `hostname` on 127.0.0.1. A hostname with
/// characters a hosts file cannot hold is left out.
pub fn hosts(template: Option<&str>, hostname: &str) -> String {
    let mut text: String = template
        .unwrap_or(DEFAULT_HOSTS)
        .lines()
        .filter(|line| !line.ends_with(HOSTS_MARKER))
        .flat_map(|line| [line, "\n"])
        .collect();
    let valid = !hostname.is_empty()
        && hostname.len() <= 253
        && hostname.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        let _ = writeln!(text, "127.0.0.1\t{hostname}\t{HOSTS_MARKER}");
    }
    text
}

/// Whether the firewall lets a capsule send to `address`.
fn reachable_from_capsule(address: Ipv4Addr) -> bool {
    !address.is_broadcast()
        && !BLOCKED_DESTINATIONS.iter().filter_map(|cidr| parse_cidr(cidr)).any(|net| net.contains(address))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ipv4Net {
    base: u32,
    mask: u32,
}

impl Ipv4Net {
    fn contains(self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask == self.base
    }
}

fn parse_cidr(cidr: &str) -> Option<Ipv4Net> {
    let (address, len) = cidr.split_once('/')?;
    let len: u32 = len.parse().ok().filter(|&len| len <= 32)?;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    Some(Ipv4Net { base: u32::from(address.parse::<Ipv4Addr>().ok()?) & mask, mask })
}

/// A plain file's text, if it is one (not a symlink) and small.
fn read_small(path: &Path) -> Option<String> {
    let parent_ok =
        path.parent().is_none_or(|parent| std::fs::symlink_metadata(parent).is_ok_and(|meta| meta.is_dir()));
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !parent_ok || !meta.is_file() || meta.len() > MAX_TEMPLATE_HOSTS {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path).ok()?.take(MAX_TEMPLATE_HOSTS).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_destinations_all_parse() {
        for cidr in BLOCKED_DESTINATIONS {
            assert!(parse_cidr(cidr).is_some(), "{cidr}");
        }
    }

    #[test]
    fn nameservers_a_capsule_can_reach() {
        let fallback = "# Written by wrenn: the host has no nameserver a capsule can reach.\n\
                        nameserver 1.1.1.1\nnameserver 8.8.8.8\n";
        let table: &[(&str, &str, &str)] = &[
            (
                "systemd-resolved stub",
                "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.internal\n",
                fallback,
            ),
            ("loopback dnsmasq", "nameserver 127.0.0.1\n", fallback),
            ("private VPC resolver", "nameserver 10.255.255.53\n", fallback),
            ("link-local metadata resolver", "nameserver 169.254.169.254\n", fallback),
            ("IPv6 only", "nameserver 2606:4700:4700::1111\nnameserver fe80::1%eth0\n", fallback),
            ("empty", "", fallback),
            ("garbage", "nameserver\nnameserver not-an-ip\n", fallback),
            (
                "public resolvers with search and options",
                "# from DHCP\nnameserver 9.9.9.9\nnameserver 10.0.0.2\n; comment\nsearch example.com\noptions ndots:2\n",
                "# Written by wrenn: the host's nameservers that a capsule can reach.\n\
                 nameserver 9.9.9.9\nsearch example.com\noptions ndots:2\n",
            ),
            (
                "at most three, no duplicates",
                "nameserver 9.9.9.9\nnameserver 9.9.9.9\nnameserver 1.0.0.1\nnameserver 8.8.4.4\nnameserver 8.8.8.8\n",
                "# Written by wrenn: the host's nameservers that a capsule can reach.\n\
                 nameserver 9.9.9.9\nnameserver 1.0.0.1\nnameserver 8.8.4.4\n",
            ),
        ];
        for (what, host, expected) in table {
            assert_eq!(resolv_conf(host), *expected, "{what}");
        }
    }

    #[test]
    fn reachability_follows_the_firewall() {
        let table = [
            ("1.1.1.1", true),
            ("100.63.255.255", true),
            ("100.64.0.1", false),
            ("172.15.0.1", true),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("127.0.0.53", false),
            ("0.0.0.0", false),
            ("224.0.0.251", false),
            ("255.255.255.255", false),
        ];
        for (address, expected) in table {
            assert_eq!(reachable_from_capsule(address.parse().unwrap()), expected, "{address}");
        }
    }

    #[test]
    fn hosts_maps_the_hostname_once() {
        let template = "127.0.0.1\tlocalhost\n127.0.0.1\told-capsule\t# wrenn capsule hostname\n";
        assert_eq!(
            hosts(Some(template), "c-new"),
            "127.0.0.1\tlocalhost\n127.0.0.1\tc-new\t# wrenn capsule hostname\n"
        );
        assert_eq!(hosts(None, "abc"), format!("{DEFAULT_HOSTS}127.0.0.1\tabc\t{HOSTS_MARKER}\n"));
        assert_eq!(hosts(Some("::1 localhost"), "bad name\n"), "::1 localhost\n");
    }

    #[test]
    fn writes_both_files_into_a_fresh_upper_dir() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("rootfs");
        std::fs::create_dir_all(template.join("etc")).unwrap();
        std::fs::set_permissions(template.join("etc"), std::fs::Permissions::from_mode(0o750)).unwrap();
        // A template whose hosts file points outside it is not followed.
        std::os::unix::fs::symlink("/etc/passwd", template.join("etc/hosts")).unwrap();
        let upper = dir.path().join("upper");
        std::fs::create_dir(&upper).unwrap();
        let uid = own_uid();
        write_files(&upper, &template, "capsule-1", uid).unwrap();
        let hosts_text = std::fs::read_to_string(upper.join("etc/hosts")).unwrap();
        assert_eq!(hosts_text, hosts(None, "capsule-1"));
        let resolv = std::fs::read_to_string(upper.join("etc/resolv.conf")).unwrap();
        assert!(resolv.contains("nameserver "), "{resolv}");
        let etc = std::fs::metadata(upper.join("etc")).unwrap();
        assert_eq!(etc.permissions().mode() & 0o7777, 0o750);
        for name in ["etc", "etc/hosts", "etc/resolv.conf"] {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(upper.join(name)).unwrap().uid(), uid, "{name}");
        }
    }

    /// Our own uid: chown to it works without root.
    fn own_uid() -> u32 {
        use std::os::unix::fs::MetadataExt;
        tempfile::tempfile().unwrap().metadata().unwrap().uid()
    }
}
