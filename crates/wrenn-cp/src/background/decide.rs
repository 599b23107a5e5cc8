//! What the reconciler does about one capsule, as a pure function of what
//! the store says and what its host's agent says. Table-tested below.
//!
//! The store's status is the truth the API shows; the agent's is the truth
//! on the machine. Stable store states follow the machine (a capsule the
//! agent paused for inactivity becomes `paused`, one that died becomes
//! `stopped`). A transitional state is only resolved once it is `stale`:
//! older than any background task could take, so the task that owned it
//! must have died with its process.

use crate::store::{CapsuleOp, CapsuleStatus};

/// A capsule's state as its agent reports it (`None`: the agent has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnHost {
    Starting,
    Running,
    Paused,
    Hibernated,
    Stopping,
    /// Stopped or errored on the host: it runs nothing.
    Dead,
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Apply a guarded transition with this reason.
    Transition(CapsuleOp, &'static str),
    /// Ask the agent to destroy the capsule (a stop whose task died, or a
    /// capsule the store no longer wants).
    Destroy,
    /// Destroy on the agent, then apply the transition.
    DestroyThen(CapsuleOp, &'static str),
}

pub(crate) const REASON_GONE: &str = "the capsule is gone from its host";
pub(crate) const REASON_IDLE: &str = "paused by its host after the inactivity timeout";
pub(crate) const REASON_CREATE_DIED: &str = "create did not finish: the control plane lost track of it";

/// The action for a capsule the store knows (not terminal) on a host that
/// answered.
pub fn decide(stored: CapsuleStatus, stale: bool, on_host: Option<OnHost>) -> Action {
    use Action::*;
    use CapsuleStatus as S;
    use OnHost as H;
    let alive = matches!(on_host, Some(H::Starting | H::Running | H::Paused | H::Hibernated | H::Stopping));
    match (stored, on_host) {
        // Stable states follow the host.
        (S::Running, Some(H::Running | H::Starting)) => Nothing,
        (S::Running, Some(H::Paused)) => Transition(CapsuleOp::AutoPaused, REASON_IDLE),
        (S::Paused, Some(H::Paused)) | (S::Hibernated, Some(H::Hibernated)) => Nothing,
        // Hibernated is paused as far as the API's state machine goes
        // until the store learns the difference.
        (S::Paused, Some(H::Hibernated)) => Nothing,
        (S::Running | S::Paused | S::Hibernated, _) if !alive => Transition(CapsuleOp::Lost, REASON_GONE),
        // The host came back.
        (S::Missing, Some(H::Running | H::Starting)) => Transition(CapsuleOp::RestoreRunning, "its host is back"),
        (S::Missing, Some(H::Paused | H::Hibernated)) => Transition(CapsuleOp::RestorePaused, "its host is back"),
        (S::Missing, _) => DestroyThen(CapsuleOp::Lost, REASON_GONE),
        // Transitions whose task may still be working: leave them.
        (_, _) if !stale => Nothing,
        (S::Stopping, _) if alive => Destroy,
        (S::Stopping, _) => Transition(CapsuleOp::Stopped, "destroyed"),
        (S::Pending | S::Starting, Some(H::Running)) => Transition(CapsuleOp::Started, ""),
        (S::Pending | S::Starting, _) => DestroyThen(CapsuleOp::Fail, REASON_CREATE_DIED),
        (S::Pausing, Some(H::Paused | H::Hibernated)) => Transition(CapsuleOp::Paused, ""),
        (S::Pausing, Some(H::Running)) => Transition(CapsuleOp::PauseFailed, "pause did not finish"),
        (S::Resuming, Some(H::Running)) => Transition(CapsuleOp::Resumed, ""),
        (S::Resuming, Some(H::Paused | H::Hibernated)) => Transition(CapsuleOp::ResumeFailed, "resume did not finish"),
        (S::Snapshotting, Some(H::Running)) => Transition(CapsuleOp::SnapshotDoneRunning, "snapshot did not finish"),
        (S::Snapshotting, Some(H::Paused | H::Hibernated)) => {
            Transition(CapsuleOp::SnapshotDonePaused, "snapshot did not finish")
        }
        (S::Hibernating, Some(H::Hibernated)) => Transition(CapsuleOp::Hibernated, ""),
        (S::Hibernating, Some(H::Running | H::Paused)) => {
            Transition(CapsuleOp::HibernateFailed, "hibernate did not finish")
        }
        (S::Pausing | S::Resuming | S::Snapshotting | S::Hibernating, _) if !alive => {
            Transition(CapsuleOp::Lost, REASON_GONE)
        }
        _ => Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use CapsuleStatus as S;
    use OnHost as H;

    #[test]
    fn decisions() {
        let table: &[(S, bool, Option<H>, Action)] = &[
            (S::Running, false, Some(H::Running), Nothing),
            (S::Running, false, Some(H::Paused), Transition(CapsuleOp::AutoPaused, REASON_IDLE)),
            (S::Running, false, None, Transition(CapsuleOp::Lost, REASON_GONE)),
            (S::Running, false, Some(H::Dead), Transition(CapsuleOp::Lost, REASON_GONE)),
            (S::Paused, false, Some(H::Paused), Nothing),
            (S::Paused, false, None, Transition(CapsuleOp::Lost, REASON_GONE)),
            (S::Missing, false, Some(H::Running), Transition(CapsuleOp::RestoreRunning, "its host is back")),
            (S::Missing, false, Some(H::Paused), Transition(CapsuleOp::RestorePaused, "its host is back")),
            (S::Missing, false, None, DestroyThen(CapsuleOp::Lost, REASON_GONE)),
            // A fresh transition is left to its task.
            (S::Starting, false, None, Nothing),
            (S::Stopping, false, Some(H::Running), Nothing),
            (S::Pausing, false, Some(H::Running), Nothing),
            // A stale one is resolved by what the host says.
            (S::Starting, true, Some(H::Running), Transition(CapsuleOp::Started, "")),
            (S::Pending, true, None, DestroyThen(CapsuleOp::Fail, REASON_CREATE_DIED)),
            (S::Stopping, true, Some(H::Running), Destroy),
            (S::Stopping, true, None, Transition(CapsuleOp::Stopped, "destroyed")),
            (S::Pausing, true, Some(H::Paused), Transition(CapsuleOp::Paused, "")),
            (S::Pausing, true, Some(H::Running), Transition(CapsuleOp::PauseFailed, "pause did not finish")),
            (S::Resuming, true, Some(H::Running), Transition(CapsuleOp::Resumed, "")),
            (S::Resuming, true, Some(H::Paused), Transition(CapsuleOp::ResumeFailed, "resume did not finish")),
            (
                S::Snapshotting,
                true,
                Some(H::Paused),
                Transition(CapsuleOp::SnapshotDonePaused, "snapshot did not finish"),
            ),
            (S::Resuming, true, None, Transition(CapsuleOp::Lost, REASON_GONE)),
        ];
        for &(stored, stale, on_host, want) in table {
            assert_eq!(decide(stored, stale, on_host), want, "{stored:?} stale={stale} {on_host:?}");
        }
    }

    /// Every transition the reconciler asks for starts from the stored
    /// state it was decided for: a decision never asks the impossible.
    #[test]
    fn every_transition_is_allowed_from_its_state() {
        let hosts = [
            None,
            Some(H::Starting),
            Some(H::Running),
            Some(H::Paused),
            Some(H::Hibernated),
            Some(H::Stopping),
            Some(H::Dead),
        ];
        for stored in CapsuleStatus::ALL {
            if stored.is_terminal() {
                continue;
            }
            for stale in [false, true] {
                for on_host in hosts {
                    if let Transition(op, _) | DestroyThen(op, _) = decide(stored, stale, on_host) {
                        assert!(op.allows(stored), "{op:?} from {stored:?} ({on_host:?}, stale={stale})");
                    }
                }
            }
        }
    }
}
