"""Fixtures for the E2B SDK conformance suite.

A single envd process is started for the whole session in dev mode:

    $ENVD_BIN --dev --port 49983 --root <tmpdir>

`--root` is the default user's home / working directory, so relative paths sent
by the SDK resolve under it. envd runs on this host, so tests verify effects
directly on the local filesystem in addition to going through the SDK.
"""

import ctypes
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

# The SDK reads E2B_DEBUG at ConnectionConfig construction; make sure it is on
# even when pytest is run directly instead of via run.sh.
os.environ.setdefault("E2B_DEBUG", "true")
for _var in ("E2B_SANDBOX_URL", "E2B_API_URL", "E2B_DOMAIN"):
    os.environ.pop(_var, None)

ENVD_PORT = 49983
HEALTH_POLL_INTERVAL = 0.01
HEALTH_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10.0


def _port_in_use(host: str, family: int) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            return s.connect_ex((host, ENVD_PORT)) == 0
    except OSError:
        return False


def _health_ok() -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", ENVD_PORT, timeout=1)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        resp.read()
        return 200 <= resp.status < 300
    except OSError:
        return False
    finally:
        conn.close()


def _die_with_parent():
    """Make envd get SIGTERM if the test runner dies without tearing down."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class EnvdProcess:
    def __init__(self, proc: subprocess.Popen, log_path: Path, root: Path):
        self.proc = proc
        self.log_path = log_path
        self.root = root

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "<no envd log>"
        return "\n".join(lines[-n:])

    def assert_alive(self):
        rc = self.proc.poll()
        if rc is not None:
            pytest.fail(
                f"envd exited unexpectedly (returncode={rc}).\n--- envd log tail ---\n"
                f"{self.log_tail()}",
                pytrace=False,
            )


@pytest.fixture(scope="session")
def envd(tmp_path_factory) -> EnvdProcess:
    bin_path = os.environ.get("ENVD_BIN")
    if not bin_path:
        pytest.exit("ENVD_BIN is not set (path to the envd binary)", returncode=2)
    if not os.access(bin_path, os.X_OK):
        pytest.exit(f"ENVD_BIN={bin_path!r} is not executable", returncode=2)

    if _port_in_use("127.0.0.1", socket.AF_INET) or _port_in_use("::1", socket.AF_INET6):
        pytest.exit(
            f"port {ENVD_PORT} is already in use on loopback; refusing to test a "
            "server this suite did not start",
            returncode=2,
        )

    session_dir = tmp_path_factory.mktemp("envd")
    root = Path(os.path.realpath(session_dir / "root"))
    root.mkdir()
    log_path = session_dir / "envd.log"
    log_file = open(log_path, "wb")
    # HOME points at the throwaway root so that login shells started by envd
    # (`bash -l`) do not source the invoking user's dotfiles (pyenv/conda init
    # etc. would make every command slow and can leave stale locks behind
    # when a test kills a shell during startup).
    # WRENN_CONFORMANCE_ENVD_ONLY must not leak into processes envd starts.
    env = dict(os.environ, HOME=str(root), WRENN_CONFORMANCE_ENVD_ONLY="leak")
    proc = subprocess.Popen(
        [bin_path, "--dev", "--port", str(ENVD_PORT), "--root", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    handle = EnvdProcess(proc, log_path, root)

    deadline = time.monotonic() + HEALTH_TIMEOUT
    while True:
        if proc.poll() is not None:
            log_file.close()
            pytest.exit(
                f"envd exited during startup (returncode={proc.returncode}):\n"
                f"{handle.log_tail()}",
                returncode=3,
            )
        if _health_ok():
            break
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log_file.close()
            pytest.exit(
                f"envd did not answer GET /health within {HEALTH_TIMEOUT}s:\n"
                f"{handle.log_tail()}",
                returncode=3,
            )
        time.sleep(HEALTH_POLL_INTERVAL)

    yield handle

    crashed_rc = proc.poll()
    if crashed_rc is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log_file.close()
            pytest.fail(
                f"envd did not exit within {SHUTDOWN_TIMEOUT}s of SIGTERM\n{handle.log_tail()}",
                pytrace=False,
            )
    log_file.close()
    if crashed_rc is not None:
        pytest.fail(
            f"envd died during the session (returncode={crashed_rc})\n{handle.log_tail()}",
            pytrace=False,
        )
    # Exiting because of SIGTERM (either by the default disposition or by a
    # handler that exits cleanly) is fine; anything else is a crash.
    ok = {0, -signal.SIGTERM, 128 + signal.SIGTERM}
    assert proc.returncode in ok, (
        f"envd exited with {proc.returncode} after SIGTERM\n{handle.log_tail()}"
    )


@pytest.fixture(autouse=True)
def _envd_alive(envd):
    """Fail loudly (with the envd log) if a test took envd down."""
    envd.assert_alive()
    yield
    envd.assert_alive()


@pytest.fixture(scope="session")
def sandbox(envd):
    from e2b import Sandbox

    sbx = Sandbox.create(debug=True)
    assert sbx.sandbox_id == "debug_sandbox_id"
    yield sbx
    sbx.kill()  # no-op in debug mode


@dataclass
class Workdir:
    """A fresh directory for one test, inside envd's root."""

    path: str  # absolute, symlink-free path (what envd should report)
    rel: str  # same directory, relative to envd's root (the default cwd)
    root: str  # envd's root

    def p(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    def r(self, *parts: str) -> str:
        return os.path.join(self.rel, *parts)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


@pytest.fixture
def work(envd, request) -> Workdir:
    rel = os.path.join("t", f"{_slug(request.node.name)}-{uuid.uuid4().hex[:8]}")
    abs_path = os.path.join(str(envd.root), rel)
    os.makedirs(abs_path)
    yield Workdir(path=abs_path, rel=rel, root=str(envd.root))
    shutil.rmtree(abs_path, ignore_errors=True)
