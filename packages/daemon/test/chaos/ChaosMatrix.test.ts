/**
 * The chaos matrix (issue 12): 4 demo apps × 8 scenarios on real podman, driven through a real
 * `archipelago serve` (the built CLI) and its RPC/WebSocket API, once idle and once under CPU
 * contention with every podman call delayed 0-500 ms. See test-support/chaos/Matrix.ts for what
 * each case asserts. Needs podman, Debian's docker-registry and `npm run build`.
 *
 * Environment: ARCHY_CHAOS_PASSES (idle,contended), ARCHY_CHAOS_APPS, ARCHY_CHAOS_SCENARIOS
 * (comma lists to run a part), ARCHY_CHAOS_RESULTS (a JSON file the results are appended to,
 * read by `npm run chaos`), ARCHY_CONTENTION (workers of the contended pass; default one per CPU),
 * ARCHY_PODMAN_SLOW (the contended pass's podman delay bound in ms; default 500).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { demoApps, type DemoApp } from "../../../../test-support/chaos/Catalog.js"
import { type CaseResult, type Lane, runCase, scenarios, type Scenario, startLane } from "../../../../test-support/chaos/Matrix.js"
import { contentionWorkersFromEnv, startContention, type Contention } from "../../../../test-support/contention.js"
import { makeSlowPodman, slowPodmanFromEnv, type SlowPodman } from "../../../../test-support/podman-slow.js"
import { hasRegistry, type Registry, startRegistry } from "../../../../test-support/registry.js"
import { hasPodman, runTag } from "../../../orchestrator/test/runtime/podman.js"

const root = fileURLToPath(new URL("../../../../", import.meta.url))
const cli = `${root}packages/daemon/dist/cli.js`
const list = (name: string, all: ReadonlyArray<string>) =>
  (process.env[name] ?? all.join(",")).split(",").map((s) => s.trim()).filter((s) => all.includes(s))
const passes = list("ARCHY_CHAOS_PASSES", ["idle", "contended"]) as Array<"idle" | "contended">
const apps = list("ARCHY_CHAOS_APPS", demoApps) as Array<DemoApp>
const cases = list("ARCHY_CHAOS_SCENARIOS", scenarios) as Array<Scenario>

if (!hasPodman) console.warn("chaos matrix skipped: podman is missing or not working")
if (hasPodman && !hasRegistry) console.warn("chaos matrix skipped: docker-registry is missing (run scripts/setup-host.sh)")

const record = (pass: string, result: CaseResult) => {
  const file = process.env.ARCHY_CHAOS_RESULTS
  if (file === undefined) return
  const all = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) as Array<unknown> : []
  all.push({ pass, ...result })
  writeFileSync(file, JSON.stringify(all, null, 2))
}

for (const pass of passes) {
  describe.runIf(hasPodman && hasRegistry)(`chaos matrix, ${pass}`, { concurrent: false }, () => {
    let registry: Registry | undefined
    let slow: SlowPodman | undefined
    let contention: Contention | undefined
    let env: NodeJS.ProcessEnv = process.env

    beforeAll(async () => {
      if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`)
      registry = await startRegistry()
      env = registry.env(process.env)
      if (pass === "contended") {
        slow = makeSlowPodman(slowPodmanFromEnv() || 500)
        env = slow.env(env)
        contention = startContention({ workers: contentionWorkersFromEnv() || availableParallelism(), maxMs: 30 * 60_000 })
      }
    })
    afterAll(async () => {
      await contention?.stop()
      slow?.remove()
      await registry?.stop()
    })

    for (const demo of apps) {
      describe(demo, () => {
        let lane: Lane | undefined
        beforeAll(async () => {
          lane = await startLane({
            root,
            prefix: `t-chaos-${runTag}-${pass[0]}${demoApps.indexOf(demo)}-`,
            demo,
            env,
            push: registry!.push
          })
        }, 600_000)
        afterAll(async () => {
          await lane?.cleanup()
        }, 120_000)

        for (const scenario of cases) {
          it(scenario, async () => {
            if (lane === undefined) throw new Error("the lane did not start")
            // Under deliberate CPU contention the server's answer times are measured and reported,
            // not asserted: stalls of up to ~3 s were seen there (docs/chaos-report.md), an open finding.
            const result = await runCase(lane, scenario, { assertResponsive: pass === "idle" })
            record(pass, result)
            const where = `${pass} ${demo} ${scenario}: converged in ${result.convergeMs ?? "-"} ms (bound ${result.boundMs}), ` +
              `container-list p50 ${result.latency.p50} ms, max ${result.latency.max} ms over ${result.latency.n} (control max ${result.control.max} ms), push lag ${result.pushLagMs ?? "-"} ms`
            console.log(where)
            expect(result.errors, `${where}\n--- server output (tail)\n${lane.serve.output().slice(-3000)}`).toEqual([])
          }, 600_000)
        }
      })
    }
  })
}
