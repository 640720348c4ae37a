/**
 * The golden units of every app, through the real generator: podman 5.4's
 * `/usr/libexec/podman/quadlet`, unpacked from Debian trixie's podman package by
 * scripts/fetch-quadlet.sh (nothing installed system-wide), run as
 * `QUADLET_UNIT_DIRS=<dir> quadlet -dryrun`; then `systemd-analyze verify` on the services it
 * generates, which must pass without a single warning. Skips only when the generator cannot be
 * fetched or systemd-analyze is missing, and never under CI=true.
 */
import { execFile, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
const goldenDir = fileURLToPath(new URL("./golden", import.meta.url))
const versions = ["4.4.0", "5.4.2"]

// Asynchronous: a first fetch (apt lists and a download) can take minutes, and a test worker
// blocked past 60 s fails the run ("Timeout calling onTaskUpdate") whatever its tests say.
const findQuadlet = (): Promise<string | undefined> => {
  const given = process.env.QUADLET_BIN
  if (given !== undefined && given !== "") return Promise.resolve(given)
  return new Promise((resolve) =>
    execFile("bash", [NodePath.join(root, "scripts/fetch-quadlet.sh")], { encoding: "utf8", timeout: 300_000 }, (error, stdout, stderr) => {
      const last = stdout.trim().split("\n").pop() ?? ""
      if (error === null && Fs.existsSync(last)) return resolve(last)
      console.warn(`fetch-quadlet.sh failed (${error?.code ?? "?"}): ${stderr.slice(-2000)}`)
      resolve(undefined)
    }))
}

const quadlet = await findQuadlet()
const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" }).status === 0 ? "systemd-analyze" : undefined
const inCi = process.env.CI === "true"
if (quadlet === undefined) console.warn("skipping the Quadlet generator tests: the generator could not be fetched (scripts/fetch-quadlet.sh)")
if (analyze === undefined) console.warn("skipping systemd-analyze verify: systemd-analyze is missing (apt-get install systemd)")

const scratch = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "archy-quadlet-"))
afterAll(() => Fs.rmSync(scratch, { recursive: true, force: true }))

interface DryRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly services: ReadonlyMap<string, string>
}

/** Runs the generator in dry-run mode on a folder and splits its output into services. */
const dryRun = (unitDir: string): DryRun => {
  const r = spawnSync(quadlet!, ["-dryrun"], {
    encoding: "utf8",
    env: { ...process.env, QUADLET_UNIT_DIRS: unitDir },
    timeout: 60_000
  })
  const services = new Map<string, string>()
  let current: string | undefined
  for (const line of r.stdout.split("\n")) {
    const m = /^---(.+)---$/.exec(line)
    if (m !== null) {
      current = m[1]!
      services.set(current, "")
    } else if (current !== undefined) services.set(current, `${services.get(current)}${line}\n`)
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, services }
}

describe.skipIf(quadlet === undefined && !inCi)("the real Quadlet generator (podman 5.4)", () => {
  it("is there (CI must fetch it)", () => {
    expect(quadlet, "scripts/fetch-quadlet.sh must provide the generator").toBeDefined()
    const v = spawnSync(quadlet!, ["-version"], { encoding: "utf8" })
    expect(v.stdout.trim()).toMatch(/^5\.4\./)
  })

  it("rejects a unit with an unknown key (the check can fail)", () => {
    const dir = Fs.mkdtempSync(NodePath.join(scratch, "bad-"))
    Fs.writeFileSync(NodePath.join(dir, "bad.container"), "[Container]\nImage=localhost/x:1\nMemoryy=1\n")
    const r = dryRun(dir)
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain("unsupported key 'Memoryy'")
    expect(r.services.has("bad.service")).toBe(false)
  })

  for (const version of versions) {
    describe(`golden units for podman ${version}`, () => {
      const unitDir = NodePath.join(goldenDir, version)
      const sources = Fs.readdirSync(unitDir).sort()
      const expected = sources.map((f) => f.endsWith(".volume") ? f.replace(/\.volume$/, "-volume.service") : f.replace(/\.container$/, ".service"))
      let run: DryRun

      it("convert without an error or a dropped unit", () => {
        run = dryRun(unitDir)
        expect(run.stderr).not.toMatch(/unsupported key|converting .* failed|error/i)
        expect(run.status, run.stderr).toBe(0)
        expect([...run.services.keys()].sort()).toEqual(expected.sort())
        for (const [name, text] of run.services) {
          if (!name.endsWith("-volume.service")) expect(text, name).toMatch(/^ExecStart=\/usr\/bin\/podman run --name /m)
        }
        // Named volumes keep the orchestrator's name, not systemd-<unit>.
        const volume = run.services.get("demo-node-data-volume.service")
        if (volume !== undefined) expect(volume).toMatch(/volume create --ignore .* demo-node-data$/m)
      })

      it.skipIf(analyze === undefined && !inCi)("pass systemd-analyze verify without a warning", () => {
        expect(analyze, "systemd-analyze (Debian's systemd package) must be installed").toBeDefined()
        run ??= dryRun(unitDir)
        const out = NodePath.join(scratch, version)
        Fs.mkdirSync(out, { recursive: true })
        for (const [name, text] of run.services) Fs.writeFileSync(NodePath.join(out, name), text)
        const files = [...run.services.keys()].map((n) => NodePath.join(out, n))
        const r = spawnSync(analyze!, ["verify", "--man=no", ...files], { encoding: "utf8", timeout: 60_000 })
        expect(`${r.stdout}${r.stderr}`.trim()).toBe("")
        expect(r.status).toBe(0)
      })
    })
  }

  it.skipIf(analyze === undefined && !inCi)("systemd-analyze verify reports a broken service (the check can fail)", () => {
    const out = NodePath.join(scratch, "broken")
    Fs.mkdirSync(out, { recursive: true })
    const file = NodePath.join(out, "broken.service")
    Fs.writeFileSync(file, "[Service]\nExecStart=/usr/bin/podman run x\nRestart=bogus\nTimeoutStopSec=abc\n")
    const r = spawnSync(analyze!, ["verify", "--man=no", file], { encoding: "utf8" })
    expect(`${r.stdout}${r.stderr}`).toContain("Failed to parse service restart specifier")
  })
})
