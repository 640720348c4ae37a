import { execFileSync } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as fc from "fast-check"
import * as RpcAuth from "../src/RpcAuth.js"
import { hasPython } from "./fixtures/python.js"

/** Bitcoin Core's share/rpcauth/rpcauth.py, reduced to its HMAC: an independent implementation. */
const python = `
import hmac, json, sys
cases = json.load(sys.stdin)
print(json.dumps([hmac.new(c["salt"].encode("utf-8"), c["password"].encode("utf-8"), "SHA256").hexdigest() for c in cases]))
`


const arbSalt = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString("hex"))
const arbPassword = fc.string({ minLength: 1, maxLength: 80, unit: "grapheme" })

describe("RpcAuth", () => {
  it.skipIf(!hasPython)("matches Python's hmac (rpcauth.py) for random salts and passwords", () => {
    const cases = fc.sample(fc.record({ salt: arbSalt, password: arbPassword }), 200)
    cases.push({ salt: "00".repeat(16), password: "password" }, { salt: "cafe", password: "pässwörd ✓ \"quoted\"" })
    const expected = JSON.parse(execFileSync("python3", ["-c", python], { input: JSON.stringify(cases) }).toString()) as Array<string>
    expect(cases.map((c) => RpcAuth.hmac(c.salt, c.password))).toEqual(expected)
  })

  it("formats Bitcoin Core's rpcauth value", () => {
    const auth = RpcAuth.make("archipelago", "00112233445566778899aabbccddeeff", "pw")
    expect(RpcAuth.format(auth)).toBe(`archipelago:00112233445566778899aabbccddeeff$${RpcAuth.hmac("00112233445566778899aabbccddeeff", "pw")}`)
    expect(RpcAuth.format(auth)).toMatch(/^archipelago:[0-9a-f]{32}\$[0-9a-f]{64}$/)
  })

  prop("accepts the right password and refuses any other", [arbSalt, arbPassword, arbPassword], ([salt, right, other]) => {
    fc.pre(right !== other)
    const auth = RpcAuth.make("archipelago", salt, right)
    expect(RpcAuth.verify(auth, right)).toBe(true)
    expect(RpcAuth.verify(auth, other)).toBe(false)
  })

  prop("parse reads back what format wrote", [arbSalt, arbPassword], ([salt, password]) => {
    const auth = RpcAuth.make("archipelago", salt, password)
    expect(RpcAuth.parse(RpcAuth.format(auth))).toEqual(Option.some(auth))
  })

  it("parse refuses values not in Bitcoin Core's format", () => {
    for (const bad of ["", "archipelago", "archipelago:salt", "archipelago:ab$xyz", `user:ZZ$${"0".repeat(64)}`, `:ab$${"0".repeat(64)}`, `u:ab$${"0".repeat(63)}`]) {
      expect(RpcAuth.parse(bad)).toEqual(Option.none())
    }
  })

  it("verify refuses a malformed hash instead of throwing", () => {
    expect(RpcAuth.verify({ user: "u", salt: "ab", hash: "short" }, "pw")).toBe(false)
  })

  it.effect("generated salts are 16 random bytes in hex", () =>
    Effect.gen(function*() {
      const a = yield* RpcAuth.generateSalt
      const b = yield* RpcAuth.generateSalt
      expect(a).toMatch(/^[0-9a-f]{32}$/)
      expect(a).not.toBe(b)
    }))
})

import { prop } from "../../../test-support/prop.js"