import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { AppResources } from "../src/domain/index.js"
import { prop } from "../../../test-support/prop.js"

const arbName = fc.constantFrom("lnd", "bitcoin-knots", "archy-lnd-ui", "electrumx", "other")
const arbApp = fc.record(
  { appId: fc.constantFrom("a", "b", "c", "d"), containerName: arbName, memoryLimitBytes: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }) },
  { requiredKeys: ["appId", "containerName"] }
).map(({ memoryLimitBytes, ...rest }): AppResources.AppContainer => memoryLimitBytes === undefined ? rest : { ...rest, memoryLimitBytes })
const arbUse = fc.record(
  {
    name: arbName,
    cpuPercent: fc.double({ min: 0, max: 800, noNaN: true }),
    memoryBytes: fc.integer({ min: 0, max: 2 ** 40 }),
    memoryLimitBytes: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined })
  },
  { requiredKeys: ["name", "cpuPercent", "memoryBytes"] }
).map(({ memoryLimitBytes, ...rest }): AppResources.ContainerUse => memoryLimitBytes === undefined ? rest : { ...rest, memoryLimitBytes })
const uniqueApps = fc.uniqueArray(arbApp, { selector: (a) => a.appId })
const uniqueUse = fc.uniqueArray(arbUse, { selector: (s) => s.name })

describe("AppResources.fromStats", () => {
  it("the manifest's limit wins over the engine's; no limit at all is null; other containers are ignored", () => {
    expect(AppResources.fromStats(
      [
        { appId: "lnd", containerName: "lnd", memoryLimitBytes: 128 * 1024 ** 2 },
        { appId: "electrumx", containerName: "electrumx" },
        { appId: "bitcoin-knots", containerName: "bitcoin-knots" },
        { appId: "lnd-ui", containerName: "archy-lnd-ui" }
      ],
      [
        { name: "bitcoin-knots", cpuPercent: 2.5, memoryBytes: 10 },
        { name: "lnd", cpuPercent: 1.5, memoryBytes: 720_900, memoryLimitBytes: 67_110_000 },
        { name: "electrumx", cpuPercent: 0, memoryBytes: 5, memoryLimitBytes: 8e9 },
        { name: "someone-else", cpuPercent: 50, memoryBytes: 1 }
      ]
    )).toStrictEqual([
      { appId: "lnd", cpuPercent: 1.5, memoryBytes: 720_900, memoryLimitBytes: 128 * 1024 ** 2 },
      { appId: "electrumx", cpuPercent: 0, memoryBytes: 5, memoryLimitBytes: 8e9 },
      { appId: "bitcoin-knots", cpuPercent: 2.5, memoryBytes: 10, memoryLimitBytes: null }
    ])
  })

  prop("exactly the apps whose container was sampled, in the apps' order, with the sample's numbers", [uniqueApps, uniqueUse], ([apps, use]) => {
    const out = AppResources.fromStats(apps, use)
    const sampled = new Set(use.map((s) => s.name))
    expect(out.map((r) => r.appId)).toStrictEqual(apps.filter((a) => sampled.has(a.containerName)).map((a) => a.appId))
    for (const r of out) {
      const app = apps.find((a) => a.appId === r.appId)!
      const s = use.find((u) => u.name === app.containerName)!
      expect([r.cpuPercent, r.memoryBytes]).toStrictEqual([s.cpuPercent, s.memoryBytes])
      expect(r.memoryLimitBytes).toBe(
        app.memoryLimitBytes !== undefined && app.memoryLimitBytes > 0 ? app.memoryLimitBytes : (s.memoryLimitBytes ?? null)
      )
    }
  })
})
