import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import * as HealthGate from "../../src/services/HealthGate.js"
import { Fixtures, SimulatedRuntime } from "../../src/testing/index.js"

const { SimulatedEngine } = SimulatedRuntime

const arbCheck: fc.Arbitrary<HealthGate.Check> = fc.record({
  type: fc.constantFrom("http" as const, "tcp" as const, "cmd" as const),
  port: fc.integer({ min: 1, max: 65535 }),
  path: fc.constantFrom("/", "/status"),
  command: fc.constant(["test", "-f", "/ready"]),
  interval: fc.integer({ min: 1, max: 60 }),
  timeout: fc.integer({ min: 1, max: 30 }),
  retries: fc.integer({ min: 1, max: 10 }),
  startPeriod: fc.integer({ min: 0, max: 120 })
})

const arbPolicy: fc.Arbitrary<HealthGate.Policy> = fc.oneof(
  arbCheck.map((c) => HealthGate.policy(c)),
  fc.integer({ min: 0, max: 120_000 }).map((settleMs) => HealthGate.policy(undefined, { settleMs }))
)

const running = (restartCount = 0) => ({ id: "c1", state: "running" as const, restartCount })

/** Drives `step` with a scripted world until a verdict (or the step limit). */
const drive = (
  p: HealthGate.Policy,
  world: (at: number) => { container?: HealthGate.Sample["container"]; check: "healthy" | "unhealthy" },
  limit = 10_000
) => {
  let state = HealthGate.initial(0)
  let at = 0
  let check = HealthGate.checkDue(p, state, at)
  for (let i = 0; i < limit; i++) {
    const w = world(at)
    const sample: HealthGate.Sample = {
      at,
      ...(w.container === undefined ? {} : { container: w.container }),
      ...(check && w.container?.state === "running" ? { check: w.check } : {})
    }
    const d = HealthGate.step(p, state, sample)
    if (d._tag === "Done") return { verdict: d.verdict, at }
    assert.isAtLeast(d.nextAt, at, "time never goes back")
    state = d.state
    check = d.check
    at = d.nextAt
  }
  throw new Error("the gate never decided")
}

describe("HealthGate (pure)", () => {
  it("a deadline leaves room for the start period and for `retries` failed checks", () => {
    fc.assert(fc.property(arbCheck, (c) => {
      const p = HealthGate.policy(c)
      assert.strictEqual(p._tag, "Probe")
      if (p._tag !== "Probe") return
      assert.isAtLeast(p.deadlineMs, p.startPeriodMs + p.retries * p.intervalMs)
    }))
    assert.deepStrictEqual(HealthGate.policy(undefined), { _tag: "Settle", settleMs: 30_000, deadlineMs: 60_000 })
  })

  it("every gate decides, by its deadline at the latest", () => {
    fc.assert(fc.property(
      arbPolicy,
      fc.constantFrom("healthy" as const, "unhealthy" as const),
      fc.option(fc.integer({ min: 0, max: 400_000 }), { nil: undefined }),
      (p, check, crashAt) => {
        const { at } = drive(p, (t) => ({ container: running(crashAt !== undefined && t >= crashAt ? 1 : 0), check }))
        assert.isAtMost(at, p.deadlineMs)
      }
    ))
  })

  it("a check that never passes fails after `retries` checks, naming the check", () => {
    fc.assert(fc.property(arbCheck, (c) => {
      const p = HealthGate.policy(c)
      const { at, verdict } = drive(p, () => ({ container: running(), check: "unhealthy" }))
      assert.strictEqual(verdict._tag, "Failed")
      assert.strictEqual(
        HealthGate.reason(verdict),
        `health check failed ${c.retries} time${c.retries === 1 ? "" : "s"}: ${HealthGate.describeCheck(c)}`
      )
      assert.isAtLeast(at, c.startPeriod * 1000, "no check counts inside the start period")
    }))
  })

  it("a passing check is healthy at the first check after the start period", () => {
    fc.assert(fc.property(arbCheck, (c) => {
      const { at, verdict } = drive(HealthGate.policy(c), () => ({ container: running(), check: "healthy" }))
      assert.strictEqual(verdict._tag, "Healthy")
      assert.strictEqual(at, c.startPeriod * 1000)
    }))
  })

  it("a restart during the gate is a crash loop; an exit or a vanished container fails", () => {
    fc.assert(fc.property(arbPolicy, fc.integer({ min: 1, max: 5 }), (p, restarts) => {
      const looping = drive(p, (t) => ({ container: running(t > 0 ? restarts : 0), check: "healthy" as const }))
      if (p._tag === "Probe" && p.startPeriodMs === 0) {
        // healthy at once: the check passed before any restart was seen
        assert.strictEqual(looping.verdict._tag, "Healthy")
      } else if (p._tag === "Settle" && p.settleMs === 0) {
        assert.strictEqual(looping.verdict._tag, "Healthy")
      } else {
        assert.deepStrictEqual(looping.verdict, HealthGate.Verdict.CrashLooping({ restarts }))
      }
    }))
    const p = HealthGate.policy(undefined, { settleMs: 10_000 })
    const exited = drive(p, (t) => ({
      container: t < 4_000 ? running() : { id: "c1", state: "exited", restartCount: 0, exitCode: 3 },
      check: "healthy"
    }))
    assert.strictEqual(HealthGate.reason(exited.verdict), "the container exited with code 3")
    const gone = drive(p, (t) => (t < 4_000 ? { container: running(), check: "healthy" } : { check: "healthy" }))
    assert.strictEqual(HealthGate.reason(gone.verdict), "the container is gone")
  })

  it("a settle period run through without a restart is healthy exactly at its end", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 120_000 }), (settleMs) => {
      const { at, verdict } = drive(HealthGate.policy(undefined, { settleMs }), () => ({ container: running(), check: "unhealthy" }))
      assert.strictEqual(verdict._tag, "Healthy")
      assert.strictEqual(at, settleMs)
    }))
  })
})

const sim = <A, E>(body: Effect.Effect<A, E, ContainerRuntime | SimulatedRuntime.SimulatedEngine>) =>
  Effect.provide(body, SimulatedRuntime.layer())

const withCheck = { command: ["true"], intervalSec: 2, timeoutSec: 1, retries: 3, startPeriodSec: 5 }

const until = <A, E>(fiber: Fiber.Fiber<A, E>, stepMs: number, max: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < max; i++) {
      if (fiber.pollUnsafe() !== undefined) break
      yield* TestClock.adjust(`${stepMs} millis`)
    }
    return yield* Fiber.join(fiber)
  })

describe("HealthGate.run (simulator, TestClock)", () => {
  it.effect("a passing check: healthy right after the start period", () =>
    sim(Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.create(Fixtures.service("gate-ok", { healthCheck: withCheck }))
      yield* rt.start("gate-ok")
      const p = HealthGate.policy({ type: "cmd", command: ["true"], interval: 2, timeout: 1, retries: 3, startPeriod: 5 })
      const fiber = yield* Effect.forkChild(HealthGate.run({ name: "gate-ok", policy: p }))
      const verdict = yield* until(fiber, 500, 100)
      assert.deepStrictEqual(verdict, HealthGate.Verdict.Healthy({ after: 5_000 }))
    })))

  it.effect("a check that never passes: failed after 3 checks, each reported", () =>
    sim(Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.create(Fixtures.service("gate-bad", { healthCheck: withCheck, env: { SIM_HEALTH: "unhealthy" } }))
      yield* rt.start("gate-bad")
      const p = HealthGate.policy({ type: "http", port: 8080, path: "/status", interval: 2, timeout: 1, retries: 3, startPeriod: 5 })
      const seen: Array<number> = []
      const fiber = yield* Effect.forkChild(HealthGate.run({
        name: "gate-bad",
        policy: p,
        onFailure: (_f, n) => Effect.sync(() => void seen.push(n))
      }))
      const verdict = yield* until(fiber, 500, 100)
      assert.strictEqual(HealthGate.reason(verdict), "health check failed 3 times: http :8080/status")
      assert.deepStrictEqual(seen, [1, 2])
    })))

  it.effect("an app without a check that crashes and is restarted by its policy: crash-looping", () =>
    sim(Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      const engine = yield* SimulatedEngine
      yield* rt.create(Fixtures.service("gate-loop", { restart: "always" }))
      yield* rt.start("gate-loop")
      const fiber = yield* Effect.forkChild(HealthGate.run({ name: "gate-loop", policy: HealthGate.policy(undefined, { settleMs: 10_000 }) }))
      yield* TestClock.adjust("3 seconds")
      yield* engine.exit("gate-loop", 2)
      yield* TestClock.adjust("1 second")
      const verdict = yield* until(fiber, 500, 100)
      assert.strictEqual(HealthGate.reason(verdict), "crash-looping: restarted 1 time")
    })))

  it.effect("an app without a check that stays up: healthy after the settle period", () =>
    sim(Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.create(Fixtures.service("gate-settle"))
      yield* rt.start("gate-settle")
      const fiber = yield* Effect.forkChild(HealthGate.run({ name: "gate-settle", policy: HealthGate.policy(undefined, { settleMs: 10_000 }) }))
      const verdict = yield* until(fiber, 500, 100)
      assert.deepStrictEqual(verdict, HealthGate.Verdict.Healthy({ after: 10_000 }))
    })))
})
