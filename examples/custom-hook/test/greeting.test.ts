import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { Builtins } from "@archipelago/hooks"
import { AppId, HookRegistry, Loader } from "@archipelago/orchestrator"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Result, Layer } from "effect"
import * as Hooks from "../hooks.js"

const manifestFile = NodePath.join(import.meta.dirname, "..", "apps", "hello", "manifest.yml")

let dataDir = ""
beforeAll(async () => {
  dataDir = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-example-custom-hook-"))
})
afterAll(async () => {
  await Fs.rm(dataDir, { recursive: true, force: true })
})

describe("examples/custom-hook", () => {
  it.effect("the greeting hook is registered beside the built-ins and renders the hello app's files", () =>
    Effect.gen(function*() {
      const registry = yield* HookRegistry.HookRegistry
      // every built-in, in the package's order, then the example's own hook last
      expect(registry.names).toEqual([...Builtins.builtins.map((h) => h.name), "greeting"])
      expect(registry.names).toContain("bitcoin-rpcauth")
      const text = yield* Effect.promise(() => Fs.readFile(manifestFile, "utf8"))
      const manifest = Result.getOrThrow(Loader.parseManifest(text, manifestFile, { hookNames: registry.names }))
      const request = { appId: AppId.make("hello"), manifest, hooks: manifest.hooks }
      const result = yield* registry.run(request)
      expect(result.changed).toBe(true)
      expect(result.files.map((f) => f.path)).toEqual([`${dataDir}/apps/hello/www/index.html`, `${dataDir}/apps/hello/api.env`])
      expect(yield* Effect.promise(() => Fs.readFile(`${dataDir}/apps/hello/www/index.html`, "utf8"))).toBe(
        "<!doctype html>\n<h1>Hello from Hello</h1>\n"
      )
      const token = (yield* Effect.promise(() => Fs.readFile(`${dataDir}/secrets/hello-api-token`, "utf8"))).trim()
      expect(yield* Effect.promise(() => Fs.readFile(`${dataDir}/apps/hello/api.env`, "utf8"))).toBe(`API_TOKEN=${token}\n`)
      expect((yield* Effect.promise(() => Fs.stat(`${dataDir}/apps/hello/api.env`))).mode & 0o777).toBe(0o600)
      expect((yield* Effect.promise(() => Fs.stat(`${dataDir}/apps/hello/www/index.html`))).mode & 0o777).toBe(0o644)
      expect((yield* registry.run(request)).changed).toBe(false)
    }).pipe(Effect.provide(Layer.suspend(() => Hooks.layer(dataDir)))))
})
