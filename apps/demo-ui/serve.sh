#!/bin/sh
# demo-ui: a UI companion. Serves the page the demo-ui-page hook rendered on the host, mounted
# read-only at /var/www, and stops gracefully in STOP_DELAY seconds on SIGTERM.
APP="${APP_NAME:-demo-ui}"
PORT="${PORT:-8080}"
STOP_DELAY="${STOP_DELAY:-1}"
WWW=/var/www

stop() {
  echo "$APP: SIGTERM received, stopping in ${STOP_DELAY}s"
  sleep "$STOP_DELAY"
  kill "$HTTPD" 2>/dev/null
  echo "$APP: stopped cleanly"
  exit 0
}
trap stop TERM INT

# SIGUSR1 makes this main process allocate far past any memory limit, so the kernel OOM-kills
# the container: how the chaos matrix exercises an out-of-memory crash on demand.
hog() {
  echo "$APP: SIGUSR1 received, allocating until the memory limit stops me"
  HOG="$(head -c 536870912 /dev/zero | tr '\0' x)"
  echo "$APP: allocated ${#HOG} bytes"
}
trap hog USR1

[ -f "$WWW/index.html" ] || echo "$APP: warning: $WWW/index.html is missing (did the demo-ui-page hook run?)"
httpd -f -p "$PORT" -h "$WWW" &
HTTPD=$!
echo "$APP: serving $WWW on :$PORT (pid $HTTPD)"

while kill -0 "$HTTPD" 2>/dev/null; do
  sleep 5 &
  wait $!
done
echo "$APP: httpd exited unexpectedly"
exit 1
