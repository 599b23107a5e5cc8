"""capsule.commands: run (foreground and background), list, kill, connect and
stream (contract §6.3, §7.2, §7.3, §11.7)."""

import time

import pytest
from wrenn import (
    CommandHandle,
    CommandResult,
    StreamExitEvent,
    StreamStartEvent,
    WrennError,
    WrennNotFoundError,
)

from _helpers import StreamCollector, stream_output, wait_until

# ── foreground ──────────────────────────────────────────────────────────────


def test_run_returns_stdout_and_exit_code_zero(capsule):
    result = capsule.commands.run("echo hello; echo world")
    assert isinstance(result, CommandResult)
    assert result.stdout == "hello\nworld\n"
    assert result.stderr == ""
    assert result.exit_code == 0


def test_run_reports_nonzero_exit_codes_without_raising(capsule):
    for code in (1, 3, 127, 255):
        assert capsule.commands.run(f"exit {code}").exit_code == code


def test_run_of_a_missing_program_is_exit_127_with_stderr(capsule):
    result = capsule.commands.run("definitely-not-a-command-xyz")
    assert result.exit_code == 127
    assert "not found" in result.stderr


def test_run_keeps_stdout_and_stderr_apart(capsule):
    result = capsule.commands.run("echo to-out; echo to-err >&2; exit 4")
    assert result.stdout == "to-out\n"
    assert result.stderr == "to-err\n"
    assert result.exit_code == 4


def test_run_passes_envs(capsule):
    result = capsule.commands.run(
        'printf "%s|%s" "$GREETING" "$SPACED"',
        envs={"GREETING": "hi there", "SPACED": "a b  c"},
    )
    assert result.stdout == "hi there|a b  c"


def test_run_uses_cwd(capsule):
    capsule.commands.run("mkdir -p /tmp/cwd-test/inner")
    result = capsule.commands.run("pwd; ls", cwd="/tmp/cwd-test")
    assert result.stdout == "/tmp/cwd-test\ninner\n"


def test_run_with_envs_and_cwd_together(capsule):
    result = capsule.commands.run('echo "$X@$(pwd)"', envs={"X": "both"}, cwd="/tmp")
    assert result.stdout == "both@/tmp\n"


def test_run_in_a_missing_cwd_fails(capsule):
    try:
        result = capsule.commands.run("pwd", cwd="/no/such/dir")
    except WrennError as e:
        assert e.status_code < 500, e
    else:
        assert result.exit_code != 0


def test_run_returns_non_utf8_output_lossily(capsule):
    result = capsule.commands.run(r"printf '\377\376ok'; printf 'e\377rr' >&2")
    assert result.exit_code == 0
    assert result.stdout.endswith("ok")
    assert "\ufffd" in result.stdout
    assert result.stderr.startswith("e") and result.stderr.endswith("rr")
    assert "\ufffd" in result.stderr


def test_run_returns_utf8_output_unchanged(capsule):
    result = capsule.commands.run("printf 'h\\303\\251llo \\342\\234\\223'")
    assert result.stdout == "héllo ✓"


def test_run_returns_a_megabyte_of_output(capsule):
    result = capsule.commands.run("head -c 1048576 /dev/zero | tr '\\0' a")
    assert result.exit_code == 0
    assert len(result.stdout) == 1 << 20
    assert set(result.stdout) == {"a"}


def test_run_reports_duration(capsule):
    result = capsule.commands.run("sleep 0.5")
    assert result.exit_code == 0
    if result.duration_ms is not None:
        assert 400 <= result.duration_ms < 10_000


def test_run_timeout_ends_the_command(capsule):
    started = time.monotonic()
    try:
        result = capsule.commands.run("sleep 21; echo finished", timeout=2)
    except WrennError as e:
        # An error body is allowed when the command's own timeout fires.
        assert e.status_code >= 400
    else:
        assert result.exit_code != 0
        assert "finished" not in result.stdout
    elapsed = time.monotonic() - started
    assert elapsed < 12, f"timeout=2 took {elapsed:.1f}s"
    # The timed-out command does not linger.
    wait_until(
        lambda: capsule.commands.run("pgrep -f 'slee[p] 21' || echo none").stdout == "none\n",
        timeout=10,
        what="timed-out sleep to be gone",
    )


def test_run_without_timeout_uses_the_server_default(capsule):
    result = capsule.commands.run("echo no-timeout", timeout=None)
    assert result.stdout == "no-timeout\n"


def test_run_longer_than_default_read_timeout_with_larger_timeout(capsule):
    result = capsule.commands.run("sleep 3; echo slow", timeout=40)
    assert result.stdout == "slow\n"


# ── background ──────────────────────────────────────────────────────────────


def test_background_run_returns_a_handle(capsule):
    handle = capsule.commands.run("sleep 600", background=True, tag="sleeper")
    assert isinstance(handle, CommandHandle)
    assert handle.pid > 0
    assert handle.tag == "sleeper"
    assert handle.capsule_id == capsule.capsule_id


def test_background_run_without_tag_gets_one(capsule):
    handle = capsule.commands.run("sleep 600", background=True)
    assert handle.pid > 0
    assert isinstance(handle.tag, str) and handle.tag


def test_list_shows_background_processes(capsule):
    first = capsule.commands.run("sleep 600", background=True, tag="one")
    second = capsule.commands.run("sleep 601", background=True, tag="two")
    procs = {p.pid: p for p in capsule.commands.list()}
    assert first.pid in procs and second.pid in procs
    assert procs[first.pid].tag == "one"
    assert procs[second.pid].tag == "two"
    shown = " ".join([procs[first.pid].cmd or ""] + (procs[first.pid].args or []))
    assert "sleep 600" in shown


def test_list_of_a_fresh_capsule_is_a_list(capsule):
    # `"processes": null` would crash the SDK (contract §0.4).
    assert isinstance(capsule.commands.list(), list)


def test_kill_ends_a_background_process(capsule):
    handle = capsule.commands.run("sleep 600", background=True)
    capsule.commands.kill(handle.pid)
    wait_until(
        lambda: handle.pid not in [p.pid for p in capsule.commands.list()],
        timeout=10,
        what="killed process to leave the list",
    )


def test_kill_of_unknown_pid_is_not_found(capsule):
    with pytest.raises(WrennNotFoundError):
        capsule.commands.kill(999_999)


def test_background_run_passes_envs_and_cwd(capsule):
    handle = capsule.commands.run(
        'sleep 1; echo "$BG_VAR"; pwd; exit 7',
        background=True,
        envs={"BG_VAR": "from-env"},
        cwd="/tmp",
    )
    events = list(capsule.commands.connect(handle.pid))
    out, _ = stream_output(events)
    assert out == "from-env\n/tmp\n"
    assert isinstance(events[-1], StreamExitEvent)
    assert events[-1].exit_code == 7


def test_connect_streams_output_and_exit_of_a_running_process(capsule):
    handle = capsule.commands.run(
        "for i in 1 2 3; do sleep 0.3; echo line$i; done; echo oops >&2; exit 5",
        background=True,
    )
    events = list(capsule.commands.connect(handle.pid))
    out, err = stream_output(events)
    assert out == "line1\nline2\nline3\n"
    assert err == "oops\n"
    assert events[-1].type == "exit" and events[-1].exit_code == 5


def test_connect_after_the_process_finished_reports_its_exit_code(capsule):
    handle = capsule.commands.run("exit 3", background=True)
    wait_until(
        lambda: handle.pid not in [p.pid for p in capsule.commands.list()],
        timeout=10,
        what="process to finish",
    )
    events = list(capsule.commands.connect(handle.pid))
    assert events, "no events at all"
    assert events[-1].type == "exit"
    assert events[-1].exit_code == 3


def test_connect_sees_the_exit_of_a_killed_process(capsule):
    handle = capsule.commands.run("echo started; sleep 600", background=True)
    reader = StreamCollector(capsule.commands.connect(handle.pid))
    time.sleep(1)
    capsule.commands.kill(handle.pid)
    events = reader.join(timeout=20)
    assert events[-1].type in ("exit", "error")
    if events[-1].type == "exit":
        assert events[-1].exit_code != 0


def test_connect_to_unknown_pid_fails(capsule):
    import httpx_ws

    try:
        events = list(capsule.commands.connect(999_999))
    except httpx_ws.WebSocketUpgradeError as e:
        assert e.response.status_code == 404
    else:
        assert events and events[-1].type == "error", [e.type for e in events]


# ── stream ──────────────────────────────────────────────────────────────────


def test_stream_yields_start_output_and_exit(capsule):
    events = list(capsule.commands.stream("echo out; echo err >&2; exit 4"))
    assert isinstance(events[0], StreamStartEvent)
    assert events[0].pid > 0
    out, err = stream_output(events)
    assert out == "out\n"
    assert err == "err\n"
    assert isinstance(events[-1], StreamExitEvent)
    assert events[-1].exit_code == 4
    assert [e.type for e in events].count("exit") == 1


def test_stream_with_args_runs_the_program_directly(capsule):
    events = list(capsule.commands.stream("/bin/echo", ["a  b", "$HOME"]))
    out, _ = stream_output(events)
    assert out == "a  b $HOME\n"  # no shell: nothing expanded
    assert events[-1].exit_code == 0


def test_stream_delivers_output_as_it_is_produced(capsule):
    stamps = []
    for event in capsule.commands.stream("for i in 1 2 3; do echo tick$i; sleep 1; done"):
        if event.type == "stdout":
            stamps.append((time.monotonic(), event.data))
    text = "".join(d for _, d in stamps)
    assert text == "tick1\ntick2\ntick3\n"
    # tick1 arrives well before the command ends (~3 s), not all at once.
    assert stamps[-1][0] - stamps[0][0] >= 1.5


def test_stream_converts_non_utf8_output_lossily(capsule):
    events = list(capsule.commands.stream(r"printf 'a\377b'"))
    out, _ = stream_output(events)
    assert out.startswith("a") and out.endswith("b") and "\ufffd" in out
    assert events[-1].exit_code == 0


def test_stream_of_a_missing_program_ends_with_error_or_exit_127(capsule):
    events = list(capsule.commands.stream("/no/such/program", ["x"]))
    last = events[-1]
    assert last.type in ("exit", "error")
    if last.type == "exit":
        assert last.exit_code != 0


@pytest.mark.slow
def test_stream_of_a_long_silent_command_survives_websocket_keepalive(capsule):
    # httpx-ws pings every 20 s and drops the socket if no pong comes within
    # 20 s (contract §0.7): silent for 45 s, the stream only survives if the
    # server answers pings on a stream with no output.
    events = list(capsule.commands.stream("sleep 45; echo woke"))
    out, _ = stream_output(events)
    assert out == "woke\n"
    assert events[-1].type == "exit" and events[-1].exit_code == 0
