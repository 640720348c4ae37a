#!/bin/sh
# demo-lightning: stands in for lnd. Polls demo-node through host.containers.internal, serves a
# status page with busybox httpd and takes STOP_DELAY seconds to stop gracefully on SIGTERM.
APP="${APP_NAME:-demo-lightning}"
PORT="${PORT:-8080}"
STOP_DELAY="${STOP_DELAY:-5}"
NODE_HOST="${NODE_HOST:-host.containers.internal}"
NODE_PORT="${NODE_PORT:-18081}"
# the path polled on the node; its response's last line is shown as the node's state
NODE_PATH="${NODE_PATH:-/status}"
WWW=/var/www
STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
NODE=unknown

page() {
  cat > "$WWW/index.html.new" <<HTML
<!doctype html>
<html><head><title>$APP</title></head>
<body><h1>$APP</h1>
<p>status: <b id="status">$1</b></p>
<p>node: <span id="node">$NODE</span></p>
<p>started: $STARTED</p>
</body></html>
HTML
  mv "$WWW/index.html.new" "$WWW/index.html"
  echo "$1" > "$WWW/status"
}

stop() {
  echo "$APP: SIGTERM received, closing channels for ${STOP_DELAY}s"
  page stopping
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

page running
httpd -f -p "$PORT" -h "$WWW" &
HTTPD=$!
echo "$APP: serving on :$PORT (pid $HTTPD), graceful stop takes ${STOP_DELAY}s"

while kill -0 "$HTTPD" 2>/dev/null; do
  # nc, not wget: the static busybox wget crashes on some non-local connections
  NODE="$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$NODE_PATH" "$NODE_HOST" | nc -w 2 "$NODE_HOST" "$NODE_PORT" 2>/dev/null | tail -n 1)"
  [ -n "$NODE" ] || NODE=unreachable
  page running
  sleep 5 &
  wait $!
done
echo "$APP: httpd exited unexpectedly"
exit 1
