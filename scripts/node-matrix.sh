#!/usr/bin/env bash
# Runs the unit and packaging tests on the supported Node majors other than the one on PATH (22
# and 24; ARCHY_NODE_VERSIONS="22 24" names them), each taken from the npm registry's `node`
# package into .cache/ by scripts/with-node.sh and put first on PATH, so npm, the installed `archipelago` binary and the tests'
# child processes all run on it. Expects `npm test` (or `npm run build`) to have built dist/.
# Which files run is a rule, not a list (test-support/selection.ts, `--list` shows the outcome):
# the published packages' tests (packages/*/test; not examples/), minus every file that reaches,
# through its imports, a module spawning podman or driving Chromium (they test podman and the
# browser, not the runtime, and would triple CI time; packaging tests keep their Chromium check),
# minus the long randomized runs (*Fuzz.test.ts, Model.test.ts, *.model.test.ts: logic, not
# runtime; they run in npm test). Arguments are passed to vitest (e.g.
# `bash scripts/node-matrix.sh PackedInstall` runs only the packaging tests).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--list" ]; then
  exec node --import tsx scripts/node-matrix-select.ts
fi
# The main run (`npm test`) already ran on the Node on PATH (scripts/with-node.sh puts 22 there
# on a machine whose own Node is older): that major is left out unless ARCHY_NODE_VERSIONS names it.
current=$(node -p 'process.versions.node.split(".")[0]')
if [ -n "${ARCHY_NODE_VERSIONS:-}" ]; then
  versions=$ARCHY_NODE_VERSIONS
else
  versions=""
  for v in 22 24; do [ "$v" = "$current" ] || versions="$versions $v"; done
  echo "node-matrix: Node $current ran the main tests; this runs${versions}"
fi
excluded=$(node --import tsx scripts/node-matrix-select.ts --excluded)
args=(--exclude "**/node_modules/**" --exclude "**/dist/**" --exclude "examples/**")
while IFS= read -r f; do [ -n "$f" ] && args+=(--exclude "$f"); done <<<"$excluded"
status=0
for v in $versions; do
  bin=$(bash scripts/with-node.sh --print-bin "$v")
  echo "node-matrix: Node $("$bin/node" --version) from the npm package node@$v"
  start=$(date +%s)
  if PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run "${args[@]}" "$@"; then
    echo "node-matrix: Node $v passed in $(($(date +%s) - start)) s"
  else
    echo "node-matrix: Node $v FAILED after $(($(date +%s) - start)) s"
    status=1
  fi
done
exit $status
