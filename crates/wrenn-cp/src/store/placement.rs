//! Choosing a host for a new capsule, as pure functions over a snapshot of
//! host loads. The snapshot may be stale by the time the capsule is
//! admitted; it only orders the candidates. Admission itself is the store's
//! guarded reservation (`reserved + asked <= usable`), which is what makes
//! concurrent creates unable to over-admit.
//!
//! Usable capacity is the host's total minus what is kept back for the host
//! itself ([`HostReserve`]). Memory and disk are admitted on; CPU may be
//! overcommitted and only steers the choice.

use std::cmp::Ordering;

use wrenn_types::HostId;

/// What each host keeps back for itself (agent, kernel, page cache,
/// templates): never given to capsules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostReserve {
    pub memory_mb: u64,
    pub disk_mb: u64,
}

/// What a capsule asks of its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
}

/// One online host of the pool, with its totals and current reservations.
#[derive(Debug, Clone, PartialEq)]
pub struct HostLoad {
    pub host_id: HostId,
    pub created_at: i64,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub reserved_vcpus: u64,
    pub reserved_memory_mb: u64,
    pub reserved_disk_mb: u64,
}

impl HostLoad {
    pub fn usable_memory_mb(&self, reserve: HostReserve) -> u64 {
        self.memory_mb.saturating_sub(reserve.memory_mb)
    }

    pub fn usable_disk_mb(&self, reserve: HostReserve) -> u64 {
        self.disk_mb.saturating_sub(reserve.disk_mb)
    }
}

/// Whether `ask` fits on `host` as its load stands.
pub fn fits(host: &HostLoad, ask: Ask, reserve: HostReserve) -> bool {
    host.reserved_memory_mb.saturating_add(ask.memory_mb) <= host.usable_memory_mb(reserve)
        && host.reserved_disk_mb.saturating_add(ask.disk_mb) <= host.usable_disk_mb(reserve)
}

/// How free a host is, in [0, 1]: the smallest free fraction of memory,
/// disk and CPU, so the scarcest resource decides. A resource with no
/// usable capacity counts as full.
pub fn score(host: &HostLoad, reserve: HostReserve) -> f64 {
    let free = |reserved: u64, total: u64| {
        if total == 0 { 0.0 } else { (1.0 - reserved as f64 / total as f64).clamp(0.0, 1.0) }
    };
    let memory = free(host.reserved_memory_mb, host.usable_memory_mb(reserve));
    let disk = free(host.reserved_disk_mb, host.usable_disk_mb(reserve));
    let cpu = free(host.reserved_vcpus, u64::from(host.cpu_cores));
    memory.min(disk).min(cpu)
}

/// The hosts `ask` fits on, least loaded first; ties go to the host created
/// first, then the smaller id, so the order is total and stable.
pub fn rank(hosts: &[HostLoad], ask: Ask, reserve: HostReserve) -> Vec<HostId> {
    let mut fitting: Vec<(&HostLoad, f64)> =
        hosts.iter().filter(|host| fits(host, ask, reserve)).map(|host| (host, score(host, reserve))).collect();
    fitting.sort_by(|(a, a_score), (b, b_score)| {
        b_score
            .partial_cmp(a_score)
            .unwrap_or(Ordering::Equal)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.host_id.cmp(&b.host_id))
    });
    fitting.into_iter().map(|(host, _)| host.host_id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESERVE: HostReserve = HostReserve { memory_mb: 1024, disk_mb: 10_240 };

    fn host(n: u128, memory_mb: u64, reserved_memory_mb: u64, reserved_disk_mb: u64, reserved_vcpus: u64) -> HostLoad {
        HostLoad {
            host_id: HostId::from_u128(n),
            created_at: i64::try_from(n).unwrap(),
            cpu_cores: 8,
            memory_mb,
            disk_mb: 30_720,
            reserved_vcpus,
            reserved_memory_mb,
            reserved_disk_mb,
        }
    }

    fn ask(memory_mb: u64, disk_mb: u64) -> Ask {
        Ask { vcpus: 1, memory_mb, disk_mb }
    }

    #[test]
    fn admission_is_on_usable_memory_and_disk() {
        // (host memory, reserved memory, reserved disk, asked memory, asked disk, fits)
        let cases = [
            (4096, 0, 0, 3072, 0, true),
            (4096, 0, 0, 3073, 0, false),
            (4096, 2048, 0, 1024, 0, true),
            (4096, 2048, 0, 1025, 0, false),
            (4096, 0, 20_480, 0, 0, true),
            (4096, 0, 20_480, 0, 1, false),
            (512, 0, 0, 0, 0, true),
            (512, 0, 0, 1, 0, false),
        ];
        for (memory, reserved_memory, reserved_disk, asked_memory, asked_disk, want) in cases {
            let host = host(1, memory, reserved_memory, reserved_disk, 0);
            assert_eq!(
                fits(&host, ask(asked_memory, asked_disk), RESERVE),
                want,
                "{host:?} asked {asked_memory}/{asked_disk}"
            );
        }
    }

    #[test]
    fn score_is_the_scarcest_free_fraction() {
        // (reserved memory of 3072 usable, reserved disk of 20480 usable, reserved vcpus of 8, score)
        let cases = [
            (0, 0, 0, 1.0),
            (1536, 0, 0, 0.5),
            (0, 15_360, 0, 0.25),
            (0, 0, 6, 0.25),
            (0, 0, 16, 0.0),
            (3072, 0, 0, 0.0),
        ];
        for (memory, disk, vcpus, want) in cases {
            let got = score(&host(1, 4096, memory, disk, vcpus), RESERVE);
            assert!((got - want).abs() < 1e-9, "{memory}/{disk}/{vcpus}: {got} != {want}");
        }
        let no_usable_memory = host(1, 1024, 0, 0, 0);
        assert_eq!(score(&no_usable_memory, RESERVE), 0.0);
    }

    #[test]
    fn ranking_prefers_the_least_loaded_then_the_oldest() {
        let hosts = [
            host(1, 4096, 2048, 0, 0), // half full
            host(2, 4096, 0, 0, 0),    // empty
            host(3, 4096, 3072, 0, 0), // full
            host(4, 4096, 0, 0, 0),    // empty, newer than 2
        ];
        let ids: Vec<u128> = rank(&hosts, ask(512, 0), RESERVE).into_iter().map(HostId::as_u128).collect();
        assert_eq!(ids, [2, 4, 1]);
        assert!(rank(&hosts, ask(4096, 0), RESERVE).is_empty());
        assert!(rank(&[], ask(1, 0), RESERVE).is_empty());
    }
}
