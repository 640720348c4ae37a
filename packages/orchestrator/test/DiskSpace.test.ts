import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { DiskSpace } from "../src/domain/index.js"
import { prop } from "../../../test-support/prop.js"

const GiB = 1024 ** 3
const arbDisk = fc.record({ total: fc.integer({ min: 1, max: 16 * 1024 }).map((g) => g * GiB) }).chain(({ total }) =>
  fc.record({ total: fc.constant(total), free: fc.integer({ min: 0, max: total }) })
)
const arbThresholds = fc.record({
  warnPercent: fc.double({ min: 0, max: 100, noNaN: true }),
  warnBytes: fc.integer({ min: 0, max: 1024 }).map((g) => g * GiB),
  criticalPercent: fc.double({ min: 0, max: 100, noNaN: true }),
  criticalBytes: fc.integer({ min: 0, max: 1024 }).map((g) => g * GiB)
})
const rank = (l: DiskSpace.Level): number => DiskSpace.levels.indexOf(l)

describe("DiskSpace", () => {
  it("a 250 GB disk: warns at 8 % free, critical at 4 %, fine at 30 %", () => {
    const total = 250e9
    assert.strictEqual(DiskSpace.level(0.3 * total, total), "ok")
    assert.strictEqual(DiskSpace.level(0.08 * total, total), "warn")
    assert.strictEqual(DiskSpace.level(0.04 * total, total), "critical")
  })

  it("a 4 TB disk at 9 % free is still a warning; 4 GiB free on it is critical", () => {
    assert.strictEqual(DiskSpace.level(0.09 * 4e12, 4e12), "warn")
    assert.strictEqual(DiskSpace.level(4 * GiB, 4e12), "critical")
    assert.strictEqual(DiskSpace.level(19 * GiB, 4e12), "critical")
    assert.strictEqual(DiskSpace.level(1e12, 4e12), "ok")
  })

  it("a disk that reports no size is critical (nothing can be written to what cannot be measured)", () => {
    assert.strictEqual(DiskSpace.level(0, 0), "critical")
    assert.strictEqual(DiskSpace.freePercent(10, 0), 0)
  })

  prop("less free space never gives a milder level", [arbDisk, fc.integer({ min: 0, max: 1e12 }), arbThresholds], ([{ free, total }, less, t]) => {
    const fewer = Math.max(0, free - less)
    assert.isAtLeast(rank(DiskSpace.level(fewer, total, t)), rank(DiskSpace.level(free, total, t)))
  })

  prop("the level is exactly what the thresholds say", [arbDisk, arbThresholds], ([{ free, total }, t]) => {
    const pct = (free / total) * 100
    const expected = pct < t.criticalPercent || free < t.criticalBytes
      ? "critical"
      : pct < t.warnPercent || free < t.warnBytes
      ? "warn"
      : "ok"
    assert.strictEqual(DiskSpace.level(free, total, t), expected)
  })

  prop("with the defaults, every critical disk also crosses a warning threshold", [arbDisk], ([{ free, total }]) => {
    if (DiskSpace.level(free, total) !== "critical") return
    const t = DiskSpace.defaultThresholds
    assert.isTrue((free / total) * 100 < t.warnPercent || free < t.warnBytes)
  })

  it("reads thresholds from the environment, ignoring what is not a number in range", () => {
    const t = DiskSpace.thresholdsFromEnv({
      ARCHIPELAGO_DISK_WARN_PERCENT: "99.5",
      ARCHIPELAGO_DISK_CRITICAL_PERCENT: "150",
      ARCHIPELAGO_DISK_WARN_GIB: "abc",
      ARCHIPELAGO_DISK_CRITICAL_GIB: "1"
    })
    assert.deepStrictEqual(t, {
      warnPercent: 99.5,
      criticalPercent: DiskSpace.defaultThresholds.criticalPercent,
      warnBytes: DiskSpace.defaultThresholds.warnBytes,
      criticalBytes: GiB
    })
    assert.deepStrictEqual(DiskSpace.thresholdsFromEnv({}), DiskSpace.defaultThresholds)
  })
})
