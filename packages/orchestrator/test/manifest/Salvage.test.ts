import { assert, describe, it } from "@effect/vitest"
import { Result, Option, Schema } from "effect"
import * as fc from "fast-check"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import { salvage } from "../../src/manifest/internal/Salvage.js"
import { Manifest } from "../../src/manifest/Manifest.js"
import { prop } from "../../../../test-support/prop.js"

const appsDir = fileURLToPath(new URL("../../../../apps", import.meta.url))
const plains: ReadonlyArray<Record<string, unknown>> = Fs.readdirSync(appsDir)
  .filter((name) => Fs.existsSync(NodePath.join(appsDir, name, "manifest.yml")))
  .sort()
  .map((id) => parse(Fs.readFileSync(NodePath.join(appsDir, id, "manifest.yml"), "utf8")) as Record<string, unknown>)

const fields = Manifest.fields
type Field = keyof typeof fields

/** Whether `value` is a valid `key` on its own (its field's schema, defaults included). */
const fieldDecodes = (key: Field, value: unknown): boolean =>
  Result.isSuccess(Schema.decodeUnknownResult(Schema.Struct({ [key]: fields[key] }))({ [key]: value }))

const arbValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -5, max: 70_000 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxKeys: 3 })
)

const arbBroken = fc.tuple(
  fc.constantFrom(...plains),
  fc.array(fc.tuple(fc.constantFrom(...(Object.keys(fields) as Array<Field>)), arbValue), { minLength: 1, maxLength: 4 })
).map(([plain, sets]) => {
  const copy: Record<string, unknown> = structuredClone(plain)
  for (const [k, v] of sets) copy[k] = v
  return copy
})

describe("Salvage", () => {
  it("a valid manifest salvages to its decoded self", () => {
    assert.isAbove(plains.length, 5)
    for (const plain of plains) {
      assert.deepStrictEqual(Option.getOrThrow(salvage(Manifest.ast, plain)), Schema.decodeUnknownSync(Manifest)(plain))
    }
  })

  prop("keeps exactly the top-level fields that decode on their own", [arbBroken], ([input]) => {
    const kept = Option.getOrThrow(salvage(Manifest.ast, input)) as Record<string, unknown>
    for (const key of Object.keys(fields) as Array<Field>) {
      if (!Object.hasOwn(input, key)) continue
      const whole = fieldDecodes(key, input[key])
      // a struct or list that does not decode keeps its valid parts; anything else goes
      if (whole) assert.isTrue(Object.hasOwn(kept, key), `${key} decodes but was dropped`)
      if (Object.hasOwn(kept, key) && whole) {
        const decoded = Schema.decodeUnknownSync(Schema.Struct({ [key]: fields[key] }))({ [key]: input[key] }) as Record<string, unknown>
        assert.deepStrictEqual(kept[key], decoded[key])
      }
      if (!whole && Object.hasOwn(kept, key)) assert.strictEqual(typeof kept[key], "object", `${key} is invalid and not a struct or list`)
    }
  }, { fastCheck: { numRuns: 200 } })

  prop("a list keeps its length and only items that decode", [fc.constantFrom(...plains), fc.array(arbValue, { maxLength: 5 })], ([plain, items]) => {
    const kept = Option.getOrThrow(salvage(Manifest.ast, { ...plain, conflicts: items })) as { conflicts?: ReadonlyArray<unknown> }
    const valid = items.map((x) => fieldDecodes("conflicts", [x]))
    if (valid.every(Boolean)) return
    assert.strictEqual(kept.conflicts?.length, items.length)
    kept.conflicts!.forEach((x, i) => assert.strictEqual(x === undefined, !valid[i], `item ${i}`))
  }, { fastCheck: { numRuns: 200 } })
})
