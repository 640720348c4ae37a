/**
 * What an operator at a terminal meets (issue 27), on the built `archipelago` against a real
 * `serve` child process on the simulator: a broken manifest at boot, the app commands as a
 * client of the running server with `--wait`, and the journal lines of every operation.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { tempDir } from "../../rpc-adapter/test/fixtures.js"
import { cleanEnv, root, run as runCli, serve } from "./cliProcess.js"

const run = (args: Array<string>, env: NodeJS.ProcessEnv = cleanEnv) => runCli(args, env, 120_000)


/** A catalog folder from `{ id: manifest text }`; every app gets a Containerfile on the base image. */
const catalog = (apps: Readonly<Record<string, string>>): string => {
  const dir = tempDir("op-apps-")
  for (const [id, text] of Object.entries(apps)) {
    mkdirSync(join(dir, id))
    writeFileSync(join(dir, id, "manifest.yml"), text)
    writeFileSync(join(dir, id, "Containerfile"), "FROM localhost/archipelago/base:latest\nCMD [\"sleep\", \"3600\"]\n")
  }
  return dir
}
const built = (id: string, extra = "") => `id: ${id}\nname: ${id}\nversion: "1.0.0"\nbuild: {context: .}\nstopTimeout: 5\n${extra}`
const app = (id: string, extra = "") => `id: ${id}\nname: ${id}\nversion: "1.0.0"\nimage: docker.io/library/busybox:1.36\nstopTimeout: 5\n${extra}`

describe("serve with a broken manifest (simulator)", { timeout: 240_000 }, () => {
  it("starts with the valid apps; the broken one is listed with its located error and logged", async () => {
    const apps = catalog({ good: app("good"), bad: app("bad", "memory: lots\n") })
    const data = tempDir("op-broken-")
    const s = serve(["--apps", apps, "--data", data, "--engine", "sim", "--port", "0"])
    await s.waitFor(/Dashboard: http/)
    const status = await run(["status", "--data", data, "--json"])
    expect([status.code, status.stderr]).toStrictEqual([0, ""])
    const views = JSON.parse(status.stdout) as Array<{ id: string; state: string; catalogError?: string }>
    expect(views.map((v) => [v.id, v.state])).toStrictEqual([["good", "not-installed"], ["bad", "not-installed"]])
    expect(views[1]!.catalogError).toBe(`${apps}/bad/manifest.yml:6:9 memory: expected a size such as "128Mi", "2Gi" or "512M", got "lots"`)
    expect(views[0]!.catalogError).toBeUndefined()
    expect(s.out()).toContain("app bad left out of the catalog")
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
  })
})

describe("the app commands, a client of the running server (simulator)", { timeout: 240_000 }, () => {
  it("golden: install, stop, start --wait settle with exit 0 and a progress line; a failed install exits 1 with the server's words; list and --json", async () => {
    const apps = catalog({ node: built("node"), nopull: app("nopull") })
    const data = tempDir("op-cli-")
    const s = serve(["--apps", apps, "--data", data, "--engine", "sim", "--port", "0"])
    await s.waitFor(/Dashboard: http/)
    const elapsed = (t: string) => t.replace(/\(\d+\.\d+s\)/g, "(Ns)")

    const install = await run(["install", "node", "--data", data, "--wait"])
    expect([install.code, elapsed(install.stdout)]).toStrictEqual([0, "node: install done, running (Ns)\n"])
    // in a pipe the progress line is written once per state, not rewritten
    expect(install.stderr).toMatch(/^(node: installing…\n)?$/)

    const stop = await run(["stop", "node", "--data", data, "--wait", "--json"])
    expect(stop.code).toBe(0)
    const settled = JSON.parse(stop.stdout)
    expect([settled.appId, settled.op, settled.outcome, settled.view.state]).toStrictEqual(["node", "stop", "succeeded", "stopped"])

    const start = await run(["start", "node", "--data", data, "--json"])
    expect(start.code).toBe(0)
    expect(JSON.parse(start.stdout)).toMatchObject({ appId: "node", op: "start", status: "starting" })

    const failed = await run(["install", "nopull", "--data", data, "--wait"])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/^(nopull: installing…\n)?archipelago: nopull: install failed: .*docker\.io\/library\/busybox:1\.36/)

    const unknown = await run(["stop", "nope", "--data", data])
    expect([unknown.code, unknown.stderr]).toStrictEqual([1, expect.stringMatching(/^archipelago: the server at http:\/\/127\.0\.0\.1:\d+ refused container-stop: .*nope/)])

    await run(["start", "node", "--data", data, "--wait"])
    const list = await run(["list", "--data", data])
    expect(list.code).toBe(0)
    const rows = list.stdout.split("\n")
    expect(rows[0]).toMatch(/^APP +STATE +HEALTH +VERSION +PORTS +ERROR$/)
    expect(rows[1]).toMatch(/^node +running +- +1\.0\.0 +-$/)
    expect(rows[2]).toMatch(/^nopull +not-installed +- +1\.0\.0 +- +.*busybox/)

    const logs = await run(["logs", "node", "--data", data, "--tail", "5"])
    expect(logs.code).toBe(0)
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
  })

  it("a misspelt command gets a did-you-mean, exit 2; --timeout must be a duration", async () => {
    const serv = await run(["serv"])
    expect([serv.code, serv.stderr]).toStrictEqual([2, "archipelago: unknown command serv: did you mean serve? (archipelago --help lists them)\n"])
    const sub = await run(["backup", "lst"])
    expect([sub.code, sub.stderr]).toStrictEqual([2, "archipelago backup: unknown command lst: did you mean list? (archipelago backup --help lists them)\n"])
    const flag = await run(["stop", "lnd", "--wiat"])
    expect([flag.code, flag.stderr]).toStrictEqual([2, "archipelago stop: unknown option --wiat: did you mean --wait?\n"])
    const timeout = await run(["stop", "lnd", "--wait", "--timeout", "soon", "--data", tempDir("op-to-")])
    expect([timeout.code, timeout.stderr]).toStrictEqual([2, "archipelago stop: --timeout: invalid duration \"soon\": expected e.g. 500ms, 1s, 30s, 5m\n"])
  })
})

describe("the journal of a real serve (simulator)", { timeout: 240_000 }, () => {
  it("every operation requested and how it ended, at info, with appId, op and generation as fields; no fiber ids", async () => {
    const apps = catalog({ node: built("node"), nopull: app("nopull") })
    const data = tempDir("op-journal-")
    const s = serve(["--apps", apps, "--data", data, "--engine", "sim", "--port", "0", "--log-format", "json"])
    await s.waitFor(/Dashboard: http/)
    expect((await run(["install", "node", "--data", data, "--wait"])).code).toBe(0)
    expect((await run(["stop", "node", "--data", data, "--wait"])).code).toBe(0)
    expect((await run(["install", "nopull", "--data", data, "--wait"])).code).toBe(1)
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
    const entries = s.out().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    for (const e of entries) expect(Object.keys(e)).not.toContain("fiberId")
    const all = entries.filter((e) => e["op"] !== undefined && e["appId"] !== undefined)
      .map((e) => [e["logLevel"], e["message"], e["appId"], e["op"], e["generation"]])
    // after the failed install the reconciler may try nopull again (on a loaded machine before
    // the SIGTERM): each try ends with the same warning, and nothing else follows
    const ops = all.slice(0, 6)
    for (const retry of all.slice(6)) expect(retry.slice(0, 4)).toStrictEqual(all[5]!.slice(0, 4))
    expect(ops.map((o) => o.slice(0, 3))).toStrictEqual([
      ["INFO", "install requested", "node"],
      ["INFO", "install done", "node"],
      ["INFO", "stop requested", "node"],
      ["INFO", "stop done", "node"],
      ["INFO", "install requested", "nopull"],
      ["WARN", "pulling image docker.io/library/busybox:1.36 failed: image not found", "nopull"]
    ])
    // an engine failure: the operator's sentence is the message, the engine's words its detail
    expect(entries.find((e) => e["appId"] === "nopull" && e["logLevel"] === "WARN")?.["detail"]).toMatch(/image not found: docker\.io\/library\/busybox:1\.36$/)
    // a request is recorded at one generation and settles at the next
    expect(ops.map((o) => o[4])).toStrictEqual([1, 2, 3, 4, 1, 2])
  })

  it("under systemd (JOURNAL_STREAM set) each line carries its syslog priority; pretty lines give the fields as key=value", async () => {
    const apps = catalog({ node: built("node") })
    const data = tempDir("op-journald-")
    const s = serve(["--apps", apps, "--data", data, "--engine", "sim", "--port", "0"], { ...cleanEnv, JOURNAL_STREAM: "8:12345" })
    await s.waitFor(/Dashboard: http/)
    expect((await run(["install", "node", "--data", data, "--wait"])).code).toBe(0)
    s.child.kill("SIGTERM")
    expect(await s.exited).toBe(0)
    const lines = s.out().trim().split("\n")
    expect(lines).toContain("<6>INFO  install requested appId=node op=install generation=1")
    expect(lines.find((l) => l.startsWith("<6>INFO  install done appId=node op=install generation=2 seconds="))).toBeDefined()
    // the simulator's banner is a warning
    expect(lines.some((l) => l.startsWith("<4>WARN "))).toBe(true)
  })
})

describe("serve checks its folders before it prints the address", { timeout: 120_000 }, () => {
  it("a missing apps folder, a data folder that is a file or under one: one line in an operator's words, no Dashboard line, exit 1", async () => {
    const base = tempDir("op-folders-")
    writeFileSync(join(base, "file"), "x")
    const cases: Array<[Array<string>, string]> = [
      [["--apps", "/nonexistent/apps", "--data", join(base, "d1")], "archipelago: the app folder /nonexistent/apps does not exist: set --apps, ARCHIPELAGO_APPS or `apps:` in the config file\n"],
      [["--apps", join(base, "file"), "--data", join(base, "d2")], `archipelago: the app folder ${join(base, "file")} is a file, not a folder: set --apps, ARCHIPELAGO_APPS or \`apps:\` in the config file\n`],
      [["--apps", join(root, "apps"), "--data", join(base, "file")], `archipelago: the data folder ${join(base, "file")} is a file, not a folder: set --data, ARCHIPELAGO_DATA or \`data:\` in the config file\n`],
      [["--apps", join(root, "apps"), "--data", join(base, "file", "data")], `archipelago: cannot create the data folder ${join(base, "file", "data")}: ${join(base, "file")} is a file, not a folder\n`]
    ]
    for (const [args, stderr] of cases) {
      const r = await run(["serve", ...args, "--engine", "sim", "--port", "0"])
      expect([r.code, r.stderr, r.stdout]).toStrictEqual([1, stderr, ""])
    }
  })
})

const hasPodman = spawnSync("podman", ["version", "--format", "json"]).status === 0
if (!hasPodman) console.warn("Operator.test: podman is missing; the takeover test is skipped")

describe.skipIf(!hasPodman)("takeover of an app nobody has", { timeout: 120_000 }, () => {
  it("says unknown app, not that no container belongs to another instance", async () => {
    const r = await run(["takeover", "t-op-nope-app", "--data", tempDir("op-takeover-")])
    expect([r.code, r.stderr]).toStrictEqual([1, "archipelago: unknown app t-op-nope-app: no container of any orchestrator instance is labelled with it (`archipelago list` shows this node's apps)\n"])
  })

  it("a near miss gets a did-you-mean from the catalog", async () => {
    const r = await run(["takeover", "nope", "--data", tempDir("rpc-takeover-"), "--apps", join(root, "apps")])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^archipelago: unknown app nope: no container of any orchestrator instance is labelled with it/)
    const near = await run(["takeover", "lnx", "--data", tempDir("rpc-takeover-"), "--apps", join(root, "apps")])
    expect(near.stderr).toContain("did you mean lnd?")
  })
})
