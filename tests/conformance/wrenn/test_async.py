"""The async API: AsyncCapsule, AsyncCommands, AsyncFiles, AsyncPtySession and
AsyncWrennClient (contract §6: same routes and payloads as the sync API).

A representative subset: every async class and every route family once.
Each test runs its own event loop (`asyncio.run`); created capsules are also
tracked by the sync `janitor`, so a failing test still cleans up.
"""

import asyncio
import hashlib
import re
import time

import pytest
from wrenn import (
    AsyncCapsule,
    AsyncWrennClient,
    WrennAuthenticationError,
    WrennConflictError,
    WrennNotFoundError,
)
from wrenn.models import Status

from _helpers import event_names, events_for, is_subsequence, unique


def run(coro, timeout: float = 100):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def _gone(client, capsule_id):
    try:
        return (await client.capsules.get(capsule_id)).status in (Status.stopped, Status.missing)
    except WrennNotFoundError:
        return True


async def _poll(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = await fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


# ── AsyncCapsule lifecycle ──────────────────────────────────────────────────


def test_async_create_run_and_destroy(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        assert c.info.status == Status.running
        assert await c.is_running()
        result = await c.commands.run("echo async; exit 2")
        assert (result.stdout, result.exit_code) == ("async\n", 2)
        info = await c.get_info()
        assert info.id == c.capsule_id and info.template == "minimal"
        static = await AsyncCapsule.get_info(c.capsule_id)
        assert static.status == Status.running
        assert c.capsule_id in [x.id for x in await AsyncCapsule.list()]
        await c.destroy(wait=True)
        async with AsyncWrennClient() as client:
            assert await _gone(client, c.capsule_id)

    run(body())


def test_async_commands_run_right_after_create_without_wait(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal"))
        result = await c.commands.run("echo quick", envs={"A": "1"}, cwd="/tmp")
        assert result.stdout == "quick\n"
        await c.wait_ready()
        assert c.info.status == Status.running

    run(body())


def test_async_context_manager_destroys_on_exit(server):
    async def body():
        async with await AsyncCapsule.create(template="minimal", wait=True) as c:
            cid = c.capsule_id
            assert (await c.commands.run("echo in")).stdout == "in\n"
        async with AsyncWrennClient() as client:
            await _poll(lambda: _gone(client, cid), 30, "destroyed by __aexit__")

    run(body())


def test_async_pause_resume_connect_and_ping(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        await c.ping()
        await c.files.write("/tmp/a.txt", "kept")
        assert (await c.pause(wait=True)).status == Status.paused
        with pytest.raises(WrennConflictError):
            await c.pause()
        assert (await c.resume(wait=True)).status == Status.running
        assert (await AsyncCapsule.pause(c.capsule_id, wait=True)).status == Status.paused
        other = await AsyncCapsule.connect(c.capsule_id)  # resumes
        assert other.info.status == Status.running
        assert await other.files.read("/tmp/a.txt") == "kept"
        assert (await AsyncCapsule.pause(c.capsule_id, wait=True)).status == Status.paused
        assert (await AsyncCapsule.resume(c.capsule_id, wait=True)).status == Status.running
        await AsyncCapsule.destroy(c.capsule_id, wait=True)

    run(body())


def test_async_get_url_matches_the_sync_format(janitor, server):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal"))
        assert c.get_url(8080) == f"http://8080-{c.capsule_id}.{server.proxy_domain}"

    run(body())


# ── AsyncCommands ───────────────────────────────────────────────────────────


def test_async_background_list_connect_and_kill(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        short = await c.commands.run("sleep 0.5; echo bg-out; exit 3", background=True, tag="short")
        long = await c.commands.run("sleep 600", background=True, tag="long")
        procs = {p.pid: p for p in await c.commands.list()}
        assert procs[long.pid].tag == "long"

        events = [e async for e in c.commands.connect(short.pid)]
        assert "".join(e.data for e in events if e.type == "stdout") == "bg-out\n"
        assert events[-1].type == "exit" and events[-1].exit_code == 3

        await c.commands.kill(long.pid)
        await _poll(
            lambda: _absent(c, long.pid), 10, "killed process to leave the list"
        )
        with pytest.raises(WrennNotFoundError):
            await c.commands.kill(999_999)

    async def _absent(c, pid):
        return pid not in [p.pid for p in await c.commands.list()]

    run(body())


def test_async_stream(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        events = [e async for e in c.commands.stream("echo o; echo e >&2; exit 6")]
        assert events[0].type == "start" and events[0].pid > 0
        assert "".join(e.data for e in events if e.type == "stdout") == "o\n"
        assert "".join(e.data for e in events if e.type == "stderr") == "e\n"
        assert events[-1].exit_code == 6
        with_args = [e async for e in c.commands.stream("/bin/echo", ["x", "y"])]
        assert "".join(e.data for e in with_args if e.type == "stdout") == "x y\n"

    run(body())


# ── AsyncFiles ──────────────────────────────────────────────────────────────


def test_async_files(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        root = f"/tmp/{unique('async-files')}"
        await c.files.write(f"{root}/a/b.txt", b"\x00\x01bytes")
        assert await c.files.read_bytes(f"{root}/a/b.txt") == b"\x00\x01bytes"
        entry = await c.files.make_dir(f"{root}/dir")
        assert entry.type == "directory" and entry.name == "dir"
        assert (await c.files.make_dir(f"{root}/dir")).type == "directory"
        names = sorted(e.name for e in await c.files.list(root))
        assert names == ["a", "dir"]
        assert await c.files.exists(f"{root}/a/b.txt")
        await c.files.remove(f"{root}/a")
        assert not await c.files.exists(f"{root}/a/b.txt")
        with pytest.raises(WrennNotFoundError):
            await c.files.read(f"{root}/a/b.txt")

    run(body())


def test_async_upload_and_download_streams(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        chunks = [bytes([i]) * 65536 for i in range(64)]  # 4 MiB, 64 distinct chunks
        want = hashlib.sha256(b"".join(chunks)).hexdigest()

        async def produce():
            for chunk in chunks:
                yield chunk

        await c.files.upload_stream("/tmp/async-up/big.bin", produce())
        h = hashlib.sha256()
        async for part in c.files.download_stream("/tmp/async-up/big.bin"):
            h.update(part)
        assert h.hexdigest() == want
        in_capsule = await c.commands.run("sha256sum /tmp/async-up/big.bin")
        assert in_capsule.stdout.split()[0] == want

    run(body())


# ── AsyncPtySession ─────────────────────────────────────────────────────────


async def _read_until(term, pattern, timeout=15.0):
    """Iterate the session until `pattern` shows in the output or an event of that type arrives."""
    rx = re.compile(pattern)
    buf = bytearray()
    events = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{pattern!r} not seen; output {bytes(buf)[-2000:]!r}")
        event = await asyncio.wait_for(term.__anext__(), left)
        events.append(event)
        if event.type == "output":
            buf.extend(event.data)
        if event.type == pattern or rx.search(buf.decode("utf-8", "replace")):
            return events, buf.decode("utf-8", "replace")


def test_async_pty_write_resize_kill_and_reconnect(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        async with c.pty(cols=80, rows=24) as term:
            events, _ = await _read_until(term, "started")
            tag = events[-1].tag
            assert tag and term.tag == tag and term.pid == events[-1].pid
            await term.write(b"export K=v$((4+4))\n")
            await term.resize(90, 30)
            await term.write(b'echo "R:$(stty size):$K"\n')
            await _read_until(term, r"R:30 90:v8")
        async with c.pty_connect(tag) as again:
            await again.write(b"echo AGAIN:$K\n")
            await _read_until(again, r"AGAIN:v8")
            await again.kill()
            events, _ = await _read_until(again, "exit")
            assert events[-1].type == "exit"

    run(body())


# ── AsyncWrennClient ────────────────────────────────────────────────────────


def test_async_client_capsules_resource(janitor):
    async def body():
        async with AsyncWrennClient() as client:
            model = janitor.capsule(await client.capsules.create(template="minimal"))
            await _poll(
                lambda: _status_is(client, model.id, Status.running), 60, "running"
            )
            assert model.id in [x.id for x in await client.capsules.list()]
            await client.capsules.ping(model.id)
            metrics = await client.capsules.metrics(model.id, range="10m")
            assert isinstance(metrics.points, list)
            stats = await client.capsules.stats(range="5m")
            assert stats.current is not None and stats.current.running_count >= 1
            usage = await client.capsules.usage()
            assert usage.from_ is not None and usage.to is not None
            assert (await client.capsules.pause(model.id)).id == model.id
            await _poll(lambda: _status_is(client, model.id, Status.paused), 30, "paused")
            await client.capsules.resume(model.id)
            await _poll(lambda: _status_is(client, model.id, Status.running), 30, "running")
            await client.capsules.destroy(model.id)
            await _poll(lambda: _gone(client, model.id), 30, "destroyed")

    async def _status_is(client, cid, status):
        return (await client.capsules.get(cid)).status == status

    run(body())


def test_async_client_snapshots_resource(janitor):
    async def body():
        c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
        await c.files.write("/root/async-snap.txt", "snap")
        name = janitor.snapshot(unique("conf-asnap"))
        template = await c.create_snapshot(name=name)
        assert (template.name, template.type) == (name, "snapshot")
        async with AsyncWrennClient() as client:
            assert name in [t.name for t in await client.snapshots.list(type="snapshot")]
            child = janitor.capsule(await AsyncCapsule.create(template=name, wait=True))
            assert await child.files.read("/root/async-snap.txt") == "snap"
            await child.destroy(wait=True)
            await client.snapshots.delete(name)
            assert name not in [t.name for t in await client.snapshots.list()]
            with pytest.raises(WrennNotFoundError):
                await client.snapshots.delete(name)

    run(body())


def test_async_event_stream_sees_capsule_lifecycle(janitor):
    async def body():
        seen = []

        async with AsyncWrennClient() as client:

            async def reader():
                async for ev in client.events.stream():
                    seen.append(ev)

            task = asyncio.create_task(reader())
            try:
                await _poll(_connected(seen, task), 5, "connected")
                c = janitor.capsule(await AsyncCapsule.create(template="minimal", wait=True))
                await c.pause(wait=True)
                await c.resume(wait=True)
                await c.destroy(wait=True)
                wanted = ["capsule.create", "capsule.pause", "capsule.resume", "capsule.destroy"]

                async def done():
                    if task.done():
                        raise AssertionError(f"event stream ended: {task.exception()!r}")
                    return is_subsequence(wanted, event_names(events_for(seen, c.capsule_id)))

                await _poll(done, 30, f"{wanted} for {c.capsule_id}")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def _connected(seen, task):
        async def check():
            if task.done():
                raise AssertionError(f"event stream ended: {task.exception()!r}")
            return any(e.event is not None and e.event.value == "connected" for e in seen)

        return check

    run(body())


def test_async_wrong_key_and_unknown_capsule(server):
    async def body():
        async with AsyncWrennClient(api_key="wrn_" + "e" * 32) as bad:
            with pytest.raises(WrennAuthenticationError):
                await bad.capsules.list()
        async with AsyncWrennClient() as client:
            with pytest.raises(WrennNotFoundError):
                await client.capsules.get("cl-0000000000000000000000000")
        with pytest.raises(WrennNotFoundError):
            await AsyncCapsule.connect("cl-0000000000000000000000000")

    run(body())
