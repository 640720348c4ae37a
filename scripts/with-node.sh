#!/usr/bin/env bash
# Runs a command on a Node this project supports (22.19 or later). When the `node` on PATH is
# older (Debian's is 20 on these machines), it takes the npm registry's `node` package (a Node
# runtime, the only registry besides Debian's these machines reach) into .cache/node-<major>/
# once, and puts it first on PATH: npm, npx, vitest and every child process then run on it.
#
#   bash scripts/with-node.sh npm run check      # what `npm test` runs
#   ARCHY_NODE=24 bash scripts/with-node.sh node -v   # force a major (fetched when missing)
#
# With `--print-bin MAJOR` it only fetches and prints that major's bin directory
# (scripts/node-matrix.sh uses it). A fetch is written beside its place and renamed into it,
# so a killed fetch never leaves a half runtime that a later run would trust.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
floor_major=22
floor_minor=19

# Prints the bin directory of Node MAJOR under .cache, fetching it first when it is missing.
node_bin() {
  local major=$1 dir="$root/.cache/node-$1"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    mkdir -p "$root/.cache"
    local tmp
    tmp=$(mktemp -d "$root/.cache/.node-$major.XXXXXX")
    echo "with-node: fetching Node $major from the npm registry's node package into $dir" >&2
    if ! npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error "node@$major" >&2; then
      rm -rf "$tmp"
      echo "with-node: could not fetch node@$major from the npm registry (is registry.npmjs.org reachable?)" >&2
      return 1
    fi
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  echo "$dir/node_modules/.bin"
}

# True when the `node` on PATH is at least the floor.
supported() {
  command -v node >/dev/null 2>&1 || return 1
  node -e "const [a, b] = process.versions.node.split('.').map(Number); process.exit(a > $floor_major || (a === $floor_major && b >= $floor_minor) ? 0 : 1)"
}

if [ "${1:-}" = "--print-bin" ]; then
  node_bin "${2:?--print-bin needs a Node major}"
  exit 0
fi
if [ $# -eq 0 ]; then
  echo "usage: bash scripts/with-node.sh COMMAND [ARGS...]" >&2
  exit 2
fi

if [ -n "${ARCHY_NODE:-}" ]; then
  bin=$(node_bin "$ARCHY_NODE")
  export PATH="$bin:$PATH"
elif ! supported; then
  have=$(node --version 2>/dev/null || echo "no node")
  bin=$(node_bin "$floor_major")
  export PATH="$bin:$PATH"
  echo "with-node: $have on PATH is older than $floor_major.$floor_minor; running on $(node --version) from $bin" >&2
fi
exec "$@"
