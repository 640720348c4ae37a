import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { AppId } from "../src/domain/index.js"
import { prop } from "../../../test-support/prop.js"

describe("AppId", () => {
  it("accepts catalog ids and refuses paths and flags", () => {
    for (const ok of ["lnd", "bitcoin-core", "archy-ui", "a", "0x"]) expect(AppId.is(ok)).toBe(true)
    for (const bad of ["", "../x", "--privileged", "-x", "Lnd", "a/b", "a b", "a".repeat(64), "lnd\n"]) {
      expect(AppId.is(bad)).toBe(false)
      expect(Result.isFailure(AppId.parse(bad))).toBe(true)
    }
  })

  it("explains a refusal", () => {
    expect(AppId.parse("../x")).toEqual(
      Result.fail('invalid app id "../x": expected 1-63 lowercase letters, digits or dashes, not starting with a dash')
    )
  })

  prop("the schema and the guard agree", [fc.string()], ([s]) => {
    expect(Result.isSuccess(Schema.decodeUnknownResult(AppId.AppId)(s))).toBe(AppId.is(s))
  })

  prop("no valid id can escape a directory or read as a flag", [fc.string()], ([s]) => {
    if (AppId.is(s)) {
      expect(s.includes("/")).toBe(false)
      expect(s.includes("..")).toBe(false)
      expect(s.startsWith("-")).toBe(false)
    }
  })
})
