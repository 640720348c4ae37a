#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for Archipelago's tests and demo: installs podman (with runc and
# netavark networking), busybox-static, uidmap, nginx, chromium, docker-registry (a loopback
# registry for tests; its system service is left disabled) and podman-compose (a benchmark anchor), makes podman work on hosts
# where its defaults fail (cgroups hybrid mode, no systemd, refused rlimits), then builds the
# offline base image localhost/archipelago/base:latest. Idempotent: safe to re-run. CI runs it as
# root with CI=true on a fresh Debian 12 machine before `npm ci`.
set -euo pipefail

log() { printf '[setup-host] %s\n' "$*"; }

# Installed without recommends, so podman's networking (netavark, aardvark-dns, iptables) and
# init (catatonit) are listed explicitly.
# podman-compose is the anchor of two benchmark rows (bench/scale.ts), never used by the product.
need=(podman runc netavark aardvark-dns iptables catatonit slirp4netns uidmap busybox-static tar nginx chromium systemd docker-registry podman-compose)

install_packages() {
  local missing=()
  for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "packages present: ${need[*]}"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]}; run this script as root to install them"
    return 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No package may start a service while installing (docker-registry would listen on :5000);
  # tests start their own registry on loopback (test-support/registry.ts).
  local policy=/usr/sbin/policy-rc.d own_policy=no
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=yes
  fi
  apt-get update -qq
  local status=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  if [ "$own_policy" = yes ]; then rm -f "$policy"; fi
  [ "$status" -eq 0 ] || return "$status"
  disable_registry_service
}

# The docker-registry package enables its unit; the tests never use it, so keep it off.
disable_registry_service() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  else
    rm -f /etc/systemd/system/multi-user.target.wants/docker-registry.service
  fi
}

podman_works() {
  timeout 60 podman run --rm --pull=never "$1" /bin/true >/dev/null 2>&1
}

# A tiny image from the host's static busybox, so the probe needs no registry.
probe_image() {
  local ref=localhost/archipelago/setup-probe:latest
  if ! podman image exists "$ref" 2>/dev/null; then
    local dir
    dir=$(mktemp -d)
    mkdir -p "$dir/bin"
    cp /bin/busybox "$dir/bin/busybox"
    ln -s busybox "$dir/bin/true"
    ln -s busybox "$dir/bin/sh"
    tar -C "$dir" -cf - . | podman import - "$ref" >/dev/null
    rm -rf "$dir"
  fi
  echo "$ref"
}

configure_podman() {
  local conf=/etc/containers/containers.conf
  local ref
  ref=$(probe_image)
  if podman_works "$ref"; then
    log "podman works with this host's settings"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "podman fails with the defaults; as root this script would write $conf"
    return 1
  fi
  if [ -f "$conf" ] && ! grep -q 'written by archipelago setup-host' "$conf"; then
    log "podman fails but $conf is the operator's own; leaving it alone"
    return 1
  fi
  log "podman fails with the defaults; writing $conf (runc, cgroupfs, file events, ulimits)"
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# written by archipelago setup-host: podman's defaults fail on this host
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  podman system migrate >/dev/null 2>&1 || true
  if podman_works "$ref"; then
    log "podman works now"
  else
    log "podman still fails after configuration:"
    podman run --rm --pull=never "$ref" /bin/true || true
    return 1
  fi
}

build_base_image() {
  bash "$(dirname "${BASH_SOURCE[0]}")/build-base-image.sh"
}

# Quadlet (podman >= 4.4's systemd generator) for the unit tests: Debian trixie's, unpacked into
# a scratch folder, never installed. systemd above brings systemd-analyze for `verify`.
fetch_quadlet() {
  bash "$(dirname "${BASH_SOURCE[0]}")/fetch-quadlet.sh" >/dev/null || log "could not fetch quadlet; its tests will say so"
}

install_packages
configure_podman
build_base_image
fetch_quadlet
log "podman $(podman version --format '{{.Client.Version}}'), chromium: $(command -v chromium || echo missing), nginx: $(command -v nginx || echo missing), docker-registry: $(command -v docker-registry || echo missing), podman-compose: $(command -v podman-compose || echo missing)"
