/**
 * Kill at every step, on podman, through the real server: for each data operation (update to a
 * healthy and to an unhealthy release from a loopback registry, restore healthy and unhealthy,
 * backup with and without the freeze hook, remove with purge) and each of its journal steps, a
 * real `archipelago serve` is SIGKILLed by its own test switch (`ARCHIPELAGO_TEST_CRASH_AT`)
 * right after that step is persisted, and a fresh `serve` starts on the same data dir. Invariant,
 * checked within a bound: the app is in the state its owner asked for (or the state before the
 * operation), its data folder is byte-identical to one of the two, `lastError` and the install log
 * tell what happened, and nothing is left behind (`.previous-*`, `.restore-*`, `.purging-*`,
 * staging folders, the update's hold image). Runs idle, then under CPU contention (two busy
 * workers per core); the verdicts and recovery times go to
 * docs/chaos-report.md's crash-point section when `ARCHY_CRASH_REPORT` names a file. Needs
 * podman, docker-registry and `npm run build`.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CrashRow } from "../../../../test-support/chaos/Report.js"
import { type Serve, startServe, type View } from "../../../../test-support/chaos/Serve.js"
import { startContention, type Contention } from "../../../../test-support/contention.js"
import { podman } from "../../../../test-support/podman.js"
import { hasRegistry, type Registry, startRegistry } from "../../../../test-support/registry.js"
import { releaseCommand, releaseContainerfile, releaseOkCheck } from "../../../../test-support/releases.js"
import { hasPodman, runTag } from "../../../orchestrator/test/runtime/podman.js"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
const cli = `${root}packages/daemon/dist/cli.js`
const repo = `archy-cp-${runTag}/app`
const base = "localhost/archipelago/base:latest"

if (!hasPodman) console.warn("CrashPoints.test.ts skipped: podman is missing or not working")
else if (!hasRegistry) console.warn("CrashPoints.test.ts skipped: /usr/bin/docker-registry is missing (scripts/setup-host.sh installs it)")

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Case {
  readonly scenario: string
  readonly op: "install" | "update" | "restore" | "backup" | "remove"
  /** A journal step (`update:fetching`), or `random`: the harness SIGKILLs the server 0-4 s after the request. */
  readonly point: string
  readonly version: string
  readonly freeze?: boolean
  /** Restore scenarios: make the restored data fail the health gate. */
  readonly unhealthyRestore?: boolean
  readonly finalState: "running" | "not-installed"
}

const cases: ReadonlyArray<Case> = [
  ...["requested", "fetching", "gating"].map((s) => ({ scenario: "update to a healthy release", op: "update" as const, point: `update:${s}`, version: "1.2.0", finalState: "running" as const })),
  ...["gating", "rolling-back"].map((s) => ({ scenario: "update to an unhealthy release", op: "update" as const, point: `update:${s}`, version: "1.1.0", finalState: "running" as const })),
  ...["requested", "staged", "swapped", "committing"].map((s) => ({ scenario: "restore, healthy", op: "restore" as const, point: `restore:${s}`, version: "1.0.0", finalState: "running" as const })),
  ...["swapped", "reverting"].map((s) => ({ scenario: "restore, unhealthy", op: "restore" as const, point: `restore:${s}`, version: "1.0.0", unhealthyRestore: true, finalState: "running" as const })),
  ...["requested", "copying", "written"].map((s) => ({ scenario: "backup, stopped for the copy", op: "backup" as const, point: `backup:${s}`, version: "1.0.0", finalState: "running" as const })),
  ...["copying", "written"].map((s) => ({ scenario: "backup, frozen by its hook", op: "backup" as const, point: `backup:${s}`, version: "1.0.0", freeze: true, finalState: "running" as const })),
  ...["requested", "purging"].map((s) => ({ scenario: "remove with purge", op: "remove" as const, point: `remove:${s}`, version: "1.0.0", finalState: "not-installed" as const })),
  // at random moments, killed from outside: an install (no journal: safe to run again whole) and an update
  ...[1, 2, 3].map(() => ({ scenario: "install", op: "install" as const, point: "random", version: "1.0.0", finalState: "running" as const })),
  ...[1, 2].map(() => ({ scenario: "update to a healthy release", op: "update" as const, point: "random", version: "1.2.0", finalState: "running" as const }))
]

// The app's health check passes while the release is healthy and its data folder is not marked
// broken: a restore of an archive holding the mark fails its gate.
const check = ["sh", "-c", `${releaseOkCheck[2]} && test ! -e /data/broken`]

const manifest = (id: string, host: string, version: string, freeze: boolean) =>
  JSON.stringify({
    id,
    name: "Crash-point proof",
    version,
    image: `${host}/${repo}:${version}`,
    container: { command: releaseCommand },
    volumes: [{ source: "./data", target: "/data" }],
    health: { type: "cmd", command: check, interval: 1, timeout: 2, retries: 2, startPeriod: 1 },
    stopTimeout: 2,
    restart: "no",
    ...(freeze ? { backup: { liveHook: "freeze" } } : {})
  }, null, 2)

/** A checksum of every file (path, mode and bytes) under a folder; "absent" when it is gone. */
const checksum = (dir: string): string => {
  if (!existsSync(dir)) return "absent"
  const h = createHash("sha256")
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const st = statSync(p)
      h.update(`${rel}/${name} ${st.mode.toString(8)}\n`)
      if (st.isDirectory()) walk(p, `${rel}/${name}`)
      else if (st.isFile()) h.update(readFileSync(p))
    }
  }
  walk(dir, "")
  return h.digest("hex")
}

const leftovers = (dataDir: string, id: string): ReadonlyArray<string> => {
  const apps = join(dataDir, "apps")
  const found = (existsSync(apps) ? readdirSync(apps) : []).filter((n) => /\.(previous|restore|purging)-/.test(n))
  for (const folder of [dataDir, apps]) {
    if (existsSync(folder)) found.push(...readdirSync(folder).filter((n) => n.startsWith(`.${id}.backup-staging-`) || n.startsWith(`.${id}.archive-copy-`)))
  }
  const target = join(dataDir, "backups", id)
  if (existsSync(target)) found.push(...readdirSync(target).filter((n) => /^\.(staging-|.*\.partial-)/.test(n)))
  if (podman("image", "exists", `localhost/archipelago/hold/${id}:rollback`).status === 0) found.push("the update's hold image")
  return found
}

const rows: Array<CrashRow> = []

const lanes: ReadonlyArray<{ readonly name: string; readonly workers: number }> = [
  { name: "idle", workers: 0 },
  { name: "contended", workers: 4 }
]

describe.runIf(hasPodman && hasRegistry)("kill at every step on podman (real serve, loopback registry)", { concurrent: false }, () => {
  let registry: Registry | undefined
  const refs: Array<string> = []
  const ids: Array<string> = []

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`)
    registry = await startRegistry()
    refs.push(...registry.publish(repo, ["1.0.0", "1.1.0", "1.2.0"], (version) =>
      releaseContainerfile(base, version, { RELEASE_OK: version === "1.1.0" ? "no" : "yes" })))
  }, 300_000)

  afterAll(async () => {
    for (const id of ids) podman("rm", "--force", "--time", "0", id)
    for (const ref of refs) podman("rmi", "--force", ref)
    for (const id of ids) podman("untag", `localhost/archipelago/hold/${id}:rollback`)
    await registry?.stop()
    const report = process.env["ARCHY_CRASH_REPORT"]
    if (report !== undefined && report !== "") writeFileSync(report, JSON.stringify(rows, null, 2))
  }, 120_000)

  let n = 0
  for (const lane of lanes) {
    describe(lane.name, () => {
      let contention: Contention | undefined
      beforeAll(() => {
        if (lane.workers > 0) contention = startContention({ workers: lane.workers })
      })
      afterAll(async () => {
        await contention?.stop()
      })

      for (const c of cases) {
        it(`${c.scenario}, SIGKILLed at ${c.point}: back to the owner's state, data whole, told truthfully`, async () => {
          const id = `t-cp-${runTag}-${++n}`
          ids.push(id)
          const appsDir = mkdtempSync(join(tmpdir(), "archy-cp-apps-"))
          const dataDir = mkdtempSync(join(tmpdir(), "archy-cp-data-"))
          const appData = join(dataDir, "apps", id, "data")
          mkdirSync(join(appsDir, id))
          const write = (version: string) => writeFileSync(join(appsDir, id, "manifest.yml"), manifest(id, registry!.host, version, c.freeze === true))
          write("1.0.0")
          const env = registry!.env(process.env)
          let serve: Serve | undefined = await startServe({ root, appsDir, dataDir, env, interval: "2s", observe: false })
          const view = async (s: Serve): Promise<View> => (await s.list()).find((v) => v.id === id)!
          const until = async (s: Serve, what: string, done: (v: View) => boolean, boundMs = 240_000): Promise<View> => {
            const end = Date.now() + boundMs
            for (;;) {
              const v = await view(s).catch(() => undefined)
              if (v !== undefined && done(v)) return v
              if (Date.now() > end) throw new Error(`${c.point}: gave up waiting for ${what}; last view: ${JSON.stringify(v)}\n${s.output().slice(-4000)}`)
              await sleep(200)
            }
          }
          const settled = (state: string) => (v: View) => v.transition === null && v.state === state
          try {
            // 1. installed and running 1.0.0 with its data; a restore has an archive of it and newer data
            if (c.op !== "install") {
              await serve.rpc("container-install", { appId: id })
              await until(serve, "1.0.0 running", settled("running"))
              writeFileSync(join(appData, "wallet.dat"), "written under 1.0.0\n")
            }
            if (c.op === "restore") {
              if (c.unhealthyRestore === true) writeFileSync(join(appData, "broken"), "the archive's data fails the check\n")
              await serve.rpc("container-backup", { appId: id })
              await until(serve, "the backup", settled("running"))
              if (c.unhealthyRestore === true) rmBroken(appData)
              writeFileSync(join(appData, "wallet.dat"), "written after the backup\n")
            }
            await serve.close()
            serve = undefined
            const before = checksum(appData)
            const archivesBefore = archives(dataDir, id)

            // 2. the operation, the server killing itself right after the step is persisted
            write(c.version)
            const random = c.point === "random"
            const crashing = await startServe({
              root, appsDir, dataDir, interval: "2s", observe: false,
              env: random ? env : { ...env, ARCHIPELAGO_TEST_CRASH_AT: c.point }
            })
            await until(crashing, "the app adopted", settled(c.op === "install" ? "not-installed" : "running"))
            await crashing.rpc(`container-${c.op}`, { appId: id, ...(c.op === "remove" ? { purge: true } : {}) })
            let killedAfter = ""
            if (random) {
              const ms = Math.floor(Math.random() * 4000)
              killedAfter = `killed ${ms} ms after the request; `
              await sleep(ms)
              await crashing.kill()
            }
            const end = Date.now() + 240_000
            while (crashing.running()) {
              if (Date.now() > end) throw new Error(`${c.point} was never reached:\n${crashing.output().slice(-4000)}`)
              await sleep(100)
            }
            if (!random) {
              const state = JSON.parse(readFileSync(join(dataDir, "state.json"), "utf8"))
              expect(`${state.apps[id].journal?.op}:${state.apps[id].journal?.step}`, "the step is on disk at the kill").toBe(c.point)
            }
            await crashing.close()

            // 3. a fresh server replays the journal
            const t0 = Date.now()
            serve = await startServe({ root, appsDir, dataDir, env, interval: "2s", observe: false })
            // the view changes as the store writes state.json: the closed record is read once written
            const journalOf = () => JSON.parse(readFileSync(join(dataDir, "state.json"), "utf8")).apps[id]?.journal
            const v = await until(serve, `back in ${c.finalState}, its journal record closed`, (x) =>
              x.transition === null && x.state === c.finalState && x.health !== "starting" && journalOf() === undefined)
            const recoveryMs = Date.now() - t0
            const log = (await serve.rpc<Array<{ message: string }>>("install-log", { appId: id, limit: 500 })).map((l) => l.message)
            const after = checksum(appData)
            let outcome: string
            if (c.finalState === "not-installed") {
              expect(after, "the purged data is gone whole").toBe("absent")
              outcome = "purged"
            } else {
              expect(v.health, "the release left running is healthy").toBe("healthy")
              const running = v.runningVersion
              const changed = running !== "1.0.0" || after !== before || archives(dataDir, id) > archivesBefore
              if (v.lastError !== null) {
                expect(log.some((l) => l.includes(v.lastError!.message)), `the install log says what lastError says:\n${log.join("\n")}`).toBe(true)
                expect(v.lastError.message).toMatch(/interrupted|rolled back|put back/)
                outcome = `${killedAfter}${running}: ${v.lastError.message}`
              } else {
                outcome = `${killedAfter}${running}: ${c.op} done`
              }
              if (c.op === "update") {
                expect([ "1.0.0", c.version ]).toContain(running)
                if (running !== c.version) expect(v.lastError, "an update that did not happen says so").not.toBeNull()
              }
              if (c.op === "restore") {
                // byte-identical to before the restore, or to the archive's data
                expect(after === before || readFileSync(join(appData, "wallet.dat"), "utf8") === "written under 1.0.0\n").toBe(true)
                if (after === before) expect(v.lastError, "a restore that did not happen says so").not.toBeNull()
              } else if (c.op !== "install") {
                expect(after, "the data is as it was").toBe(before)
              }
              if (c.op === "backup" && v.lastError === null) expect(archives(dataDir, id)).toBe(archivesBefore + 1)
              void changed
            }
            expect(leftovers(dataDir, id), "nothing is left behind").toEqual([])
            rows.push({ lane: lane.name, scenario: c.scenario, point: c.point, verdict: "pass", outcome, recoveryMs })
          } catch (e) {
            rows.push({ lane: lane.name, scenario: c.scenario, point: c.point, verdict: "fail", outcome: String(e).slice(0, 200), recoveryMs: -1 })
            throw e
          } finally {
            await serve?.close()
            podman("rm", "--force", "--time", "0", id)
          }
        }, 600_000)
      }
    })
  }
})

const archives = (dataDir: string, id: string): number => {
  const dir = join(dataDir, "backups", id)
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".tar")).length : 0
}

const rmBroken = (appData: string) => rmSync(join(appData, "broken"), { force: true })
