"""capsule.pty / pty_connect and PtySession write/resize/kill (contract §7.4).

Typed input is echoed back by the terminal, so every check prints a marker
made by shell expansion (e.g. `$((6*7))`) that cannot appear in the echo.
Sessions are read on a background thread (`PtyCollector`); the SDK answers the
server's `{"type":"ping"}` with a pong only while someone iterates.
"""

import time

import pytest

from _helpers import PtyCollector, wait_until


def test_pty_starts_echoes_input_and_reports_pid_and_tag(capsule):
    with capsule.pty() as term:
        out = PtyCollector(term)
        started = out.wait_event("started")
        assert started.pid and started.pid > 0
        assert started.tag
        assert term.pid == started.pid
        assert term.tag == started.tag
        term.write(b"echo MARK$((6*7))END\n")
        out.wait_for(r"MARK42END")
        term.kill()
        out.wait_event("exit")


def test_input_sent_before_started_is_not_lost(capsule):
    # The SDK does not wait for `started`: the first bytes may reach the
    # server before the PTY process exists.
    with capsule.pty() as term:
        term.write(b"echo EARLY$((1+1))\n")
        term.resize(100, 30)
        out = PtyCollector(term)
        out.wait_for(r"EARLY2")
        term.write(b'echo "SZ:$(stty size):$((0))"\n')
        out.wait_for(r"SZ:30 100:0")
        term.kill()


def test_pty_is_a_terminal_of_the_requested_size(capsule):
    with capsule.pty(cols=120, rows=40) as term:
        out = PtyCollector(term)
        term.write(b'if [ -t 0 ] && [ -t 1 ]; then echo "T:$((1+1)):$(stty size)"; fi\n')
        out.wait_for(r"T:2:40 120")
        term.kill()


def test_resize_changes_the_terminal_size(capsule):
    with capsule.pty(cols=80, rows=24) as term:
        out = PtyCollector(term)
        term.write(b'echo "A:$(stty size):$((0))"\n')
        out.wait_for(r"A:24 80:0")
        term.resize(101, 33)
        time.sleep(0.3)
        term.write(b'echo "B:$(stty size):$((0))"\n')
        out.wait_for(r"B:33 101:0")
        term.kill()


def test_resize_rejects_zero_sizes_client_side(capsule):
    with capsule.pty() as term:
        with pytest.raises(ValueError):
            term.resize(0, 10)
        term.kill()


def test_pty_command_args_envs_and_cwd(capsule):
    with capsule.pty(
        cmd="/bin/sh",
        args=["-c", 'echo "V:$PTY_VAR:$(pwd):$(stty size)"; exit 6'],
        envs={"PTY_VAR": "hello"},
        cwd="/tmp",
        cols=132,
        rows=50,
    ) as term:
        out = PtyCollector(term)
        out.wait_for(r"V:hello:/tmp:50 132")
        exit_event = out.wait_event("exit")
        assert exit_event.exit_code == 6
        assert out.join(), "iteration must end after the exit event"


def test_exit_of_the_shell_ends_the_session_with_its_code(capsule):
    with capsule.pty() as term:
        out = PtyCollector(term)
        term.write(b"exit 9\n")
        assert out.wait_event("exit").exit_code == 9
        assert out.join()


def test_kill_ends_the_pty_process(capsule):
    with capsule.pty(cmd="/bin/sh", args=["-c", "echo READY; sleep 600"]) as term:
        out = PtyCollector(term)
        started = out.wait_event("started")
        out.wait_for("READY")
        term.kill()
        out.wait_event("exit")
    probe = capsule.commands.run(f"kill -0 {started.pid} 2>/dev/null && echo alive || echo gone")
    assert probe.stdout == "gone\n"


def test_pty_survives_disconnect_and_reconnects_by_tag(capsule):
    with capsule.pty() as term:
        out = PtyCollector(term)
        tag = out.wait_event("started").tag
        term.write(b"export MARK=kept$((2+3))\n")
        term.write(b"echo SET:$MARK\n")
        out.wait_for(r"SET:kept5")
    # Leaving the context closes the socket without killing the process.
    with capsule.pty_connect(tag) as again:
        out2 = PtyCollector(again)
        again.write(b"echo GOT:$MARK\n")
        out2.wait_for(r"GOT:kept5")
        again.kill()
        out2.wait_event("exit")


def test_session_context_exit_sends_kill(capsule):
    with capsule.pty(cmd="/bin/sh", args=["-c", "sleep 600"]) as term:
        out = PtyCollector(term)
        pid = out.wait_event("started").pid
        with term:
            pass  # PtySession.__exit__ sends {"type":"kill"} and closes
    wait_until(
        lambda: capsule.commands.run(f"kill -0 {pid} 2>/dev/null || echo gone").stdout == "gone\n",
        timeout=10,
        what="pty process to be killed",
    )


def test_binary_output_is_passed_through_unchanged(capsule):
    with capsule.pty(cmd="/bin/sh", args=["-c", r"printf 'B:\303\251\342\234\223:E'"]) as term:
        out = PtyCollector(term)
        out.wait_event("exit")
        out.join()
        assert "B:é✓:E" in out.text


@pytest.mark.slow
def test_idle_pty_stays_open_and_answers_pings(capsule):
    # Idle for longer than the httpx-ws keepalive (20 s ping + 20 s pong wait)
    # and a typical server `{"type":"ping"}` period: the session must still
    # work afterwards (client pongs are sent by the SDK while iterating).
    with capsule.pty() as term:
        out = PtyCollector(term)
        out.wait_event("started")
        time.sleep(45)
        assert out.error is None, out.error
        term.write(b"echo AWAKE$((3*3))\n")
        out.wait_for(r"AWAKE9")
        term.kill()
