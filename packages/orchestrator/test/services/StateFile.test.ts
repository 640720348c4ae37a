import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { AppEntry, AppId, Intent } from "../../src/domain/index.js"
import * as StateStore from "../../src/services/StateStore.js"
import { arbAppId, arbIdleState } from "../arbitraries.js"
import { prop } from "../../../../test-support/prop.js"

const intent = { installed: true, wantRunning: false, userStopped: true, updatedAt: 7 }
const good = { intent, state: "stopped" as const }

describe("StateStore.decode", () => {
  it("reads today's format without problems", () => {
    const d = StateStore.decode(JSON.stringify({ version: 3, apps: { lnd: good } }))
    assert.deepStrictEqual(d, { persisted: { version: 3, apps: { lnd: good } }, problems: [], version: 3 })
  })

  it("reads a version 1 file (before pending updates) as version 3, unchanged", () => {
    const d = StateStore.decode(JSON.stringify({ version: 1, apps: { lnd: good } }))
    assert.deepStrictEqual(d, { persisted: { version: 3, apps: { lnd: good } }, problems: [], version: 1 })
  })

  it("reads a version 2 file's pending update as the app's journal record", () => {
    const update = {
      phase: "fetching",
      from: { version: "1.0.0", image: "localhost/app:1.0.0", digest: `sha256:${"a".repeat(64)}` },
      to: { version: "1.1.0", image: "localhost/app:1.1.0" },
      since: 5
    }
    const d = StateStore.decode(JSON.stringify({ version: 2, apps: { lnd: { ...good, update } } }))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(d.persisted?.apps.lnd?.journal, {
      op: "update",
      step: "fetching",
      from: update.from,
      to: update.to,
      since: 5
    })
  })

  it("keeps a journal record, and drops only a bad one, naming it", () => {
    const journal = {
      op: "update" as const,
      step: "gating" as const,
      from: { version: "1.0.0", image: "localhost/app:1.0.0", digest: `sha256:${"a".repeat(64)}` },
      to: { version: "1.1.0", image: "localhost/app:1.1.0", digest: `sha256:${"b".repeat(64)}` },
      since: 5
    }
    const state = {
      entries: { app: { ...AppEntry.make(AppId.make("app"), "updating"), journal } },
      intents: { app: intent }
    }
    const text = JSON.stringify(StateStore.toPersisted(state))
    assert.deepStrictEqual(StateStore.fromPersisted([AppId.make("app")], StateStore.decode(text).persisted), state)
    const bad = StateStore.decode(JSON.stringify({ version: 3, apps: { app: { ...good, journal: { ...journal, step: "dreaming" } } } }))
    assert.deepStrictEqual(bad.persisted?.apps, { app: good })
    assert.deepStrictEqual(bad.problems.map((p) => p.path), ["$.apps.app.journal.step"])
  })

  prop("round-trips every persisted state", [fc.uniqueArray(fc.tuple(arbAppId, arbIdleState), { selector: ([id]) => id })], ([pairs]) => {
    const ids = pairs.map(([id]) => id)
    const state = {
      entries: Object.fromEntries(pairs.map(([id, s]) => [id, AppEntry.make(id, s)])),
      intents: Object.fromEntries(pairs.map(([id]) => [id, intent]))
    }
    const persisted = StateStore.toPersisted(state)
    const d = StateStore.decode(JSON.stringify(persisted))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(StateStore.fromPersisted(ids, d.persisted), state)
  })

  it("yields nothing, with one located reason, for empty, truncated, null and non-object files", () => {
    for (const [text, message] of [
      ["", "the file is empty"],
      ["  \n", "the file is empty"],
      ["null", "expected an object, got null"],
      ["[]", "expected an object, got an array"],
      ["42", "expected an object, got a number"]
    ] as const) {
      assert.deepStrictEqual(StateStore.decode(text), { persisted: undefined, problems: [{ path: "$", message }] }, text)
    }
    const truncated = StateStore.decode("{\"version\":1,\"apps\":{\"lnd\":{\"int")
    assert.isUndefined(truncated.persisted)
    assert.match(truncated.problems[0]!.message, /^not JSON/)
    assert.deepStrictEqual(StateStore.decode("{\"version\":1,\"apps\":null}").problems, [
      { path: "$.apps", message: "expected an object, got null" }
    ])
  })

  it("drops or resets only the bad field of an app and names it", () => {
    const d = StateStore.decode(JSON.stringify({
      version: 1,
      apps: {
        a: { intent, state: "stopping", transition: { op: "stop", since: 1, deadline: "soon", previous: "running" } },
        b: { intent: { installed: "yes" }, state: "running" },
        c: { intent, state: 3, transition: { op: "stop", since: 1, deadline: 2, previous: "running" } },
        d: "garbage",
        "we ird": good
      }
    }))
    assert.deepStrictEqual(d.persisted?.apps, {
      a: { intent, state: "stopping" },
      b: { intent: Intent.none, state: "running" },
      c: { intent, state: "not-installed" },
      "we ird": good
    })
    assert.deepStrictEqual(d.problems.map((p) => p.path), [
      "$.apps.a.transition.deadline",
      "$.apps.b.intent.installed",
      "$.apps.b.intent.wantRunning",
      "$.apps.b.intent.userStopped",
      "$.apps.b.intent.updatedAt",
      "$.apps.c.state",
      "$.apps.d"
    ])
  })

  it("reads a newer version as far as it understands it, and says so", () => {
    const d = StateStore.decode(JSON.stringify({ version: 9, apps: { lnd: { ...good, extra: { x: 1 } } } }))
    assert.deepStrictEqual(d.persisted?.apps, { lnd: good })
    assert.deepStrictEqual(d.problems.map((p) => p.path), ["$.version"])
    assert.strictEqual(d.version, 9)
  })

  it("migrates an older version forward step by step", () => {
    // a hypothetical version 0 kept intents beside the apps
    const steps = {
      0: (doc: Readonly<Record<string, unknown>>) => {
        const apps = doc.apps as Record<string, { state: string }>
        const intents = doc.intents as Record<string, unknown>
        return {
          version: 1,
          apps: Object.fromEntries(Object.entries(apps).map(([id, a]) => [id, { state: a.state, intent: intents[id] }]))
        }
      }
    }
    const v0 = JSON.stringify({ version: 0, apps: { lnd: { state: "stopped" } }, intents: { lnd: intent } })
    // version 0 is below the first version: read as 1 unless a step says otherwise
    assert.deepStrictEqual(StateStore.decode(v0).problems[0]!.path, "$.version")
    assert.strictEqual(StateStore.currentVersion, 3)
    assert.deepStrictEqual(Object.keys(StateStore.migrations), ["1", "2"])
    const v1 = JSON.stringify({ version: 1, apps: { lnd: good } })
    assert.deepStrictEqual(StateStore.decode(v1, { ...steps, ...StateStore.migrations }).problems, [])
    assert.deepStrictEqual(StateStore.decode(v1, steps).problems, [{ path: "$.version", message: "no migration from version 1" }])
    assert.isFunction(steps[0])
    assert.deepStrictEqual(steps[0](JSON.parse(v0)), { version: 1, apps: { lnd: good } })
  })

  it("names only its own dead writers' temp files as stale", () => {
    const alive = new Set([10, 11])
    const names = ["state.json.tmp-10", "state.json.tmp-12", "state.json.tmp-13", "state.json.tmp-0", "state.json.tmp-x", "a.tmp-12", "state.json"]
    assert.deepStrictEqual(StateStore.staleTempFiles(names, 13, (p) => alive.has(p)), ["state.json.tmp-12"])
    assert.strictEqual(StateStore.tempFileName(5), "state.json.tmp-5")
    void AppId
  })
})
