#!/usr/bin/env bash
# Runs the unit and packaging tests on other Node majors than the machine's (22 and 24 by
# default; ARCHY_NODE_VERSIONS="22 24"), each taken from the npm registry's `node` package into a
# temp prefix and put first on PATH, so npm, the installed `archipelago` binary and the tests'
# child processes all run on it. Expects `npm test` (or `npm run build`) to have built dist/.
# The podman- and Chromium-heavy suites (runtime contract on podman, the chaos matrix, the
# dashboard end-to-end runs) stay on the machine's Node: they test podman and the browser, not
# the runtime, and would triple CI time; so do the long randomized runs. Arguments are passed to
# vitest (e.g. `bash scripts/node-matrix.sh PackedInstall` runs only the packaging tests).
set -euo pipefail
cd "$(dirname "$0")/.."
versions=${ARCHY_NODE_VERSIONS:-"22 24"}
excluded=(
  "**/node_modules/**"
  "**/dist/**"
  "packages/orchestrator/test/runtime/Podman{Runtime,Runtime.contract,SelfHeal}.test.ts"
  "packages/orchestrator/test/manifest/DemoApps.test.ts"
  "packages/orchestrator/test/services/{Mirror,Podman}.test.ts"
  "packages/orchestrator/test/support/Contention.test.ts"
  "packages/rpc-adapter/test/{Operations,Serve}.test.ts"
  "packages/rpc-adapter/test/chaos/**"
  "packages/web-components/test/{Bundle,Dashboard,Server,ServerPanels}.test.ts"
  "examples/**"
  # long randomized runs (model-based, fuzz): logic, not runtime; they run on Node 20 in npm test
  "**/*Fuzz.test.ts"
  "**/Model.test.ts"
  "**/*.model.test.ts"
)
args=()
for e in "${excluded[@]}"; do args+=(--exclude "$e"); done
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
