#!/usr/bin/env bash
# Fetches Quadlet, podman's systemd generator, from Debian trixie's podman package (5.4) into a
# scratch folder, so tests can run the real generator on a host whose own podman (Debian 12's
# 4.3) has none. Nothing is installed system-wide: a side apt configuration (its own sources
# list, lists and cache under the scratch folder, same Debian mirror host as the host's sources)
# runs `apt-get download podman`, and `dpkg -x` unpacks it into the scratch folder.
#
# Usage: scripts/fetch-quadlet.sh [DIR]   (default: $QUADLET_CACHE or /var/tmp/archipelago-quadlet)
# Prints the path of the quadlet binary on its last line. Idempotent: a present binary is reused.
set -euo pipefail

log() { printf '[fetch-quadlet] %s\n' "$*" >&2; }

dir=${1:-${QUADLET_CACHE:-/var/tmp/archipelago-quadlet}}
bin="$dir/root/usr/libexec/podman/quadlet"
if [ -x "$bin" ] && "$bin" -version >/dev/null 2>&1; then
  log "present: $("$bin" -version 2>&1 | head -1)"
  echo "$bin"
  exit 0
fi

# The mirror host the host's own Debian sources use (deb.debian.org when none is found).
mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | grep -oE 'https?://[^ ]+' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
cat >"$dir/apt/trixie.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $keyring
SOURCES
: >"$dir/apt/status"

apt_opts=(
  -o "Dir::Etc::SourceList=$dir/apt/none.list"
  -o "Dir::Etc::SourceParts=$dir/apt/parts"
  -o "Dir::State::Lists=$dir/apt/lists"
  -o "Dir::State::status=$dir/apt/status"
  -o "Dir::Cache=$dir/apt/cache"
  -o "APT::Architecture=$(dpkg --print-architecture)"
  -o "Acquire::Languages=none"
  -o "APT::Sandbox::User=root"
)
mkdir -p "$dir/apt/parts"
cp "$dir/apt/trixie.sources" "$dir/apt/parts/trixie.sources"
: >"$dir/apt/none.list"

log "apt-get update (trixie, side lists in $dir/apt, from $mirror)"
apt-get "${apt_opts[@]}" update -qq >&2
log "apt-get download podman"
(cd "$dir/debs" && apt-get "${apt_opts[@]}" download podman >&2)
deb=$(ls -1 "$dir"/debs/podman_*.deb | tail -1)
rm -rf "$dir/root"
mkdir -p "$dir/root"
dpkg -x "$deb" "$dir/root"
if ! [ -x "$bin" ]; then
  log "no quadlet in $deb"
  exit 1
fi
log "unpacked $(basename "$deb"): $("$bin" -version 2>&1 | head -1)"
# Keep only the generator: the rest of the package, the .deb and the side apt lists go.
keep=$(mktemp -d)
mv "$bin" "$keep/quadlet"
rm -rf "$dir/root" "$dir/debs" "$dir/apt"
mkdir -p "$(dirname "$bin")"
mv "$keep/quadlet" "$bin"
rmdir "$keep"
echo "$bin"
