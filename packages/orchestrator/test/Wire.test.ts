import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import * as fc from "fast-check"
import { AppState, Op, Wire } from "../src/domain/index.js"

type Name = keyof typeof Wire.schemas
const names = Object.keys(Wire.schemas) as Array<Name>

// A value with the shape of the message, then one field somewhere in it replaced by anything:
// the values a guard is most likely to get wrong (right shape, one wrong field).
const paths = (u: unknown, at: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
  if (typeof u !== "object" || u === null) return [at]
  const children = Array.isArray(u) ? u.map((v, i) => [i, v] as const) : Object.entries(u)
  return [at, ...children.flatMap(([k, v]) => paths(v, [...at, k]))]
}
const replaceAt = (u: unknown, path: ReadonlyArray<string | number>, value: unknown, remove: boolean): unknown => {
  if (path.length === 0) return value
  const [head, ...rest] = path
  if (Array.isArray(u)) {
    const copy = [...u]
    copy[head as number] = replaceAt(u[head as number], rest, value, remove)
    return copy
  }
  const copy: Record<string, unknown> = { ...(u as Record<string, unknown>) }
  if (remove && rest.length === 0) delete copy[head as string]
  else copy[head as string] = replaceAt(copy[head as string], rest, value, remove)
  return copy
}
const strange = fc.oneof(
  fc.anything(),
  fc.constantFrom(undefined, null, NaN, Infinity, -0, "", "2.0", [], {}, [undefined], Object.create(null)),
  fc.constantFrom(...AppState.all, ...Op.all, ...Wire.visualStates, "reconcile", "tcp", "udp", "healthy", "info", "podman")
)
const mutated = (valid: fc.Arbitrary<unknown>) =>
  fc.tuple(valid, fc.nat(), strange, fc.boolean()).map(([v, i, value, remove]) => {
    const all = paths(v)
    return replaceAt(v, all[i % all.length]!, value, remove)
  })

// effect 3.22's union parser throws ("Cannot convert object to primitive value") when the key it
// discriminates on holds an object without prototype; JSON.parse never makes one, so such a
// value says nothing about the wire: skip it.
const schemaIs = (is: (u: unknown) => boolean, u: unknown): boolean => {
  try {
    return is(u)
  } catch {
    fc.pre(false)
    return false
  }
}

describe("Wire's guards say what its schemas say", () => {
  it("there is one guard per schema, and one schema per notification", () => {
    expect(Object.keys(Wire.checks).sort()).toStrictEqual([...names].sort())
    expect(Object.keys(Wire.notifications).sort()).toStrictEqual(Object.values(Wire.Notification).sort())
    expect(Object.keys(Wire.notificationChecks).sort()).toStrictEqual(Object.values(Wire.Notification).sort())
  })

  for (const name of names) {
    it(`${name}: the guard answers Schema.is on valid, nearly valid and arbitrary values`, () => {
      const schema = Wire.schemas[name] as unknown as Schema.Schema<unknown>
      const is = Schema.is(schema)
      const valid = Arbitrary.make(schema)
      fc.assert(
        fc.property(fc.oneof(valid, mutated(valid), fc.anything()), (u) => {
          const issue = Wire.checks[name](u, "")
          expect(issue === undefined).toBe(schemaIs(is, u))
        }),
        { numRuns: 400 }
      )
      // and every valid value is admitted
      fc.assert(fc.property(valid, (u) => {
        expect(Wire.checks[name](u, "")).toBeUndefined()
      }), { numRuns: 100 })
    })
  }

  it("a notification's guard is the guard of its schema", () => {
    for (const [method, schema] of Object.entries(Wire.notifications)) {
      const check = Wire.notificationChecks[method as Wire.Notification]
      const is = Schema.is(schema as unknown as Schema.Schema<unknown>)
      fc.assert(fc.property(fc.oneof(Arbitrary.make(schema as unknown as Schema.Schema<unknown>), fc.anything()), (u) => {
        expect(check(u, "params") === undefined).toBe(schemaIs(is, u))
      }), { numRuns: 100 })
    }
  })
})

describe("Wire.decode", () => {
  it("names the first bad field and what it should be", () => {
    const view = fc.sample(Arbitrary.make(Wire.AppView), { numRuns: 1, seed: 7 })[0]!
    expect(Wire.decodeParams("state.changed", { app: { ...view, state: "sleeping" }, seq: 3 })).toStrictEqual({
      _tag: "Invalid",
      issue: { field: "params.app.state", expected: `one of ${AppState.all.join(", ")}` }
    })
    expect(Wire.decodeParams("state.snapshot", { apps: [view, { ...view, ports: [{ host: "80" }] }], seq: 1 })).toStrictEqual({
      _tag: "Invalid",
      issue: { field: "params.apps[1].ports[0].host", expected: "a number" }
    })
    expect(Wire.decode("Accepted", { appId: "lnd", op: "stop", status: "stopping" }, "result")).toStrictEqual({
      _tag: "Invalid",
      issue: { field: "result.generation", expected: "a value (it is missing)" }
    })
    expect(Wire.describe({ field: "params.seq", expected: "a number" })).toBe("params.seq: expected a number")
    const changed = { app: view, seq: 4 }
    expect(Wire.decodeParams("state.changed", changed)).toStrictEqual({ _tag: "Valid", value: changed })
  })

  it("knows every notification by name and nothing else", () => {
    for (const n of Object.values(Wire.Notification)) expect(Wire.isNotification(n)).toBe(true)
    for (const n of ["toString", "__proto__", "state", "logs.subscribe", 1]) expect(Wire.isNotification(n)).toBe(false)
  })

  it("names every error code in both spellings, Limit included", () => {
    expect(Object.values(Wire.codes).sort()).toStrictEqual(Object.values(Wire.ErrorCode).sort())
    expect(Wire.codes.limit).toBe(-32005)
  })
})
