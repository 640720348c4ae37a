import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { AppId, Intent } from "../../src/domain/index.js"
import type { AppState } from "../../src/domain/AppState.js"
import { all as allStates } from "../../src/domain/AppState.js"
import * as Plan from "../../src/reconcile/Plan.js"
import { prop } from "../../../../test-support/prop.js"

const id = AppId.make("lnd")
const desired: Plan.Desired = { id, specHash: "h1", dependsOn: [], restartPolicy: "always" }
const running: Plan.ContainerFacts = { id: "c1", name: "lnd", state: "running", managed: true, specHash: "h1" }
const wantRunning: Intent.Intent = { installed: true, wantRunning: true, userStopped: false, updatedAt: 1 }
const userStopped: Intent.Intent = { installed: true, wantRunning: false, userStopped: true, updatedAt: 1 }
const base: Plan.Observed = { container: running, inTransition: false, adopted: true, waitingFor: [] }

const arbState = fc.constantFrom<AppState>(...allStates)
const arbContainer: fc.Arbitrary<Plan.ContainerFacts | undefined> = fc.option(
  fc.record({
    id: fc.constant("c1"),
    name: fc.constant("lnd"),
    state: arbState,
    managed: fc.boolean(),
    specHash: fc.constantFrom("h1", "h2"),
    exitedAt: fc.integer({ min: 0, max: 10_000 }),
    instance: fc.option(fc.constantFrom("i1", "i2"), { nil: undefined })
  }).map(({ instance, ...c }) => (instance === undefined ? c : { ...c, instance })),
  { nil: undefined }
)
const arbObserved: fc.Arbitrary<Plan.Observed> = fc.record({
  container: arbContainer,
  inTransition: fc.boolean(),
  adopted: fc.boolean(),
  waitingFor: fc.constantFrom([], [AppId.make("bitcoin-core")]),
  crashLoop: fc.option(
    fc.record({ restarts: fc.integer({ min: 1, max: 10 }), nextAttemptAt: fc.integer({ min: 0, max: 20_000 }) }),
    { nil: undefined }
  )
}).map((o) => {
  const { container, crashLoop, ...rest } = o
  return {
    ...rest,
    ...(container === undefined ? {} : { container }),
    ...(crashLoop === undefined ? {} : { crashLoop })
  }
})
const arbIntent: fc.Arbitrary<Intent.Intent> = fc.record({
  installed: fc.boolean(),
  wantRunning: fc.boolean(),
  userStopped: fc.boolean(),
  updatedAt: fc.constantFrom(0, 5)
})
const arbDesired: fc.Arbitrary<Plan.Desired> = fc.record({
  id: fc.constant(id),
  specHash: fc.constantFrom("h1", "h2"),
  dependsOn: fc.constant([]),
  restartPolicy: fc.constantFrom<Plan.RestartPolicy>("no", "always", "on-failure", "unless-stopped"),
  instance: fc.option(fc.constantFrom("i1", "i2"), { nil: undefined })
}).map(({ instance, ...d }) => (instance === undefined ? d : { ...d, instance }))
const arbNow = fc.integer({ min: 0, max: 30_000 })

describe("Plan.plan", () => {
  it("a converged app is a NoOp", () => {
    assert.deepStrictEqual(Plan.plan(desired, base, wantRunning, 10), Plan.Action.NoOp({ reason: "running as asked" }))
  })

  it("adopts an existing container at boot, running or not, whatever its hash", () => {
    const exited = { ...running, state: "exited" as const, specHash: "old" }
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, adopted: false, container: exited }, wantRunning, 10),
      Plan.Action.Adopt({ running: false })
    )
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, adopted: false }, Intent.none, 10),
      Plan.Action.Adopt({ running: true })
    )
  })

  it("never touches an app held by an operation", () => {
    assert.strictEqual(Plan.plan(desired, { inTransition: true, adopted: true, waitingFor: [] }, wantRunning, 0)._tag, "NoOp")
  })

  it("installs an installed app whose container is gone, starting it only when wanted", () => {
    const { container: _c, ...gone } = base
    assert.deepStrictEqual(Plan.plan(desired, gone, wantRunning, 0), Plan.Action.Install({ start: true }))
    assert.deepStrictEqual(Plan.plan(desired, gone, userStopped, 0), Plan.Action.Install({ start: false }))
    assert.deepStrictEqual(
      Plan.plan(desired, { ...gone, waitingFor: [AppId.make("bitcoin-core")] }, wantRunning, 0),
      Plan.Action.Install({ start: false })
    )
  })

  it("never moves a container to another release: a changed version or image waits for an update", () => {
    const next: Plan.Desired = { ...desired, version: "1.1.0", imageRef: "registry.local/lnd:1.1.0" }
    const onOld = { ...running, specHash: "h0", version: "1.0.0", imageRef: "registry.local/lnd:1.0.0" }
    assert.deepStrictEqual(Plan.plan(next, { ...base, container: onOld }, wantRunning, 0), Plan.Action.NoOp({ reason: "running as asked" }))
    assert.isTrue(Plan.otherRelease(next, onOld))
    assert.isTrue(Plan.otherRelease(next, { ...onOld, version: "1.1.0" }), "same version, other image")
    // the same release with another spec (an env change) is recreated as before
    const sameRelease = { ...onOld, version: "1.1.0", imageRef: "registry.local/lnd:1.1.0" }
    assert.strictEqual(Plan.plan(next, { ...base, container: sameRelease }, wantRunning, 0)._tag, "Recreate")
    // containers without the labels (older ones) are never on another release
    assert.isFalse(Plan.otherRelease(next, running))
    fc.assert(fc.property(arbObserved, arbIntent, (o, intent) => {
      if (o.container === undefined) return
      const c = { ...o.container, version: "1.0.0" }
      assert.notStrictEqual(Plan.plan(next, { ...o, container: c }, intent, 0)._tag, "Recreate")
    }))
  })

  it("recreates a managed container only when its spec hash differs", () => {
    const stale = { ...running, specHash: "h0" }
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: stale }, wantRunning, 0),
      Plan.Action.Recreate({ reason: "spec changed (h0 → h1)", start: true })
    )
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: { ...stale, managed: false } }, wantRunning, 0),
      Plan.Action.NoOp({ reason: "running as asked" })
    )
  })

  it("stops a running app the user stopped", () => {
    assert.deepStrictEqual(Plan.plan(desired, base, userStopped, 0), Plan.Action.Stop({ reason: "the user stopped it" }))
  })

  it("leaves a freshly killed container to the engine's restart policy first", () => {
    const dead = { ...running, state: "exited" as const, exitedAt: 1_000 }
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: dead }, wantRunning, 1_500),
      Plan.Action.NoOp({ reason: "the engine's restart policy gets the first try", recheckAt: 3_000 })
    )
    assert.deepStrictEqual(Plan.plan(desired, { ...base, container: dead }, wantRunning, 3_000), Plan.Action.Start())
    assert.strictEqual(
      Plan.plan(desired, { ...base, container: { ...dead, state: "stopped" } }, wantRunning, 1_500)._tag,
      "NoOp",
      "podman lists a container it is restarting as stopped"
    )
    assert.deepStrictEqual(
      Plan.plan({ ...desired, restartPolicy: "no" }, { ...base, container: dead }, wantRunning, 1_500),
      Plan.Action.Start()
    )
  })

  it("waits for dependencies and backs off in a crash loop", () => {
    const dead = { ...running, state: "exited" as const }
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: dead, waitingFor: [AppId.make("bitcoin-core")] }, wantRunning, 0),
      Plan.Action.NoOp({ reason: "waiting for bitcoin-core" })
    )
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: dead, crashLoop: { restarts: 3, nextAttemptAt: 5_000 } }, wantRunning, 4_000),
      Plan.Action.NoOp({ reason: "crash-loop back-off", recheckAt: 5_000 })
    )
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: dead, crashLoop: { restarts: 3, nextAttemptAt: 5_000 } }, wantRunning, 5_000),
      Plan.Action.Start()
    )
  })

  it("looks again soon at a container the engine is stopping or removing", () => {
    assert.deepStrictEqual(
      Plan.plan(desired, { ...base, container: { ...running, state: "removing" } }, wantRunning, 100),
      Plan.Action.NoOp({ reason: "the engine is removing the container", recheckAt: 100 + Plan.engineBusyRecheckMs })
    )
  })

  it("removes the managed container of a removed app, never a foreign one", () => {
    const removed: Intent.Intent = { installed: false, wantRunning: false, userStopped: false, updatedAt: 3 }
    assert.deepStrictEqual(Plan.plan(desired, base, removed, 0), Plan.Action.Remove())
    assert.strictEqual(Plan.plan(desired, { ...base, container: { ...running, managed: false } }, removed, 0)._tag, "NoOp")
  })

  prop("never starts what the user stopped", [arbDesired, arbObserved, arbIntent, arbNow], ([d, o, i, now]) => {
      const a = Plan.plan(d, o, i, now)
      if (i.userStopped || !i.wantRunning) {
        assert.notStrictEqual(a._tag, "Start")
        if (a._tag === "Install" || a._tag === "Recreate") assert.isFalse(a.start)
      }
    }
  )

  prop("recreates only a managed container whose hash differs; acts on nothing in transition", [arbDesired, arbObserved, arbIntent, arbNow], ([d, o, i, now]) => {
      const a = Plan.plan(d, o, i, now)
      if (a._tag === "Recreate") {
        assert.isTrue(o.container !== undefined && o.container.managed && o.container.specHash !== d.specHash)
      }
      if (o.inTransition) assert.strictEqual(a._tag, "NoOp")
      if (a._tag === "Adopt") assert.isDefined(o.container)
      if (a._tag === "Start") {
        assert.isTrue(o.waitingFor.length === 0 && (o.crashLoop === undefined || now >= o.crashLoop.nextAttemptAt))
      }
    }
  )

  prop("is deterministic", [arbDesired, arbObserved, arbIntent, arbNow], ([d, o, i, now]) => {
    assert.deepStrictEqual(Plan.plan(d, o, i, now), Plan.plan(d, o, i, now))
  })

  prop("an app whose container matches its intent needs nothing (plan(s, s) is empty)", [arbDesired, arbIntent, arbNow], ([d, i, now]) => {
      const wants = i.installed && i.wantRunning && !i.userStopped
      const c: Plan.ContainerFacts = { ...running, specHash: d.specHash, state: wants ? "running" : "stopped" }
      if (i.installed) assert.strictEqual(Plan.plan(d, { ...base, container: c }, i, now)._tag, "NoOp")
    }
  )
})

describe("Plan ownership", () => {
  const ours: Plan.Desired = { ...desired, instance: "i1" }
  const foreign: Plan.ContainerFacts = { ...running, instance: "i2" }

  it("classifies a container by its instance label", () => {
    assert.deepStrictEqual(Plan.ownership("i1", "i1"), { _tag: "Own" })
    assert.deepStrictEqual(Plan.ownership(undefined, "i1"), { _tag: "Unclaimed" })
    assert.deepStrictEqual(Plan.ownership("", "i1"), { _tag: "Unclaimed" })
    assert.deepStrictEqual(Plan.ownership("i2", "i1"), { _tag: "Foreign", instance: "i2" })
    assert.deepStrictEqual(Plan.ownership("i2", undefined), { _tag: "Foreign", instance: "i2" })
  })

  it("leaves another instance's container alone, even at boot, and says who owns it", () => {
    const a = Plan.plan(ours, { ...base, adopted: false, container: foreign }, Intent.none, 0)
    assert.deepStrictEqual(a, Plan.Action.Foreign({ instance: "i2", reason: Plan.foreignReason("lnd", "i2") }))
    assert.include(Plan.foreignReason("lnd", "i2"), "managed by another orchestrator (instance i2)")
    assert.include(Plan.foreignReason("lnd", "i2"), "archipelago takeover lnd")
    assert.isTrue(Plan.isForeignReason(Plan.foreignReason("lnd", "i2")))
  })

  it("adopts its own and unlabelled containers as before", () => {
    assert.strictEqual(Plan.plan(ours, { ...base, adopted: false, container: { ...running, instance: "i1" } }, Intent.none, 0)._tag, "Adopt")
    assert.strictEqual(Plan.plan(ours, { ...base, adopted: false }, Intent.none, 0)._tag, "Adopt")
  })

  prop("never acts on a container of another instance", [arbDesired, arbObserved, arbIntent, arbNow], ([d, o, i, now]) => {
    const a = Plan.plan(d, o, i, now)
    const c = o.container
    const foreignOwner = c?.instance !== undefined && c.instance !== d.instance
    if (foreignOwner && !o.inTransition) {
      assert.deepStrictEqual(a, Plan.Action.Foreign({ instance: c.instance!, reason: Plan.foreignReason(d.id, c.instance!) }))
    }
    if (foreignOwner) assert.include(["Foreign", "NoOp"], a._tag)
    if (a._tag === "Foreign") assert.isTrue(foreignOwner)
  })
})

describe("Plan back-off", () => {
  it("doubles from one second up to the cap", () => {
    assert.deepStrictEqual([1, 2, 3, 4].map(Plan.backoffDelayMs), [1_000, 2_000, 4_000, 8_000])
    assert.strictEqual(Plan.backoffDelayMs(40), Plan.backoffMaxMs)
  })

  it("counts restarts and starts over after a quiet period", () => {
    const first = Plan.nextCrashLoop(undefined, 0)
    assert.deepStrictEqual(first, { restarts: 1, nextAttemptAt: 1_000 })
    const second = Plan.nextCrashLoop(first, 1_000)
    assert.deepStrictEqual(second, { restarts: 2, nextAttemptAt: 3_000 })
    assert.deepStrictEqual(Plan.nextCrashLoop(second, 3_000 + Plan.crashLoopResetMs), {
      restarts: 1,
      nextAttemptAt: 3_000 + Plan.crashLoopResetMs + 1_000
    })
  })

  it("a (re)start that never got the container running is marked neverRan: a failure to start, not a crash", () => {
    const loop = { restarts: 5, nextAttemptAt: 16_000 }
    const seen = (state: AppState, startedAt?: number) => ({
      state,
      observed: { health: "none" as const, ports: [], ...(startedAt === undefined ? {} : { startedAt }) }
    })
    // podman refused the start (a host port in use): the container stays created, never started
    assert.deepStrictEqual(Plan.attemptSettled(loop, true, seen("installed")), { ...loop, neverRan: true })
    assert.deepStrictEqual(Plan.attemptSettled(loop, true, undefined), { ...loop, neverRan: true })
    // it ran before, and this start was refused
    assert.deepStrictEqual(Plan.attemptSettled(loop, true, seen("exited", 1_000)), { ...loop, neverRan: true })
    // the start "succeeded" and the container shows it never started
    assert.deepStrictEqual(Plan.attemptSettled(loop, false, seen("exited")), { ...loop, neverRan: true })
    // it runs, or it ran and died: a crash loop as before
    assert.deepStrictEqual(Plan.attemptSettled({ ...loop, neverRan: true }, false, seen("running", 2_000)), loop)
    assert.deepStrictEqual(Plan.attemptSettled(loop, false, seen("exited", 2_000)), loop)
    assert.isUndefined(Plan.attemptSettled(undefined, true, undefined))
    // the next attempt starts without the mark; the settle decides again
    assert.isUndefined(Plan.nextCrashLoop({ ...loop, neverRan: true }, 16_000).neverRan)
  })

  prop("is monotone and bounded", [fc.integer({ min: 1, max: 100 })], ([n]) => {
    assert.isTrue(Plan.backoffDelayMs(n) <= Plan.backoffDelayMs(n + 1))
    assert.isTrue(Plan.backoffDelayMs(n) <= Plan.backoffMaxMs)
  })
})

describe("Plan.order", () => {
  const app = (name: string, deps: ReadonlyArray<string>) => ({ id: AppId.make(name), dependsOn: deps.map(AppId.make) })

  it("puts dependencies first", () => {
    const ordered = Plan.order([app("lnd-ui", ["lnd"]), app("lnd", ["bitcoin-core"]), app("bitcoin-core", [])])
    assert.deepStrictEqual(ordered.map((a) => a.id), ["bitcoin-core", "lnd", "lnd-ui"])
  })

  prop("every app after its dependencies (acyclic inputs), nothing lost", [fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e"), { minLength: 1 }), fc.array(fc.tuple(fc.nat(4), fc.nat(4)))], ([names, edges]) => {
      // only edges from a later name to an earlier one, so the graph is acyclic
      const apps = names.map((n, i) =>
        app(n, edges.filter(([from, to]) => from === i && to < i && to < names.length).map(([, to]) => names[to]!))
      )
      const ordered = Plan.order([...apps].reverse())
      assert.strictEqual(ordered.length, apps.length)
      const pos = new Map(ordered.map((a, i) => [a.id, i]))
      for (const a of ordered) for (const d of a.dependsOn) assert.isTrue(pos.get(d)! < pos.get(a.id)!)
    }
  )
})

describe("Plan: containers without Archipelago's labels (issue 26)", () => {
  const stranger: Plan.ContainerFacts = { id: "s1", name: "lnd", state: "running", managed: false, labelled: false }

  it("leaves a hand-made container holding the app's name alone and says so, naming it and the way out", () => {
    const a = Plan.plan(desired, { ...base, adopted: false, container: stranger }, wantRunning, 0)
    assert.deepStrictEqual(a, Plan.Action.Stranger({ name: "lnd", reason: Plan.strangerReason("lnd", "lnd") }))
    assert.include(Plan.strangerReason("lnd", "X"), "a container named X exists and was not made by Archipelago")
    assert.include(Plan.strangerReason("lnd", "X"), "archipelago takeover lnd --container X")
    assert.isTrue(Plan.isForeignReason(Plan.strangerReason("lnd", "X")))
  })

  prop(
    "never adopts, starts, stops, removes, recreates or installs over it, whatever the intent and the time",
    [arbObserved, arbIntent, arbNow, arbState],
    ([o, intent, now, state]) => {
      const a = Plan.plan(desired, { ...o, container: { ...stranger, state } }, intent, now)
      assert.include(["Stranger", "NoOp"], a._tag)
      if (!o.inTransition) assert.strictEqual(a._tag, "Stranger")
    }
  )
})
