"""Small shared helpers for the Wrenn SDK conformance tests (not fixtures).

Background readers (PTY sessions, the SSE event stream, process streams) run on
daemon threads so that a test can act (write, kill, pause) while it watches,
and every wait is bounded so a missing event fails the test instead of hanging.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
import uuid
from typing import Callable, Iterable, Iterator, List, Optional, TypeVar

T = TypeVar("T")

MIB = 1 << 20


def wait_until(
    fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.1, what: str = ""
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


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: `prefix-<8 hex>`."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pseudo_random_chunks(total: int, chunk: int = MIB, seed: int = 4242) -> Iterator[bytes]:
    """Deterministic incompressible bytes, `total` of them, in `chunk`-sized pieces."""
    rng = random.Random(seed)
    left = total
    while left > 0:
        n = min(chunk, left)
        yield rng.randbytes(n)
        left -= n


def sha256_of(chunks: Iterable[bytes]) -> tuple[str, int]:
    """(hex digest, byte count) of an iterable of chunks."""
    h = hashlib.sha256()
    size = 0
    for c in chunks:
        h.update(c)
        size += len(c)
    return h.hexdigest(), size


class PtyCollector:
    """Iterates a (sync) `PtySession` on a background thread.

    Output bytes are accumulated; control events (`started`, `exit`, `error`,
    `ping`) are recorded in order. The SDK answers server pings itself while
    iterating, which is why something must always be iterating the session.
    """

    def __init__(self, session):
        self.session = session
        self._buf = bytearray()
        self._lock = threading.Lock()
        self.events: List = []
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for event in self.session:
                with self._lock:
                    if event.type == "output" and isinstance(event.data, bytes):
                        self._buf.extend(event.data)
                    self.events.append(event)
        except BaseException as e:  # noqa: BLE001 - recorded for the test
            self.error = e

    @property
    def text(self) -> str:
        with self._lock:
            return self._buf.decode("utf-8", errors="replace")

    def of_type(self, kind: str) -> List:
        with self._lock:
            return [e for e in self.events if e.type == kind]

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match:
        rx = re.compile(pattern)
        try:
            return wait_until(lambda: rx.search(self.text), timeout=timeout, what=pattern)
        except AssertionError:
            raise AssertionError(
                f"pattern {pattern!r} not seen in PTY output within {timeout}s; "
                f"output so far: {self.text[-2000:]!r}; events: "
                f"{[e.type for e in self.events]}; reader error: {self.error!r}"
            ) from None

    def wait_event(self, kind: str, timeout: float = 15.0):
        try:
            return wait_until(lambda: self.of_type(kind), timeout=timeout, what=kind)[0]
        except AssertionError:
            raise AssertionError(
                f"no PTY {kind!r} event within {timeout}s; events: "
                f"{[e.type for e in self.events]}; output: {self.text[-2000:]!r}; "
                f"reader error: {self.error!r}"
            ) from None

    def join(self, timeout: float = 10.0) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


class StreamCollector:
    """Drains a commands.stream()/connect() iterator on a background thread."""

    def __init__(self, iterator):
        self.events: List = []
        self.error: Optional[BaseException] = None
        self._iterator = iterator
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for event in self._iterator:
                self.events.append(event)
        except BaseException as e:  # noqa: BLE001 - recorded for the test
            self.error = e

    def join(self, timeout: float = 30.0) -> List:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), (
            f"stream did not end within {timeout}s; events so far: "
            f"{[e.type for e in self.events]}"
        )
        assert self.error is None, f"stream raised {self.error!r}"
        return self.events


def stream_output(events) -> tuple[str, str]:
    """Concatenated (stdout, stderr) of stream events."""
    out = "".join(e.data for e in events if e.type == "stdout")
    err = "".join(e.data for e in events if e.type == "stderr")
    return out, err


class EventStreamCollector:
    """Reads `client.events.stream()` (sync SDK) on a daemon thread.

    The SDK's SSE request has no read timeout and the generator cannot be
    closed from another thread, so `stop()` only asks the reader to leave at
    its next event and closes the client; the daemon thread (one idle SSE
    subscriber) is otherwise left to end with the server.
    """

    def __init__(self, client):
        self._client = client
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.events: List = []
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for event in self._client.events.stream():
                with self._lock:
                    self.events.append(event)
                if self._stop.is_set():
                    return
        except BaseException as e:  # noqa: BLE001 - recorded for the test
            if not self._stop.is_set():
                self.error = e

    def snapshot(self) -> List:
        with self._lock:
            return list(self.events)

    def wait_connected(self, timeout: float = 5.0) -> bool:
        """Wait for the `connected` sentinel; fall back to a short settle time.

        The contract suggests (not requires) a `connected` frame first; it is
        the only way to know the subscription is live before acting.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise AssertionError(f"event stream failed: {self.error!r}")
            if any(_event_name(e) == "connected" for e in self.snapshot()):
                return True
            time.sleep(0.05)
        return False

    def wait_for(self, pred: Callable[[List], bool], timeout: float, what: str) -> List:
        deadline = time.monotonic() + timeout
        while True:
            events = self.snapshot()
            if pred(events):
                return events
            if self.error is not None:
                raise AssertionError(f"event stream failed while waiting for {what}: {self.error!r}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what} not seen within {timeout}s; events: "
                    + ", ".join(f"{_event_name(e)}:{_resource_id(e)}" for e in events)
                )
            time.sleep(0.1)

    def stop(self):
        self._stop.set()
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - best effort
            pass
        self._thread.join(2)


def _event_name(event) -> Optional[str]:
    return None if event.event is None else str(event.event.value)


def _resource_id(event) -> Optional[str]:
    if event.resource is not None and event.resource.id:
        return event.resource.id
    if event.sandbox is not None:
        return event.sandbox.id
    return None


def events_for(events, resource_id: str) -> List:
    """Events about one capsule/template (by `resource.id`, else `sandbox.id`)."""
    return [e for e in events if _resource_id(e) == resource_id]


def event_names(events) -> List[str]:
    return [_event_name(e) for e in events]


def is_subsequence(wanted: List[str], seen: List[str]) -> bool:
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)
