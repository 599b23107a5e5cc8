"""Fixtures for the `wrenn==0.3.0` Python SDK conformance suite.

The suite drives the unmodified PyPI SDK (`wrenn==0.3.0`) against a real
`wrenn up` (control plane and host agent in one process) and checks what the
SDK sees: contents, exit codes, states and error classes. The contract it
tests is docs/dev/wrenn-sdk-contract.md.

How to run (as root: `wrenn up` starts capsules):

    cargo build -p wrenn            # or whatever builds the `wrenn` binary
    WRENN_BIN=target/debug/wrenn tests/conformance/wrenn/run.sh [pytest args...]

`run.sh` creates a cached virtualenv (WRENN_SDK_VENV_DIR, default
~/.cache/wrenn/wrenn-sdk-venv), makes a data dir under /var/tmp, hard-links
the base templates `minimal` and `python` from WRENN_TEST_TEMPLATE_CACHE into
it, starts `wrenn up` on a free loopback port with a bootstrap API key, waits
until it serves, runs pytest and stops the server (SIGTERM, then SIGKILL after
20 s). Useful variants:

    tests/conformance/wrenn/run.sh --collect-only       # no server, no root
    WRENN_BIN=... tests/conformance/wrenn/run.sh -k pty -x
    WRENN_BIN=... tests/conformance/wrenn/run.sh -m "not slow"

Against a server you started yourself, run pytest directly with the same
environment run.sh exports:

    WRENN_BASE_URL=http://127.0.0.1:PORT WRENN_API_KEY=wrn_... \\
    WRENN_PROXY_DOMAIN=localhost:PORT \\
    ~/.cache/wrenn/wrenn-sdk-venv/bin/python -m pytest -c tests/conformance/wrenn/pytest.ini \\
        tests/conformance/wrenn

Port URLs: `Capsule.get_url(port)` returns `http://{port}-{id}.localhost:PORT`.
Such names do not resolve on every machine, so this file patches
`socket.getaddrinfo` to map `localhost` and `*.localhost` to 127.0.0.1
(contract §2). Every other name resolves normally; no test sends traffic
anywhere but loopback.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    # httpx honours proxy variables; the server is on loopback.
    os.environ.pop(_var, None)

CAPSULE_TEMPLATE = "minimal"
PYTHON_TEMPLATE = "python"

_original_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    """Resolve `localhost` and `*.localhost` (port URLs) to 127.0.0.1."""
    name = host.decode() if isinstance(host, (bytes, bytearray)) else host
    if isinstance(name, str):
        lowered = name.lower().rstrip(".")
        if lowered == "localhost" or lowered.endswith(".localhost"):
            return _original_getaddrinfo("127.0.0.1", *args, **kwargs)
    return _original_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


# ── server facts ────────────────────────────────────────────────────────────


class Server:
    """What the suite knows about the server under test (from the environment)."""

    def __init__(self):
        self.base_url = os.environ.get("WRENN_BASE_URL", "")
        self.api_key = os.environ.get("WRENN_API_KEY", "")
        self.proxy_domain = os.environ.get("WRENN_PROXY_DOMAIN", "")
        pid = os.environ.get("WRENN_SERVER_PID", "")
        self.pid = int(pid) if pid.isdigit() else None
        log = os.environ.get("WRENN_SERVER_LOG", "")
        self.log_path = Path(log) if log else None

    def log_tail(self, n: int = 80) -> str:
        if self.log_path is None:
            return "<server log unknown (WRENN_SERVER_LOG not set)>"
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"<cannot read {self.log_path}>"
        return "\n".join(lines[-n:])

    def assert_alive(self):
        if self.pid is None:
            return
        try:
            # A dead server not yet reaped by run.sh is a zombie ("Z").
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            alive = stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            alive = False
        if not alive:
            pytest.fail(
                f"wrenn (pid {self.pid}) is gone.\n--- wrenn log tail ---\n{self.log_tail()}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def server() -> Server:
    srv = Server()
    missing = [
        name
        for name, value in (("WRENN_BASE_URL", srv.base_url), ("WRENN_API_KEY", srv.api_key))
        if not value
    ]
    if missing:
        pytest.exit(
            f"{', '.join(missing)} not set; run the suite through "
            "tests/conformance/wrenn/run.sh (WRENN_BIN=<path to wrenn>)",
            returncode=2,
        )
    return srv


@pytest.fixture(autouse=True)
def _server_alive(request):
    """Fail loudly (with the server log) if a test took the server down."""
    if "server" not in request.fixturenames:
        # Every test that talks to the server depends on `server` (through
        # `client`, `capsule`, ...); pure-SDK tests skip the check.
        yield
        return
    srv = request.getfixturevalue("server")
    srv.assert_alive()
    yield
    srv.assert_alive()


# ── clients and capsules ────────────────────────────────────────────────────


@pytest.fixture
def client(server):
    from wrenn import WrennClient

    with WrennClient() as c:
        yield c


def _destroy_quietly(client, capsule_id: str):
    from wrenn import WrennNotFoundError
    from wrenn.capsule import _poll_until
    from wrenn.models import Status

    try:
        client.capsules.destroy(capsule_id)
        _poll_until(
            lambda: client.capsules.get(capsule_id),
            {Status.stopped, Status.missing},
            0.5,
            timeout=30,
        )
    except WrennNotFoundError:
        pass


@pytest.fixture
def capsule(server):
    """A running `minimal` capsule, destroyed (and waited for) after the test."""
    from wrenn import Capsule, WrennClient

    c = Capsule(template=CAPSULE_TEMPLATE, wait=True)
    yield c
    with WrennClient() as cleanup:
        _destroy_quietly(cleanup, c.capsule_id)
    c._client.close()  # the SDK's own context exit would destroy again


@pytest.fixture
def python_capsule(server):
    """A running `python` capsule (skips outside CI when the template is absent)."""
    from wrenn import Capsule, WrennClient, WrennNotFoundError

    try:
        c = Capsule(template=PYTHON_TEMPLATE, wait=True)
    except WrennNotFoundError as e:
        if _in_ci():
            raise
        pytest.skip(f"template {PYTHON_TEMPLATE!r} not available on this server: {e}")
    yield c
    with WrennClient() as cleanup:
        _destroy_quietly(cleanup, c.capsule_id)
    c._client.close()


class CapsuleJanitor:
    """Remembers capsules and snapshots a test made; removes them afterwards.

    Capsules go first (a template may not be deletable while a capsule uses it).
    """

    def __init__(self):
        self.capsule_ids: list[str] = []
        self.snapshot_names: list[str] = []

    def capsule(self, c):
        """Track a Capsule/AsyncCapsule/model/id string and return it unchanged."""
        cid = c if isinstance(c, str) else getattr(c, "capsule_id", None) or getattr(c, "id", None)
        assert cid, f"cannot track {c!r}: no id"
        self.capsule_ids.append(cid)
        return c

    def snapshot(self, name: str) -> str:
        self.snapshot_names.append(name)
        return name

    def cleanup(self):
        from wrenn import WrennClient, WrennError, WrennNotFoundError

        with WrennClient() as client:
            for cid in self.capsule_ids:
                try:
                    _destroy_quietly(client, cid)
                except (WrennError, TimeoutError, RuntimeError):
                    pass
            for name in self.snapshot_names:
                try:
                    client.snapshots.delete(name)
                except WrennNotFoundError:
                    pass
                except WrennError:
                    pass


@pytest.fixture
def janitor(server):
    j = CapsuleJanitor()
    yield j
    j.cleanup()


# ── small per-test values ───────────────────────────────────────────────────


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:50]


@pytest.fixture
def workdir(request) -> str:
    """An absolute path inside the capsule unique to this test (not created)."""
    import uuid

    return f"/tmp/wrenn-conformance/{_slug(request.node.name)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ci() -> bool:
    return _in_ci()
