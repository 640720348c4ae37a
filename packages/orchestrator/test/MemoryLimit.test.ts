import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { MemoryLimit } from "../src/domain/index.js"
import { prop } from "../../../test-support/prop.js"

const units = { K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 } as const
type Unit = keyof typeof units
const arbUnit = fc.constantFrom(...(Object.keys(units) as Array<Unit>))
const arbCase = (s: string) => fc.constantFrom(s, s.toLowerCase(), s.toUpperCase())

describe("MemoryLimit", () => {
  it("parses the examples of the manifest reference", () => {
    expect(MemoryLimit.parseMemoryLimit("128Mi")).toBe(134217728)
    expect(MemoryLimit.parseMemoryLimit("1G")).toBe(1e9)
    expect(MemoryLimit.parseMemoryLimit("512k")).toBe(512000)
    expect(MemoryLimit.parseMemoryLimit("2gi")).toBe(2 * 1024 ** 3)
    expect(MemoryLimit.parseMemoryLimit("1048576")).toBe(1048576)
    expect(MemoryLimit.parseMemoryLimit("1.5Gi")).toBe(1.5 * 1024 ** 3)
  })

  it("rejects zero and garbage with undefined, never 0", () => {
    for (const bad of ["0", "0Mi", "", "Mi", "12 parsecs", "-5M", "1.5", "0.5", "abc", "1e6", "NaN", "Infinity"]) {
      expect(MemoryLimit.parseMemoryLimit(bad)).toBeUndefined()
    }
    expect(MemoryLimit.parseMemoryLimit(0)).toBeUndefined()
    expect(MemoryLimit.parseMemoryLimit(-1)).toBeUndefined()
  })

  prop("accepts every unit in either case", [fc.integer({ min: 1, max: 4096 }), arbUnit.chain((u) => arbCase(u).map((c) => [u, c] as const))], ([n, [unit, written]]) => {
    expect(MemoryLimit.parseMemoryLimit(`${n}${written}`)).toBe(n * units[unit])
  })

  prop("never returns 0, a negative or a fraction", [fc.string()], ([s]) => {
    const r = MemoryLimit.parseMemoryLimit(s)
    if (r !== undefined) {
      expect(Number.isSafeInteger(r)).toBe(true)
      expect(r).toBeGreaterThan(0)
    }
  })

  prop("round-trips formatted values", [fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })], ([bytes]) => {
    expect(MemoryLimit.parseMemoryLimit(MemoryLimit.formatMemoryLimit(bytes))).toBe(bytes)
  })

  it("formats with the largest exact unit", () => {
    expect(MemoryLimit.formatMemoryLimit(134217728)).toBe("128Mi")
    expect(MemoryLimit.formatMemoryLimit(1e9)).toBe("1G")
    expect(MemoryLimit.formatMemoryLimit(1001)).toBe("1001")
  })
})
