//! The host's own view of memory, for the density phase: when the server
//! is on this machine (a loopback URL), what `MemAvailable` in
//! `/proc/meminfo` lost while the idle capsules started is what they cost
//! the host, kernel and runtime overhead included, which a capsule's own
//! cgroup does not count. Anywhere else this machine's memory says nothing
//! about the server's, so it is not reported.

use std::net::IpAddr;

const MEMINFO: &str = "/proc/meminfo";

/// Whether a URL host (`Url::host_str`) names this machine.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") || bare.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        // `::ffff:127.0.0.1` is loopback too.
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    })
}

/// `MemAvailable` in KiB from the text of `/proc/meminfo`.
pub(crate) fn parse_mem_available_kib(meminfo: &str) -> Option<u64> {
    let value = meminfo.lines().find_map(|line| line.strip_prefix("MemAvailable:"))?;
    value.trim().strip_suffix("kB")?.trim().parse().ok()
}

/// This machine's `MemAvailable` in KiB now, if it can be read.
pub(crate) fn mem_available_kib() -> Option<u64> {
    parse_mem_available_kib(&std::fs::read_to_string(MEMINFO).ok()?)
}

/// What each of `capsules` cost in MiB by the drop of `MemAvailable`
/// (negative when the host freed memory meanwhile, e.g. page cache).
pub(crate) fn drop_per_capsule_mib(before_kib: u64, after_kib: u64, capsules: usize) -> Option<f64> {
    if capsules == 0 {
        return None;
    }
    Some((before_kib as f64 - after_kib as f64) / 1024.0 / capsules as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        let cases = [
            ("127.0.0.1", true),
            ("127.3.2.1", true),
            ("localhost", true),
            ("LOCALHOST", true),
            ("api.localhost", true),
            ("[::1]", true),
            ("::1", true),
            ("[::ffff:127.0.0.1]", true),
            ("10.0.0.1", false),
            ("[fd00::1]", false),
            ("example.com", false),
            ("localhost.example.com", false),
            ("", false),
        ];
        for (host, want) in cases {
            assert_eq!(is_loopback_host(host), want, "{host:?}");
        }
    }

    #[test]
    fn mem_available_is_read_in_kib() {
        let text = "MemTotal:       24684084 kB\nMemFree:        22743464 kB\nMemAvailable:   24028240 kB\n";
        assert_eq!(parse_mem_available_kib(text), Some(24_028_240));
        assert_eq!(parse_mem_available_kib("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available_kib("MemAvailable: lots\n"), None);
    }

    #[test]
    fn drops_are_shared_between_capsules() {
        assert_eq!(drop_per_capsule_mib(10 * 1024, 6 * 1024, 4), Some(1.0));
        assert_eq!(drop_per_capsule_mib(1024, 2048, 1), Some(-1.0));
        assert_eq!(drop_per_capsule_mib(1024, 0, 0), None);
    }
}
