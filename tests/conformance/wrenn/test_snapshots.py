"""Snapshots: capsule.create_snapshot, client.snapshots.create/list/delete,
and capsules created from a snapshot (contract §6.6).

Whether the source capsule is left running or paused after a snapshot is the
server's choice; `Capsule.connect` (which resumes a paused capsule) must bring
it back to `running` either way.
"""

import pytest
from wrenn import Capsule, WrennConflictError, WrennNotFoundError
from wrenn.models import Status

from _helpers import unique


def _names(templates):
    return [t.name for t in templates]


def test_create_snapshot_returns_a_snapshot_template(capsule, client, janitor):
    name = janitor.snapshot(unique("conf-snap"))
    template = capsule.create_snapshot(name=name)
    assert template.name == name
    assert template.type == "snapshot"
    assert name in _names(client.snapshots.list())


def test_capsule_from_a_snapshot_has_the_files(capsule, janitor):
    capsule.files.write("/root/snap/state.txt", "captured")
    name = janitor.snapshot(unique("conf-snap"))
    capsule.create_snapshot(name=name)

    child = janitor.capsule(Capsule(template=name, wait=True))
    assert child.capsule_id != capsule.capsule_id
    assert child.get_info().template == name
    assert child.files.read("/root/snap/state.txt") == "captured"
    assert child.commands.run("echo child").stdout == "child\n"


def test_source_capsule_is_usable_after_a_snapshot(capsule, janitor):
    name = janitor.snapshot(unique("conf-snap"))
    capsule.create_snapshot(name=name)
    again = Capsule.connect(capsule.capsule_id)
    assert again.info.status == Status.running
    assert again.commands.run("echo still-here").stdout == "still-here\n"


def test_snapshot_without_a_name_gets_one(capsule, client, janitor):
    template = capsule.create_snapshot()
    assert template.name, "the generated name must be returned"
    janitor.snapshot(template.name)
    assert template.type == "snapshot"
    assert template.name in _names(client.snapshots.list(type="snapshot"))


def test_list_filters_by_type(capsule, client, janitor):
    name = janitor.snapshot(unique("conf-snap"))
    client.snapshots.create(capsule.capsule_id, name=name)

    snapshots = client.snapshots.list(type="snapshot")
    assert name in _names(snapshots)
    assert all(t.type == "snapshot" for t in snapshots)

    bases = client.snapshots.list(type="base")
    assert "minimal" in _names(bases)
    assert name not in _names(bases)
    assert all(t.type == "base" for t in bases)

    everything = _names(client.snapshots.list())
    assert name in everything and "minimal" in everything


def test_delete_removes_the_snapshot(capsule, client, janitor):
    name = janitor.snapshot(unique("conf-snap"))
    client.snapshots.create(capsule.capsule_id, name=name)
    client.snapshots.delete(name)
    assert name not in _names(client.snapshots.list())
    with pytest.raises(WrennNotFoundError):
        client.snapshots.delete(name)
    with pytest.raises(WrennNotFoundError):
        janitor.capsule(Capsule(template=name))


def test_delete_of_unknown_snapshot_is_not_found(client):
    with pytest.raises(WrennNotFoundError):
        client.snapshots.delete("conf-never-created-0000")


def test_snapshot_name_clash_is_a_conflict_unless_overwrite(capsule, client, janitor):
    name = janitor.snapshot(unique("conf-snap"))
    capsule.files.write("/root/version.txt", "v1")
    client.snapshots.create(capsule.capsule_id, name=name)

    source = Capsule.connect(capsule.capsule_id)
    source.files.write("/root/version.txt", "v2")
    with pytest.raises(WrennConflictError):
        client.snapshots.create(capsule.capsule_id, name=name)

    source = Capsule.connect(capsule.capsule_id)
    replaced = client.snapshots.create(capsule.capsule_id, name=name, overwrite=True)
    assert replaced.name == name
    child = janitor.capsule(Capsule(template=name, wait=True))
    assert child.files.read("/root/version.txt") == "v2"


def test_snapshot_of_unknown_capsule_is_not_found(client):
    with pytest.raises(WrennNotFoundError):
        client.snapshots.create("cl-0000000000000000000000000", name=unique("conf-snap"))
