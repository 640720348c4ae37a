#!/usr/bin/env bash
# Builds the offline base image localhost/archipelago/base:latest from the host's static busybox
# with `podman import`: /bin/busybox plus one symlink per applet, /etc/passwd and /etc/group
# (root, nobody), /tmp (1777), /var/www. The image carries a label with a hash of its inputs, so
# a re-run with the same busybox is a no-op. Mirrors BaseImage.ensure in @archipelago/orchestrator.
set -euo pipefail

REF=${ARCHIPELAGO_BASE_IMAGE:-localhost/archipelago/base:latest}
BUSYBOX=${BUSYBOX:-/bin/busybox}
RECIPE=archipelago-base-v1
LABEL=io.archipelago.base-hash

log() { printf '[build-base-image] %s\n' "$*"; }

command -v podman >/dev/null || { log "podman is missing: apt-get install -y podman runc busybox-static uidmap"; exit 1; }
[ -x "$BUSYBOX" ] || { log "$BUSYBOX is missing: apt-get install -y busybox-static"; exit 1; }
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
  log "$BUSYBOX does not list its applets; is it busybox-static?"
  exit 1
fi

hash=$({ cat "$BUSYBOX"; printf '%s' "$RECIPE"; } | sha256sum | cut -d' ' -f1)

if podman image exists "$REF"; then
  current=$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$REF" 2>/dev/null || true)
  if [ "$current" = "$hash" ]; then
    log "$REF is up to date ($hash)"
    exit 0
  fi
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root="$dir/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/var/www" "$root/root"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$dir/rootfs.tar" .
podman import --quiet \
  --change "LABEL $LABEL=$hash" \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/sh"]' \
  "$dir/rootfs.tar" "$REF" >/dev/null
log "built $REF ($hash)"
