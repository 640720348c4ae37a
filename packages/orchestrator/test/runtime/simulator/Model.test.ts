/** The simulator's pure model: reference normalisation, ids, restart policies, what list shows. */
import { assert, describe, it } from "@effect/vitest"
import { Duration } from "effect"
import * as fc from "fast-check"
import type { Container } from "../../../src/runtime/simulator/Model.js"
import * as Model from "../../../src/runtime/simulator/Model.js"
import { Fixtures } from "../../../src/testing/index.js"
import { prop } from "../../../../../test-support/prop.js"

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,8}$/)
const repo = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"))

const container = (overrides: Partial<Container> = {}): Container => ({
  id: Model.hexId("c", 64),
  name: "c",
  spec: Fixtures.service("c"),
  image: { ref: "localhost/i:1", id: Model.hexId("i", 64), labels: {}, env: {} },
  createdAt: 0,
  state: "exited",
  restartCount: 0,
  oomKilled: false,
  logs: [],
  generation: 0,
  ...overrides
})

describe("simulator/Model", () => {
  prop("normaliseRef adds :latest only to a reference with neither tag nor digest, and is idempotent", [repo, fc.option(segment, { nil: undefined })], ([name, tag]) => {
    const ref = tag === undefined ? name : `${name}:${tag}`
    const once = Model.normaliseRef(ref)
    assert.strictEqual(once, tag === undefined ? `${name}:latest` : ref)
    assert.strictEqual(Model.normaliseRef(once), once)
    assert.strictEqual(Model.normaliseRef(`${name}@sha256:${"a".repeat(64)}`), `${name}@sha256:${"a".repeat(64)}`)
  })

  it("a registry port is not a tag", () => {
    assert.strictEqual(Model.normaliseRef("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest")
  })

  prop("hexId is deterministic, of the asked length, hex only", [fc.string(), fc.integer({ min: 1, max: 80 })], ([input, length]) => {
    const id = Model.hexId(input, length)
    assert.strictEqual(id, Model.hexId(input, length))
    assert.match(id, new RegExp(`^[0-9a-f]{${length}}$`))
  })

  prop("on-failure restarts a failed exit until its retries are used; always never stops; no never starts", [
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 5 }),
    fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined })
  ], ([exitCode, restartCount, retries]) => {
    const spec = (restart: "no" | "always" | "on-failure") =>
      Fixtures.service("c", { restart, ...(retries === undefined ? {} : { restartRetries: retries }) })
    const onFailure = container({ spec: spec("on-failure"), exitCode, restartCount })
    assert.strictEqual(Model.shouldRestart(onFailure), exitCode !== 0 && (retries === undefined || restartCount < retries))
    assert.isTrue(Model.shouldRestart(container({ spec: spec("always"), exitCode, restartCount })))
    assert.isFalse(Model.shouldRestart(container({ spec: spec("no"), exitCode, restartCount })))
  })

  it("summary overlays the spec's labels on the image's; details gives an address only while up", () => {
    const c = container({
      spec: Fixtures.service("c", { labels: { a: "spec" } }),
      image: { ref: "localhost/i:1", id: Model.hexId("i", 64), labels: { a: "image", b: "image" }, env: {} },
      exitCode: 3
    })
    const s = Model.summary(c)
    assert.deepStrictEqual(s.labels, { a: "spec", b: "image" })
    assert.strictEqual(s.exitCode, 3)
    assert.isUndefined(Model.details(c, 0).ipAddress)
    assert.strictEqual(Model.details({ ...c, state: "running" }, 3).ipAddress, "10.88.0.5")
  })

  it("stopDelayFromEnv reads seconds and ignores what is not a duration", () => {
    assert.strictEqual(Duration.toMillis(Model.stopDelayFromEnv({ STOP_DELAY: "1.5" })!), 1500)
    assert.isUndefined(Model.stopDelayFromEnv({ STOP_DELAY: "-1" }))
    assert.isUndefined(Model.stopDelayFromEnv({ STOP_DELAY: "soon" }))
    assert.isUndefined(Model.stopDelayFromEnv({}))
  })
})
