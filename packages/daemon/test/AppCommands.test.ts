import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as AppCommands from "../src/AppCommands.js"
import { view } from "../../rpc-adapter/test/fixtures.js"

describe("AppCommands.outcome", () => {
  it("pending while the view is not newer than the answer; then failed exactly when the view records that op's failure", () => {
    fc.assert(fc.property(fc.nat(50), fc.nat(50), fc.option(fc.constantFrom<"stop" | "start" | "reconcile">("stop", "start", "reconcile")), (answered, seen, failedOp) => {
      const v = view("lnd", "stopped", {
        generation: seen,
        lastError: failedOp === null ? null : { op: failedOp, message: "boom", at: 1 }
      })
      const o = AppCommands.outcome(v, "stop", answered)
      if (seen <= answered) return o._tag === "Pending"
      return failedOp === "stop" ? o._tag === "Failed" && o.message === "boom" : o._tag === "Succeeded"
    }))
  })
})

describe("AppCommands.table", () => {
  it("labels a downgrade as one", () => {
    const text = AppCommands.table([view("lnd", "running", { runningVersion: "0.18.0", updateAvailable: { from: "0.18.0", to: "0.17.0", direction: "downgrade" } })])
    assert.include(text, "0.18.0 (downgrade: 0.17.0)")
  })

  it("golden: states, the update on offer, ports, the first line of an error, a broken manifest", () => {
    const text = AppCommands.table([
      view("bitcoin-core", "running", { health: "healthy", ports: [{ host: 8333, container: 8333, protocol: "tcp" }] }),
      view("lnd", "stopped", { runningVersion: "0.17.0", updateAvailable: { from: "0.17.0", to: "0.18.0", direction: "upgrade" }, lastError: { op: "start", message: "port 9735 is taken\nmore", at: 1 } }),
      view("bad", "not-installed", { catalogError: "apps/bad/manifest.yml:6:9 memory: expected a size" })
    ])
    assert.strictEqual(
      text,
      [
        "APP           STATE            HEALTH   VERSION                  PORTS       ERROR",
        "bitcoin-core  running          healthy  1.0.0                    8333->8333",
        "lnd           stopped          -        0.17.0 (update: 0.18.0)  -           port 9735 is taken",
        "bad           broken-manifest  -        -                        -           apps/bad/manifest.yml:6:9 memory: expected a size",
        ""
      ].join("\n")
    )
  })
})

describe("the login page", () => {
  it("points to `archipelago login-url` (under systemd nothing prints a link)", async () => {
    const { loginPage } = await import("../../rpc-adapter/src/Dashboard.js")
    const page = loginPage({ password: false, failed: false })
    assert.include(page, "<code>archipelago login-url</code>")
    assert.notInclude(page, "serve</code> printed")
  })
})
