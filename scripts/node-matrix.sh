#!/usr/bin/env bash
# Runs the unit and packaging tests on other Node majors than the machine's (22 and 24 by
# default; ARCHY_NODE_VERSIONS="22 24"), each taken from the npm registry's `node` package into a
# temp prefix and put first on PATH, so npm, the installed `archipelago` binary and the tests'
# child processes all run on it. Expects `npm test` (or `npm run build`) to have built dist/.
# Which files run is a rule, not a list (test-support/selection.ts, `--list` shows the outcome):
# the published packages' tests (packages/*/test; not examples/), minus every file that reaches,
# through its imports, a module spawning podman or driving Chromium (they test podman and the
# browser, not the runtime, and would triple CI time; packaging tests keep their Chromium check),
# minus the long randomized runs (*Fuzz.test.ts, Model.test.ts, *.model.test.ts: logic, not
# runtime; they run on Node 20 in npm test). Arguments are passed to vitest (e.g.
# `bash scripts/node-matrix.sh PackedInstall` runs only the packaging tests).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--list" ]; then
  exec node --import tsx scripts/node-matrix-select.ts
fi
versions=${ARCHY_NODE_VERSIONS:-"22 24"}
excluded=$(node --import tsx scripts/node-matrix-select.ts --excluded)
args=(--exclude "**/node_modules/**" --exclude "**/dist/**" --exclude "examples/**")
while IFS= read -r f; do [ -n "$f" ] && args+=(--exclude "$f"); done <<<"$excluded"
status=0
for v in $versions; do
  prefix=$(mktemp -d "${TMPDIR:-/tmp}/archy-node$v-XXXXXX")
  trap 'rm -rf "$prefix"' EXIT
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node@$v" >/dev/null
  bin="$prefix/node_modules/.bin"
  echo "node-matrix: Node $("$bin/node" --version) from the npm package node@$v"
  start=$(date +%s)
  if PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run "${args[@]}" "$@"; then
    echo "node-matrix: Node $v passed in $(($(date +%s) - start)) s"
  else
    echo "node-matrix: Node $v FAILED after $(($(date +%s) - start)) s"
    status=1
  fi
  rm -rf "$prefix"
  trap - EXIT
done
exit $status
