"""Error mapping as the SDK sees it (contract §4, §7.1).

Only the JSON `error.code` selects the exception class; the HTTP status is
kept in `.status_code`. These tests check both, plus the non-mapped paths
(WebSocket upgrades, download streams).
"""

import httpx
import httpx_ws
import pytest
from wrenn import (
    Capsule,
    WrennAuthenticationError,
    WrennClient,
    WrennConflictError,
    WrennError,
    WrennNotFoundError,
    WrennValidationError,
)

UNKNOWN = "cl-0000000000000000000000000"
WRONG_KEY = "wrn_" + "f" * 32


# ── authentication ──────────────────────────────────────────────────────────


def test_wrong_api_key_is_an_authentication_error(server):
    with WrennClient(api_key=WRONG_KEY) as bad:
        with pytest.raises(WrennAuthenticationError) as exc:
            bad.capsules.list()
    assert exc.value.status_code == 401
    assert exc.value.code == "unauthorized"
    assert isinstance(exc.value, WrennError)


def test_malformed_api_key_is_an_authentication_error(server):
    with WrennClient(api_key="not-a-key") as bad:
        with pytest.raises(WrennAuthenticationError):
            bad.capsules.get(UNKNOWN)


def test_create_with_a_wrong_key_is_an_authentication_error(server):
    with pytest.raises(WrennAuthenticationError):
        Capsule(template="minimal", api_key=WRONG_KEY)


def test_wrong_key_cannot_touch_an_existing_capsule(capsule):
    with WrennClient(api_key=WRONG_KEY) as bad:
        for call in (
            lambda: bad.capsules.get(capsule.capsule_id),
            lambda: bad.capsules.pause(capsule.capsule_id),
            lambda: bad.capsules.destroy(capsule.capsule_id),
        ):
            with pytest.raises(WrennAuthenticationError):
                call()
    assert capsule.is_running()


def test_websocket_upgrade_with_a_wrong_key_is_rejected(capsule):
    with WrennClient(api_key=WRONG_KEY) as bad:
        other = Capsule(_capsule_id=capsule.capsule_id, _client=bad)
        with pytest.raises(httpx_ws.WebSocketUpgradeError) as exc:
            with other.pty():
                pass
        assert exc.value.response.status_code == 401
        with pytest.raises(httpx_ws.WebSocketUpgradeError) as exc:
            list(other.commands.stream("true"))
        assert exc.value.response.status_code == 401


def test_missing_api_key_fails_client_side(monkeypatch):
    monkeypatch.delenv("WRENN_API_KEY", raising=False)
    with pytest.raises(ValueError):
        WrennClient()


# ── not found ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.capsules.get(UNKNOWN),
        lambda c: c.capsules.pause(UNKNOWN),
        lambda c: c.capsules.resume(UNKNOWN),
        lambda c: c.capsules.destroy(UNKNOWN),
        lambda c: c.capsules.ping(UNKNOWN),
        lambda c: c.capsules.metrics(UNKNOWN),
    ],
    ids=["get", "pause", "resume", "destroy", "ping", "metrics"],
)
def test_unknown_capsule_is_not_found(client, call):
    with pytest.raises(WrennNotFoundError) as exc:
        call(client)
    assert exc.value.status_code == 404
    assert exc.value.code == "not_found"


def test_data_plane_calls_on_unknown_capsule_are_not_found(client):
    ghost = Capsule(_capsule_id=UNKNOWN, _client=client)
    with pytest.raises(WrennNotFoundError):
        ghost.commands.run("true")
    with pytest.raises(WrennNotFoundError):
        ghost.commands.list()
    with pytest.raises(WrennNotFoundError):
        ghost.files.read("/etc/hostname")
    with pytest.raises(WrennNotFoundError):
        ghost.files.write("/tmp/x", "x")
    with pytest.raises(WrennNotFoundError):
        ghost.files.list("/")
    with pytest.raises(httpx.HTTPStatusError) as exc:
        b"".join(ghost.files.download_stream("/etc/hostname"))
    assert exc.value.response.status_code == 404
    with pytest.raises(httpx_ws.WebSocketUpgradeError) as ws_exc:
        list(ghost.commands.stream("true"))
    assert ws_exc.value.response.status_code == 404


def test_static_destroy_of_unknown_capsule_is_not_found(server):
    with pytest.raises(WrennNotFoundError):
        Capsule.destroy(UNKNOWN)


# ── conflicts / validation ──────────────────────────────────────────────────


def test_pause_of_a_paused_capsule_is_a_conflict(capsule, client):
    capsule.pause(wait=True)
    with pytest.raises(WrennConflictError) as exc:
        client.capsules.pause(capsule.capsule_id)
    assert exc.value.status_code == 409
    assert exc.value.code in ("invalid_state", "conflict")


def test_resume_of_a_running_capsule_is_a_conflict(capsule, client):
    with pytest.raises(WrennConflictError) as exc:
        client.capsules.resume(capsule.capsule_id)
    assert exc.value.status_code == 409


def test_pause_of_a_destroyed_capsule_fails(janitor, client):
    c = janitor.capsule(Capsule(template="minimal", wait=True))
    c.destroy(wait=True)
    with pytest.raises((WrennConflictError, WrennNotFoundError)):
        client.capsules.pause(c.capsule_id)


def test_create_with_an_unsafe_template_name_is_invalid(janitor):
    with pytest.raises(WrennValidationError) as exc:
        janitor.capsule(Capsule(template="../../etc"))
    assert exc.value.status_code == 400
    assert exc.value.code == "invalid_request"


def test_snapshot_with_an_unsafe_name_is_invalid(capsule, client):
    with pytest.raises(WrennValidationError):
        client.snapshots.create(capsule.capsule_id, name="bad/name")


def test_error_bodies_have_code_and_message(server):
    resp = httpx.get(
        f"{server.base_url}/v1/capsules/{UNKNOWN}",
        headers={"X-API-Key": server.api_key},
        timeout=10,
    )
    assert resp.status_code == 404
    body = resp.json()
    assert body["error"]["code"] == "not_found"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
