"""Capsule lifecycle through the sync API (contract §6.1, §9).

`Capsule(...)`, `Capsule.create`, `wait_ready`, `get_info` (instance and
static), `is_running`, `Capsule.list`, `Capsule.connect`, `pause`/`resume`
(instance and static, with and without `wait`), `ping`, `destroy` (instance,
static, context manager), `info`, `capsule_id`, and `WrennClient.capsules`
create/get/list/pause/resume/ping/destroy.
"""

import re
import time
import warnings

import httpx
import pytest
from wrenn import Capsule, WrennClient, WrennNotFoundError
from wrenn.models import Status

from _helpers import wait_until

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _gone(client, capsule_id: str) -> bool:
    """True once the capsule is stopped or no longer known."""
    try:
        return client.capsules.get(capsule_id).status in (Status.stopped, Status.missing)
    except WrennNotFoundError:
        return True


# ── create ──────────────────────────────────────────────────────────────────


def test_create_with_wait_returns_a_running_capsule(capsule):
    info = capsule.get_info()
    assert info.id == capsule.capsule_id
    assert info.status == Status.running
    assert info.template == "minimal"
    assert capsule.info is info  # get_info refreshes the cached model
    assert capsule.is_running() is True


def test_capsule_ids_are_dns_labels(capsule):
    # get_url builds `{port}-{id}.{domain}`, so ids must be valid DNS labels.
    assert DNS_LABEL.match(capsule.capsule_id), capsule.capsule_id
    assert len(f"65535-{capsule.capsule_id}") <= 63


def test_create_classmethod_passes_resources_and_timeout(janitor):
    c = janitor.capsule(
        Capsule.create(template="minimal", vcpus=1, memory_mb=512, timeout=300, wait=True)
    )
    info = c.get_info()
    assert info.status == Status.running
    assert info.vcpus == 1
    assert info.memory_mb == 512
    assert info.timeout_sec == 300
    assert info.created_at is not None and info.created_at.tzinfo is not None


def test_create_without_template_uses_minimal(janitor):
    c = janitor.capsule(Capsule(wait=True))
    assert c.get_info().template == "minimal"
    assert c.commands.run("echo default").stdout == "default\n"


def test_commands_run_right_after_create_without_wait(janitor):
    # The README quick start: Capsule() returns after the POST (wait=False is
    # the default) and the first exec must wait for `running` server-side.
    c = janitor.capsule(Capsule(template="minimal"))
    assert c.info is not None and c.info.id == c.capsule_id
    result = c.commands.run("echo ready")
    assert result.exit_code == 0
    assert result.stdout == "ready\n"


def test_files_write_right_after_create_without_wait(janitor):
    c = janitor.capsule(Capsule(template="minimal"))
    c.files.write("/tmp/early.txt", "early bird")
    assert c.files.read("/tmp/early.txt") == "early bird"


def test_wait_ready_after_create_without_wait(janitor):
    c = janitor.capsule(Capsule.create(template="minimal"))
    c.wait_ready(timeout=60)
    assert c.info.status == Status.running
    assert c.is_running()


def test_create_with_a_missing_template_is_not_found(janitor):
    with pytest.raises(WrennNotFoundError):
        janitor.capsule(Capsule(template="no-such-template-conformance"))


def test_deprecated_sandbox_alias_still_creates_capsules(janitor):
    import wrenn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        sandbox_cls = wrenn.Sandbox
    assert sandbox_cls is Capsule
    c = janitor.capsule(sandbox_cls(template="minimal", wait=True))
    assert c.commands.run("echo alias").stdout == "alias\n"


# ── read ────────────────────────────────────────────────────────────────────


def test_static_get_info_matches_instance(capsule):
    static = Capsule.get_info(capsule.capsule_id)
    assert static.id == capsule.capsule_id
    assert static.status == Status.running
    assert static.template == capsule.get_info().template


def test_list_contains_the_capsule(capsule, client):
    for listed in (Capsule.list(), client.capsules.list()):
        ours = [c for c in listed if c.id == capsule.capsule_id]
        assert len(ours) == 1, [c.id for c in listed]
        assert ours[0].status == Status.running
        assert ours[0].template == "minimal"


def test_get_of_unknown_capsule_is_not_found(client):
    with pytest.raises(WrennNotFoundError) as exc:
        client.capsules.get("cl-0000000000000000000000000")
    assert exc.value.status_code == 404
    assert exc.value.code == "not_found"


def test_metadata_is_a_string_map(capsule):
    # The SDK never sends metadata; the server's own map (if any) must be
    # dict[str, str] or the SDK's model validation would have failed already.
    info = capsule.get_info()
    assert info.metadata is None or all(
        isinstance(k, str) and isinstance(v, str) for k, v in info.metadata.items()
    )


def test_metadata_given_at_create_is_returned(server, janitor):
    # Metadata labels can only be set with a raw POST (the SDK never sends
    # them, contract §10); the SDK must then read them back.
    resp = httpx.post(
        f"{server.base_url}/v1/capsules",
        headers={"X-API-Key": server.api_key},
        json={"template": "minimal", "metadata": {"suite": "conformance", "case": "metadata"}},
        timeout=30,
    )
    assert resp.status_code < 300, resp.text
    cid = resp.json()["id"]
    janitor.capsule(cid)
    c = Capsule.connect(cid)
    assert c.info.metadata is not None
    assert c.info.metadata.get("suite") == "conformance"
    assert c.info.metadata.get("case") == "metadata"
    listed = [x for x in Capsule.list() if x.id == cid]
    assert listed and listed[0].metadata.get("suite") == "conformance"


# ── connect ─────────────────────────────────────────────────────────────────


def test_connect_to_a_running_capsule(capsule):
    capsule.files.write("/tmp/connect.txt", "same capsule")
    other = Capsule.connect(capsule.capsule_id)
    assert other.capsule_id == capsule.capsule_id
    assert other.info.status == Status.running
    assert other.files.read("/tmp/connect.txt") == "same capsule"


def test_connect_resumes_a_paused_capsule(capsule):
    capsule.files.write("/tmp/state.txt", "before pause")
    capsule.pause(wait=True)
    other = Capsule.connect(capsule.capsule_id)
    assert other.info.status == Status.running
    assert other.is_running()
    assert other.files.read("/tmp/state.txt") == "before pause"


def test_connect_to_unknown_capsule_is_not_found(server):
    with pytest.raises(WrennNotFoundError):
        Capsule.connect("cl-0000000000000000000000000")


# ── pause / resume ──────────────────────────────────────────────────────────


def test_pause_and_resume_keep_processes_and_files(capsule):
    bg = capsule.commands.run("sleep 600", background=True)
    capsule.files.write("/tmp/kept.txt", "kept")

    paused = capsule.pause(wait=True)
    assert paused.status == Status.paused
    assert capsule.get_info().status == Status.paused
    assert capsule.is_running() is False

    resumed = capsule.resume(wait=True)
    assert resumed.status == Status.running
    assert capsule.is_running()
    assert bg.pid in [p.pid for p in capsule.commands.list()]
    assert capsule.files.read("/tmp/kept.txt") == "kept"
    assert capsule.commands.run("echo alive").stdout == "alive\n"


def test_pause_without_wait_returns_a_capsule_and_reaches_paused(capsule):
    info = capsule.pause()
    assert info.id == capsule.capsule_id
    assert info.status in (Status.pausing, Status.paused)
    wait_until(lambda: capsule.get_info().status == Status.paused, timeout=30, what="paused")
    info = capsule.resume()
    assert info.status in (Status.resuming, Status.running)
    capsule.wait_ready()


def test_static_pause_and_resume(capsule):
    paused = Capsule.pause(capsule.capsule_id, wait=True)
    assert paused.status == Status.paused
    resumed = Capsule.resume(capsule.capsule_id, wait=True)
    assert resumed.status == Status.running
    assert capsule.commands.run("echo back").stdout == "back\n"


def test_client_pause_and_resume(capsule, client):
    client.capsules.pause(capsule.capsule_id)
    wait_until(lambda: client.capsules.get(capsule.capsule_id).status == Status.paused, timeout=30)
    client.capsules.resume(capsule.capsule_id)
    wait_until(lambda: client.capsules.get(capsule.capsule_id).status == Status.running, timeout=30)


# ── ping ────────────────────────────────────────────────────────────────────


def test_ping_keeps_a_running_capsule_running(capsule, client):
    before = capsule.get_info().last_active_at
    time.sleep(1.1)
    capsule.ping()
    client.capsules.ping(capsule.capsule_id)
    after = capsule.get_info()
    assert after.status == Status.running
    if before is not None and after.last_active_at is not None:
        assert after.last_active_at > before


def test_ping_of_unknown_capsule_is_not_found(client):
    with pytest.raises(WrennNotFoundError):
        client.capsules.ping("cl-0000000000000000000000000")


# ── destroy ─────────────────────────────────────────────────────────────────


def test_destroy_with_wait_stops_the_capsule(janitor, client):
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    c.destroy(wait=True)
    assert _gone(client, c.capsule_id)
    listed = {x.id: x.status for x in client.capsules.list()}
    assert listed.get(c.capsule_id) in (None, Status.stopped)


def test_static_destroy(janitor, client):
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    Capsule.destroy(c.capsule_id, wait=True)
    assert _gone(client, c.capsule_id)


def test_client_create_get_and_destroy(client, janitor):
    model = janitor.capsule(client.capsules.create(template="minimal"))
    assert model.id and model.status in (Status.pending, Status.starting, Status.running)
    wait_until(lambda: client.capsules.get(model.id).status == Status.running, timeout=60)
    client.capsules.destroy(model.id)
    wait_until(lambda: _gone(client, model.id), timeout=30, what="destroyed")


def test_destroy_twice_does_not_fail(janitor, client):
    # The SDK retries DELETE on transport errors, so a destroy can arrive twice.
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    client.capsules.destroy(c.capsule_id)
    client.capsules.destroy(c.capsule_id)
    wait_until(lambda: _gone(client, c.capsule_id), timeout=30, what="destroyed")
    try:
        client.capsules.destroy(c.capsule_id)
    except WrennNotFoundError:
        pass  # a forgotten capsule may answer 404 once fully gone


def test_destroyed_capsule_rejects_commands(janitor):
    from wrenn import WrennError

    c = janitor.capsule(Capsule(template="minimal", wait=True))
    c.destroy(wait=True)
    with pytest.raises(WrennError) as exc:
        c.commands.run("echo too late")
    assert exc.value.status_code in (404, 409, 410)


def test_context_manager_destroys_on_exit(client):
    with Capsule(template="minimal", wait=True) as c:
        cid = c.capsule_id
        assert c.commands.run("echo inside").stdout == "inside\n"
    wait_until(lambda: _gone(client, cid), timeout=30, what="destroyed by __exit__")


def test_context_manager_destroys_on_exception(client):
    cid = None
    with pytest.raises(KeyError):
        with Capsule(template="minimal", wait=True) as c:
            cid = c.capsule_id
            raise KeyError("boom")
    wait_until(lambda: _gone(client, cid), timeout=30, what="destroyed by __exit__")


def test_wrenn_client_context_manager_closes_http(server):
    with WrennClient() as c:
        c.capsules.list()
    assert c.http.is_closed
