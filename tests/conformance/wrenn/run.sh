#!/usr/bin/env bash
# Runs the wrenn==0.3.0 Python SDK conformance suite against `wrenn up`.
#
#   WRENN_BIN=/path/to/wrenn tests/conformance/wrenn/run.sh [pytest args...]
#   tests/conformance/wrenn/run.sh --collect-only [pytest args...]   # no server
#
# Needs root (`wrenn up` starts capsules). Starts one `wrenn up` for the whole
# run on a free loopback port with a data dir under /var/tmp, runs pytest and
# stops the server again; a trap cleans up on any exit.
#
# Env:
#   WRENN_BIN                  (required unless --collect-only) the `wrenn` binary
#   WRENN_TEST_TEMPLATE_CACHE  dir holding the base templates `minimal` and
#                              `python` in the agent's layout (either
#                              <cache>/templates/<name> or <cache>/<name>);
#                              hard-linked into the data dir before the start
#   WRENN_SDK_VENV_DIR         virtualenv (default: $HOME/.cache/wrenn/wrenn-sdk-venv)
#   PYTHON                     interpreter that creates the venv (default: python3)
#   WRENN_START_TIMEOUT        seconds to wait for the server (default: 120)
#   WRENN_KEEP_DATA=1          keep the data dir (and its wrenn.log) afterwards
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

COLLECT_ONLY=0
if [[ "${1:-}" == "--collect-only" ]]; then
    COLLECT_ONLY=1
fi

if (( ! COLLECT_ONLY )); then
    if [[ -z "${WRENN_BIN:-}" ]]; then
        echo "error: WRENN_BIN is not set." >&2
        echo "       Build the wrenn binary and run:" >&2
        echo "       WRENN_BIN=target/debug/wrenn $0" >&2
        echo "       ($0 --collect-only lists the tests without a server.)" >&2
        exit 2
    fi
    if [[ ! -f "$WRENN_BIN" || ! -x "$WRENN_BIN" ]]; then
        echo "error: WRENN_BIN='$WRENN_BIN' is not an executable file." >&2
        exit 2
    fi
    WRENN_BIN="$(cd "$(dirname "$WRENN_BIN")" && pwd)/$(basename "$WRENN_BIN")"
    if [[ "$(id -u)" != 0 ]]; then
        echo "error: the wrenn conformance suite needs root (wrenn up starts capsules)." >&2
        exit 2
    fi
fi

# ── virtualenv ──────────────────────────────────────────────────────────────
VENV="${WRENN_SDK_VENV_DIR:-$HOME/.cache/wrenn/wrenn-sdk-venv}"
PYTHON="${PYTHON:-python3}"
REQS="$HERE/requirements.txt"
STAMP="$VENV/.wrenn-sdk-requirements.sha256"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo ">> creating virtualenv at $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]] || ! "$VENV/bin/python" -c 'import wrenn, pytest, pytest_timeout' 2>/dev/null; then
    echo ">> installing $REQS into $VENV" >&2
    # wrenn 0.3.0 says Requires-Python >=3.13 but runs on 3.11 (contract §1).
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --ignore-requires-python -r "$REQS"
    echo "$want" > "$STAMP"
fi

export PYTHONDONTWRITEBYTECODE=1
# Nothing may redirect SDK traffic away from loopback.
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
unset WRENN_BASE_URL WRENN_API_KEY WRENN_PROXY_DOMAIN WRENN_SERVER_PID WRENN_SERVER_LOG

# Run the whole suite unless test paths / node ids were given (relative to
# the caller's working directory).
targets=("$HERE")
for arg in "$@"; do
    if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then
        targets=()
        break
    fi
done

if (( COLLECT_ONLY )); then
    # Collection never contacts the server; these only satisfy the SDK.
    export WRENN_BASE_URL="http://127.0.0.1:9" WRENN_API_KEY="wrn_collect_only" \
        WRENN_PROXY_DOMAIN="localhost:9"
    exec "$VENV/bin/python" -m pytest -c "$HERE/pytest.ini" --rootdir "$HERE" "${targets[@]}" "$@"
fi

# ── server ──────────────────────────────────────────────────────────────────
# The agent's start sweeps every stale `wrenn-*` network object on the
# machine; the agent and control plane tests take this lock for the same
# reason. Held (fd 9) until the script exits.
exec 9>/tmp/wrenn-network-tests.lock
flock 9
PORT="$("$VENV/bin/python" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')"
API_KEY="wrn_$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
# /var/tmp, not /tmp: templates are hard-linked from the cache, and /tmp may
# be a different filesystem (tmpfs).
DATA_DIR="$(mktemp -d /var/tmp/wrenn-conformance.XXXXXX)"
# Capsule roots are unmapped host uids; they must traverse the data dir.
chmod 755 "$DATA_DIR"
LOG="$DATA_DIR/wrenn.log"
BASE_URL="http://127.0.0.1:$PORT"
SERVER_PID=""

log_tail() {
    if [[ -f "$LOG" ]]; then
        echo "--- wrenn log tail ($LOG) ---" >&2
        tail -n 80 "$LOG" >&2 || true
        echo "--- end of wrenn log ---" >&2
    fi
}

# Destroys whatever capsules and snapshots are left (the server is private to
# this run), so that nothing outlives the server: capsules survive an agent
# stop by design.
reap() {
    WRENN_BASE_URL="$BASE_URL" WRENN_API_KEY="$API_KEY" timeout 90 "$VENV/bin/python" - <<'EOF' || true
import time
from wrenn import WrennClient, WrennError

with WrennClient() as c:
    left = [x for x in c.capsules.list() if x.status is None or x.status.value not in ("stopped", "missing")]
    for x in left:
        print(f">> reaping capsule {x.id} ({x.status})", flush=True)
        try:
            c.capsules.destroy(x.id)
        except WrennError as e:
            print(f"   destroy failed: {e}", flush=True)
    deadline = time.monotonic() + 60
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = [x for x in c.capsules.list() if x.status is None or x.status.value not in ("stopped", "missing")]
    for x in left:
        print(f">> capsule {x.id} still {x.status} after destroy", flush=True)
    for t in c.snapshots.list(type="snapshot"):
        print(f">> reaping snapshot {t.name}", flush=True)
        try:
            c.snapshots.delete(t.name)
        except WrennError as e:
            print(f"   delete failed: {e}", flush=True)
EOF
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        reap
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 200); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "warning: wrenn (pid $SERVER_PID) ignored SIGTERM for 20 s; sending SIGKILL" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
            rc=$(( rc == 0 ? 1 : rc ))
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    elif [[ -n "$SERVER_PID" ]]; then
        echo "error: wrenn (pid $SERVER_PID) was not running at the end of the run" >&2
        rc=$(( rc == 0 ? 1 : rc ))
    fi
    if (( rc != 0 )); then
        log_tail
    fi
    if [[ "${WRENN_KEEP_DATA:-}" == 1 ]]; then
        echo ">> kept $DATA_DIR" >&2
    elif awk -v d="$DATA_DIR/" 'index($5, d) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        echo "warning: mounts left under $DATA_DIR; not removing it:" >&2
        awk -v d="$DATA_DIR/" 'index($5, d) == 1 { print "  " $5 }' /proc/self/mountinfo >&2
        rc=$(( rc == 0 ? 1 : rc ))
    else
        # --one-file-system: never reach through a mount into something else.
        rm -rf --one-file-system "$DATA_DIR" || echo "warning: could not remove $DATA_DIR" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Base templates: hard links cost milliseconds and the agent replaces files
# by rename, so the cache is never written; copy when linking fails (the
# cache on another filesystem).
TEMPLATES="$DATA_DIR/agent/templates"
mkdir -p "$TEMPLATES"
chmod 755 "$DATA_DIR/agent" "$TEMPLATES"
if [[ -n "${WRENN_TEST_TEMPLATE_CACHE:-}" ]]; then
    for name in minimal python; do
        src=""
        if [[ -d "$WRENN_TEST_TEMPLATE_CACHE/templates/$name" ]]; then
            src="$WRENN_TEST_TEMPLATE_CACHE/templates/$name"
        elif [[ -d "$WRENN_TEST_TEMPLATE_CACHE/$name" ]]; then
            src="$WRENN_TEST_TEMPLATE_CACHE/$name"
        fi
        if [[ -z "$src" ]]; then
            echo "warning: no '$name' template in $WRENN_TEST_TEMPLATE_CACHE; wrenn has to build it" >&2
            continue
        fi
        if ! cp -al "$src" "$TEMPLATES/$name" 2>/dev/null; then
            rm -rf "${TEMPLATES:?}/$name"
            cp -a "$src" "$TEMPLATES/$name"
        fi
        echo ">> seeded template $name from $src" >&2
    done
else
    echo "warning: WRENN_TEST_TEMPLATE_CACHE is not set; wrenn has to build the base templates" >&2
fi

echo ">> starting wrenn up on 127.0.0.1:$PORT (data dir $DATA_DIR)" >&2
WRENN_BOOTSTRAP_API_KEY="$API_KEY" "$WRENN_BIN" up --data-dir "$DATA_DIR" --listen "127.0.0.1:$PORT" \
    </dev/null >"$LOG" 2>&1 &
SERVER_PID=$!

# Ready = GET /health answers 200 and an authenticated GET /v1/capsules
# answers 200 (the bootstrap key is installed and the API serves).
WRENN_READY_PID="$SERVER_PID" WRENN_READY_URL="$BASE_URL" WRENN_READY_KEY="$API_KEY" \
WRENN_READY_TIMEOUT="${WRENN_START_TIMEOUT:-120}" "$VENV/bin/python" - <<'EOF'
import os, sys, time, urllib.error, urllib.request

pid = int(os.environ["WRENN_READY_PID"])
url = os.environ["WRENN_READY_URL"]
key = os.environ["WRENN_READY_KEY"]
deadline = time.monotonic() + float(os.environ["WRENN_READY_TIMEOUT"])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status(path, headers=None):
    req = urllib.request.Request(url + path, headers=headers or {})
    try:
        with opener.open(req, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


for path, headers in (("/health", {}), ("/v1/capsules", {"X-API-Key": key})):
    last = None
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit(f"error: wrenn exited during startup (waiting for {path})")
        last = status(path, headers)
        if last == 200:
            break
        if time.monotonic() > deadline:
            sys.exit(f"error: GET {path} did not answer 200 in time (last: {last})")
        time.sleep(0.2)
print(f">> wrenn is serving at {url}", file=sys.stderr)
EOF

export WRENN_BASE_URL="$BASE_URL"
export WRENN_API_KEY="$API_KEY"
export WRENN_PROXY_DOMAIN="localhost:$PORT"
export WRENN_SERVER_PID="$SERVER_PID"
export WRENN_SERVER_LOG="$LOG"

set +e
"$VENV/bin/python" -m pytest -c "$HERE/pytest.ini" --rootdir "$HERE" "${targets[@]}" "$@"
rc=$?
set -e
exit "$rc"
