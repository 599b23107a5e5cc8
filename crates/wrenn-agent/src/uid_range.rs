//! Which host uids and gids each capsule's user namespace maps to.
//!
//! Every capsule gets a range of its own, so root in one capsule is a
//! different unprivileged host user from root in any other: a process that
//! escapes one capsule's mount namespace still cannot touch another's files
//! or signal its processes. The range is a pure function of the capsule's
//! network slot (which is unique among live capsules and survives an agent
//! restart in the capsule's record), so no allocator state is needed:
//!
//! ```text
//! base(slot) = FIRST_BASE + slot * IDS_PER_CAPSULE      capsule uid n ↔ host uid base + n
//! slot 1     → 1_114_112 .. 1_179_647
//! slot 16383 → 1_074_724_864 .. 1_074_790_399           (< 2^31)
//! ```
//!
//! Host ids below [`FIRST_BASE`] (2^20) stay for the host: regular users,
//! system accounts, `nobody` (65534) and the usual `/etc/subuid` ranges
//! (100000 + 65536 per user, so up to 14 users before they reach 2^20). The
//! host must not hand ids between 2^20 and 2^31 to anything else. Everything
//! stays below 2^31 because some tools still treat ids as signed.
//!
//! Templates are stored canonical (owned by the ids capsules see, 0-based)
//! and mapped into a capsule's range by an idmapped mount (`sys::rootfs`).

use crate::network::slots::MAX_SLOTS;

/// Ids mapped into every capsule: capsule uid `0..65536`.
pub const IDS_PER_CAPSULE: u32 = 1 << 16;
/// Host uid of root in slot 0 (never a capsule's): 2^20.
pub const FIRST_BASE: u32 = 1 << 20;

/// The host ids of one capsule: `base..base + IDS_PER_CAPSULE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidRange {
    /// Host uid (and gid) of root in the capsule.
    pub base: u32,
}

impl UidRange {
    /// The range of the capsule in network slot `slot` (`1..=MAX_SLOTS`;
    /// larger slots are clamped so the range never leaves the reserved area).
    pub fn for_slot(slot: u16) -> UidRange {
        let slot = u32::from(slot.min(MAX_SLOTS));
        UidRange { base: FIRST_BASE + slot * IDS_PER_CAPSULE }
    }

    /// The host id of capsule id `id`, if the capsule maps it.
    pub fn host_id(self, id: u32) -> Option<u32> {
        (id < IDS_PER_CAPSULE).then(|| self.base + id)
    }

    /// The capsule id of host id `host`, if it lies in this range.
    pub fn capsule_id(self, host: u32) -> Option<u32> {
        host.checked_sub(self.base).filter(|id| *id < IDS_PER_CAPSULE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_all_slots_are_disjoint_reserved_and_below_2_31() {
        let mut previous_end = FIRST_BASE + IDS_PER_CAPSULE;
        for slot in 1..=MAX_SLOTS {
            let range = UidRange::for_slot(slot);
            assert_eq!(range.base, previous_end, "slot {slot} starts where the previous one ends");
            previous_end = range.base.checked_add(IDS_PER_CAPSULE).unwrap();
        }
        assert!(previous_end <= 1 << 31, "{previous_end}");
        assert_eq!(UidRange::for_slot(1).base, 1_114_112);
        assert_eq!(UidRange::for_slot(MAX_SLOTS).base, 1_074_724_864);
        // Host ids (users, nobody, the first subuid ranges) are never a capsule's.
        for host in [0, 1000, 65_534, 100_000, 165_535, FIRST_BASE - 1] {
            assert!(host < UidRange::for_slot(1).base);
        }
        assert_eq!(UidRange::for_slot(u16::MAX), UidRange::for_slot(MAX_SLOTS));
    }

    #[test]
    fn ids_translate_both_ways_inside_the_range_only() {
        let range = UidRange::for_slot(3);
        assert_eq!(range.host_id(0), Some(range.base));
        assert_eq!(range.host_id(42), Some(range.base + 42));
        assert_eq!(range.host_id(IDS_PER_CAPSULE), None);
        assert_eq!(range.capsule_id(range.base + 42), Some(42));
        assert_eq!(range.capsule_id(range.base - 1), None);
        assert_eq!(range.capsule_id(range.base + IDS_PER_CAPSULE), None);
        assert_eq!(range.capsule_id(0), None);
    }
}
