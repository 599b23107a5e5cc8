"""client.events.stream (SSE, contract §6.7, §8).

The stream is read on a daemon thread (`EventStreamCollector`) while the test
drives a capsule, and every wait is bounded. Events are matched by
`resource.id` (or `sandbox.id`), because other tests' capsules share the team.
Unknown event names or invalid payloads would end the SDK's stream with a
pydantic error, which the collector reports.
"""

import pytest
from wrenn import Capsule, WrennAuthenticationError, WrennClient
from wrenn.models import Status

from _helpers import EventStreamCollector, event_names, events_for, is_subsequence, unique

LIFECYCLE = ["capsule.create", "capsule.pause", "capsule.resume", "capsule.destroy"]


@pytest.fixture
def events(server):
    collector = EventStreamCollector(WrennClient())
    collector.wait_connected()
    yield collector
    collector.stop()


def test_stream_starts_with_connected(events):
    first = events.wait_for(lambda evs: evs, timeout=10, what="any event")[0]
    assert first.event is not None and first.event.value == "connected"
    assert first.outcome is None


def test_capsule_lifecycle_events_arrive_in_order(events, janitor):
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    cid = c.capsule_id
    c.pause(wait=True)
    c.resume(wait=True)
    c.destroy(wait=True)

    seen = events.wait_for(
        lambda evs: is_subsequence(LIFECYCLE, event_names(events_for(evs, cid))),
        timeout=30,
        what=f"{LIFECYCLE} for {cid}",
    )
    ours = events_for(seen, cid)
    for ev in ours:
        assert ev.timestamp is not None and ev.timestamp.tzinfo is not None
        if ev.event.value in LIFECYCLE:
            assert ev.outcome is not None and ev.outcome.value == "success", ev
            assert ev.error is None
            if ev.resource is not None:
                assert ev.resource.id == cid
            if ev.sandbox is not None:
                assert ev.sandbox.id == cid
        if ev.actor is not None and ev.event.value in LIFECYCLE:
            assert ev.actor.type is not None and ev.actor.type.value == "api_key"


def test_state_change_events_carry_string_metadata(events, janitor):
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    c.pause(wait=True)
    seen = events.wait_for(
        lambda evs: "capsule.pause" in event_names(events_for(evs, c.capsule_id)),
        timeout=30,
        what="capsule.pause",
    )
    for ev in events_for(seen, c.capsule_id):
        if ev.event.value == "capsule.state.changed":
            assert ev.outcome is None
            assert ev.metadata is not None and {"from", "to"} <= set(ev.metadata)
            valid = {s.value for s in Status}
            assert ev.metadata["from"] in valid and ev.metadata["to"] in valid


def test_snapshot_events_name_the_template(events, capsule, client, janitor):
    name = janitor.snapshot(unique("conf-evsnap"))
    capsule.create_snapshot(name=name)
    client.snapshots.delete(name)
    seen = events.wait_for(
        lambda evs: is_subsequence(
            ["template.snapshot.create", "template.snapshot.delete"],
            event_names(events_for(evs, name)),
        ),
        timeout=30,
        what=f"snapshot events for {name}",
    )
    for ev in events_for(seen, name):
        if ev.event.value.startswith("template.snapshot."):
            assert ev.outcome is not None and ev.outcome.value == "success"


def test_stream_with_a_wrong_key_is_unauthorized(server):
    with WrennClient(api_key="wrn_" + "0" * 32) as bad:
        with pytest.raises(WrennAuthenticationError):
            next(iter(bad.events.stream()))
