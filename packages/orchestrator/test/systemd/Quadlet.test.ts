/**
 * The Quadlet renderer, pure: refusal on engines without Quadlet, the version gate of every key
 * (a property over specs and versions), the fallbacks, escaping, the [Service]/[Install]
 * sections, and golden files for every app in apps/ at podman 4.4 and 5.4
 * (`UPDATE_GOLDEN=1` rewrites them). The real generator runs on the same files in
 * QuadletGenerator.test.ts.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Result } from "effect"
import fc from "fast-check"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import * as Catalog from "../../src/manifest/Catalog.js"
import * as Settings from "../../src/manifest/Settings.js"
import type { ContainerSpec } from "../../src/runtime/ContainerSpec.js"
import * as Quadlet from "../../src/systemd/Quadlet.js"

const appsDir = fileURLToPath(new URL("../../../../apps", import.meta.url))
const goldenDir = fileURLToPath(new URL("./golden", import.meta.url))
/** The two engine versions the goldens pin: the first Quadlet, and Debian trixie's podman. */
export const goldenVersions = ["4.4.0", "5.4.2"] as const

const minimal: ContainerSpec = {
  name: "demo",
  image: "localhost/demo:1",
  labels: { "io.archipelago.app": "demo" },
  ports: [],
  volumes: [],
  env: {},
  extraHosts: [],
  stopTimeoutSec: 10,
  restart: "always"
}

const right = <A, E>(e: Result.Result<A, E>): A => {
  if (Result.isFailure(e)) throw new Error(`expected Right, got ${String(e.failure)}`)
  return e.success
}

const section = (file: Quadlet.UnitFile, name: string): ReadonlyArray<Quadlet.Entry> =>
  file.sections.find((s) => s.name === name)?.entries ?? []
const values = (file: Quadlet.UnitFile, name: string, key: string) =>
  section(file, name).filter(([k]) => k === key).map(([, v]) => v)

const arbVersion = fc.record({
  major: fc.integer({ min: 4, max: 6 }),
  minor: fc.integer({ min: 0, max: 12 }),
  patch: fc.integer({ min: 0, max: 5 })
}).filter((v) => Quadlet.atLeast(v, Quadlet.quadletSince))

const arbName = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/)
const arbText = fc.string({ maxLength: 12 })

const dropUndefined = <A extends object>(a: A): A =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as A

const arbSpec: fc.Arbitrary<ContainerSpec> = fc.record({
  name: arbName,
  image: fc.constantFrom("localhost/a:1", "docker.io/library/nginx:1.27"),
  labels: fc.dictionary(fc.stringMatching(/^[a-z][a-z.-]{0,10}$/), arbText, { maxKeys: 3 }),
  ports: fc.array(
    fc.record({ host: fc.integer({ min: 1, max: 65535 }), container: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom("tcp" as const, "udp" as const) }),
    { maxLength: 2 }
  ),
  volumes: fc.array(
    fc.record({
      source: fc.oneof(arbName, arbName.map((n) => `/var/lib/x/${n}`)),
      target: arbName.map((n) => `/${n}`),
      readOnly: fc.boolean()
    }),
    { maxLength: 3 }
  ),
  env: fc.dictionary(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/), arbText, { maxKeys: 3 }),
  extraHosts: fc.array(fc.record({ host: arbName, address: fc.constantFrom("host-gateway", "10.0.0.1") }), { maxLength: 2 }),
  memoryBytes: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }),
  stopTimeoutSec: fc.integer({ min: 0, max: 900 }),
  restart: fc.constantFrom("no" as const, "always" as const, "on-failure" as const, "unless-stopped" as const),
  command: fc.option(fc.array(arbText, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  entrypoint: fc.option(fc.array(arbText, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  user: fc.option(fc.constantFrom("1000", "bitcoin"), { nil: undefined }),
  workdir: fc.option(fc.constantFrom("/data", "/home/x"), { nil: undefined }),
  healthCheck: fc.option(
    fc.record({
      command: fc.array(arbText, { minLength: 1, maxLength: 3 }),
      intervalSec: fc.integer({ min: 1, max: 60 }),
      timeoutSec: fc.integer({ min: 1, max: 60 }),
      retries: fc.integer({ min: 1, max: 5 }),
      startPeriodSec: fc.integer({ min: 0, max: 300 })
    }),
    { nil: undefined }
  )
}).map((s) => dropUndefined(s) as ContainerSpec)

describe("quadletUnit: engines", () => {
  it("refuses podman 4.3.1 (Debian 12) with a message naming the version and the need", () => {
    const r = Quadlet.quadletUnit(minimal, "4.3.1")
    expect(Result.isFailure(r)).toBe(true)
    if (Result.isSuccess(r)) return
    expect(r.failure._tag).toBe("QuadletUnsupported")
    expect(r.failure.message).toContain("podman 4.3.1 has no Quadlet")
    expect(r.failure.message).toContain("4.4 or later")
  })

  it("refuses every version before 4.4 and an unparsable one; accepts 4.4.0", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 9 }), (major, minor) => {
        const ok = major > 4 || (major === 4 && minor >= 4)
        expect(Result.isSuccess(Quadlet.quadletUnit(minimal, `${major}.${minor}.0`))).toBe(ok)
      })
    )
    expect(Result.isFailure(Quadlet.quadletUnit(minimal, "podman"))).toBe(true)
    expect(Result.isSuccess(Quadlet.quadletUnit(minimal, "4.4.0"))).toBe(true)
  })

  it("refuses names that cannot be unit file names", () => {
    const bad = Quadlet.quadletUnit({ ...minimal, name: "../etc/x" }, "5.4.0")
    expect(Result.isFailure(bad) && bad.failure._tag === "InvalidUnitName").toBe(true)
    const vol = Quadlet.quadletUnit({ ...minimal, volumes: [{ source: "a b", target: "/x", readOnly: false }] }, "5.4.0")
    expect(Result.isFailure(vol) && vol.failure.message.includes("volume name")).toBe(true)
  })
})

describe("quadletUnit: every emitted key exists at the engine's version", () => {
  it("holds for any spec at any version from 4.4 (an unknown key makes Quadlet drop the unit)", () => {
    fc.assert(
      fc.property(arbSpec, arbVersion, (spec, version) => {
        const units = right(Quadlet.quadletUnit(spec, version))
        for (const [key] of section(units.container, "Container")) {
          const since = (Quadlet.containerKeys as Record<string, readonly [number, number]>)[key]
          expect(since, `[Container] ${key}`).toBeDefined()
          expect(Quadlet.atLeast(version, since!), `${key} at ${Quadlet.formatVersion(version)}`).toBe(true)
        }
        for (const v of units.volumes) {
          for (const [key] of section(v, "Volume")) {
            const since = (Quadlet.volumeKeys as Record<string, readonly [number, number]>)[key]
            expect(since, `[Volume] ${key}`).toBeDefined()
            expect(Quadlet.atLeast(version, since!)).toBe(true)
          }
        }
        expect(units.container.sections.map((s) => s.name)).toEqual(["Unit", "Container", "Service", "Install"])
      }),
      { numRuns: 300 }
    )
  })

  it("keeps what a gated key carries through its fallback (memory, stop timeout, hosts, health)", () => {
    fc.assert(
      fc.property(arbSpec, arbVersion, (spec, version) => {
        const c = right(Quadlet.quadletUnit(spec, version)).container
        const args = values(c, "Container", "PodmanArgs").join(" ")
        if (spec.memoryBytes !== undefined) {
          expect(values(c, "Container", "Memory").includes(String(spec.memoryBytes)) || args.includes(`--memory=${spec.memoryBytes}`)).toBe(true)
        }
        const stop = String(spec.stopTimeoutSec)
        expect(values(c, "Container", "StopTimeout").includes(stop) || args.includes(`--stop-timeout=${stop}`)).toBe(true)
        for (const h of spec.extraHosts) {
          const text = `${h.host}:${h.address}`
          expect(values(c, "Container", "AddHost").includes(text) || args.includes(`--add-host=${text}`)).toBe(true)
        }
        if (spec.healthCheck !== undefined) {
          expect(values(c, "Container", "HealthCmd").length === 1 || args.includes("--health-cmd=")).toBe(true)
        }
      }),
      { numRuns: 200 }
    )
  })

  it("uses the keys once the engine has them, and PodmanArgs before", () => {
    const spec: ContainerSpec = {
      ...minimal,
      memoryBytes: 134217728,
      extraHosts: [{ host: "host.containers.internal", address: "host-gateway" }],
      healthCheck: { command: ["true"], intervalSec: 10, timeoutSec: 5, retries: 3, startPeriodSec: 0 }
    }
    const at = (v: string) => right(Quadlet.quadletUnit(spec, v)).container
    expect(values(at("4.4.0"), "Container", "PodmanArgs")).toEqual([
      "--health-cmd=true --health-interval=10s --health-timeout=5s --health-retries=3 --health-start-period=0s",
      "--add-host=host.containers.internal:host-gateway --memory=134217728 --stop-timeout=10"
    ])
    expect(values(at("4.5.0"), "Container", "HealthCmd")).toEqual(["true"])
    expect(values(at("4.9.9"), "Container", "StopTimeout")).toEqual([])
    expect(values(at("5.0.0"), "Container", "StopTimeout")).toEqual(["10"])
    expect(values(at("5.2.5"), "Container", "AddHost")).toEqual([])
    expect(values(at("5.3.0"), "Container", "AddHost")).toEqual(["host.containers.internal:host-gateway"])
    expect(values(at("5.4.2"), "Container", "Memory")).toEqual([])
    expect(values(at("5.5.0"), "Container", "Memory")).toEqual(["134217728"])
    expect(values(at("5.5.0"), "Container", "PodmanArgs")).toEqual([])
  })

  it("writes .volume files (VolumeName keeps the orchestrator's name) from 4.6, the bare name before", () => {
    const spec: ContainerSpec = { ...minimal, volumes: [{ source: "demo-data", target: "/data", readOnly: false }] }
    const old = right(Quadlet.quadletUnit(spec, "4.5.0"))
    expect(old.volumes).toEqual([])
    expect(values(old.container, "Container", "Volume")).toEqual(["demo-data:/data"])
    const now = right(Quadlet.quadletUnit(spec, "4.6.0"))
    expect(values(now.container, "Container", "Volume")).toEqual(["demo-data.volume:/data"])
    expect(now.volumes.map((v) => v.fileName)).toEqual(["demo-data.volume"])
    expect(values(now.volumes[0]!, "Volume", "VolumeName")).toEqual(["demo-data"])
  })

  it("AutoUpdate= from 4.6, its label before", () => {
    const old = right(Quadlet.quadletUnit(minimal, "4.5.0", { autoUpdate: "registry" })).container
    expect(values(old, "Container", "Label")).toContain("io.containers.autoupdate=registry")
    const now = right(Quadlet.quadletUnit(minimal, "4.6.0", { autoUpdate: "registry" })).container
    expect(values(now, "Container", "AutoUpdate")).toEqual(["registry"])
  })
})

describe("quadletUnit: service and escaping", () => {
  it("[Service] restarts always, waits for a pull and outlasts the app's stop timeout; [Install] wants the boot target", () => {
    fc.assert(
      fc.property(arbSpec, arbVersion, (spec, version) => {
        const c = right(Quadlet.quadletUnit(spec, version)).container
        const stop = Number(values(c, "Service", "TimeoutStopSec")[0])
        expect(stop).toBeGreaterThan(spec.stopTimeoutSec)
        expect(Number(values(c, "Service", "TimeoutStartSec")[0])).toBeGreaterThanOrEqual(300)
        expect(values(c, "Service", "Restart")).toEqual([spec.restart === "no" ? "no" : spec.restart === "on-failure" ? "on-failure" : "always"])
        expect(values(c, "Install", "WantedBy")).toEqual(["multi-user.target"])
        expect(values(c, "Container", "ContainerName")).toEqual([spec.name])
      })
    )
    const user = right(Quadlet.quadletUnit(minimal, "5.4.0", { scope: "user" })).container
    expect(values(user, "Install", "WantedBy")).toEqual(["default.target"])
  })

  it("stamps the same labels as the runtime, so the orchestrator adopts what systemd started", () => {
    const labels = { "io.archipelago.app": "demo", "io.archipelago.managed-by": "archipelago", "io.archipelago.spec-hash": "abc" }
    const c = right(Quadlet.quadletUnit({ ...minimal, labels }, "5.4.0")).container
    expect(values(c, "Container", "Label")).toEqual(Object.entries(labels).map(([k, v]) => `${k}=${v}`))
  })

  it("escapes systemd specifiers and variables and quotes words with spaces", () => {
    const c = right(
      Quadlet.quadletUnit({ ...minimal, env: { A: "a b", B: "$HOME 100%" }, command: ["sh", "-c", "echo \"$x\""] }, "5.4.0")
    ).container
    expect(values(c, "Container", "Environment")).toEqual(["\"A=a b\"", "\"B=$$HOME 100%%\""])
    expect(values(c, "Container", "Exec")).toEqual(["sh -c \"echo \\\"$$x\\\"\""])
    const withBreak = right(Quadlet.quadletUnit({ ...minimal, env: { A: "line\nbreak" } }, "5.4.0")).container
    for (const line of Quadlet.render(withBreak).split("\n")) {
      expect(line === "" || line.startsWith("#") || /^\[[A-Za-z]+\]$/.test(line) || /^[A-Za-z]+=/.test(line), line).toBe(true)
    }
  })
})

describe("quadletUnit: golden files for every app", () => {
  let catalog: Catalog.Catalog
  beforeAll(async () => {
    catalog = await Effect.runPromise(Catalog.load(appsDir).pipe(Effect.provide(NodeServices.layer)))
  })

  for (const version of goldenVersions) {
    it(`matches test/systemd/golden/${version}`, () => {
      const dir = NodePath.join(goldenDir, version)
      const rendered = new Map<string, string>()
      for (const app of catalog.apps) {
        const units = right(Quadlet.appUnits(catalog, app.manifest.id, Settings.defaults, version))
        for (const f of Quadlet.files(units)) rendered.set(f.fileName, f.content)
      }
      expect(rendered.size).toBeGreaterThanOrEqual(catalog.apps.length)
      if (process.env.UPDATE_GOLDEN === "1") {
        Fs.rmSync(dir, { recursive: true, force: true })
        Fs.mkdirSync(dir, { recursive: true })
        for (const [name, content] of rendered) Fs.writeFileSync(NodePath.join(dir, name), content)
      }
      expect(Fs.readdirSync(dir).sort()).toEqual([...rendered.keys()].sort())
      for (const [name, content] of rendered) {
        expect(content, `${version}/${name} (UPDATE_GOLDEN=1 rewrites)`).toBe(Fs.readFileSync(NodePath.join(dir, name), "utf8"))
      }
    })
  }
})
