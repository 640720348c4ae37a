/**
 * Health checks from outside the container (issue 27): pure parts, then real podman on an image
 * with neither `nc` nor `wget`, where the old in-container `nc -z`/`wget` checks could never pass.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import * as OutsideProbe from "../../src/runtime/OutsideProbe.js"
import * as Argv from "../../src/runtime/PodmanArgv.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import { Fixtures } from "../../src/testing/index.js"
import { hasPodman, removeByPrefix, runTag } from "./podman.js"

const probe: OutsideProbe.Probe = { type: "http", port: 8080, path: "/", timeoutSec: 2, retries: 2, startPeriodSec: 0 }

describe("OutsideProbe (pure)", () => {
  it("the label round-trips; anything else is ignored", () => {
    fc.assert(fc.property(
      fc.record({
        type: fc.constantFrom<"tcp" | "http">("tcp", "http"),
        port: fc.integer({ min: 1, max: 65535 }),
        timeoutSec: fc.integer({ min: 1, max: 3600 }),
        retries: fc.integer({ min: 1, max: 100 }),
        startPeriodSec: fc.integer({ min: 0, max: 3600 })
      }),
      (p) => assert.deepStrictEqual(OutsideProbe.decode(OutsideProbe.encode(p)), p)
    ))
    for (const bad of [undefined, "", "nc -z", `{"type":"cmd","port":1}`, `{"type":"http","port":0,"timeoutSec":1,"retries":1,"startPeriodSec":0}`, `{"type":"http","port":80,"path":"x y","timeoutSec":1,"retries":1,"startPeriodSec":0}`]) {
      assert.strictEqual(OutsideProbe.decode(bad), undefined)
    }
  })

  it("connects to the container's address, else its published port on loopback", () => {
    assert.deepStrictEqual(OutsideProbe.target({ ipAddress: "10.88.0.5", ports: [{ host: 18080, container: 8080, protocol: "tcp" }] }, probe), { host: "10.88.0.5", port: 8080 })
    assert.deepStrictEqual(OutsideProbe.target({ ports: [{ host: 18080, container: 8080, protocol: "tcp" }] }, probe), { host: "127.0.0.1", port: 18080 })
    assert.strictEqual(OutsideProbe.target({ ports: [{ host: 18080, container: 8080, protocol: "udp" }] }, probe), undefined)
  })

  it("podman's rules: starting until a success; unhealthy after `retries` failures in a row past the start period", () => {
    const p = { ...probe, retries: 2, startPeriodSec: 10 }
    const inStart = OutsideProbe.next(undefined, false, p, 0, 5_000)
    assert.deepStrictEqual(inStart, { health: "starting", failures: 0 })
    const one = OutsideProbe.next(inStart, false, p, 0, 11_000)
    assert.deepStrictEqual(one, { health: "starting", failures: 1 })
    assert.deepStrictEqual(OutsideProbe.next(one, false, p, 0, 12_000), { health: "unhealthy", failures: 2 })
    assert.deepStrictEqual(OutsideProbe.next(one, true, p, 0, 12_000), { health: "healthy", failures: 0 })
  })

  it("tcp and http checks become a probe label, never a --health-cmd; cmd checks stay podman's", () => {
    const base = Fixtures.service("x")
    const hc = { command: [], intervalSec: 30, timeoutSec: 5, retries: 3, startPeriodSec: 0 }
    const tcp = Argv.createCommand({ ...base, healthCheck: { ...hc, probe: { type: "tcp", port: 8332 } } }, { version: "4.3.1", supportsHostGateway: false } as never).argv
    assert.isFalse(tcp.includes("--health-cmd"))
    assert.include(tcp, `${OutsideProbe.label}={"type":"tcp","port":8332,"timeoutSec":5,"retries":3,"startPeriodSec":0}`)
    const cmd = Argv.createCommand({ ...base, healthCheck: { ...hc, command: ["true"] } }, { version: "4.3.1", supportsHostGateway: false } as never).argv
    assert.include(cmd, "--health-cmd")
  })
})

const prefix = `t-probe-${runTag}-`
afterAll(() => {
  if (hasPodman) removeByPrefix(prefix)
})
if (!hasPodman) console.warn("OutsideProbe.test: podman is missing; the podman-backed test is skipped")

describe.skipIf(!hasPodman)("outside probes on podman, on an image with neither nc nor wget", { timeout: 300_000 }, () => {
  it.live("http and tcp checks turn healthy; a closed port turns unhealthy", () =>
    Effect.gen(function*() {
      yield* BaseImage.ensure()
      const context = mkdtempSync(join(tmpdir(), "archy-probe-"))
      writeFileSync(
        join(context, "Containerfile"),
        "FROM localhost/archipelago/base:latest\nRUN rm /bin/nc /bin/wget && mkdir /www && echo ok > /www/index.html\n"
      )
      const image = `localhost/${prefix}img:1`
      const built = spawnSync("podman", ["build", "--pull=never", "-t", image, context], { encoding: "utf8" })
      assert.strictEqual(built.status, 0, built.stderr)
      // the image really has neither tool: the old in-container checks could never pass
      const tools = spawnSync("podman", ["run", "--rm", image, "/bin/sh", "-c", "ls /bin/nc /bin/wget /usr/bin/nc /usr/bin/wget 2>/dev/null || echo none"], { encoding: "utf8" })
      assert.strictEqual(tools.stdout.trim(), "none")

      const rt = yield* ContainerRuntime
      const hc = { command: [], intervalSec: 30, timeoutSec: 2, retries: 1, startPeriodSec: 0 }
      const serve = ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
      const specs = [
        Fixtures.service(`${prefix}http`, { image, command: serve, healthCheck: { ...hc, probe: { type: "http", port: 8080, path: "/" } } }),
        Fixtures.service(`${prefix}tcp`, { image, command: serve, healthCheck: { ...hc, probe: { type: "tcp", port: 8080 } } }),
        Fixtures.service(`${prefix}closed`, { image, command: serve, healthCheck: { ...hc, probe: { type: "tcp", port: 9999 } } })
      ]
      for (const spec of specs) {
        yield* rt.create(spec)
        yield* rt.start(spec.name)
      }
      // httpd needs a moment to listen: the first verdicts may be unhealthy
      const verdicts: Record<string, string> = {}
      for (let i = 0; i < 20; i++) {
        for (const spec of specs) verdicts[spec.name] = yield* rt.healthcheck(spec.name)
        if (verdicts[`${prefix}http`] === "healthy" && verdicts[`${prefix}tcp`] === "healthy") break
        yield* Effect.sleep("500 millis")
      }
      assert.deepStrictEqual(verdicts, { [`${prefix}http`]: "healthy", [`${prefix}tcp`]: "healthy", [`${prefix}closed`]: "unhealthy" })
      // every view of the containers carries the probed health
      const listed = (yield* rt.list()).filter((c) => c.name.startsWith(prefix)).map((c) => [c.name, c.health]).sort()
      assert.deepStrictEqual(listed, [[`${prefix}closed`, "unhealthy"], [`${prefix}http`, "healthy"], [`${prefix}tcp`, "healthy"]])
      const inspected = yield* rt.inspect([`${prefix}http`])
      assert.strictEqual(inspected[0]?.health, "healthy")
      // the check as it was (`nc -z` inside the container) never passes on the same server
      const old = Fixtures.service(`${prefix}old`, { image, command: serve, healthCheck: { ...hc, command: ["nc", "-z", "127.0.0.1", "8080"] } })
      yield* rt.create(old)
      yield* rt.start(old.name)
      yield* Effect.sleep("1 second")
      assert.strictEqual(yield* rt.healthcheck(old.name), "unhealthy")
    }).pipe(Effect.provide(PodmanRuntime.layer)))
})
