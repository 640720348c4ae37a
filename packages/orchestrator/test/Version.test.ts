import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as AppEntry from "../src/domain/AppEntry.js"
import * as AppId from "../src/domain/AppId.js"
import * as AppView from "../src/domain/AppView.js"
import * as Version from "../src/domain/Version.js"

const semver = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.constantFrom("rc.1", "rc.2", "beta", "alpha.10"), { nil: undefined }))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === undefined ? "" : `-${pre}`}`)

describe("Version", () => {
  it("orders semver: antisymmetric, reflexive, transitive", () => {
    fc.assert(fc.property(semver, semver, semver, (a, b, c) => {
      assert.strictEqual(Version.compare(a, a), 0)
      assert.strictEqual(Version.compare(a, b), -(Version.compare(b, a) ?? 0) || 0)
      if (Version.compare(a, b) === -1 && Version.compare(b, c) === -1) assert.strictEqual(Version.compare(a, c), -1)
    }))
  })

  it("golden: numeric parts, pre-releases before their release, v prefix; no order for other versions", () => {
    assert.deepStrictEqual(
      [["0.9.0", "0.10.0"], ["1.0.0-rc.2", "1.0.0"], ["1.0.0-rc.2", "1.0.0-rc.10"], ["v28.1.0", "27.0.0"], ["28.1", "27.0"], ["latest", "1.0.0"]].map(([a, b]) => Version.compare(a!, b!)),
      [-1, -1, -1, 1, undefined, undefined]
    )
    assert.deepStrictEqual([Version.direction("0.18.0", "0.17.0"), Version.direction("0.17.0", "0.18.0"), Version.direction("28.1", "27.0")], ["downgrade", "upgrade", "change"])
  })

  it("an app view labels an older catalog version as a downgrade", () => {
    const entry = { ...AppEntry.make(AppId.make("lnd"), "running"), observed: { ...AppEntry.make(AppId.make("lnd")).observed, containerId: "c1", version: "0.18.0" } }
    const v = AppView.updateAvailable(entry, { name: "LND", version: "0.17.0", containerName: "lnd", dependsOn: [] })
    assert.deepStrictEqual(v, { from: "0.18.0", to: "0.17.0", direction: "downgrade" })
  })
})
