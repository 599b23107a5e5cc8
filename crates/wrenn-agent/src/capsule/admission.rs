//! Pure decisions of the capsule manager: whether a create request is
//! acceptable on this host, which operation a capsule in a given state may
//! run, and how CPU use turns into a percentage. No IO and no locks here, so
//! every rule is table-tested below.

use std::fmt;
use std::time::Duration;

/// Where a capsule is in its life (see the diagram in `capsule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapsuleState {
    Starting,
    Running,
    Paused,
    /// Processes and memory written to disk and ended; disk, network and
    /// limits kept. `resume` restores it, running.
    Hibernated,
    Stopping,
    Stopped,
    /// An operation failed half way; only `destroy` is accepted.
    Error,
}

impl fmt::Display for CapsuleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapsuleState::Starting => "starting",
            CapsuleState::Running => "running",
            CapsuleState::Paused => "paused",
            CapsuleState::Hibernated => "hibernated",
            CapsuleState::Stopping => "stopping",
            CapsuleState::Stopped => "stopped",
            CapsuleState::Error => "in error",
        })
    }
}

/// What a request asks of a capsule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Destroy,
    Pause,
    Resume,
    Hibernate,
    Ping,
    Snapshot,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "create",
            Operation::Destroy => "destroy",
            Operation::Pause => "pause",
            Operation::Resume => "resume",
            Operation::Hibernate => "hibernate",
            Operation::Ping => "ping",
            Operation::Snapshot => "snapshot",
        })
    }
}

/// What the owner of a capsule does with an operation in its current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Do the work.
    Run,
    /// Already where the operation leads (pause of a paused capsule): succeed
    /// without doing anything.
    AlreadyDone,
    /// Refuse with `InvalidState`.
    Refuse,
}

pub(crate) fn admit(state: CapsuleState, operation: Operation) -> Admission {
    use CapsuleState::*;
    use Operation::*;
    match (operation, state) {
        (Destroy, Stopped) => Admission::AlreadyDone,
        (Destroy, _) => Admission::Run,
        (Pause, Running) | (Resume, Paused | Hibernated) | (Hibernate, Running | Paused) => Admission::Run,
        (Pause, Paused) | (Resume, Running) | (Hibernate, Hibernated) => Admission::AlreadyDone,
        (Ping, Running | Paused) => Admission::Run,
        (Snapshot, Running | Paused) => Admission::Run,
        (Create, _) | (Pause | Resume | Hibernate | Ping | Snapshot, _) => Admission::Refuse,
    }
}

/// Whether a running capsule has been idle long enough to pause. A timeout
/// of zero never pauses.
pub(crate) fn idle_expired(state: CapsuleState, idle: Duration, timeout_sec: u64) -> bool {
    state == CapsuleState::Running && timeout_sec > 0 && idle >= Duration::from_secs(timeout_sec)
}

/// CPU use over one sampling interval, as a share of the capsule's vcpus
/// (100 % = all of them busy). Counter resets give 0, not a negative value.
pub(crate) fn cpu_percent(previous_ns: u64, current_ns: u64, wall: Duration, vcpus: u32) -> f64 {
    let wall_ns = wall.as_nanos() as f64 * f64::from(vcpus.max(1));
    if wall_ns <= 0.0 {
        return 0.0;
    }
    let used = current_ns.saturating_sub(previous_ns) as f64;
    (used / wall_ns * 100.0).clamp(0.0, 100.0)
}

/// The host's capacity, against which create requests are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    pub cpus: u32,
    pub memory_mb: u64,
    /// Largest disk a capsule may ask for.
    pub max_disk_mb: u64,
    /// Longest inactivity timeout accepted (0 = never is always accepted).
    pub max_timeout_sec: u64,
}

/// Why a create request is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecProblem {
    #[error("vcpus must be at least 1")]
    NoVcpus,
    #[error("{asked} vcpus asked, the host has {host}")]
    TooManyVcpus { asked: u32, host: u32 },
    #[error("memory must be at least {min} MiB, {asked} MiB asked")]
    TooLittleMemory { asked: u64, min: u64 },
    #[error("{asked} MiB of memory asked, the host has {host} MiB")]
    TooMuchMemory { asked: u64, host: u64 },
    #[error("{asked} MiB of disk asked, at most {max} MiB allowed")]
    TooMuchDisk { asked: u64, max: u64 },
    #[error("disk must be at least {min} MiB when limited, {asked} MiB asked")]
    TooLittleDisk { asked: u64, min: u64 },
    #[error("timeout of {asked} s exceeds the maximum of {max} s")]
    TimeoutTooLong { asked: u64, max: u64 },
    #[error("invalid environment variable name {name:?}")]
    BadEnvName { name: String },
    #[error("invalid default user {name:?}")]
    BadUser { name: String },
}

/// Smallest memory limit envd and a shell run in.
pub const MIN_MEMORY_MB: u64 = 32;
/// Smallest ext4 image the runtime can make usefully (0 = no disk limit).
pub const MIN_DISK_MB: u64 = 16;

/// The numbers of a create request, checked against the host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub(crate) vcpus: u32,
    pub(crate) memory_mb: u64,
    pub(crate) disk_mb: u64,
    pub(crate) timeout_sec: u64,
    pub(crate) default_user: Option<&'a str>,
}

pub(crate) fn check_spec<'a>(
    asked: Asked<'a>,
    env_names: impl IntoIterator<Item = &'a str>,
    host: &HostLimits,
) -> Result<(), SpecProblem> {
    if asked.vcpus == 0 {
        return Err(SpecProblem::NoVcpus);
    }
    if asked.vcpus > host.cpus {
        return Err(SpecProblem::TooManyVcpus { asked: asked.vcpus, host: host.cpus });
    }
    if asked.memory_mb < MIN_MEMORY_MB {
        return Err(SpecProblem::TooLittleMemory { asked: asked.memory_mb, min: MIN_MEMORY_MB });
    }
    if asked.memory_mb > host.memory_mb {
        return Err(SpecProblem::TooMuchMemory { asked: asked.memory_mb, host: host.memory_mb });
    }
    if asked.disk_mb > host.max_disk_mb {
        return Err(SpecProblem::TooMuchDisk { asked: asked.disk_mb, max: host.max_disk_mb });
    }
    if asked.disk_mb != 0 && asked.disk_mb < MIN_DISK_MB {
        return Err(SpecProblem::TooLittleDisk { asked: asked.disk_mb, min: MIN_DISK_MB });
    }
    if asked.timeout_sec > host.max_timeout_sec {
        return Err(SpecProblem::TimeoutTooLong { asked: asked.timeout_sec, max: host.max_timeout_sec });
    }
    if let Some(bad) = env_names.into_iter().find(|name| name.is_empty() || name.contains(['=', '\0'])) {
        return Err(SpecProblem::BadEnvName { name: bad.to_owned() });
    }
    if let Some(user) = asked.default_user {
        let valid = !user.is_empty()
            && user.len() <= 32
            && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid {
            return Err(SpecProblem::BadUser { name: user.to_owned() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: HostLimits = HostLimits { cpus: 8, memory_mb: 16_000, max_disk_mb: 100_000, max_timeout_sec: 86_400 };

    fn asked(vcpus: u32, memory_mb: u64, disk_mb: u64) -> Asked<'static> {
        Asked { vcpus, memory_mb, disk_mb, timeout_sec: 300, default_user: Some("root") }
    }

    #[test]
    fn specs_are_checked_against_the_host() {
        let table: &[(Asked<'static>, &[&str], Result<(), SpecProblem>)] = &[
            (asked(1, 512, 1024), &["PATH"], Ok(())),
            (asked(8, 16_000, 0), &[], Ok(())),
            (asked(0, 512, 0), &[], Err(SpecProblem::NoVcpus)),
            (asked(9, 512, 0), &[], Err(SpecProblem::TooManyVcpus { asked: 9, host: 8 })),
            (asked(u32::MAX, 512, 0), &[], Err(SpecProblem::TooManyVcpus { asked: u32::MAX, host: 8 })),
            (asked(1, 16_001, 0), &[], Err(SpecProblem::TooMuchMemory { asked: 16_001, host: 16_000 })),
            (asked(1, 0, 0), &[], Err(SpecProblem::TooLittleMemory { asked: 0, min: MIN_MEMORY_MB })),
            (asked(1, 512, 100_001), &[], Err(SpecProblem::TooMuchDisk { asked: 100_001, max: 100_000 })),
            (asked(1, 512, 1), &[], Err(SpecProblem::TooLittleDisk { asked: 1, min: MIN_DISK_MB })),
            (asked(1, 512, 0), &["A=B"], Err(SpecProblem::BadEnvName { name: "A=B".into() })),
            (asked(1, 512, 0), &[""], Err(SpecProblem::BadEnvName { name: String::new() })),
            (
                Asked { timeout_sec: 86_401, ..asked(1, 512, 0) },
                &[],
                Err(SpecProblem::TimeoutTooLong { asked: 86_401, max: 86_400 }),
            ),
            (
                Asked { default_user: Some("../etc"), ..asked(1, 512, 0) },
                &[],
                Err(SpecProblem::BadUser { name: "../etc".into() }),
            ),
            (Asked { default_user: None, timeout_sec: 0, ..asked(1, 512, 0) }, &[], Ok(())),
        ];
        for (asked, env, want) in table {
            assert_eq!(check_spec(*asked, env.iter().copied(), &HOST), *want, "{asked:?} {env:?}");
        }
    }

    #[test]
    fn operations_by_state() {
        use Admission::*;
        use CapsuleState::*;
        use Operation::*;
        let states = [Starting, Running, Paused, Hibernated, Stopping, Stopped, Error];
        let table: &[(Operation, [Admission; 7])] = &[
            (Destroy, [Run, Run, Run, Run, Run, AlreadyDone, Run]),
            (Pause, [Refuse, Run, AlreadyDone, Refuse, Refuse, Refuse, Refuse]),
            (Resume, [Refuse, AlreadyDone, Run, Run, Refuse, Refuse, Refuse]),
            (Hibernate, [Refuse, Run, Run, AlreadyDone, Refuse, Refuse, Refuse]),
            (Ping, [Refuse, Run, Run, Refuse, Refuse, Refuse, Refuse]),
            (Snapshot, [Refuse, Run, Run, Refuse, Refuse, Refuse, Refuse]),
            (Create, [Refuse; 7]),
        ];
        for (operation, row) in table {
            for (state, want) in states.iter().zip(row) {
                assert_eq!(admit(*state, *operation), *want, "{operation} while {state}");
            }
        }
    }

    #[test]
    fn idleness_and_cpu() {
        let s = Duration::from_secs;
        assert!(idle_expired(CapsuleState::Running, s(10), 10));
        assert!(!idle_expired(CapsuleState::Running, s(9), 10));
        assert!(!idle_expired(CapsuleState::Running, s(1000), 0));
        assert!(!idle_expired(CapsuleState::Paused, s(1000), 10));
        assert!(!idle_expired(CapsuleState::Hibernated, s(1000), 10));
        let table = [
            (0, 1_000_000_000, s(1), 1, 100.0),
            (0, 1_000_000_000, s(1), 2, 50.0),
            (0, 250_000_000, s(1), 1, 25.0),
            (5, 3, s(1), 1, 0.0),
            (0, 10, Duration::ZERO, 1, 0.0),
            (0, 3_000_000_000, s(1), 1, 100.0),
        ];
        for (previous, current, wall, vcpus, want) in table {
            let got = cpu_percent(previous, current, wall, vcpus);
            assert!((got - want).abs() < 1e-9, "{previous} {current} {wall:?} {vcpus}: {got}");
        }
    }
}
