#!/usr/bin/env node
// What `npm start` runs after `npm run build`: `archipelago serve` on apps/ with the dashboard,
// installing the demo apps on the first start (later starts respect whatever the owner did with
// them); the server makes sure podman has the offline base image the demo apps build on.
//
//   npm start                      # data in ./.data (or $ARCHIPELAGO_DATA), engine auto
//   npm start -- --port 8080       # extra arguments go to `archipelago serve`
//
// Without a working podman the server runs the simulated engine and says so loudly (started from
// a terminal; a non-interactive start with a broken podman exits naming the fix). The login URL
// (with its token) is printed: this is a developer's demo, not the service (see docs/operations.md).
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { delimiter, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const cli = join(root, "packages/daemon/dist/cli.js")
const dataDir = resolve(root, process.env.ARCHIPELAGO_DATA ?? ".data")
const log = (line) => process.stderr.write(`[start] ${line}\n`)

if (!existsSync(cli)) {
  log(`${cli} is missing: run \`npm run build\` first (npm start does it for you)`)
  process.exit(1)
}

// No podman process here: `archipelago serve` probes (and heals) podman itself and checks the
// base image the demo apps build on while its dashboard already answers. With podman on the
// PATH it runs `--engine auto`: podman when it works, else (from a terminal) the simulator.
const onPath = (name) =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, name)))
const hasPodman = onPath("podman")
if (!hasPodman) log("podman is not installed here: the server will run the simulated engine (see scripts/setup-host.sh)")

const demoApps = ["demo-node", "demo-lightning", "demo-indexer", "demo-ui"]
// Node's flags for the server, as its systemd unit runs it: a copy of Unit.nodeFlags in
// packages/daemon (Unit.test holds the two equal), so starting needs no module of the daemon
const nodeFlags = ["--max-semi-space-size=1", "--optimize-for-size", "--single-threaded", "--no-opt", "--bytecode-old-age=1"]
const args = [
  ...nodeFlags,
  cli,
  "serve",
  "--apps",
  join(root, "apps"),
  "--data",
  dataDir,
  "--engine",
  hasPodman ? "auto" : "sim",
  "--print-login-url",
  "--install",
  demoApps.join(","),
  ...process.argv.slice(2)
]
log(`node ${args.map((a) => (a.startsWith(root) ? a.slice(root.length + 1) || "." : a)).join(" ")}`)
const child = spawn(process.execPath, args, { stdio: "inherit" })
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal === null ? 1 : 128 + ({ SIGINT: 2, SIGTERM: 15 }[signal] ?? 1))
})
