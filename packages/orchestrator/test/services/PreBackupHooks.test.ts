import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { AppId } from "../../src/domain/index.js"
import * as PreBackupHooks from "../../src/services/PreBackupHooks.js"
import { serviceManifest } from "./harness.js"

const ctx: PreBackupHooks.HookContext = {
  appId: AppId.make("lnd"),
  manifest: serviceManifest("lnd"),
  appDataDir: "/var/lib/archipelago/lnd",
  containerName: "lnd"
}

describe("PreBackupHooks.freeze", () => {
  it.effect("pauses the app's container in prepare and resumes it in release; a registry finds it by name", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const hook = PreBackupHooks.freeze({
        pause: (name) => Effect.sync(() => void calls.push(`pause ${name}`)),
        resume: (name) => Effect.sync(() => void calls.push(`resume ${name}`))
      })
      assert.strictEqual(hook.name, PreBackupHooks.freezeName)
      yield* hook.prepare(ctx)
      yield* hook.release!(ctx)
      assert.deepStrictEqual(calls, ["pause lnd", "resume lnd"])
      const registry = yield* Effect.provide(PreBackupHooks.PreBackupHooks, PreBackupHooks.layer([hook]))
      assert.strictEqual(registry.get("freeze"), hook)
      assert.strictEqual(registry.get("thaw"), undefined)
    }))

  it.effect("a failed pause is a PreBackupFailed naming the hook, the app and the container", () =>
    Effect.gen(function*() {
      const hook = PreBackupHooks.freeze({ pause: () => Effect.fail("no such container"), resume: () => Effect.void })
      const error = yield* Effect.flip(hook.prepare(ctx))
      assert.strictEqual(error.message, "pre-backup hook freeze failed for lnd: cannot pause container lnd: no such container")
    }))
})
