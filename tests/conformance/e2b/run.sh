#!/usr/bin/env bash
# Runs the E2B SDK conformance suite against a Wrenn envd binary.
#
#   ENVD_BIN=/path/to/envd tests/conformance/e2b/run.sh [pytest args...]
#
# Env:
#   ENVD_BIN        (required) envd binary; started as `$ENVD_BIN --dev --port 49983 --root <tmp>`
#   WRENN_VENV_DIR  virtualenv location (default: $HOME/.cache/wrenn/e2b-venv)
#   PYTHON          interpreter used to create the venv (default: python3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -z "${ENVD_BIN:-}" ]]; then
    echo "error: ENVD_BIN is not set." >&2
    echo "       Build envd (e.g. 'cargo build -p wrenn-envd') and run:" >&2
    echo "       ENVD_BIN=target/debug/envd $0" >&2
    exit 2
fi
if [[ ! -f "$ENVD_BIN" || ! -x "$ENVD_BIN" ]]; then
    echo "error: ENVD_BIN='$ENVD_BIN' is not an executable file." >&2
    exit 2
fi
ENVD_BIN="$(cd "$(dirname "$ENVD_BIN")" && pwd)/$(basename "$ENVD_BIN")"
export ENVD_BIN

VENV="${WRENN_VENV_DIR:-$HOME/.cache/wrenn/e2b-venv}"
PYTHON="${PYTHON:-python3}"
REQS="$HERE/requirements.txt"
STAMP="$VENV/.wrenn-e2b-requirements.sha256"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo ">> creating virtualenv at $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]] || ! "$VENV/bin/python" -c 'import e2b, pytest, pytest_timeout' 2>/dev/null; then
    echo ">> installing $REQS into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$want" > "$STAMP"
fi

# Debug mode: the SDK skips the control plane and talks to envd on localhost:49983.
export E2B_DEBUG=true
# Make sure nothing redirects SDK traffic away from loopback.
unset E2B_SANDBOX_URL E2B_API_URL E2B_DOMAIN E2B_API_KEY E2B_ACCESS_TOKEN
export PYTHONDONTWRITEBYTECODE=1

# Run the whole suite unless test paths / node ids were given (relative to
# the caller's working directory).
targets=("$HERE")
for arg in "$@"; do
    if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then
        targets=()
        break
    fi
done
exec "$VENV/bin/python" -m pytest -c "$HERE/pytest.ini" --rootdir "$HERE" "${targets[@]}" "$@"
