//! What one inotify event means for a watcher: which E2B events it yields
//! and how the set of watched directories changes. Pure, so every rule is
//! table-tested.
//!
//! The mapping follows fsnotify as used by E2B's Go envd: one kernel event
//! can yield several typed events, in the order CREATE, RENAME, CHMOD,
//! WRITE, REMOVE. A move within the tree is a RENAME of the old name plus a
//! CREATE of the new one. Events on the watched root itself are named `.`;
//! those on a subdirectory itself are dropped, because its parent already
//! reports them by name.
//!
//! Directory moves are only classified here (`moved_out` / `moved_in` with
//! the kernel's rename cookie); pairing them up needs the watcher's state
//! and happens in `tree`.

use std::path::{Path, PathBuf};

use crate::fs::watch::EventKind;
use crate::sys::inotify::{EventFlags, RawEvent};

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Events to report, by path relative to the watched root.
    pub(crate) events: Vec<(PathBuf, EventKind)>,
    /// A directory was created in a recursive watch: watch it and
    /// everything in it, reporting what is already there.
    pub(crate) watch: Option<PathBuf>,
    /// A directory was deleted: stop watching it and everything in it.
    pub(crate) unwatch: Option<PathBuf>,
    /// A directory was moved away from here (rename cookie, old path); the
    /// matching `moved_in` decides whether it stayed in the tree.
    pub(crate) moved_out: Option<(u32, PathBuf)>,
    /// A directory was moved here (rename cookie, new path).
    pub(crate) moved_in: Option<(u32, PathBuf)>,
    /// The kernel dropped this watch; forget its descriptor.
    pub(crate) forget: bool,
    /// The kernel queue overflowed; events were lost.
    pub(crate) overflow: bool,
}

/// `dir` is the watched directory of the event's descriptor (relative to
/// the root, empty for the root), or `None` for a descriptor already forgotten.
pub(crate) fn plan(event: &RawEvent, dir: Option<&Path>, is_root: bool, recursive: bool) -> Plan {
    let flags = &event.flags;
    if flags.overflow {
        return Plan { overflow: true, ..Plan::default() };
    }
    if flags.ignored {
        return Plan { forget: true, ..Plan::default() };
    }
    let Some(dir) = dir else {
        return Plan::default();
    };
    let Some(name) = &event.name else {
        if !is_root {
            return Plan::default();
        }
        return Plan { events: kinds(flags).map(|kind| (PathBuf::new(), kind)).collect(), ..Plan::default() };
    };
    let path = dir.join(name);
    let mut plan = Plan { events: kinds(flags).map(|kind| (path.clone(), kind)).collect(), ..Plan::default() };
    if recursive && flags.is_dir {
        if flags.create {
            plan.watch = Some(path);
        } else if flags.moved_to {
            plan.moved_in = Some((event.cookie, path));
        } else if flags.moved_from {
            plan.moved_out = Some((event.cookie, path));
        } else if flags.delete {
            plan.unwatch = Some(path);
        }
    }
    plan
}

/// The E2B event types of one kernel event, in fsnotify's order.
fn kinds(flags: &EventFlags) -> impl Iterator<Item = EventKind> {
    [
        (flags.create || flags.moved_to, EventKind::Create),
        (flags.moved_from || flags.move_self, EventKind::Rename),
        (flags.attrib, EventKind::Chmod),
        (flags.modify, EventKind::Write),
        (flags.delete || flags.delete_self, EventKind::Remove),
    ]
    .into_iter()
    .filter_map(|(set, kind)| set.then_some(kind))
}

/// The wire name of a path relative to the watched root: `.` for the root.
pub(crate) fn relative_name(relative: &Path) -> String {
    if relative.as_os_str().is_empty() { ".".to_owned() } else { relative.to_string_lossy().into_owned() }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn event(name: Option<&str>, set: impl FnOnce(&mut EventFlags)) -> RawEvent {
        let mut flags = EventFlags::default();
        set(&mut flags);
        RawEvent { wd: 1, flags, cookie: 0, name: name.map(OsString::from) }
    }

    fn events(plan: &Plan) -> Vec<(String, EventKind)> {
        plan.events.iter().map(|(path, kind)| (relative_name(path), *kind)).collect()
    }

    #[test]
    fn child_events_map_to_e2b_types() {
        use EventKind::*;
        let sub = Some(Path::new("sub"));
        let cases: Vec<(RawEvent, Vec<(&str, EventKind)>)> = vec![
            (event(Some("f"), |f| f.create = true), vec![("sub/f", Create)]),
            (event(Some("f"), |f| f.moved_to = true), vec![("sub/f", Create)]),
            (event(Some("f"), |f| f.modify = true), vec![("sub/f", Write)]),
            (event(Some("f"), |f| f.attrib = true), vec![("sub/f", Chmod)]),
            (event(Some("f"), |f| f.delete = true), vec![("sub/f", Remove)]),
            (event(Some("f"), |f| f.moved_from = true), vec![("sub/f", Rename)]),
            (
                event(Some("f"), |f| {
                    f.create = true;
                    f.modify = true;
                    f.attrib = true;
                }),
                vec![("sub/f", Create), ("sub/f", Chmod), ("sub/f", Write)],
            ),
        ];
        for (raw, want) in cases {
            let plan = plan(&raw, sub, false, true);
            let want: Vec<_> = want.into_iter().map(|(n, k)| (n.to_owned(), k)).collect();
            assert_eq!(events(&plan), want, "{raw:?}");
            let changes_watches =
                plan.watch.is_some() || plan.unwatch.is_some() || plan.moved_in.is_some() || plan.moved_out.is_some();
            assert!(!changes_watches, "files change no watches");
        }
    }

    #[test]
    fn directories_change_the_watched_set_only_when_recursive() {
        let root = Some(Path::new(""));
        let created = event(Some("d"), |f| {
            f.create = true;
            f.is_dir = true;
        });
        assert_eq!(plan(&created, root, true, true).watch, Some(PathBuf::from("d")));
        assert_eq!(plan(&created, root, true, false).watch, None);
        let mut moved_in = event(Some("d"), |f| {
            f.moved_to = true;
            f.is_dir = true;
        });
        moved_in.cookie = 9;
        assert_eq!(plan(&moved_in, root, true, true).moved_in, Some((9, PathBuf::from("d"))));
        let mut moved_out = event(Some("d"), |f| {
            f.moved_from = true;
            f.is_dir = true;
        });
        moved_out.cookie = 9;
        assert_eq!(plan(&moved_out, root, true, true).moved_out, Some((9, PathBuf::from("d"))));
        assert_eq!(plan(&moved_out, root, true, false).moved_out, None);
        let deleted = event(Some("d"), |f| {
            f.delete = true;
            f.is_dir = true;
        });
        assert_eq!(plan(&deleted, root, true, true).unwatch, Some(PathBuf::from("d")));
    }

    #[test]
    fn self_events_are_reported_for_the_root_only() {
        let deleted = event(None, |f| f.delete_self = true);
        assert_eq!(events(&plan(&deleted, Some(Path::new("")), true, true)), [(".".to_owned(), EventKind::Remove)]);
        assert_eq!(plan(&deleted, Some(Path::new("sub")), false, true), Plan::default());
        let moved = event(None, |f| f.move_self = true);
        assert_eq!(events(&plan(&moved, Some(Path::new("")), true, false)), [(".".to_owned(), EventKind::Rename)]);
    }

    #[test]
    fn bookkeeping_events() {
        let overflow = event(None, |f| f.overflow = true);
        assert_eq!(plan(&overflow, None, false, true), Plan { overflow: true, ..Plan::default() });
        let ignored = event(None, |f| f.ignored = true);
        assert_eq!(plan(&ignored, Some(Path::new("x")), false, true), Plan { forget: true, ..Plan::default() });
        let stale = event(Some("f"), |f| f.create = true);
        assert_eq!(plan(&stale, None, false, true), Plan::default(), "unknown descriptors are dropped");
    }

    #[test]
    fn relative_names() {
        assert_eq!(relative_name(Path::new("")), ".");
        assert_eq!(relative_name(Path::new("a/b.txt")), "a/b.txt");
    }
}
