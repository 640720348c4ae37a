import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SimulatedRuntime } from "@archipelago/orchestrator/testing"
import * as ServerInfo from "../src/ServerInfo.js"

describe("ServerInfo", () => {
  it("the version is the package's", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
    expect(ServerInfo.version).toBe(pkg.version)
  })

  it.effect("fromRuntime asks the runtime for its version", () =>
    Effect.gen(function*() {
      const info = yield* ServerInfo.ServerInfo
      expect(info).toStrictEqual({ version: ServerInfo.version, engine: "simulated", engineVersion: "9.9.9-sim" })
    }).pipe(
      Effect.provide(ServerInfo.fromRuntime("simulated")),
      Effect.provide(SimulatedRuntime.layer({ engine: { version: "9.9.9-sim" } }))
    ))
})
