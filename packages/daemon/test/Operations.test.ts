/**
 * The steps of docs/operations.md ("Running Archipelago as a service"), run for real as far as
 * a machine without systemd as PID 1 allows: install the unit into a temporary root, verify it
 * with `systemd-analyze verify`, start its ExecStart command line directly (podman, JSON logs),
 * ask it with `archipelago status`; then a second server on another data dir with the same
 * catalog (one orchestrator per node: it keeps off the first one's container), `takeover`.
 */
import { execFile, spawn, spawnSync } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { makeAppsDir } from "../../orchestrator/test/services/podmanFixture.js"
import { hasPodman, removeByPrefix, runTag } from "../../orchestrator/test/runtime/podman.js"
import * as Unit from "../src/Unit.js"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const cli = join(root, "packages/daemon/dist/cli.js")
const hasAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0
const prefix = `t-ops-${runTag}-`
const app = `${prefix}node`

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 180_000, env: { ...process.env, ARCHIPELAGO_CONFIG: "" } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
    })
  })

/** The ExecStart line of a unit, split the way systemd does for our unquoted arguments. */
const execStartOf = (unit: string): Array<string> => {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="))!
  return line.slice("ExecStart=".length).split(" ")
}

interface Server {
  readonly child: ChildProcessWithoutNullStreams
  readonly lines: () => ReadonlyArray<Record<string, unknown>>
  readonly exited: Promise<number | null>
}

const servers: Array<ChildProcessWithoutNullStreams> = []
afterAll(() => {
  for (const s of servers) if (s.exitCode === null) s.kill("SIGKILL")
  if (hasPodman) removeByPrefix(prefix)
})

const start = (argv: ReadonlyArray<string>): Server => {
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ARCHIPELAGO_CONFIG: "" } })
  servers.push(child)
  let out = ""
  child.stdout.on("data", (d) => (out += d))
  child.stderr.on("data", (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  return {
    child,
    exited,
    lines: () => out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}

const until = async (check: () => Promise<boolean> | boolean, what: string, ms = 240_000) => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`gave up waiting for: ${what}`)
}

const inspect = (name: string) => {
  const r = spawnSync("podman", ["inspect", "--format", "{{.Id}} {{.State.StartedAt}} {{index .Config.Labels \"io.archipelago.instance\"}}", name], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : undefined
}

const statusOf = async (data: string) => {
  const r = await run(["status", "--data", data, "--json"])
  if (r.code !== 0) return undefined
  return (JSON.parse(r.stdout) as Array<{ id: string; state: string; lastError?: { message: string } }>).find((v) => v.id === app)
}

/**
 * Installs the unit under `base` as docs/operations.md does under /: `service install` writes
 * the first config file from its flags, then the operator's `extra` settings are appended to it.
 */
const installUnder = async (base: string, appsDir: string, extra: string) => {
  const r = await run([
    "service",
    "install",
    base,
    "--data",
    join(base, "var/lib/archipelago"),
    "--apps",
    appsDir,
    "--config",
    join(base, "etc/archipelago/config.yml")
  ])
  expect([r.code, r.stderr]).toStrictEqual([0, ""])
  const unitFile = join(base, "etc/systemd/system/archipelago.service")
  expect(r.stdout).toContain(`wrote ${unitFile}\n`)
  // the first config lands at ROOT + the path the unit reads; the unit here runs outside ROOT
  const config = join(base, "etc/archipelago/config.yml")
  mkdirSync(dirname(config), { recursive: true })
  copyFileSync(join(base, config), config)
  appendFileSync(config, extra)
  return { unitFile, unit: readFileSync(unitFile, "utf8"), data: join(base, "var/lib/archipelago") }
}

describe("the service steps of docs/operations.md", () => {
  it.skipIf(!hasAnalyze)("the unit passes systemd-analyze verify (skipped only without systemd-analyze)", async () => {
    const base = tempDir("ops-unit-")
    const { unitFile, unit } = await installUnder(base, join(root, "apps"), "")
    // node runs the server with the memory-saving flags (the server's RSS target)
    expect(execStartOf(unit).slice(1, 1 + Unit.nodeFlags.length)).toStrictEqual(Unit.nodeFlags)
    for (const line of ["Type=simple", "Restart=always", "KillMode=process", `serve --config ${join(base, "etc/archipelago/config.yml")}\n`]) {
      expect(unit).toContain(line)
    }
    // every setting is in the config file, none on the command line
    const config = readFileSync(join(base, "etc/archipelago/config.yml"), "utf8")
    for (const line of ["engine: podman", "logFormat: json", `data: ${join(base, "var/lib/archipelago")}`, `apps: ${join(root, "apps")}`]) {
      expect(config).toContain(`\n${line}\n`)
    }
    expect(unit).not.toMatch(/PrivateTmp|ProtectSystem|NoNewPrivileges/)
    const verify = spawnSync("systemd-analyze", ["verify", unitFile], { encoding: "utf8" })
    expect([verify.status, verify.stderr]).toStrictEqual([0, ""])
    // the printed unit is the installed one
    const printed = await run(["service", "unit", "--config", join(base, "etc/archipelago/config.yml")])
    expect(printed.stdout).toBe(unit)
  }, 240_000)

  it("service install again with nothing changed: unchanged for both files, neither rewritten; an edited config is kept", async () => {
    const base = tempDir("ops-again-")
    const unitFile = join(base, "etc/systemd/system/archipelago.service")
    const args = ["service", "install", base, "--data", join(base, "var/lib/archipelago"), "--apps", join(root, "apps"), "--config", "/etc/archipelago/config.yml"]
    // ROOT + the path the unit reads
    const config = join(base, "etc/archipelago/config.yml")
    const first = await run(args)
    expect([first.code, first.stderr, first.stdout]).toStrictEqual([
      0,
      "",
      `wrote ${unitFile}\nwrote ${config}\nnow: systemctl daemon-reload && systemctl enable --now archipelago.service\n`
    ])
    const before = [statSync(unitFile).mtimeMs, statSync(config).mtimeMs]
    await new Promise((r) => setTimeout(r, 50))
    const again = await run(args)
    expect([again.code, again.stderr, again.stdout]).toStrictEqual([0, "", `unchanged ${unitFile}\nunchanged ${config}\n`])
    expect([statSync(unitFile).mtimeMs, statSync(config).mtimeMs]).toStrictEqual(before)
    // the operator's edit is kept; a flag that contradicts it is refused, nothing written
    writeFileSync(config, readFileSync(config, "utf8").replace("logFormat: json", "logFormat: pretty"))
    const kept = await run(args)
    expect([kept.code, kept.stdout]).toStrictEqual([0, `unchanged ${unitFile}\nkept ${config} (edited: never rewritten; the service reads every setting from it)\n`])
    const contradicting = await run([...args.slice(0, 4), "/srv/elsewhere", ...args.slice(5)])
    expect([contradicting.code, contradicting.stderr]).toStrictEqual([
      1,
      `archipelago: cannot write ${config}: it exists and the service reads every setting from it, but it says data: ${join(base, "var/lib/archipelago")}, --data says /srv/elsewhere: edit the file (it is never rewritten), or leave those flags out\n`
    ])
    expect(readFileSync(config, "utf8")).toContain("logFormat: pretty")
  }, 120_000)

  it("service install writes no config of its own beside the one --config names", async () => {
    const base = tempDir("ops-config-")
    const config = join(base, "node/archipelago.yml")
    mkdirSync(dirname(config), { recursive: true })
    writeFileSync(config, `port: 7420\ndata: ${join(base, "var/lib/archipelago")}\napps: ${join(root, "apps")}\n`)
    const r = await run(["service", "install", base, "--data", join(base, "var/lib/archipelago"), "--apps", join(root, "apps"), "--config", config])
    expect([r.code, r.stderr]).toStrictEqual([0, ""])
    expect(readFileSync(join(base, "etc/systemd/system/archipelago.service"), "utf8")).toContain(`--config ${config}`)
    // the template goes to ROOT + the path the unit reads, never to the default path
    expect(existsSync(join(base, "etc/archipelago/config.yml"))).toBe(false)
    expect(readFileSync(config, "utf8")).toBe(`port: 7420\ndata: ${join(base, "var/lib/archipelago")}\napps: ${join(root, "apps")}\n`)
  }, 120_000)

  it.skipIf(!hasPodman)(
    "ExecStart serves on podman; a second node on another data dir keeps off its container until `takeover` (skipped only without podman)",
    async () => {
      const appsDir = makeAppsDir([{ id: app, stopDelaySec: 1, stopTimeoutSec: 10, port: 0 }])
      // port 0 in a manifest is not allowed: publish nothing instead
      const manifest = join(appsDir, app, "manifest.yml")
      writeFileSync(manifest, readFileSync(manifest, "utf8").replace(/ports:\n  - host: 0\n    container: 8080\n/, ""))
      const config = `port: 0\nreconcileInterval: 1s\nscanInterval: 1s\ninstall: [${app}]\n`
      const a = await installUnder(tempDir("ops-a-"), appsDir, config)
      const b = await installUnder(tempDir("ops-b-"), appsDir, config)

      // 1. the service's own command line: podman, JSON logs, the app installed on first start
      const first = start(execStartOf(a.unit))
      await until(async () => (await statusOf(a.data))?.state === "running", `${app} running under A`)
      const idA = readFileSync(join(a.data, "instance-id"), "utf8").trim()
      const before = inspect(app)!
      expect(before.endsWith(` ${idA}`)).toBe(true)
      expect(first.lines().some((l) => String(l["message"]).startsWith("Dashboard: http://127.0.0.1:") && !String(l["message"]).includes("token="))).toBe(true)
      for (const l of first.lines()) expect(String(l["timestamp"])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

      // 2. a second server on the same data dir is refused at once, naming the holder
      const again = spawnSync(process.execPath, [...execStartOf(a.unit).slice(1)], { encoding: "utf8", timeout: 120_000 })
      expect(again.status).toBe(1)
      expect(again.stderr).toContain(`pid ${first.child.pid}`)

      // 3. another node (data dir B) with the same catalog: leaves A's container alone and says why
      const second = start(execStartOf(b.unit))
      const idB = await (async () => {
        await until(() => existsSync(join(b.data, "server.json")), "B serving")
        return readFileSync(join(b.data, "instance-id"), "utf8").trim()
      })()
      await until(async () => (await statusOf(b.data))?.lastError?.message.includes(`managed by another orchestrator (instance ${idA})`) === true, "B reports A's container")
      await new Promise((r) => setTimeout(r, 5_000)) // several 1 s reconcile passes of both
      expect(inspect(app)).toBe(before)
      expect((await statusOf(a.data))?.state).toBe("running")

      // 4. the operator retires A and takes the app over for B
      first.child.kill("SIGTERM")
      expect(await first.exited).toBe(0)
      const takeover = await run(["takeover", app, "--data", b.data])
      expect(takeover.code).toBe(0)
      expect(takeover.stdout).toContain(`removed ${app}`)
      await until(() => inspect(app)?.endsWith(` ${idB}`) === true, `${app} recreated by B`)
      await until(async () => (await statusOf(b.data))?.state === "running", `${app} running under B`)
      expect((await statusOf(b.data))?.lastError ?? null).toBeNull()
      second.child.kill("SIGTERM")
      expect(await second.exited).toBe(0)
    },
    600_000
  )
})
