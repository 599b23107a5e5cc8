#!/usr/bin/env bash
# One node, one command: installs what a fresh Debian 12 machine lacks,
# builds Wrenn (release) and runs `wrenn up` as root. Arguments go to
# `wrenn up` (e.g. --listen 0.0.0.0:8080 --data-dir /var/lib/wrenn).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "wrenn up runs capsules: run this as root" >&2
    exit 1
fi
scripts/install-deps.sh
if ! command -v cargo >/dev/null 2>&1; then
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
# `wrenn up` starts the launcher and envd from beside its own binary.
cargo build --release --package wrenn --package wrenn-agent --package wrenn-envd --bins
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/wrenn" up "$@"
