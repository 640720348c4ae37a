import { assert, describe } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import type { AppEntry as Entry } from "../src/domain/AppEntry.js"
import { Admission, AppState, Journal, Op, Transition } from "../src/domain/index.js"
import { arbEntry, arbNow, arbOp, arbState, arbStopTimeout } from "./arbitraries.js"
import { prop } from "../../../test-support/prop.js"

const arbJournal = fc.option(
  fc.constantFrom("update" as const, "backup" as const, "restore" as const, "remove" as const).map((op) =>
    Journal.open(op, { version: "1.1.0", image: "registry.test/web:1.1.0", purge: true }, 1_000)!
  ),
  { nil: undefined }
)

const arbEntryJournaled: fc.Arbitrary<Entry> = fc.tuple(arbEntry, arbJournal).map(([e, journal]) =>
  journal === undefined ? e : { ...e, journal }
)

const arbIds = fc.uniqueArray(fc.constantFrom("alpha", "beta", "gamma", "delta"), { maxLength: 3 })
const arbFacts: fc.Arbitrary<Admission.Facts> = fc.record({
  conflicting: arbIds,
  missing: arbIds,
  dependents: arbIds
})
const arbUser: fc.Arbitrary<Admission.User> = fc.record({ facts: arbFacts, cascade: fc.boolean() })

// Admission as it was decided before it had one place, transcribed: `Lifecycle.request`'s checks
// on the apps around the app (skipped when the op was in flight), then `Operation.requested`'s
// take-up and journal check, then `Transition.begin`'s in-flight, conflict and state checks.
const recreatable = new Set<Op.Op>(["start", "restart", "update", "remove"])
const legacyAllowed = (op: Op.Op, state: AppState.AppState, installed: boolean) =>
  op === "install" ? state === "not-installed" || state === "failed" : state !== "not-installed" || (installed && recreatable.has(op))
const legacy = (op: Op.Op, entry: Entry, installed: boolean, user: Admission.User):
  | { readonly _tag: "TakeUp" }
  | { readonly _tag: "Begin"; readonly cascade: ReadonlyArray<string> }
  | { readonly _tag: "Refused"; readonly error: Admission.Refusal } =>
{
  const inFlightAlready = entry.transition?.op === op
  const refuse = (error: Admission.Refusal) => ({ _tag: "Refused" as const, error })
  if (op === "install" && !inFlightAlready && user.facts.conflicting.length > 0) {
    return refuse(new Admission.ConflictingApp({ appId: entry.id, other: user.facts.conflicting[0]! }))
  }
  if ((op === "install" || op === "start" || op === "restart") && !inFlightAlready && user.facts.missing.length > 0) {
    return refuse(new Admission.MissingDependency({ appId: entry.id, op, state: entry.state, missing: user.facts.missing }))
  }
  let cascade: ReadonlyArray<string> = []
  if (op === "remove" && !inFlightAlready) {
    if (user.facts.dependents.length > 0 && !user.cascade) {
      return refuse(new Admission.DependentsInstalled({ appId: entry.id, state: entry.state, dependents: user.facts.dependents }))
    }
    cascade = user.facts.dependents
  }
  if (entry.transition?.op === op) return { _tag: "TakeUp" }
  if (entry.journal !== undefined && entry.journal.op !== op) {
    return refuse(new Admission.Conflict({ appId: entry.id, running: entry.journal.op, refused: op }))
  }
  if (entry.transition !== undefined) return refuse(new Admission.Conflict({ appId: entry.id, running: entry.transition.op, refused: op }))
  if (!legacyAllowed(op, entry.state, installed)) return refuse(new Admission.NotAllowed({ appId: entry.id, op, state: entry.state }))
  return { _tag: "Begin", cascade }
}

const shape = (r: Result.Result<Admission.Verdict, Admission.Refusal>) =>
  Result.match(r, {
    onFailure: (error) => ({ _tag: "Refused", error: { name: error.constructor.name, tag: error._tag, message: error.message } }),
    onSuccess: (verdict) => verdict._tag === "TakeUp" ? { _tag: "TakeUp" } : { _tag: "Begin", cascade: verdict.cascade }
  })

describe("Admission", () => {
  prop("a user's request is admitted exactly as the four places decided it before", [arbOp, arbEntryJournaled, fc.boolean(), arbUser],
    ([op, entry, installed, user]) => {
      const was = legacy(op, entry, installed, user)
      assert.deepStrictEqual(
        shape(Admission.admit({ op, entry, installed, user })),
        was._tag === "Refused"
          ? { _tag: "Refused", error: { name: was.error.constructor.name, tag: was.error._tag, message: was.error.message } }
          : was
      )
    })

  prop("the op in flight is taken up, whatever the facts; nothing else is", [arbOp, arbEntryJournaled, fc.boolean(), fc.option(arbUser, { nil: undefined })],
    ([op, entry, installed, user]) => {
      const verdict = Admission.admit({ op, entry, installed, ...(user === undefined ? {} : { user }) })
      assert.strictEqual(Result.isSuccess(verdict) && verdict.success._tag === "TakeUp", entry.transition?.op === op)
    })

  prop("a new transition begins only on an app with none, in a state that allows the op", [arbOp, arbEntryJournaled, fc.boolean(), fc.option(arbUser, { nil: undefined })],
    ([op, entry, installed, user]) => {
      const verdict = Admission.admit({ op, entry, installed, ...(user === undefined ? {} : { user }) })
      if (Result.isSuccess(verdict) && verdict.success._tag === "Begin") {
        assert.isUndefined(entry.transition)
        assert.isTrue(Admission.allowed(op, entry.state, installed))
        if (verdict.success.cascade.length > 0) {
          assert.strictEqual(op, "remove")
          assert.isTrue(user?.cascade)
          assert.deepStrictEqual(verdict.success.cascade, user?.facts.dependents)
        }
      }
    })

  prop("without a user (the reconciler, a replay) the apps around and the journal are not asked", [arbOp, arbEntryJournaled, fc.boolean()],
    ([op, entry, installed]) => {
      const { journal: _j, ...unjournaled } = entry
      assert.deepStrictEqual(shape(Admission.admit({ op, entry, installed })), shape(Admission.admit({ op, entry: unjournaled, installed })))
      assert.deepStrictEqual(
        shape(Admission.admit({ op, entry: unjournaled, installed })),
        shape(Admission.admit({ op, entry: unjournaled, installed, user: { facts: Admission.noFacts, cascade: false } }))
      )
    })

  prop("every refusal names the app and the op refused", [arbOp, arbEntryJournaled, fc.boolean(), arbUser],
    ([op, entry, installed, user]) => {
      const verdict = Admission.admit({ op, entry, installed, user })
      if (Result.isFailure(verdict)) {
        assert.strictEqual(verdict.failure.appId, entry.id)
        assert.strictEqual(verdict.failure._tag === "Conflict" ? verdict.failure.refused : verdict.failure.op, op)
      }
    })

  prop("Transition.begin is admission then enter", [arbOp, arbEntry, arbNow, arbStopTimeout, fc.boolean()],
    ([op, entry, now, stop, installed]) => {
      const begun = Transition.begin(entry, op, now, stop, installed)
      const verdict = Admission.admit({ op, entry, installed })
      assert.strictEqual(Result.isFailure(begun), Result.isFailure(verdict))
      if (Result.isSuccess(begun) && Result.isSuccess(verdict)) {
        assert.deepStrictEqual(begun.success, verdict.success._tag === "TakeUp" ? entry : Transition.enter(entry, op, now, stop))
      }
    })
})

// The reconciler's boot settled a persisted op by observation with this table before "settled"
// had one definition.
const legacySettledBy = (op: Op.Op, state: AppState.AppState): boolean => {
  switch (op) {
    case "install":
    case "start":
    case "restart":
    case "update":
      return state === "running"
    case "stop":
      return state === "stopped" || state === "exited" || state === "installed" || state === "not-installed"
    case "remove":
      return state === "not-installed"
    case "backup":
    case "restore":
      return false
  }
}

describe("Op.settledBy", () => {
  prop("is the reconciler's former table", [arbOp, arbState], ([op, state]) => {
    assert.strictEqual(Op.settledBy(op, state), legacySettledBy(op, state))
  })

  prop("the state a successful op lands in settles it (a data op is settled by its journal, never by a state)", [arbOp, arbState],
    ([op, previous]) => {
      const isData = op === "backup" || op === "restore"
      assert.strictEqual(Op.settledBy(op, Op.finalState(op, previous)), !isData)
    })

  prop("no transitional state settles anything", [arbOp, fc.constantFrom(...AppState.transitional)], ([op, state]) => {
    assert.isFalse(Op.settledBy(op, state))
  })
})
