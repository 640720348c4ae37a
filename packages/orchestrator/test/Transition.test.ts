import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { AppEntry, AppId, Transition } from "../src/domain/index.js"

describe("Transition", () => {
  it("begin then succeed lands in the final state", () => {
    const e = AppEntry.make(AppId.make("lnd"), "running")
    const begun = Either.getOrThrow(Transition.begin(e, "stop", 1000, 330))
    expect(begun.state).toBe("stopping")
    expect(Transition.succeed(begun, "stop").state).toBe("stopped")
  })
})
