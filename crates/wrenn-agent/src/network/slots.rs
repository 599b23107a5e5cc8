//! Network slots: which capsule owns which /30 of the capsule subnet.
//!
//! Pure bookkeeping, no netlink here. Slot `n` (1-based) owns the /30 at
//! `base + 4n`: `.1` is the host end of the veth, `.2` the capsule end. A
//! slot is never handed out twice while held.
//!
//! Free slots are handed out in the order they became free (a queue,
//! starting with `1..=MAX_SLOTS` in order): a released slot is reused only
//! after every other free slot. This is a next-fit allocator that rotates
//! through the whole range, made exact: the proxy pools keep-alive
//! connections by address, and an address that went straight to the next
//! capsule could get the previous capsule's pooled connections. Reusing the
//! lowest free slot, as before, did exactly that.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

/// The /16 all capsule links are carved from.
pub const CAPSULE_SUBNET: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 0);
/// Slots available in the /16 (slot 0's /30 holds the network address).
pub const MAX_SLOTS: u16 = 16383;

/// Addresses of one slot's point-to-point link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotAddrs {
    pub slot: u16,
    pub host: Ipv4Addr,
    pub capsule: Ipv4Addr,
    pub prefix_len: u8,
}

impl SlotAddrs {
    pub fn of(slot: u16) -> SlotAddrs {
        let base = u32::from(CAPSULE_SUBNET) + 4 * u32::from(slot);
        SlotAddrs { slot, host: Ipv4Addr::from(base + 1), capsule: Ipv4Addr::from(base + 2), prefix_len: 30 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("all {MAX_SLOTS} network slots are in use")]
    Exhausted,
    #[error("network slot {0} is out of range 1..={MAX_SLOTS}")]
    OutOfRange(u16),
    #[error("network slot {0} is already in use")]
    InUse(u16),
}

/// The free slots in the order they are handed out, and which are held.
#[derive(Debug, Clone)]
pub struct SlotAllocator {
    /// Free slots, longest free first.
    free: VecDeque<u16>,
    /// `held[slot]`; index 0 is never used.
    held: Vec<bool>,
}

impl Default for SlotAllocator {
    fn default() -> SlotAllocator {
        SlotAllocator { free: (1..=MAX_SLOTS).collect(), held: vec![false; usize::from(MAX_SLOTS) + 1] }
    }
}

impl SlotAllocator {
    /// Takes the slot that has been free the longest.
    pub fn allocate(&mut self) -> Result<SlotAddrs, SlotError> {
        let slot = self.free.pop_front().ok_or(SlotError::Exhausted)?;
        self.held[usize::from(slot)] = true;
        Ok(SlotAddrs::of(slot))
    }

    /// Marks a slot found on the host (after an agent restart) as taken.
    /// Rare, so the linear removal from the queue does not matter.
    pub fn claim(&mut self, slot: u16) -> Result<SlotAddrs, SlotError> {
        if slot == 0 || slot > MAX_SLOTS {
            return Err(SlotError::OutOfRange(slot));
        }
        if self.held[usize::from(slot)] {
            return Err(SlotError::InUse(slot));
        }
        self.free.retain(|&free| free != slot);
        self.held[usize::from(slot)] = true;
        Ok(SlotAddrs::of(slot))
    }

    /// Returns a slot to the back of the queue; releasing a free or
    /// out-of-range slot is harmless.
    pub fn release(&mut self, slot: u16) {
        if (1..=MAX_SLOTS).contains(&slot) && self.held[usize::from(slot)] {
            self.held[usize::from(slot)] = false;
            self.free.push_back(slot);
        }
    }

    pub fn n_used(&self) -> usize {
        usize::from(MAX_SLOTS) - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn addresses_of_slots() {
        let table = [
            (1, "10.201.0.5", "10.201.0.6"),
            (63, "10.201.0.253", "10.201.0.254"),
            (64, "10.201.1.1", "10.201.1.2"),
            (MAX_SLOTS, "10.201.255.253", "10.201.255.254"),
        ];
        for (slot, host, capsule) in table {
            let addrs = SlotAddrs::of(slot);
            assert_eq!((addrs.host.to_string(), addrs.capsule.to_string()), (host.to_owned(), capsule.to_owned()));
        }
    }

    /// Each case: operations, then the slots the next allocations return.
    #[test]
    fn rotates_instead_of_reusing_the_lowest() {
        enum Op {
            Allocate(u16),
            Release(u16),
            Claim(u16),
        }
        use Op::{Allocate, Claim, Release};
        let table: &[(&str, &[Op], &[u16])] = &[
            ("fresh: in order", &[], &[1, 2, 3]),
            ("a released slot is not next", &[Allocate(1), Allocate(2), Allocate(3), Release(2)], &[4, 5]),
            ("release order is reuse order", &[Allocate(1), Allocate(2), Release(2), Release(1)], &[3, 4]),
            ("claimed slots are skipped", &[Claim(1), Claim(3)], &[2, 4, 5]),
            ("releasing a free slot changes nothing", &[Release(1), Release(0), Release(MAX_SLOTS + 1)], &[1, 2]),
        ];
        for (what, ops, expected) in table {
            let mut slots = SlotAllocator::default();
            for op in *ops {
                match op {
                    Allocate(slot) => assert_eq!(slots.allocate().unwrap().slot, *slot, "{what}"),
                    Release(slot) => slots.release(*slot),
                    Claim(slot) => assert_eq!(slots.claim(*slot).unwrap().slot, *slot, "{what}"),
                }
            }
            let got: Vec<u16> = expected.iter().map(|_| slots.allocate().unwrap().slot).collect();
            assert_eq!(&got, expected, "{what}");
        }
    }

    #[test]
    fn claims_are_checked() {
        let mut slots = SlotAllocator::default();
        assert_eq!(slots.allocate().unwrap().slot, 1);
        assert_eq!(slots.claim(1), Err(SlotError::InUse(1)));
        assert_eq!(slots.claim(0), Err(SlotError::OutOfRange(0)));
        assert_eq!(slots.claim(MAX_SLOTS + 1), Err(SlotError::OutOfRange(MAX_SLOTS + 1)));
        assert_eq!(slots.claim(10).unwrap().slot, 10);
        assert_eq!(slots.claim(10), Err(SlotError::InUse(10)));
        slots.release(10);
        assert_eq!(slots.claim(10).unwrap().slot, 10);
        assert_eq!(slots.n_used(), 2);
    }

    #[test]
    fn wraps_at_the_end_and_exhaustion_is_an_error() {
        let mut slots = SlotAllocator::default();
        for expected in 1..=MAX_SLOTS {
            assert_eq!(slots.allocate().unwrap().slot, expected);
        }
        assert_eq!(slots.allocate(), Err(SlotError::Exhausted));
        slots.release(77);
        slots.release(5);
        assert_eq!(slots.allocate().unwrap().slot, 77);
        assert_eq!(slots.allocate().unwrap().slot, 5);
        assert_eq!(slots.allocate(), Err(SlotError::Exhausted));
    }

    /// Random allocate/release/claim sequences: no slot is held twice, the
    /// count matches, and a just-released slot comes back only when it is
    /// the only free one.
    #[test]
    fn random_operations_keep_slots_unique_and_rotate() {
        // A small deterministic generator: no dependency for property tests.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut slots = SlotAllocator::default();
        let mut held: BTreeSet<u16> = BTreeSet::new();
        let mut just_released = None;
        for _ in 0..20_000 {
            match next() % 8 {
                0..=2 if !held.is_empty() => {
                    let slot = *held.iter().nth((next() as usize) % held.len()).unwrap();
                    held.remove(&slot);
                    slots.release(slot);
                    just_released = Some(slot);
                }
                3 => {
                    let slot = (next() % u64::from(MAX_SLOTS)) as u16 + 1;
                    match slots.claim(slot) {
                        Ok(_) => assert!(held.insert(slot), "slot {slot} claimed twice"),
                        Err(SlotError::InUse(_)) => assert!(held.contains(&slot)),
                        Err(err) => panic!("{err}"),
                    }
                }
                _ => {
                    let n_free = usize::from(MAX_SLOTS) - held.len();
                    let slot = slots.allocate().unwrap().slot;
                    assert!(held.insert(slot), "slot {slot} handed out twice");
                    if just_released == Some(slot) {
                        assert_eq!(n_free, 1, "slot {slot} reused while {n_free} slots were free");
                    }
                    just_released = None;
                }
            }
            assert_eq!(slots.n_used(), held.len());
        }
    }
}
