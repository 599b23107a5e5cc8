//! The capsule state machine of API generation 0.2.x, as pure data: the
//! statuses, and for every operation the states it may start from and the
//! state it leads to. The store turns one operation into one guarded
//! `UPDATE … WHERE status IN (from)`, so the table here is the whole truth
//! about which concurrent change wins.
//!
//! ```text
//! pending ─start─▶ starting ─started─▶ running ─pause─▶ pausing ─paused─▶ paused
//!    └──────────started───────────────▶   ▲  ◀─pause failed─┘              │
//!                                         └──────resumed── resuming ◀─resume┘
//! running|paused ─snapshot─▶ snapshotting ─done─▶ running|paused
//! running|paused ─hibernate─▶ hibernating ─hibernated─▶ hibernated ─resume─▶ resuming
//! any active ─stop─▶ stopping ─stopped─▶ stopped      any active ─lost─▶ stopped
//! any active ─fail─▶ error ─discard─▶ stopped
//! active on a silent host ─mark missing─▶ missing ─restore─▶ running|paused
//! ```
//!
//! Resources: a capsule holds its full reservation (vcpus, memory, disk) on
//! its host in every state but `stopped` and `error`. Paused capsules keep
//! it because the container runtime's frozen processes keep their memory;
//! `missing` keeps it so a returning host always has room for its own
//! capsules; `hibernated` keeps it until hibernation exists
//! (`docs/dev/hibernate.md`) and can say what it frees. The reservation is
//! released exactly once: by the one transition that wins into `stopped` or
//! `error` from a holding state.

use std::fmt;
use std::str::FromStr;

/// Where a capsule is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CapsuleStatus {
    Pending,
    Starting,
    Running,
    Pausing,
    Paused,
    Resuming,
    Snapshotting,
    Hibernating,
    Hibernated,
    Stopping,
    Stopped,
    Error,
    Missing,
}

use CapsuleStatus::*;

/// Every state that holds host resources: all but `stopped` and `error`.
const ACTIVE: &[CapsuleStatus] =
    &[Pending, Starting, Running, Pausing, Paused, Resuming, Snapshotting, Hibernating, Hibernated, Stopping, Missing];
/// What `stop` starts from: every active state but `stopping` itself.
const STOPPABLE: &[CapsuleStatus] =
    &[Pending, Starting, Running, Pausing, Paused, Resuming, Snapshotting, Hibernating, Hibernated, Missing];
/// What lives on a host and so goes missing with it. A `stopping` capsule
/// stays `stopping`: the reconciler finishes the stop when the host is back.
const ON_HOST: &[CapsuleStatus] =
    &[Pending, Starting, Running, Pausing, Paused, Resuming, Snapshotting, Hibernating, Hibernated];

impl CapsuleStatus {
    pub const ALL: [CapsuleStatus; 13] = [
        Pending,
        Starting,
        Running,
        Pausing,
        Paused,
        Resuming,
        Snapshotting,
        Hibernating,
        Hibernated,
        Stopping,
        Stopped,
        Error,
        Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pending => "pending",
            Starting => "starting",
            Running => "running",
            Pausing => "pausing",
            Paused => "paused",
            Resuming => "resuming",
            Snapshotting => "snapshotting",
            Hibernating => "hibernating",
            Hibernated => "hibernated",
            Stopping => "stopping",
            Stopped => "stopped",
            Error => "error",
            Missing => "missing",
        }
    }

    /// `stopped` and `error`: the capsule is gone from its host and holds
    /// nothing; only `discard` (error → stopped) leaves one of them.
    pub fn is_terminal(self) -> bool {
        matches!(self, Stopped | Error)
    }

    /// Whether the capsule's reservation counts on its host.
    pub fn holds_resources(self) -> bool {
        !self.is_terminal()
    }

    /// States whose background work may die with the process doing it; the
    /// reconciler resolves capsules stuck in them.
    pub fn is_transitional(self) -> bool {
        matches!(self, Starting | Pausing | Resuming | Snapshotting | Hibernating | Stopping)
    }
}

impl fmt::Display for CapsuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a capsule status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capsule status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for CapsuleStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<CapsuleStatus, UnknownStatus> {
        CapsuleStatus::ALL.into_iter().find(|status| status.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A change of state, named by what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapsuleOp {
    /// Background creation begins.
    Start,
    /// The agent created the capsule.
    Started,
    Pause,
    Paused,
    PauseFailed,
    /// The agent paused an idle capsule on its own.
    AutoPaused,
    Resume,
    Resumed,
    ResumeFailed,
    Snapshot,
    SnapshotDoneRunning,
    SnapshotDonePaused,
    Hibernate,
    Hibernated,
    HibernateFailed,
    /// Destroy requested.
    Stop,
    Stopped,
    /// The capsule is gone from its host (died, or never came back).
    Lost,
    /// Something failed beyond repair; the reason says what.
    Fail,
    /// An errored capsule is destroyed.
    Discard,
    /// Its host stopped answering.
    MarkMissing,
    /// Its host is back and the capsule runs.
    RestoreRunning,
    /// Its host is back and the capsule is paused.
    RestorePaused,
}

impl CapsuleOp {
    pub const ALL: [CapsuleOp; 23] = [
        CapsuleOp::Start,
        CapsuleOp::Started,
        CapsuleOp::Pause,
        CapsuleOp::Paused,
        CapsuleOp::PauseFailed,
        CapsuleOp::AutoPaused,
        CapsuleOp::Resume,
        CapsuleOp::Resumed,
        CapsuleOp::ResumeFailed,
        CapsuleOp::Snapshot,
        CapsuleOp::SnapshotDoneRunning,
        CapsuleOp::SnapshotDonePaused,
        CapsuleOp::Hibernate,
        CapsuleOp::Hibernated,
        CapsuleOp::HibernateFailed,
        CapsuleOp::Stop,
        CapsuleOp::Stopped,
        CapsuleOp::Lost,
        CapsuleOp::Fail,
        CapsuleOp::Discard,
        CapsuleOp::MarkMissing,
        CapsuleOp::RestoreRunning,
        CapsuleOp::RestorePaused,
    ];

    /// The states this operation may start from.
    pub fn from(self) -> &'static [CapsuleStatus] {
        match self {
            CapsuleOp::Start => &[Pending],
            CapsuleOp::Started => &[Pending, Starting],
            CapsuleOp::Pause | CapsuleOp::AutoPaused => &[Running],
            CapsuleOp::Paused | CapsuleOp::PauseFailed => &[Pausing],
            CapsuleOp::Resume => &[Paused, Hibernated],
            CapsuleOp::Resumed | CapsuleOp::ResumeFailed => &[Resuming],
            CapsuleOp::Snapshot | CapsuleOp::Hibernate => &[Running, Paused],
            CapsuleOp::SnapshotDoneRunning | CapsuleOp::SnapshotDonePaused => &[Snapshotting],
            CapsuleOp::Hibernated | CapsuleOp::HibernateFailed => &[Hibernating],
            CapsuleOp::Stop => STOPPABLE,
            CapsuleOp::Stopped => &[Stopping],
            CapsuleOp::Lost | CapsuleOp::Fail => ACTIVE,
            CapsuleOp::Discard => &[Error],
            CapsuleOp::MarkMissing => ON_HOST,
            CapsuleOp::RestoreRunning | CapsuleOp::RestorePaused => &[Missing],
        }
    }

    /// The state this operation leads to.
    pub fn to(self) -> CapsuleStatus {
        match self {
            CapsuleOp::Start => Starting,
            CapsuleOp::Started
            | CapsuleOp::PauseFailed
            | CapsuleOp::Resumed
            | CapsuleOp::SnapshotDoneRunning
            | CapsuleOp::RestoreRunning => Running,
            CapsuleOp::Pause => Pausing,
            CapsuleOp::Paused
            | CapsuleOp::AutoPaused
            | CapsuleOp::ResumeFailed
            | CapsuleOp::SnapshotDonePaused
            | CapsuleOp::HibernateFailed
            | CapsuleOp::RestorePaused => Paused,
            CapsuleOp::Resume => Resuming,
            CapsuleOp::Snapshot => Snapshotting,
            CapsuleOp::Hibernate => Hibernating,
            CapsuleOp::Hibernated => Hibernated,
            CapsuleOp::Stop => Stopping,
            CapsuleOp::Stopped | CapsuleOp::Lost | CapsuleOp::Discard => Stopped,
            CapsuleOp::Fail => Error,
            CapsuleOp::MarkMissing => Missing,
        }
    }

    /// Whether `status` is one this operation may start from.
    pub fn allows(self, status: CapsuleStatus) -> bool {
        self.from().contains(&status)
    }

    /// Whether winning this operation must give the capsule's reservation
    /// back to its host. Every operation's `from` states agree on holding
    /// (a table test checks it), so the answer never depends on which of
    /// them the capsule was in.
    pub fn releases(self) -> bool {
        self.from().iter().all(|status| status.holds_resources()) && !self.to().holds_resources()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for status in CapsuleStatus::ALL {
            assert_eq!(status.as_str().parse::<CapsuleStatus>(), Ok(status));
        }
        assert!("Running".parse::<CapsuleStatus>().is_err());
        assert!("hibernate".parse::<CapsuleStatus>().is_err());
    }

    #[test]
    fn every_operation_starts_from_states_that_agree_on_holding() {
        for op in CapsuleOp::ALL {
            let from = op.from();
            assert!(!from.is_empty(), "{op:?}");
            let holding = from[0].holds_resources();
            assert!(from.iter().all(|s| s.holds_resources() == holding), "{op:?} mixes holding and free states");
            assert!(!from.contains(&op.to()), "{op:?} would be a no-op from {}", op.to());
            // Nothing takes a reservation back once released.
            assert!(holding || !op.to().holds_resources(), "{op:?} re-acquires resources");
        }
    }

    #[test]
    fn only_transitions_into_stopped_or_error_from_holding_states_release() {
        let releasing: Vec<CapsuleOp> = CapsuleOp::ALL.into_iter().filter(|op| op.releases()).collect();
        assert_eq!(releasing, [CapsuleOp::Stopped, CapsuleOp::Lost, CapsuleOp::Fail]);
    }

    #[test]
    fn terminal_states_are_left_only_by_discard() {
        for op in CapsuleOp::ALL {
            if op.from().iter().any(|s| s.is_terminal()) {
                assert_eq!(op, CapsuleOp::Discard);
            }
        }
    }

    #[test]
    fn operations_by_state() {
        // (operation, state, allowed)
        let cases = [
            (CapsuleOp::Start, Pending, true),
            (CapsuleOp::Start, Starting, false),
            (CapsuleOp::Started, Pending, true),
            (CapsuleOp::Started, Starting, true),
            (CapsuleOp::Started, Stopping, false),
            (CapsuleOp::Pause, Running, true),
            (CapsuleOp::Pause, Paused, false),
            (CapsuleOp::Pause, Resuming, false),
            (CapsuleOp::Resume, Paused, true),
            (CapsuleOp::Resume, Hibernated, true),
            (CapsuleOp::Resume, Running, false),
            (CapsuleOp::Snapshot, Running, true),
            (CapsuleOp::Snapshot, Paused, true),
            (CapsuleOp::Snapshot, Snapshotting, false),
            (CapsuleOp::Stop, Missing, true),
            (CapsuleOp::Stop, Stopping, false),
            (CapsuleOp::Stop, Error, false),
            (CapsuleOp::Stop, Stopped, false),
            (CapsuleOp::Discard, Error, true),
            (CapsuleOp::MarkMissing, Running, true),
            (CapsuleOp::MarkMissing, Stopping, false),
            (CapsuleOp::MarkMissing, Missing, false),
            (CapsuleOp::RestoreRunning, Missing, true),
            (CapsuleOp::RestoreRunning, Stopped, false),
            (CapsuleOp::Lost, Stopping, true),
            (CapsuleOp::Fail, Stopped, false),
            (CapsuleOp::AutoPaused, Running, true),
            (CapsuleOp::AutoPaused, Pausing, false),
        ];
        for (op, status, allowed) in cases {
            assert_eq!(op.allows(status), allowed, "{op:?} from {status}");
        }
    }

    #[test]
    fn transitional_states_each_have_a_way_out_to_stopped_or_error() {
        for status in CapsuleStatus::ALL.into_iter().filter(|s| s.is_transitional()) {
            assert!(CapsuleOp::Lost.allows(status) && CapsuleOp::Fail.allows(status), "{status}");
        }
    }
}
