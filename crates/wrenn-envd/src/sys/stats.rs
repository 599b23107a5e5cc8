//! Resource figures of the capsule as seen from inside: CPU, memory, disk.
//!
//! Inside a container `/proc/meminfo` describes the host, so memory prefers
//! the capsule's own cgroup (v2 `memory.current`/`memory.max`, v1
//! `memory.usage_in_bytes`/`memory.limit_in_bytes`) when it is visible.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Samples whole-system CPU use from `/proc/stat` once a second.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuSampler {
    used_pct_bits: Arc<AtomicU64>,
}

impl CpuSampler {
    /// Starts sampling on the current tokio runtime.
    pub(crate) fn start() -> CpuSampler {
        let sampler = CpuSampler::default();
        let bits = Arc::clone(&sampler.used_pct_bits);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let mut previous = read_cpu_times();
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    let now = read_cpu_times();
                    if let (Some((busy0, total0)), Some((busy1, total1))) = (previous, now) {
                        let total = total1.saturating_sub(total0);
                        if total > 0 {
                            let pct = 100.0 * busy1.saturating_sub(busy0) as f64 / total as f64;
                            bits.store(pct.clamp(0.0, 100.0).to_bits(), Ordering::Relaxed);
                        }
                    }
                    previous = now;
                }
            });
        }
        sampler
    }

    pub(crate) fn used_pct(&self) -> f64 {
        f64::from_bits(self.used_pct_bits.load(Ordering::Relaxed))
    }
}

/// (busy, total) jiffies from the first line of `/proc/stat`.
fn read_cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(stat.lines().next()?)
}

fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
    if values.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal; guest time is already
    // counted in user and nice.
    let total: u64 = values.iter().take(8).sum();
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

pub(crate) fn cpu_count() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) total: u64,
    pub(crate) used: u64,
}

pub(crate) fn memory() -> Usage {
    let host = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| parse_meminfo(&m))
        .unwrap_or(Usage { total: 0, used: 0 });
    cgroup_memory(host.total).unwrap_or(host)
}

fn parse_meminfo(meminfo: &str) -> Option<Usage> {
    let field = |name: &str| {
        meminfo
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")?;
    Some(Usage { total, used: total.saturating_sub(available) })
}

fn cgroup_memory(host_total: u64) -> Option<Usage> {
    let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned());
    let (current, limit) = match (read("/sys/fs/cgroup/memory.current"), read("/sys/fs/cgroup/memory.max")) {
        (Some(current), Some(limit)) => (current, limit),
        _ => {
            (read("/sys/fs/cgroup/memory/memory.usage_in_bytes")?, read("/sys/fs/cgroup/memory/memory.limit_in_bytes")?)
        }
    };
    let used: u64 = current.parse().ok()?;
    // "max" (v2) or a huge number (v1) means no limit: the host's total applies.
    let total = limit.parse::<u64>().ok().filter(|l| *l < host_total).unwrap_or(host_total);
    Some(Usage { total, used: used.min(total) })
}

pub(crate) fn disk(path: &str) -> Usage {
    match nix::sys::statvfs::statvfs(path) {
        Ok(stat) => {
            let block = stat.fragment_size();
            let total = stat.blocks() * block;
            let available = stat.blocks_available() * block;
            Usage { total, used: total.saturating_sub(available) }
        }
        Err(_) => Usage { total: 0, used: 0 },
    }
}

/// Steps the clock to `unix_secs` when it is off by more than 50 ms (after
/// a snapshot restore the guest clock lags). Best effort: a container has no
/// clock of its own and may not set it.
pub(crate) fn sync_clock(unix_secs: f64) {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    if (now - unix_secs).abs() < 0.05 || !unix_secs.is_finite() || unix_secs <= 0.0 {
        return;
    }
    let spec = nix::sys::time::TimeSpec::new(unix_secs.trunc() as i64, (unix_secs.fract() * 1e9) as i64);
    if let Err(err) = nix::time::clock_settime(nix::time::ClockId::CLOCK_REALTIME, spec) {
        tracing::debug!(error = %err, "could not set the clock");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_line() {
        assert_eq!(parse_cpu_line("cpu  100 0 50 800 50 0 0 0 0 0"), Some((150, 1000)));
        assert_eq!(parse_cpu_line("cpu0 1 2 3 4"), None);
        assert_eq!(parse_cpu_line("cpu 1 2"), None);
    }

    #[test]
    fn meminfo() {
        let text = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n";
        assert_eq!(parse_meminfo(text), Some(Usage { total: 1_024_000, used: 614_400 }));
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
    }
}
