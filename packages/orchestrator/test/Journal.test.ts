import { assert, describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Journal, Op } from "../src/domain/index.js"
import { arbNow, arbObservation } from "./arbitraries.js"
import { prop } from "../../../test-support/prop.js"

const digestA = `sha256:${"a".repeat(64)}`
const arbRelease = fc.record({ version: fc.constantFrom("1.0.0", "1.1.0"), image: fc.constant("registry.test/web"), digest: fc.constantFrom(digestA, `sha256:${"b".repeat(64)}`) })
const arbSwap = fc.record({ live: fc.constant("/d/web"), fresh: fc.constant("/d/web.restore-1"), previous: fc.constant("/d/web.previous-1") })

const arbEntry: fc.Arbitrary<Journal.Entry> = fc.oneof(
  fc.record({
    op: fc.constant("update" as const),
    step: fc.constantFrom(...Journal.steps.update),
    since: arbNow,
    to: fc.record({ version: fc.constant("1.2.0"), image: fc.constant("registry.test/web:1.2.0") }),
    from: fc.option(arbRelease, { nil: undefined })
  }).map(({ from, ...e }) => (from === undefined ? e : { ...e, from })),
  fc.record({
    op: fc.constant("restore" as const),
    step: fc.constantFrom(...Journal.steps.restore),
    since: arbNow,
    archive: fc.constant("/t/web/web-1.tar"),
    wasRunning: fc.boolean(),
    swaps: fc.array(arbSwap, { maxLength: 2 })
  }),
  fc.record({ op: fc.constant("backup" as const), step: fc.constantFrom(...Journal.steps.backup), since: arbNow, stopped: fc.boolean() }),
  fc.record({ op: fc.constant("remove" as const), step: fc.constantFrom(...Journal.steps.remove), since: arbNow })
)
const arbSeen = fc.option(arbObservation, { nil: undefined })

describe("Journal", () => {
  it("opens a record for the data operations only (a remove only when it purges)", () => {
    const request = { version: "1.2.0", image: "registry.test/web:1.2.0" }
    const opened = Op.all.filter((op) => Journal.open(op, request, 5) !== undefined)
    assert.deepStrictEqual(opened, ["update", "remove", "backup", "restore"].filter((op) => op !== "remove"))
    assert.deepStrictEqual(Journal.open("remove", { ...request, purge: true }, 5), { op: "remove", step: "requested", since: 5 })
    assert.deepStrictEqual(Journal.open("update", request, 5), { op: "update", step: "requested", since: 5, to: request })
  })

  prop("recover is total: every record and observation gets a decision", [arbEntry, arbSeen], ([entry, seen]) => {
    const r = Journal.recover(entry, seen)
    expect(["Abandon", "RollBack", "ResumeGate", "Revert", "Commit", "Finish", "Redo"]).toContain(r._tag)
    if ("message" in r) expect(r.message.length).toBeGreaterThan(0)
  })

  prop("an update is never settled as a success by recovery: only a proved gate or a rollback ends it", [arbEntry, arbSeen], ([entry, seen]) => {
    if (entry.op !== "update") return
    const r = Journal.recover(entry, seen)
    assert.isFalse(Journal.recoversAsSuccess(r))
    if (entry.step === "requested") {
      assert.strictEqual(r._tag, "Abandon")
      expect((r as { message: string }).message).toMatch(/^update to 1\.2\.0 interrupted by a restart before it started; still on /)
    }
    if (r._tag === "ResumeGate") {
      assert.strictEqual(entry.step, "gating")
      assert.strictEqual(seen?.state, "running")
      assert.notStrictEqual(seen?.observed.digest, entry.from?.digest, "the gate resumes only on the new release")
    }
  })

  prop("a restore keeps the restored data only once it proved healthy; before that it is put back or never touched", [arbEntry, arbSeen], ([entry, seen]) => {
    if (entry.op !== "restore") return
    const r = Journal.recover(entry, seen)
    const expected = entry.step === "committing" ? "Commit" : entry.step === "swapped" || entry.step === "reverting" ? "Revert" : "Abandon"
    assert.strictEqual(r._tag, expected)
    if (r._tag === "Abandon") assert.strictEqual(r.startAgain, entry.wasRunning === true, "an app the restore stopped runs again")
    if (r._tag === "Revert") expect(r.message).toContain("the previous data was put back")
  })

  prop("does not depend on what the engine shows except for an update", [arbEntry, arbSeen, arbSeen], ([entry, a, b]) => {
    if (entry.op === "update") return
    assert.deepStrictEqual(Journal.recover(entry, a), Journal.recover(entry, b))
  })

  it("names the release it is still on and the archive", () => {
    const r = Journal.recover({ op: "update", step: "requested", since: 1, to: { version: "1.3.0", image: "x" } }, {
      state: "running",
      observed: { version: "1.2.0", digest: digestA }
    })
    assert.deepStrictEqual(r, { _tag: "Abandon", message: "update to 1.3.0 interrupted by a restart before it started; still on 1.2.0", startAgain: false })
    const s = Journal.recover({ op: "restore", step: "swapped", since: 1, archive: "/t/lnd/lnd-20261207T1.tar", wasRunning: true, swaps: [] }, undefined)
    assert.deepStrictEqual(s, {
      _tag: "Revert",
      message: "restore of lnd-20261207T1.tar interrupted by a restart in its health gate; the previous data was put back"
    })
  })

  prop("advance keeps what the record knew and stamps the step", [arbEntry, arbNow], ([entry, now]) => {
    const next = Journal.advance(entry, entry.step, now)
    assert.deepStrictEqual({ ...next, since: entry.since }, entry)
    assert.strictEqual(next.since, now)
  })
})
