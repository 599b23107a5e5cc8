//! Recognising the agent's network objects by name after a restart.
//!
//! Crash recovery finds namespaces and veths by listing what exists and
//! parsing names back into slots. Parsing is strict (decimal, no sign, no
//! leading zero) so that only names `layout` could have produced are taken
//! for ours: `wrenn-07` or `wrenn-test` are someone else's and left alone.

use crate::layout;

/// The slot whose network namespace is called `name`, if it is one of ours.
pub(crate) fn netns_slot(name: &str) -> Option<u16> {
    let slot = parse_slot(name.strip_prefix(layout::OBJECT_PREFIX)?.strip_prefix('-')?)?;
    (layout::netns_name(slot) == name).then_some(slot)
}

/// The slot whose host-side veth is called `name`, if it is one of ours.
pub(crate) fn host_veth_slot(name: &str) -> Option<u16> {
    let slot = parse_slot(name.strip_prefix(layout::OBJECT_PREFIX)?.strip_prefix("-v")?)?;
    (layout::host_veth_name(slot) == name).then_some(slot)
}

/// The interface-name pattern nftables uses to match every host-side veth.
pub(crate) fn host_veth_wildcard() -> String {
    format!("{}-v*", layout::OBJECT_PREFIX)
}

fn parse_slot(digits: &str) -> Option<u16> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let slot: u16 = digits.parse().ok()?;
    // Round-tripping through `layout` rejects leading zeros.
    (slot.to_string() == digits).then_some(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_names_layout_produces() {
        let table: &[(&str, Option<u16>, Option<u16>)] = &[
            ("wrenn-7", Some(7), None),
            ("wrenn-v7", None, Some(7)),
            ("wrenn-0", Some(0), None),
            ("wrenn-65535", Some(65535), None),
            ("wrenn-v65535", None, Some(65535)),
            ("wrenn-65536", None, None),
            ("wrenn-07", None, None),
            ("wrenn-v07", None, None),
            ("wrenn-+7", None, None),
            ("wrenn-", None, None),
            ("wrenn-v", None, None),
            ("wrenn-test-out", None, None),
            ("wrenn7", None, None),
            ("xwrenn-7", None, None),
            ("eth0", None, None),
            ("wrenn-v1 ", None, None),
        ];
        for &(name, netns, veth) in table {
            assert_eq!(netns_slot(name), netns, "netns {name:?}");
            assert_eq!(host_veth_slot(name), veth, "veth {name:?}");
        }
        for slot in [1, 16000, u16::MAX] {
            assert_eq!(netns_slot(&layout::netns_name(slot)), Some(slot));
            assert_eq!(host_veth_slot(&layout::host_veth_name(slot)), Some(slot));
        }
        assert_eq!(host_veth_wildcard(), "wrenn-v*");
    }
}
