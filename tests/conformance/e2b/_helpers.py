"""Small shared helpers for the conformance tests (not fixtures)."""

import hashlib
import re
import threading
import time
from typing import Callable, List, Optional, TypeVar

T = TypeVar("T")


def wait_until(
    fn: Callable[[], T], timeout: float = 5.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll `fn` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}")
        time.sleep(interval)


def sha256_file(path: str, chunk: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class PtyReader:
    """Consumes a PTY CommandHandle on a background thread.

    Collects raw PTY bytes, and records the final result or the exception
    raised by `handle.wait()` once the stream ends.
    """

    def __init__(self, handle):
        self.handle = handle
        self._buf = bytearray()
        self._lock = threading.Lock()
        self.result = None
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _on_pty(self, data: bytes):
        with self._lock:
            self._buf.extend(data)

    def _run(self):
        try:
            self.result = self.handle.wait(on_pty=self._on_pty)
        except BaseException as e:  # noqa: BLE001 - recorded for the test
            self.error = e

    @property
    def text(self) -> str:
        with self._lock:
            return self._buf.decode("utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 5.0) -> re.Match:
        rx = re.compile(pattern)
        try:
            return wait_until(lambda: rx.search(self.text), timeout=timeout, what=pattern)
        except AssertionError:
            raise AssertionError(
                f"pattern {pattern!r} not seen in PTY output within {timeout}s; "
                f"output so far: {self.text[-2000:]!r}; stream error: {self.error!r}"
            ) from None

    def join(self, timeout: float = 10.0) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def poll_events(handle, until: Callable[[List], bool], timeout: float = 3.0) -> List:
    """Accumulate watcher events (GetWatcherEvents polling) until `until(events)`."""
    events: List = []
    deadline = time.monotonic() + timeout
    while True:
        events.extend(handle.get_new_events())
        if until(events):
            return events
        if time.monotonic() > deadline:
            raise AssertionError(
                f"watch condition not met within {timeout}s; events: "
                + ", ".join(f"{e.type.value}:{e.name}" for e in events)
            )
        time.sleep(0.05)


def has_event(events, type_, name) -> bool:
    return any(e.type == type_ and e.name == name for e in events)
