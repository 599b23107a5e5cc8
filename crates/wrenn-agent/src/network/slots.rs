//! Network slots: which capsule owns which /30 of the capsule subnet.
//!
//! Pure bookkeeping, no netlink here. Slot `n` (1-based) owns the /30 at
//! `base + 4n`: `.1` is the host end of the veth, `.2` the capsule end. A
//! slot is never handed out twice while held; the lowest free slot is
//! reused first so addresses stay compact and predictable in tests.

use std::collections::BTreeSet;
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

/// The set of free slots; the lowest is handed out first.
#[derive(Debug, Clone)]
pub struct SlotAllocator {
    free: BTreeSet<u16>,
}

impl Default for SlotAllocator {
    fn default() -> SlotAllocator {
        SlotAllocator { free: (1..=MAX_SLOTS).collect() }
    }
}

impl SlotAllocator {
    /// Takes the lowest free slot.
    pub fn allocate(&mut self) -> Result<SlotAddrs, SlotError> {
        self.free.pop_first().map(SlotAddrs::of).ok_or(SlotError::Exhausted)
    }

    /// Marks a slot found on the host (after an agent restart) as taken.
    pub fn claim(&mut self, slot: u16) -> Result<SlotAddrs, SlotError> {
        if slot == 0 || slot > MAX_SLOTS {
            return Err(SlotError::OutOfRange(slot));
        }
        if !self.free.remove(&slot) {
            return Err(SlotError::InUse(slot));
        }
        Ok(SlotAddrs::of(slot))
    }

    /// Returns a slot; releasing a free or out-of-range slot is harmless.
    pub fn release(&mut self, slot: u16) {
        if (1..=MAX_SLOTS).contains(&slot) {
            self.free.insert(slot);
        }
    }

    pub fn n_used(&self) -> usize {
        usize::from(MAX_SLOTS) - self.free.len()
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn lowest_free_first_and_never_twice() {
        let mut slots = SlotAllocator::default();
        let a = slots.allocate().unwrap().slot;
        let b = slots.allocate().unwrap().slot;
        let c = slots.allocate().unwrap().slot;
        assert_eq!((a, b, c), (1, 2, 3));
        slots.release(b);
        assert_eq!(slots.allocate().unwrap().slot, 2);
        assert_eq!(slots.allocate().unwrap().slot, 4);
        assert_eq!(slots.claim(4), Err(SlotError::InUse(4)));
        assert_eq!(slots.claim(0), Err(SlotError::OutOfRange(0)));
        assert_eq!(slots.claim(10).unwrap().slot, 10);
        slots.release(999);
        assert_eq!(slots.n_used(), 5);
    }

    #[test]
    fn exhaustion_is_an_error_not_a_wrap() {
        let mut slots = SlotAllocator::default();
        for _ in 0..MAX_SLOTS {
            slots.allocate().unwrap();
        }
        assert_eq!(slots.allocate(), Err(SlotError::Exhausted));
        slots.release(77);
        assert_eq!(slots.allocate().unwrap().slot, 77);
    }

    #[test]
    fn random_operations_keep_slots_unique() {
        // A small deterministic generator: no dependency for property tests.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut slots = SlotAllocator::default();
        let mut held: Vec<u16> = Vec::new();
        for _ in 0..10_000 {
            if next() % 3 == 0 && !held.is_empty() {
                let i = (next() as usize) % held.len();
                slots.release(held.swap_remove(i));
            } else {
                let slot = slots.allocate().unwrap().slot;
                assert!(!held.contains(&slot), "slot {slot} handed out twice");
                held.push(slot);
            }
            assert_eq!(slots.n_used(), held.len());
        }
    }
}
