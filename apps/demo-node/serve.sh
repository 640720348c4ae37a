#!/bin/sh
# demo-node: stands in for bitcoin-core. Serves a status page with busybox httpd and, like a
# real node flushing its databases, takes STOP_DELAY seconds to stop gracefully on SIGTERM.
APP="${APP_NAME:-demo-node}"
PORT="${PORT:-8080}"
STOP_DELAY="${STOP_DELAY:-8}"
WWW=/var/www
DATA=/data
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

mkdir -p "$DATA"
HEIGHT="$(cat "$DATA/height" 2>/dev/null || echo 0)"

page() {
  cat > "$WWW/index.html.new" <<HTML
<!doctype html>
<html><head><title>$APP</title></head>
<body><h1>$APP</h1>
<p>status: <b id="status">$1</b></p>
<p>height: <span id="height">$HEIGHT</span></p>
<p>started: $STARTED</p>
</body></html>
HTML
  mv "$WWW/index.html.new" "$WWW/index.html"
  echo "$1" > "$WWW/status"
}

stop() {
  echo "$APP: SIGTERM received, flushing for ${STOP_DELAY}s"
  page stopping
  sleep "$STOP_DELAY"
  echo "$HEIGHT" > "$DATA/height"
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

page running
httpd -f -p "$PORT" -h "$WWW" &
HTTPD=$!
echo "$APP: serving on :$PORT (pid $HTTPD), graceful stop takes ${STOP_DELAY}s"

while kill -0 "$HTTPD" 2>/dev/null; do
  HEIGHT=$((HEIGHT + 1))
  echo "$HEIGHT" > "$DATA/height"
  page running
  sleep 5 &
  wait $!
done
echo "$APP: httpd exited unexpectedly"
exit 1
