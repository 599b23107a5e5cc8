"""capsule.git: every method is `commands.run` of a shell-quoted git argv
with `envs` (always GIT_TERMINAL_PROMPT=0) and `cwd` (contract §6.3).

The base templates ship no `git`, and tests may not reach the network to
install it. So the SDK-to-server path is checked with a recording fake `git`
put first on PATH through `envs` (that also proves foreground `envs` and
`cwd` reach the process); the real-git round trip (a local bare repository,
no network) runs only where the template has git.
"""


import pytest
from wrenn import GitAuthError, GitCommandError

FAKE_DIR = "/opt/wrenn-fake-git"
FAKE_LOG = "/tmp/wrenn-fake-git.log"
FAKE_GIT = f"""#!/bin/sh
{{
  printf 'call\\n'
  printf 'cwd=%s\\n' "$(pwd)"
  printf 'prompt=%s\\n' "$GIT_TERMINAL_PROMPT"
  printf 'extra=%s\\n' "$EXTRA"
  for a in "$@"; do printf 'arg=%s\\n' "$a"; done
}} >> {FAKE_LOG}
case "$1" in
  status) printf '## main...origin/main [ahead 2, behind 1]\\n M file.txt\\nA  added.txt\\n?? new.txt\\n' ;;
  branch) [ "$2" = "-D" ] || printf 'main\\t*\\nfeature\\t \\n' ;;
  config) [ "$3" != "--get" ] || printf 'Fake Name\\n' ;;
  remote) [ "$2" != "get-url" ] || printf 'https://example.invalid/r.git\\n' ;;
  commit) printf 'fatal: boom\\n' >&2; exit 128 ;;
  push) printf 'fatal: Authentication failed for x\\n' >&2; exit 128 ;;
esac
exit 0
"""


class FakeGit:
    def __init__(self, capsule):
        self.capsule = capsule
        capsule.files.write(f"{FAKE_DIR}/git", FAKE_GIT)
        assert capsule.commands.run(f"chmod 755 {FAKE_DIR}/git").exit_code == 0
        self.envs = {"PATH": f"{FAKE_DIR}:/usr/local/bin:/usr/bin:/bin", "EXTRA": "passed"}

    def calls(self) -> list[dict]:
        """Each recorded call: {'cwd', 'prompt', 'extra', 'args': [...]}."""
        calls: list[dict] = []
        for line in self.capsule.files.read(FAKE_LOG).splitlines():
            if line == "call":
                calls.append({"args": []})
            elif line.startswith("arg="):
                calls[-1]["args"].append(line[4:])
            else:
                key, _, value = line.partition("=")
                calls[-1][key] = value
        return calls


@pytest.fixture
def fake_git(capsule):
    return FakeGit(capsule)


def test_git_runs_in_cwd_with_envs_and_prompts_disabled(capsule, fake_git):
    capsule.commands.run("mkdir -p /tmp/gitwork")
    capsule.git.init("repo dir", initial_branch="main", cwd="/tmp/gitwork", envs=fake_git.envs)
    (call,) = fake_git.calls()
    assert call["cwd"] == "/tmp/gitwork"
    assert call["prompt"] == "0"
    assert call["extra"] == "passed"
    assert call["args"] == ["init", "--initial-branch", "main", "repo dir"]


def test_git_status_and_branches_are_parsed(capsule, fake_git):
    status = capsule.git.status(envs=fake_git.envs)
    assert (status.branch, status.upstream, status.ahead, status.behind) == (
        "main",
        "origin/main",
        2,
        1,
    )
    files = {f.path: f for f in status.files}
    assert set(files) == {"file.txt", "added.txt", "new.txt"}
    assert files["added.txt"].staged
    assert status.has_untracked

    branches = capsule.git.branches(envs=fake_git.envs)
    assert [(b.name, b.is_current) for b in branches] == [("main", True), ("feature", False)]


def test_git_getters_return_trimmed_output(capsule, fake_git):
    assert capsule.git.get_config("user.name", envs=fake_git.envs) == "Fake Name"
    assert capsule.git.remote_get("origin", envs=fake_git.envs) == "https://example.invalid/r.git"


def test_git_every_mutating_method_sends_its_argv(capsule, fake_git):
    e = fake_git.envs
    capsule.git.add(["a.txt", "b c.txt"], envs=e)
    capsule.git.add(all=True, envs=e)
    capsule.git.create_branch("topic", envs=e)
    capsule.git.checkout_branch("main", envs=e)
    capsule.git.delete_branch("topic", force=True, envs=e)
    capsule.git.remote_add("up", "https://example.invalid/u.git", envs=e)
    capsule.git.reset(mode="hard", ref="HEAD~1", envs=e)
    capsule.git.restore(["x.txt"], staged=True, envs=e)
    capsule.git.set_config("core.editor", "true", envs=e)
    capsule.git.configure_user("Ann", "ann@example.invalid", envs=e)
    capsule.git.pull(envs=e)
    capsule.git.clone("https://example.invalid/c.git", "dest", depth=1, envs=e)
    commands = [" ".join(c["args"]) for c in fake_git.calls()]
    for expected in (
        "add -- a.txt",
        "add -A",
        "checkout -b topic",
        "checkout main",
        "branch -D topic",
        "remote add up https://example.invalid/u.git",
        "reset --hard HEAD~1",
        "restore --staged -- x.txt",
        "config --local core.editor true",
        "config --global user.name Ann",
        "pull origin",
        "clone",
    ):
        assert any(cmd.startswith(expected) for cmd in commands), (expected, commands)
    # shlex-quoted arguments arrive as single argv entries.
    add_call = next(c for c in fake_git.calls() if c["args"][:1] == ["add"])
    assert "b c.txt" in add_call["args"]


def test_git_failures_raise_with_exit_code_and_stderr(capsule, fake_git):
    with pytest.raises(GitCommandError) as exc:
        capsule.git.commit("msg", envs=fake_git.envs)
    assert exc.value.exit_code == 128
    assert "boom" in exc.value.stderr
    with pytest.raises(GitAuthError):
        capsule.git.push(envs=fake_git.envs)


def test_git_without_a_git_binary_is_exit_127(capsule):
    has_git = capsule.commands.run("command -v git").exit_code == 0
    if has_git:
        pytest.skip("template has git")
    with pytest.raises(GitCommandError) as exc:
        capsule.git.init("/tmp/nogit")
    assert exc.value.exit_code == 127


def test_real_git_round_trip_through_a_local_bare_repo(capsule):
    if capsule.commands.run("command -v git").exit_code != 0:
        pytest.skip("the minimal template has no git (and tests may not install it)")
    g = capsule.git
    g.configure_user("Conformance", "conformance@example.invalid")
    g.init("/tmp/remote.git", bare=True, initial_branch="main")
    g.init("/tmp/work", initial_branch="main")
    capsule.files.write("/tmp/work/a.txt", "one\n")
    g.add(cwd="/tmp/work")
    g.commit("first", cwd="/tmp/work")
    assert g.status(cwd="/tmp/work").is_clean
    g.remote_add("origin", "/tmp/remote.git", cwd="/tmp/work")
    assert g.remote_get("origin", cwd="/tmp/work") == "/tmp/remote.git"
    g.push("origin", "main", set_upstream=True, cwd="/tmp/work")

    g.clone("/tmp/remote.git", "/tmp/clone")
    assert capsule.files.read("/tmp/clone/a.txt") == "one\n"

    capsule.files.write("/tmp/work/a.txt", "two\n")
    g.add(["a.txt"], cwd="/tmp/work")
    g.commit("second", cwd="/tmp/work")
    g.push(cwd="/tmp/work")
    g.pull(cwd="/tmp/clone")
    assert capsule.files.read("/tmp/clone/a.txt") == "two\n"

    g.create_branch("topic", cwd="/tmp/work")
    assert {b.name: b.is_current for b in g.branches(cwd="/tmp/work")} == {"main": False, "topic": True}
    g.checkout_branch("main", cwd="/tmp/work")
    g.delete_branch("topic", cwd="/tmp/work")
    assert [b.name for b in g.branches(cwd="/tmp/work")] == ["main"]

    capsule.files.write("/tmp/work/a.txt", "dirty\n")
    g.restore(["a.txt"], worktree=True, cwd="/tmp/work")
    assert capsule.files.read("/tmp/work/a.txt") == "two\n"
    g.reset(mode="hard", ref="HEAD~1", cwd="/tmp/work")
    assert capsule.files.read("/tmp/work/a.txt") == "one\n"

    g.set_config("wrenn.test", "yes", cwd="/tmp/work")
    assert g.get_config("wrenn.test", cwd="/tmp/work") == "yes"
    g.dangerously_authenticate("user", "token", host="git.example.invalid")
    assert g.get_config("credential.helper", scope="global") == "store"
    creds = capsule.commands.run("cat ~/.git-credentials").stdout
    assert "git.example.invalid" in creds


def test_async_git_uses_the_same_exec_path(capsule, fake_git):
    import asyncio

    from wrenn import AsyncCapsule

    async def body():
        c = await AsyncCapsule.connect(capsule.capsule_id)
        status = await c.git.status(cwd="/tmp", envs=fake_git.envs)
        branches = await c.git.branches(envs=fake_git.envs)
        with pytest.raises(GitCommandError):
            await c.git.commit("msg", envs=fake_git.envs)
        await c._client.aclose()
        return status, branches

    status, branches = asyncio.run(asyncio.wait_for(body(), 60))
    assert status.branch == "main" and status.ahead == 2
    assert [b.name for b in branches] == ["main", "feature"]
    calls = fake_git.calls()
    assert calls[0]["cwd"] == "/tmp" and calls[0]["prompt"] == "0"
    assert [c["args"][0] for c in calls] == ["status", "branch", "commit"]
