/**
 * Model-based check of the simulator: random sequences of port calls and host kills, compared
 * after every step with a small reference model of podman's observable behaviour.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { TestClock, TestConsole } from "effect/testing"
import * as fc from "fast-check"
import type { RestartPolicy } from "../../src/runtime/ContainerSpec.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import { Fixtures, SimulatedRuntime } from "../../src/testing/index.js"

const names = ["m-no", "m-always", "m-onfail"] as const
const policy: Readonly<Record<(typeof names)[number], RestartPolicy>> = { "m-no": "no", "m-always": "always", "m-onfail": "on-failure" }

type Command =
  | { readonly op: "create" | "start" | "stop" | "kill"; readonly name: (typeof names)[number] }
  | { readonly op: "remove"; readonly name: (typeof names)[number]; readonly force: boolean }

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constantFrom("create" as const, "start" as const, "stop" as const, "kill" as const), name: fc.constantFrom(...names) }),
  fc.record({ op: fc.constant("remove" as const), name: fc.constantFrom(...names), force: fc.boolean() })
)

interface ModelContainer {
  state: "created" | "running" | "exited"
  exitCode?: number
  restartCount: number
}

/** What podman does, as the contract suite measured it; returns the expected error tag, if any. */
const step = (model: Map<string, ModelContainer>, c: Command): string | undefined => {
  const m = model.get(c.name)
  switch (c.op) {
    case "create":
      if (m !== undefined) return "CommandFailed"
      model.set(c.name, { state: "created", restartCount: 0 })
      return undefined
    case "start":
      if (m === undefined) return "ContainerNotFound"
      if (m.state !== "running") {
        m.state = "running"
        delete m.exitCode
      }
      return undefined
    case "stop":
      if (m === undefined) return "ContainerNotFound"
      if (m.state === "running") {
        m.state = "exited"
        m.exitCode = 0
      }
      return undefined
    case "remove":
      if (m === undefined) return c.force ? undefined : "ContainerNotFound"
      if (m.state === "running" && !c.force) return "CommandFailed"
      model.delete(c.name)
      return undefined
    case "kill":
      if (m === undefined || m.state !== "running") return undefined
      if (policy[c.name] === "no") {
        m.state = "exited"
        m.exitCode = 137
      } else {
        m.restartCount++
      }
      return undefined
  }
}

const run = (commands: ReadonlyArray<Command>) =>
  Effect.gen(function* () {
    const rt = yield* ContainerRuntime
    const engine = yield* SimulatedRuntime.SimulatedEngine
    const model = new Map<string, ModelContainer>()
    for (const [i, c] of commands.entries()) {
      const expected = step(model, c)
      let result: Result.Result<void, { readonly _tag: string }>
      switch (c.op) {
        case "create":
          result = yield* Effect.result(Effect.asVoid(rt.create(Fixtures.service(c.name, { restart: policy[c.name] }))))
          break
        case "start":
          result = yield* Effect.result(rt.start(c.name))
          break
        case "stop":
          result = yield* Effect.result(rt.stop(c.name, 10))
          break
        case "remove":
          result = yield* Effect.result(rt.remove(c.name, { force: c.force }))
          break
        case "kill": {
          const [d] = yield* rt.inspect([c.name])
          if (d?.state === "running") yield* engine.kill(c.name)
          result = Result.succeed(undefined)
        }
      }
      yield* TestClock.adjust("1 second")
      const where = `step ${i} ${JSON.stringify(c)}`
      assert.strictEqual(Result.isFailure(result) ? result.failure._tag : undefined, expected, where)
      const observed = yield* rt.inspect(names)
      assert.deepStrictEqual(
        observed.map((d) => ({ name: d.name, state: d.state, exitCode: d.exitCode, restartCount: d.restartCount })).sort((a, b) => a.name.localeCompare(b.name)),
        [...model.entries()]
          .map(([name, m]) => ({ name, state: m.state, exitCode: m.exitCode, restartCount: m.restartCount }))
          .sort((a, b) => a.name.localeCompare(b.name)),
        where
      )
      const list = yield* rt.list()
      assert.strictEqual(new Set(list.map((s) => s.name)).size, list.length, `${where}: names are unique`)
      for (const s of list) assert.strictEqual(s.pid !== undefined, s.state === "running", `${where}: pid iff running (${s.name})`)
    }
  }).pipe(Effect.provide(SimulatedRuntime.layer()), Effect.provide(Layer.mergeAll(TestConsole.layer, TestClock.layer())))

describe("SimulatedRuntime against a reference model", () => {
  it("a kill -9 of a restart=no container leaves it exited 137", async () => {
    await Effect.runPromise(run([{ op: "create", name: "m-no" }, { op: "start", name: "m-no" }, { op: "kill", name: "m-no" }]))
  })
  it("random call and kill sequences keep the simulator and the model in step", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 60 }), (commands) => Effect.runPromise(run(commands))),
      { numRuns: 60 }
    )
  })
})
