"""sandbox.commands.* — process.Process Start/Connect/List/SendInput/StreamInput/
CloseStdin/SendSignal as driven by the E2B SDK."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from e2b import (
    CommandExitException,
    InvalidArgumentException,
    NotFoundException,
    TimeoutException,
)

from _helpers import wait_until


def _listed(sandbox, pid):
    return next((p for p in sandbox.commands.list() if p.pid == pid), None)


# --- foreground runs --------------------------------------------------------


def test_stdout_and_exit_zero(sandbox):
    r = sandbox.commands.run("echo hello")
    assert r.stdout == "hello\n"
    assert r.stderr == ""
    assert r.exit_code == 0
    assert r.error in (None, "")


def test_stderr_is_separate(sandbox):
    r = sandbox.commands.run("echo to-err >&2; echo to-out")
    assert r.stdout == "to-out\n"
    assert r.stderr == "to-err\n"
    assert r.exit_code == 0


def test_nonzero_exit_raises_command_exit_exception(sandbox):
    with pytest.raises(CommandExitException) as ei:
        sandbox.commands.run("echo partial; echo boom >&2; exit 7")
    e = ei.value
    assert e.exit_code == 7
    assert e.stdout == "partial\n"
    assert e.stderr == "boom\n"


def test_exit_code_from_subshell_failure(sandbox):
    with pytest.raises(CommandExitException) as ei:
        sandbox.commands.run("false")
    assert ei.value.exit_code == 1


def test_envs_are_passed(sandbox):
    r = sandbox.commands.run(
        'printf "%s|%s" "$WRENN_A" "$WRENN_B"',
        envs={"WRENN_A": "alpha", "WRENN_B": "two words"},
    )
    assert r.stdout == "alpha|two words"


def test_process_environment(sandbox, envd):
    # Like E2B's envd: a clean environment with PATH, HOME, USER and LOGNAME
    # (HOME is the default user's home, i.e. --root in dev mode); envd's own
    # environment is not inherited.
    r = sandbox.commands.run(
        'printf "%s|%s|%s|%s|%s" "$HOME" "$USER" "$LOGNAME" '
        '"${WRENN_CONFORMANCE_ENVD_ONLY-unset}" "$(command -v ls)"'
    )
    home, user, logname, leaked, ls_path = r.stdout.split("|")
    assert home == str(envd.root)
    assert user == logname == "root"
    assert leaked == "unset"
    assert ls_path.endswith("/ls")


def test_default_cwd_is_root(sandbox, envd):
    r = sandbox.commands.run("pwd -P")
    assert r.stdout.strip() == str(envd.root)


def test_cwd_absolute(sandbox, work):
    r = sandbox.commands.run("pwd -P", cwd=work.path)
    assert r.stdout.strip() == work.path


def test_cwd_relative_resolves_under_root(sandbox, work):
    r = sandbox.commands.run("pwd -P", cwd=work.rel)
    assert r.stdout.strip() == work.path


def test_user_root(sandbox, work):
    r = sandbox.commands.run("id -u; id -un; touch owned", user="root", cwd=work.path)
    assert r.stdout.split() == ["0", "root"]
    assert os.stat(work.p("owned")).st_uid == 0


def test_streaming_callbacks(sandbox):
    outs, errs = [], []
    r = sandbox.commands.run(
        "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.05; done",
        on_stdout=outs.append,
        on_stderr=errs.append,
    )
    assert "".join(outs) == r.stdout == "out1\nout2\nout3\n"
    assert "".join(errs) == r.stderr == "err1\nerr2\nerr3\n"


def test_large_output(sandbox):
    n = 2_000_000
    r = sandbox.commands.run(f"head -c {n} /dev/zero | tr '\\0' x")
    assert len(r.stdout) == n
    assert set(r.stdout) == {"x"}


def test_utf8_in_command_and_output(sandbox):
    r = sandbox.commands.run("printf 'h\u00e9llo \u2713 %s' \"$V\"", envs={"V": "\u00fc"})
    assert r.stdout == "h\u00e9llo \u2713 \u00fc"


def test_stdin_not_requested_gets_eof(sandbox):
    # Without stdin=True the process must not hang waiting for input.
    t0 = time.monotonic()
    r = sandbox.commands.run("cat; echo done", timeout=10)
    assert r.stdout == "done\n"
    assert time.monotonic() - t0 < 5


def test_timeout_raises_timeout_exception(sandbox):
    t0 = time.monotonic()
    with pytest.raises(TimeoutException):
        sandbox.commands.run("sleep 3", timeout=1)
    assert time.monotonic() - t0 < 2.9


def test_timeout_kills_the_process(sandbox, work):
    # E2B's envd starts the process under a context bounded by the request's
    # Connect-Timeout-Ms (the SDK's `timeout`): when it expires the command is
    # killed, not merely disconnected.
    pidfile = work.p("pid")
    h = sandbox.commands.run(
        f"echo $$ > {pidfile}; exec sleep 10", background=True, timeout=1
    )
    wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip())
    pid = int(open(pidfile).read())
    assert pid == h.pid
    with pytest.raises(TimeoutException):
        h.wait()
    wait_until(
        lambda: not os.path.exists(f"/proc/{pid}"),
        timeout=3,
        what="command to be killed after its timeout expired",
    )


def test_cwd_missing_raises_invalid_argument(sandbox, work):
    with pytest.raises(InvalidArgumentException):
        sandbox.commands.run("true", cwd=work.p("no-such-dir"))


def test_concurrent_commands(sandbox):
    def one(i):
        return sandbox.commands.run(f"sleep 0.5; echo {i}").stdout

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as ex:
        outs = list(ex.map(one, range(8)))
    assert outs == [f"{i}\n" for i in range(8)]
    # 8 x 0.5 s sequentially would be >= 4 s.
    assert time.monotonic() - t0 < 3.0


# --- background / connect / list / kill --------------------------------------


def test_background_wait(sandbox):
    h = sandbox.commands.run("echo a; sleep 0.2; echo b", background=True)
    assert h.pid > 0
    r = h.wait()
    assert r.stdout == "a\nb\n"
    assert r.exit_code == 0


def test_background_list_and_kill(sandbox, work):
    ready = work.p("ready")
    cmd = f"touch {ready}; exec sleep 30"
    h = sandbox.commands.run(
        cmd, background=True, envs={"WRENN_MARK": work.rel}, cwd=work.path
    )
    pid = h.pid
    # Do not kill a login shell while it is still starting up.
    wait_until(lambda: os.path.exists(ready), what="command to start")
    # In dev mode processes run on this host: the pid is the real process.
    wait_until(
        lambda: b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read(),
        what=f"pid {pid} to be the started command",
    )

    info = _listed(sandbox, pid)
    assert info is not None, "background command missing from commands.list()"
    assert info.cmd == "/bin/bash"
    assert info.args == ["-l", "-c", cmd]
    assert info.envs.get("WRENN_MARK") == work.rel
    assert info.cwd == work.path
    assert info.tag is None

    assert sandbox.commands.kill(pid) is True
    with pytest.raises(CommandExitException) as ei:
        h.wait()
    assert ei.value.exit_code != 0

    wait_until(lambda: _listed(sandbox, pid) is None, what="killed pid to leave list()")
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what="killed pid to be reaped")
    assert sandbox.commands.kill(pid) is False


def test_finished_command_leaves_list(sandbox):
    h = sandbox.commands.run("true", background=True)
    h.wait()
    wait_until(lambda: _listed(sandbox, h.pid) is None, what="finished pid to leave list()")


def test_disconnect_then_connect(sandbox):
    h = sandbox.commands.run(
        'read line; echo "got:$line"; echo err-side >&2', background=True, stdin=True
    )
    h.disconnect()  # must not kill the process
    assert _listed(sandbox, h.pid) is not None

    h2 = sandbox.commands.connect(h.pid)
    assert h2.pid == h.pid
    sandbox.commands.send_stdin(h.pid, "ping\n")
    r = h2.wait()
    assert r.stdout == "got:ping\n"
    assert r.stderr == "err-side\n"


def test_connect_sees_nonzero_exit(sandbox):
    h = sandbox.commands.run("read x; exit 5", background=True, stdin=True)
    h2 = sandbox.commands.connect(h.pid)
    h2.send_stdin("\n")
    with pytest.raises(CommandExitException) as ei:
        h2.wait()
    assert ei.value.exit_code == 5
    with pytest.raises(CommandExitException):
        h.wait()


def test_handle_kill(sandbox, work):
    ready = work.p("ready")
    h = sandbox.commands.run(f"touch {ready}; sleep 30", background=True)
    wait_until(lambda: os.path.exists(ready), what="command to start")
    assert h.kill() is True
    with pytest.raises(CommandExitException):
        h.wait()


def test_kill_unknown_pid_returns_false(sandbox):
    assert sandbox.commands.kill(999_999) is False


def test_connect_unknown_pid_raises_not_found(sandbox):
    with pytest.raises(NotFoundException):
        sandbox.commands.connect(999_999)


def test_send_stdin_unknown_pid_raises_not_found(sandbox):
    with pytest.raises(NotFoundException):
        sandbox.commands.send_stdin(999_999, "x")


# --- stdin -------------------------------------------------------------------


def test_send_stdin_and_close_stdin(sandbox):
    h = sandbox.commands.run("cat", background=True, stdin=True)
    sandbox.commands.send_stdin(h.pid, "hello\n")
    h.send_stdin(b"world\n")
    sandbox.commands.close_stdin(h.pid)
    r = h.wait()
    assert r.stdout == "hello\nworld\n"


def test_stdin_binary_byte_count(sandbox):
    payload = bytes(range(256)) * 64  # 16 KiB, every byte value
    h = sandbox.commands.run("wc -c", background=True, stdin=True)
    h.send_stdin(payload)
    h.close_stdin()
    assert h.wait().stdout.strip() == str(len(payload))


def test_stream_input(sandbox):
    h = sandbox.commands.run("cat", background=True, stdin=True)
    sandbox.commands.stream_input(h.pid, [b"ab", "cd", b"\n"])
    h.close_stdin()
    assert h.wait().stdout == "abcd\n"
