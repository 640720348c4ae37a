import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { CommandFailed, EngineUnavailable } from "../../src/runtime/RuntimeError.js"
import { Fixtures, SimulatedRuntime } from "../../src/testing/index.js"

const { SimulatedEngine } = SimulatedRuntime

const sim = <A, E>(body: Effect.Effect<A, E, ContainerRuntime | SimulatedRuntime.SimulatedEngine>, options?: SimulatedRuntime.Options) =>
  Effect.provide(body, SimulatedRuntime.layer(options))

const stateOf = (name: string) =>
  Effect.flatMap(ContainerRuntime, (rt) => Effect.map(rt.inspect([name]), ([d]) => d))

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.sync(() => fiber.pollUnsafe() !== undefined)

const settle = Effect.repeat(Effect.yieldNow, { times: 20 })

describe("SimulatedRuntime: stops take their time on the Clock", () => {
  it.effect("a graceful stop takes STOP_DELAY and exits 0", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        yield* rt.create(Fixtures.service("btc", { stopDelaySec: 5 }))
        yield* rt.start("btc")
        const stop = yield* Effect.forkChild(rt.stop("btc", 600))
        yield* TestClock.adjust("4999 millis")
        yield* settle
        assert.isFalse(yield* isDone(stop))
        assert.strictEqual((yield* stateOf("btc"))!.state, "stopping")
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(stop)
        const d = (yield* stateOf("btc"))!
        assert.strictEqual(d.state, "exited")
        assert.strictEqual(d.exitCode, 0)
      })
    )
  )

  it.effect("past the timeout the container is SIGKILLed at exactly the timeout: exit 137", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        yield* rt.create(Fixtures.service("lnd", { stopDelaySec: 900 }))
        yield* rt.start("lnd")
        const stop = yield* Effect.forkChild(rt.stop("lnd", 330))
        yield* TestClock.adjust("329 seconds")
        yield* settle
        assert.isFalse(yield* isDone(stop))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(stop)
        assert.strictEqual((yield* stateOf("lnd"))!.exitCode, 137)
      })
    )
  )

  it.effect("setStopDelay overrides the env and may precede the create; the default applies otherwise", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* engine.setStopDelay("a", "20 seconds")
        yield* rt.create(Fixtures.service("a", { stopDelaySec: 1 }))
        yield* rt.create(Fixtures.service("b"))
        yield* rt.start("a")
        yield* rt.start("b")
        const stopA = yield* Effect.forkChild(rt.stop("a", 60))
        const stopB = yield* Effect.forkChild(rt.stop("b", 60))
        yield* TestClock.adjust("3 seconds")
        yield* settle
        assert.isFalse(yield* isDone(stopA))
        assert.isTrue(yield* isDone(stopB))
        yield* TestClock.adjust("17 seconds")
        yield* Fiber.join(stopA)
      }),
      { defaultStopDelay: "3 seconds" }
    )
  )

  it.effect("a second stop while stopping waits for the same exit", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        yield* rt.create(Fixtures.service("x", { stopDelaySec: 10 }))
        yield* rt.start("x")
        const first = yield* Effect.forkChild(rt.stop("x", 60))
        yield* TestClock.adjust("5 seconds")
        const second = yield* Effect.forkChild(rt.stop("x", 60))
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        assert.strictEqual((yield* stateOf("x"))!.exitCode, 0)
      })
    )
  )
})

describe("SimulatedRuntime: faults and restart policies", () => {
  it.effect("kill -9 with restart=always: exited 137, then running again after the restart delay", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* rt.create(Fixtures.service("ui", { restart: "always" }))
        yield* rt.start("ui")
        yield* engine.kill("ui")
        const killed = (yield* stateOf("ui"))!
        assert.strictEqual(killed.state, "exited")
        assert.strictEqual(killed.exitCode, 137)
        yield* TestClock.adjust("250 millis")
        const back = (yield* stateOf("ui"))!
        assert.strictEqual(back.state, "running")
        assert.strictEqual(back.restartCount, 1)
      }),
      { restartDelay: "250 millis" }
    )
  )

  it.effect("on-failure restarts failures up to its retries, not a clean exit", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* rt.create(Fixtures.service("crash", { restart: "on-failure", restartRetries: 2 }))
        yield* rt.start("crash")
        for (let i = 0; i < 3; i++) {
          yield* engine.exit("crash", 1)
          yield* TestClock.adjust("1 second")
        }
        const d = (yield* stateOf("crash"))!
        assert.strictEqual(d.state, "exited")
        assert.strictEqual(d.exitCode, 1)
        assert.strictEqual(d.restartCount, 2)

        yield* rt.create(Fixtures.service("clean", { restart: "on-failure" }))
        yield* rt.start("clean")
        yield* engine.exit("clean", 0)
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* stateOf("clean"))!.state, "exited")
      })
    )
  )

  it.effect("a user stop never restarts, whatever the policy", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        yield* rt.create(Fixtures.service("s", { restart: "always", stopDelaySec: 1 }))
        yield* rt.start("s")
        const stop = yield* Effect.forkChild(rt.stop("s", 10))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(stop)
        yield* TestClock.adjust("1 minute")
        const d = (yield* stateOf("s"))!
        assert.strictEqual(d.state, "exited")
        assert.strictEqual(d.restartCount, 0)
      })
    )
  )

  it.effect("OOM looks like kill -9 (oomKilled false) unless reportOomKilled", () =>
    Effect.gen(function* () {
      for (const reportOomKilled of [false, true]) {
        yield* sim(
          Effect.gen(function* () {
            const rt = yield* ContainerRuntime
            const engine = yield* SimulatedEngine
            yield* rt.create(Fixtures.service("electrumx"))
            yield* rt.start("electrumx")
            yield* engine.oom("electrumx")
            const d = (yield* stateOf("electrumx"))!
            assert.strictEqual(d.exitCode, 137)
            assert.strictEqual(d.oomKilled, reportOomKilled)
          }),
          { reportOomKilled }
        )
      }
    })
  )

  it.effect("a container removed behind our back is gone, with died and remove events", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        const events = yield* rt.events().pipe(Stream.take(4), Stream.runCollect, Effect.forkChild)
        yield* settle
        yield* rt.create(Fixtures.service("gone"))
        yield* rt.start("gone")
        yield* engine.removeContainer("gone")
        assert.deepStrictEqual(yield* rt.list(), [])
        const kinds = (yield* Fiber.join(events)).map((e) => [e.kind, e.exitCode])
        assert.deepStrictEqual(kinds, [
          ["create", undefined],
          ["start", undefined],
          ["died", 137],
          ["remove", undefined]
        ])
      })
    )
  )

  it.effect("removeImage: refused while in use, force also removes its containers", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* engine.addImage("localhost/app:1", { "org.example": "x" })
        yield* rt.create(Fixtures.service("app", { image: "localhost/app:1" }))
        const refused = yield* Effect.exit(engine.removeImage("localhost/app:1"))
        assert.isTrue(Exit.isFailure(refused) && Cause.hasDies(refused.cause))
        yield* engine.removeImage("localhost/app:1", { force: true })
        assert.isFalse(yield* rt.imageExists("localhost/app:1"))
        assert.deepStrictEqual(yield* rt.list(), [])
      })
    )
  )

  it.effect("engine down: every call fails EngineUnavailable, containers keep running; up again restores", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* rt.create(Fixtures.service("n"))
        yield* rt.start("n")
        yield* engine.engineDown("podman: database is locked")
        for (const e of [
          yield* Effect.flip(rt.list()),
          yield* Effect.flip(rt.inspect(["n"])),
          yield* Effect.flip(rt.start("n")),
          yield* Effect.flip(rt.stop("n", 1)),
          yield* Effect.flip(rt.imageExists("x")),
          yield* Effect.flip(rt.info)
        ]) {
          assert.strictEqual(e._tag, "EngineUnavailable")
        }
        yield* engine.engineUp
        assert.strictEqual((yield* stateOf("n"))!.state, "running")
      })
    )
  )

  it.effect("failNext fails exactly the next calls of one method, in order", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        const boom = new CommandFailed({ argv: ["podman", "ps"], exitCode: 125, stderr: "boom" })
        yield* engine.failNext("list", boom)
        yield* engine.failNext("list", new EngineUnavailable({ reason: "r", hint: "h" }))
        assert.strictEqual(yield* Effect.flip(rt.list()), boom)
        assert.strictEqual((yield* Effect.flip(rt.list()))._tag, "EngineUnavailable")
        assert.deepStrictEqual(yield* rt.list(), [])
        assert.isFalse(yield* rt.imageExists("nope"))
      })
    )
  )

  it.effect("counts calls per method, failed ones included; resetCalls zeroes them", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* rt.list()
        yield* rt.list()
        yield* rt.create(Fixtures.service("c"))
        yield* Effect.flip(rt.start("ghost"))
        const calls = yield* engine.calls
        assert.strictEqual(calls.list, 2)
        assert.strictEqual(calls.create, 1)
        assert.strictEqual(calls.start, 1)
        assert.strictEqual(calls.remove, 0)
        yield* engine.resetCalls
        assert.deepStrictEqual(Object.values(yield* engine.calls), SimulatedRuntime.methods.map(() => 0))
      })
    )
  )

  it.effect("setLatency makes a method slow on the Clock", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const engine = yield* SimulatedEngine
        yield* engine.setLatency("list", "2 seconds")
        const list = yield* Effect.forkChild(rt.list())
        yield* TestClock.adjust("1999 millis")
        yield* settle
        assert.isFalse(yield* isDone(list))
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(yield* Fiber.join(list), [])
      })
    )
  )

  it.effect("pull fetches from the first candidate the registry has", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const lines: Array<string> = []
        const pulled = yield* rt.pull(
          {
            ref: "docker.io/lightninglabs/lnd:v0.18",
            candidates: [
              { ref: "mirror.local/lightninglabs/lnd:v0.18", insecure: false },
              { ref: "docker.io/lightninglabs/lnd:v0.18", insecure: false }
            ]
          },
          (l) => Effect.sync(() => void lines.push(l))
        )
        assert.deepStrictEqual(pulled, { ref: "docker.io/lightninglabs/lnd:v0.18", insecure: false })
        assert.isTrue(yield* rt.imageExists("docker.io/lightninglabs/lnd:v0.18"))
        assert.deepStrictEqual(lines, [
          "pulling mirror.local/lightninglabs/lnd:v0.18",
          "failed mirror.local/lightninglabs/lnd:v0.18: simulated registry has no such image",
          "pulling docker.io/lightninglabs/lnd:v0.18",
          "pulled docker.io/lightninglabs/lnd:v0.18"
        ])
      }),
      { registry: ["docker.io/lightninglabs/lnd:v0.18"] }
    )
  )

  it.effect("control operations on unknown containers die loudly", () =>
    sim(
      Effect.gen(function* () {
        const engine = yield* SimulatedEngine
        for (const op of [engine.kill("ghost"), engine.oom("ghost"), engine.removeContainer("ghost"), engine.removeImage("ghost:1")]) {
          const exit = yield* Effect.exit(op)
          assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
        }
      })
    )
  )

  it.effect("deterministic: the same scenario yields the same ids", () =>
    Effect.gen(function* () {
      const scenario = Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        yield* rt.create(Fixtures.service("a"))
        yield* rt.create(Fixtures.service("b"))
        return (yield* rt.list()).map((c) => c.id)
      })
      assert.deepStrictEqual(yield* sim(scenario), yield* sim(scenario))
    })
  )
})

describe("SimulatedRuntime: builds read the Containerfile's ENV and LABEL", () => {
  it("buildTime: the sum of the RUN sleep steps, nothing for other steps", () => {
    const ms = (text: string) => Duration.toMillis(SimulatedRuntime.buildTime(text))
    assert.strictEqual(ms("FROM base\nRUN sleep 2\nENV A=1\nrun sleep 0.5\nRUN sleep 3 && echo no\n"), 2500)
    assert.strictEqual(ms("FROM base\nRUN \\\n  sleep 1\n"), 1000)
    assert.strictEqual(ms("FROM base\nCOPY . /app\n"), 0)
  })

  it("parseContainerfile: pairs, quotes, the legacy form, continuations", () => {
    const parsed = SimulatedRuntime.parseContainerfile(
      [
        "FROM localhost/archipelago/base:latest",
        "ENV APP_NAME=demo-node PORT=8080 STOP_DELAY=8",
        'LABEL org.example.title="Demo node" \\',
        "  org.example.v=1",
        "env LEGACY some value",
        "COPY serve.sh /app/serve.sh"
      ].join("\n")
    )
    assert.deepStrictEqual(parsed.env, { APP_NAME: "demo-node", PORT: "8080", STOP_DELAY: "8", LEGACY: "some value" })
    assert.deepStrictEqual(parsed.labels, { "org.example.title": "Demo node", "org.example.v": "1" })
  })

  it.effect("an image's STOP_DELAY is the container's stop delay unless the spec sets one", () =>
    sim(
      Effect.gen(function* () {
        const rt = yield* ContainerRuntime
        const dir = mkdtempSync(join(tmpdir(), "archy-sim-build-"))
        writeFileSync(join(dir, "Containerfile"), "FROM localhost/archipelago/base:latest\nENV STOP_DELAY=8\n")
        yield* rt.build({ tag: "localhost/demo-node:1", context: dir, args: {}, labels: {} })
        rmSync(dir, { recursive: true, force: true })
        yield* rt.create(Fixtures.service("from-image", { image: "localhost/demo-node:1" }))
        yield* rt.create(Fixtures.service("from-spec", { image: "localhost/demo-node:1", stopDelaySec: 2 }))
        yield* rt.start("from-image")
        yield* rt.start("from-spec")
        const a = yield* Effect.forkChild(rt.stop("from-image", 60))
        const b = yield* Effect.forkChild(rt.stop("from-spec", 60))
        yield* TestClock.adjust("2 seconds")
        yield* settle
        assert.isFalse(yield* isDone(a))
        assert.isTrue(yield* isDone(b))
        yield* TestClock.adjust("6 seconds")
        yield* Fiber.join(a)
      })
    )
  )
})
