import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as Bcrypt from "../src/Bcrypt.js"
import { hasPythonBcrypt, pythonBcrypt } from "./fixtures/python.js"

describe("Bcrypt", () => {
  it.effect("a generated salt has the asked cost and hashes verify only their password", () =>
    Effect.gen(function*() {
      const salt = yield* Bcrypt.generateSalt(4)
      expect(salt).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{22}$/)
      const hash = Bcrypt.hash("correct horse", salt)
      expect(Bcrypt.isHash(hash)).toBe(true)
      expect(hash.startsWith(salt)).toBe(true)
      expect(Bcrypt.hash("correct horse", hash)).toBe(hash)
      expect(Bcrypt.verify("correct horse", hash)).toBe(true)
      expect(Bcrypt.verify("correct horsf", hash)).toBe(false)
      expect(Bcrypt.verify("correct horse", "correct horse")).toBe(false)
      expect(Bcrypt.isHash("$2b$03$" + "a".repeat(53))).toBe(false)
    }))

  const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

  it.skipIf(!hasPythonBcrypt)("matches libxcrypt's bcrypt (python3 crypt) for random passwords and salts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom(..."abcdef0123456789xyzXYZ-_!$ "), minLength: 1, maxLength: 72 }),
        fc.string({ unit: fc.constantFrom(...alphabet), minLength: 21, maxLength: 21 }),
        fc.constantFrom(...".Oeu"), // the 22nd salt character carries only 2 bits
        async (password, salt21, last) => {
          const salt = `$2b$04$${salt21}${last}`
          expect(Bcrypt.hash(password, salt)).toBe(await pythonBcrypt(password, salt))
        }
      ),
      { numRuns: 12 }
    )
  })

  it("the verifier asks its comparison once per hash and password, and forgets beyond its size", () => {
    const calls: Array<string> = []
    const verify = Bcrypt.verifier(2, (password, stored) => {
      calls.push(`${password}/${stored}`)
      return password === "pw"
    })
    for (let i = 0; i < 5; i++) expect(verify("pw", "h1")).toBe(true)
    expect(verify("other", "h1")).toBe(false)
    expect(verify("other", "h1")).toBe(false)
    expect(calls).toEqual(["pw/h1", "other/h1"])
    expect(verify("pw", "h2")).toBe(true) // evicts the oldest
    expect(verify("pw", "h1")).toBe(true)
    expect(calls).toEqual(["pw/h1", "other/h1", "pw/h2", "pw/h1"])
  })
})
