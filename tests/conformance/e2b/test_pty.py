"""sandbox.pty.* — Process.Start with a PTY, SendInput(pty), Update (resize),
SendSignal (kill) and Connect.

Typed input is echoed back by the terminal, so every check prints a marker
produced by shell expansion (e.g. `$((6*7))`) that cannot appear in the echo.
"""

import pytest
from e2b import CommandExitException, PtySize

from _helpers import PtyReader, wait_until


@pytest.fixture
def pty(sandbox):
    """Create a PTY and make sure it is gone after the test."""
    created = []

    def make(rows=24, cols=80, **kw):
        handle = sandbox.pty.create(PtySize(rows=rows, cols=cols), **kw)
        created.append(handle.pid)
        return handle, PtyReader(handle)

    yield make
    for pid in created:
        sandbox.pty.kill(pid)


def _send(sandbox, pid, line: str):
    sandbox.pty.send_stdin(pid, line.encode() + b"\n")


def test_create_send_and_read(sandbox, pty):
    h, out = pty()
    assert h.pid > 0
    _send(sandbox, h.pid, "echo MARK$((6*7))END")
    out.wait_for(r"MARK42END")


def test_is_a_terminal_with_term_env(sandbox, pty):
    h, out = pty()
    _send(sandbox, h.pid, 'if [ -t 0 ] && [ -t 1 ]; then echo "T:$((1+1)):$TERM"; fi')
    out.wait_for(r"T:2:xterm-256color")


def test_initial_size_and_resize(sandbox, pty):
    h, out = pty(rows=24, cols=80)
    _send(sandbox, h.pid, 'echo "SZ1:$(stty size):$((0))"')
    out.wait_for(r"SZ1:24 80:0")

    sandbox.pty.resize(h.pid, PtySize(rows=33, cols=101))
    _send(sandbox, h.pid, 'echo "SZ2:$(stty size):$((0))"')
    out.wait_for(r"SZ2:33 101:0")


def test_envs_cwd_user(sandbox, pty, work):
    h, out = pty(envs={"WRENN_PTY": "zz"}, cwd=work.path, user="root")
    _send(sandbox, h.pid, 'echo "E:$WRENN_PTY:$(pwd -P):$(id -u):E"')
    m = out.wait_for(r"E:(\w+):(\S+):(\d+):E")
    assert m.group(1) == "zz"
    assert m.group(2) == work.path
    assert m.group(3) == "0"


def test_output_arrives_as_pty_bytes_not_stdout(sandbox, pty):
    # PtyReader only collects the `pty` field of DataEvents; stdout/stderr
    # events would be dropped and the marker never seen.
    h, out = pty()
    _send(sandbox, h.pid, "echo ERR$((2+3)) >&2")
    out.wait_for(r"ERR5")


def test_exit_code(sandbox, pty):
    h, out = pty()
    _send(sandbox, h.pid, "exit 3")
    assert out.join(10), "PTY stream did not end after `exit 3`"
    assert isinstance(out.error, CommandExitException), out.error
    assert out.error.exit_code == 3


def test_clean_exit(sandbox, pty):
    h, out = pty()
    _send(sandbox, h.pid, "exit 0")
    assert out.join(10), "PTY stream did not end after `exit 0`"
    assert out.error is None, out.error
    assert out.result.exit_code == 0


def test_kill(sandbox, pty):
    h, out = pty()
    _send(sandbox, h.pid, "echo UP$((1))")
    out.wait_for(r"UP1")
    assert sandbox.pty.kill(h.pid) is True
    assert out.join(10), "PTY stream did not end after kill"
    assert isinstance(out.error, CommandExitException), out.error
    assert out.error.exit_code != 0
    wait_until(
        lambda: all(p.pid != h.pid for p in sandbox.commands.list()),
        what="killed PTY to leave commands.list()",
    )
    assert sandbox.pty.kill(h.pid) is False


def test_listed_and_connect(sandbox, pty):
    h, out = pty()
    assert any(p.pid == h.pid for p in sandbox.commands.list())

    h2 = sandbox.pty.connect(h.pid)
    assert h2.pid == h.pid
    out2 = PtyReader(h2)
    _send(sandbox, h.pid, "echo BOTH$((7*6))")
    out2.wait_for(r"BOTH42")
    out.wait_for(r"BOTH42")


def test_stream_input_pty(sandbox, pty):
    h, out = pty()
    sandbox.pty.stream_input(h.pid, [b"echo SI", "$((9*9))", b"\n"])
    out.wait_for(r"SI81")
