import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DiskUsage } from "../../src/index.js"

const withDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "archy-disk-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const MiB = 1024 * 1024

describe("DiskUsage", () => {
  it.effect("measures each app folder on a real disk, without following links out of it", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const apps = join(dir, "apps")
        mkdirSync(join(apps, "node", "blocks"), { recursive: true })
        mkdirSync(join(apps, "ui"), { recursive: true })
        writeFileSync(join(apps, "node", "blocks", "blk00000.dat"), Buffer.alloc(3 * MiB, 1))
        writeFileSync(join(apps, "node", "bitcoin.conf"), "server=1\n")
        // a large file outside, linked from inside: the link is counted as a link, not its target
        writeFileSync(join(dir, "outside.bin"), Buffer.alloc(8 * MiB, 2))
        symlinkSync(join(dir, "outside.bin"), join(apps, "ui", "big"))
        symlinkSync(dir, join(apps, "ui", "loop"))
        writeFileSync(join(apps, "stray-file"), "not an app folder")
        const report = yield* DiskUsage.measure(dir)
        assert.deepStrictEqual(report.apps.map((a) => a.appId), ["node", "ui"])
        const node = report.apps[0]!
        const ui = report.apps[1]!
        assert.isAtLeast(node.bytes, 3 * MiB)
        assert.isBelow(node.bytes, 4 * MiB)
        assert.isFalse(node.partial)
        assert.isBelow(ui.bytes, 1 * MiB)
        assert.isAbove(report.totalBytes, 0)
        assert.isAtMost(report.freeBytes, report.totalBytes)
        assert.include(["ok", "warn", "critical"], report.level)
      })
    ))

  it.effect("a walk past its bound reports a partial (lower bound) size", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const app = join(dir, "apps", "many")
        mkdirSync(app, { recursive: true })
        for (let i = 0; i < 20; i++) writeFileSync(join(app, `f${i}`), "x")
        const bounded = yield* DiskUsage.folderSize(app, 5)
        assert.isTrue(bounded.partial)
        const whole = yield* DiskUsage.folderSize(app)
        assert.isFalse(whole.partial)
        assert.isAbove(whole.bytes, bounded.bytes)
      })
    ))

  it.effect("a missing data dir measures no apps and a disk of no size", () =>
    Effect.gen(function*() {
      const report = yield* DiskUsage.measure("/nonexistent/archy-disk-test")
      assert.deepStrictEqual(report.apps, [])
      assert.strictEqual(report.totalBytes, 0)
      assert.strictEqual(report.level, "critical")
    }))

  it.effect("the thresholds decide the level: a 100 % warning threshold always warns on a real disk", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const report = yield* DiskUsage.measure(dir, { warnPercent: 100, warnBytes: 0, criticalPercent: 0, criticalBytes: 0 })
        assert.strictEqual(report.level, "warn")
      })
    ))

  it.effect("answers from the last measurement and measures again on the schedule, not per request", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const app = join(dir, "apps", "a")
        mkdirSync(app, { recursive: true })
        const service = Context.get(yield* Layer.build(DiskUsage.layer({ dataDir: dir })), DiskUsage.DiskUsage)
        const first = yield* service.current
        writeFileSync(join(app, "grown.bin"), Buffer.alloc(2 * MiB, 1))
        const again = yield* service.current
        assert.strictEqual(again.apps[0]!.bytes, first.apps[0]!.bytes)
        const later = yield* Effect.forkChild(Effect.gen(function*() {
          yield* TestClock.adjust("5 minutes")
          // the refresh runs on the real file system: give it a moment
          for (let i = 0; i < 200; i++) {
            const r = yield* service.current
            if (r.apps[0]!.bytes > first.apps[0]!.bytes) return r
            yield* Effect.promise(() => new Promise((res) => setTimeout(res, 10)))
          }
          return yield* service.current
        }))
        const r = yield* Fiber.join(later)
        assert.isAtLeast(r.apps[0]!.bytes, first.apps[0]!.bytes + 2 * MiB)
      })
    ))

  it("reads its thresholds and interval from the environment", () => {
    const o = DiskUsage.optionsFromEnv("/d", { ARCHIPELAGO_DISK_WARN_PERCENT: "99", ARCHIPELAGO_DISK_REFRESH_SECONDS: "2" })
    assert.strictEqual(o.dataDir, "/d")
    assert.strictEqual(o.thresholds?.warnPercent, 99)
    assert.isDefined(o.schedule)
    assert.isUndefined(DiskUsage.optionsFromEnv("/d", { ARCHIPELAGO_DISK_REFRESH_SECONDS: "0" }).schedule)
    assert.isUndefined(DiskUsage.optionsFromEnv("/d", {}).schedule)
  })
})
