#!/usr/bin/env bash
# Builds the CRIU binary that capsule hibernate needs (docs/dev/hibernate.md).
#
# Debian 12's criu 3.17.1 cannot run on kernels >= 6.13 (vDSO detection), so
# this builds CRIU 4.1.1 from Debian trixie's upstream tarball, pinned by
# sha256, plus our SO_PASSCRED/SO_PASSSEC patch (scripts/criu/). The host's
# APT sources are left alone: the tarball comes through a private APT config.
#
# Idempotent: does nothing when the installed binary already reports 4.1.1,
# carries the current patch, and `criu check` passes. Any failure (download,
# checksum, build, check) exits non-zero: CI must not silently lose the
# hibernate tests.
#
# Usage: scripts/build-criu.sh [install path]   (default /usr/local/lib/wrenn/criu)
set -euo pipefail

VERSION=4.1.1
TARBALL="criu_${VERSION}.orig.tar.xz"
SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
HERE="$(cd "$(dirname "$0")" && pwd)"
PATCH="$HERE/criu/passcred-eopnotsupp.patch"
DEST="${1:-/usr/local/lib/wrenn/criu}"
WORK="${WRENN_CRIU_WORK:-/var/cache/wrenn-ci/criu}"

log() { printf '### build-criu: %s\n' "$*" >&2; }
die() { printf '### build-criu: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, criu check)"
[ -f "$PATCH" ] || die "patch missing: $PATCH"
patch_sum="$(sha256sum "$PATCH" | cut -d' ' -f1)"
stamp="$DEST.patch-sha256"

installed_ok() {
    [ -x "$DEST" ] || return 1
    "$DEST" --version 2>/dev/null | grep -qx "Version: $VERSION" || return 1
    [ "$(cat "$stamp" 2>/dev/null)" = "$patch_sum" ] || return 1
    # `criu check` leaves an empty kdat temp file behind on a non-tmpfs /run.
    local rc=0
    "$DEST" check >/dev/null 2>&1 || rc=$?
    rm -f /run/criu.kdat.tmp
    return "$rc"
}

if installed_ok; then
    log "$DEST is CRIU $VERSION with the current patch and \`criu check\` passes; nothing to do"
    exit 0
fi

mkdir -p "$WORK"

# Build dependencies (bookworm names); only the missing ones are installed.
deps=(gcc make patch xz-utils libbsd-dev libcap-dev libnet1-dev libnftables-dev libnl-3-dev
      libnl-route-3-dev libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler
      pkgconf uuid-dev python3-protobuf libgnutls28-dev)
missing=()
for p in "${deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing build deps: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
        { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install ${missing[*]} (log: $WORK/apt.log)"; }
fi
have_tarball() { [ -f "$WORK/$TARBALL" ] && echo "$SHA256  $WORK/$TARBALL" | sha256sum -c --status; }
if ! have_tarball; then
    log "fetching $TARBALL from Debian trixie (private APT config)"
    apt_dir="$WORK/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' \
        >"$apt_dir/sources.list"
    opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
    apt-get "${opts[@]}" update -qq || die "apt-get update of the trixie deb-src index"
    # The mirror 404s the .dsc and .debian.tar.xz, so apt-get exits non-zero even
    # when the orig tarball (all we need) arrived: judge by the checksum instead.
    (cd "$WORK" && apt-get "${opts[@]}" source --download-only criu >/dev/null 2>&1) || true
    [ -f "$WORK/$TARBALL" ] || die "$TARBALL did not download (network? mirror?)"
    have_tarball || die "$TARBALL: sha256 mismatch (want $SHA256)"
fi

src="$WORK/criu-$VERSION"
log "unpacking and patching in $src"
rm -rf "$src"
tar -xf "$WORK/$TARBALL" -C "$WORK" || die "unpacking $TARBALL"
(cd "$src" && patch -p0 --quiet <"$PATCH") || die "applying $PATCH"

log "make -j2 criu (about a minute)"
make -C "$src" -j2 criu >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; die "make criu (log: $WORK/build.log)"; }

install -D -m 0755 "$src/criu/criu" "$DEST.new"
mv -f "$DEST.new" "$DEST"
echo "$patch_sum" >"$stamp"
rm -rf "$src"
installed_ok || { "$DEST" check >&2 || true; rm -f /run/criu.kdat.tmp; die "$DEST check fails on this kernel"; }
log "installed $DEST ($("$DEST" --version | head -n1))"
