"""sandbox.files.watch_dir — the sync SDK polls CreateWatcher /
GetWatcherEvents / RemoveWatcher (it never uses the WatchDir stream).

Filesystem changes are made locally (envd runs on this host) so that the
watcher is tested in isolation from the upload path.
"""

import os
import time

import pytest
from e2b import (
    FileNotFoundException,
    FilesystemEventType as Ev,
    FileType,
    InvalidArgumentException,
    SandboxException,
)

from _helpers import has_event, poll_events


@pytest.fixture
def watch(sandbox):
    handles = []

    def make(path, **kw):
        h = sandbox.files.watch_dir(path, **kw)
        handles.append(h)
        return h

    yield make
    for h in handles:
        if not h._closed:
            try:
                h.stop()
            except Exception:
                pass


def _write(path, data=b"data"):
    with open(path, "wb") as f:
        f.write(data)


def test_create_and_write(watch, work):
    w = watch(work.path)
    _write(work.p("new.txt"), b"hello")
    events = poll_events(
        w, lambda ev: has_event(ev, Ev.CREATE, "new.txt") and has_event(ev, Ev.WRITE, "new.txt")
    )
    # names are relative to the watched directory
    assert all(not e.name.startswith("/") for e in events)


def test_write_to_existing_file(watch, work):
    _write(work.p("existing.txt"))
    w = watch(work.path)
    with open(work.p("existing.txt"), "ab") as f:
        f.write(b"more")
    events = poll_events(w, lambda ev: has_event(ev, Ev.WRITE, "existing.txt"))
    assert not has_event(events, Ev.CREATE, "existing.txt")


def test_remove(watch, work):
    _write(work.p("doomed.txt"))
    w = watch(work.path)
    os.remove(work.p("doomed.txt"))
    poll_events(w, lambda ev: has_event(ev, Ev.REMOVE, "doomed.txt"))


def test_rename(watch, work):
    _write(work.p("before.txt"))
    w = watch(work.path)
    os.rename(work.p("before.txt"), work.p("after.txt"))
    poll_events(
        w,
        lambda ev: has_event(ev, Ev.RENAME, "before.txt") and has_event(ev, Ev.CREATE, "after.txt"),
    )


def test_chmod(watch, work):
    _write(work.p("perm.txt"))
    w = watch(work.path)
    os.chmod(work.p("perm.txt"), 0o600)
    poll_events(w, lambda ev: has_event(ev, Ev.CHMOD, "perm.txt"))


def test_directory_create_and_remove(watch, work):
    w = watch(work.path)
    os.mkdir(work.p("newdir"))
    poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "newdir"))
    os.rmdir(work.p("newdir"))
    poll_events(w, lambda ev: has_event(ev, Ev.REMOVE, "newdir"))


def test_sdk_write_is_observed(sandbox, watch, work):
    w = watch(work.path)
    sandbox.files.write(work.p("via-sdk.txt"), "x")
    poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "via-sdk.txt"))


def test_non_recursive_ignores_nested(watch, work):
    os.mkdir(work.p("sub"))
    w = watch(work.path)
    _write(work.p("sub", "nested.txt"))
    _write(work.p("sentinel.txt"))
    events = poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "sentinel.txt"))
    time.sleep(0.2)
    events += w.get_new_events()
    assert not [e for e in events if e.name.startswith("sub/")], events


def test_recursive_existing_subdir(watch, work):
    os.makedirs(work.p("sub", "deep"))
    w = watch(work.path, recursive=True)
    _write(work.p("sub", "deep", "f.txt"))
    _write(work.p("sub", "g.txt"))
    poll_events(
        w,
        lambda ev: has_event(ev, Ev.CREATE, "sub/deep/f.txt") and has_event(ev, Ev.CREATE, "sub/g.txt"),
    )


def test_recursive_new_subdir(watch, work):
    w = watch(work.path, recursive=True)
    os.mkdir(work.p("later"))
    poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "later"))
    time.sleep(0.3)  # give the watcher time to start watching the new directory
    _write(work.p("later", "h.txt"))
    poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "later/h.txt"))


def test_include_entry(watch, work):
    w = watch(work.path, include_entry=True, user="root")
    _write(work.p("entry.txt"), b"12345")
    events = poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "entry.txt"))
    created = next(e for e in events if e.type == Ev.CREATE and e.name == "entry.txt")
    assert created.entry is not None
    assert created.entry.name == "entry.txt"
    assert created.entry.path == work.p("entry.txt")
    assert created.entry.type == FileType.FILE


def test_without_include_entry_has_no_entry(watch, work):
    w = watch(work.path)
    _write(work.p("plain.txt"))
    events = poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "plain.txt"))
    assert all(e.entry is None for e in events)


def test_events_are_drained_and_stop(watch, work):
    w = watch(work.path)
    _write(work.p("once.txt"))
    poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "once.txt"))
    time.sleep(0.2)
    w.get_new_events()  # drain stragglers
    assert w.get_new_events() == []
    w.stop()
    with pytest.raises(SandboxException):
        w.get_new_events()


def test_watch_relative_path(watch, work):
    w = watch(work.rel)
    _write(work.p("rel.txt"))
    poll_events(w, lambda ev: has_event(ev, Ev.CREATE, "rel.txt"))


def test_watch_missing_dir_raises_file_not_found(sandbox, work):
    with pytest.raises(FileNotFoundException):
        sandbox.files.watch_dir(work.p("does-not-exist"))


def test_watch_file_raises_invalid_argument(sandbox, work):
    _write(work.p("afile"))
    with pytest.raises(InvalidArgumentException):
        sandbox.files.watch_dir(work.p("afile"))
