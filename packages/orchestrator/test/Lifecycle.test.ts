import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { AppEntry, AppId, Lifecycle } from "../src/domain/index.js"

describe("Lifecycle", () => {
  it("begin then succeed lands in the final state", () => {
    const e = AppEntry.make(AppId.make("lnd"), "running")
    const begun = Either.getOrThrow(Lifecycle.begin(e, "stop", 1000, 330))
    expect(begun.state).toBe("stopping")
    expect(Lifecycle.succeed(begun, "stop").state).toBe("stopped")
  })
})
