import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import * as LndConf from "../src/LndConf.js"
import { RenderError } from "../src/RenderError.js"
import { prop } from "../../../test-support/prop.js"

const values: LndConf.Bitcoind = { ...LndConf.defaults, rpcpass: "p4ss" }
const section = [
  "bitcoind.rpchost=host.containers.internal:8332",
  "bitcoind.rpcuser=archipelago",
  "bitcoind.rpcpass=p4ss",
  "bitcoind.zmqpubrawblock=tcp://host.containers.internal:28332",
  "bitcoind.zmqpubrawtx=tcp://host.containers.internal:28333"
].join("\n")

const render = (text: string) => Result.getOrThrow(LndConf.setBitcoind(text, values))

describe("LndConf", () => {
  it("creates the section in an empty file", () => {
    expect(render("")).toBe(`[Bitcoind]\n${section}\n`)
  })

  it("appends the section after the rest of the file", () => {
    const text = "[Application Options]\nalias=my-node\n\n[Bitcoin]\nbitcoin.active=1\nbitcoin.node=bitcoind\n"
    expect(render(text)).toBe(`${text}\n[Bitcoind]\n${section}\n`)
  })

  it("replaces owned keys in place (lnd merges same-named sections), keeps the section's other keys, drops duplicates, adds missing keys", () => {
    const text = [
      "[Application Options]",
      "alias=my-node",
      "",
      "[bitcoind]",
      "bitcoind.rpchost=192.168.1.1:8332",
      "bitcoind.estimatemode=ECONOMICAL",
      "bitcoind.rpcpass=old",
      "BITCOIND.RPCPASS=older",
      "",
      "[Bitcoind]",
      "bitcoind.rpcuser=someone",
      "",
      "[tor]",
      "tor.active=false",
      "bitcoind.rpcpass=not-in-the-section"
    ].join("\n")
    expect(render(text)).toBe([
      "[Application Options]",
      "alias=my-node",
      "",
      "[bitcoind]",
      "bitcoind.rpchost=host.containers.internal:8332",
      "bitcoind.estimatemode=ECONOMICAL",
      "bitcoind.rpcpass=p4ss",
      "bitcoind.zmqpubrawblock=tcp://host.containers.internal:28332",
      "bitcoind.zmqpubrawtx=tcp://host.containers.internal:28333",
      "",
      "[Bitcoind]",
      "bitcoind.rpcuser=archipelago",
      "",
      "[tor]",
      "tor.active=false",
      "bitcoind.rpcpass=not-in-the-section",
      ""
    ].join("\n"))
  })

  it("refuses a value with a line break, naming the field but not the value", () => {
    const result = LndConf.setBitcoind("", { ...values, rpcpass: "SECRET\nbitcoind.rpchost=evil" })
    expect(result).toEqual(Result.fail(new RenderError({ field: "rpcpass", reason: "contains a line break or surrounding spaces" })))
    expect(Result.isFailure(result) && result.failure.message).toBe("cannot render rpcpass: contains a line break or surrounding spaces")
    expect(LndConf.setBitcoind("", { ...values, rpcuser: "" })).toEqual(Result.fail(new RenderError({ field: "rpcuser", reason: "empty" })))
  })

  const arbLine = fc.oneof(
    fc.constantFrom("[Application Options]", "[Bitcoind]", "[bitcoind]", "[Bitcoin]", "", "; comment", "# comment",
      "bitcoind.rpcpass=x", "bitcoind.rpchost=1.2.3.4:8332", "bitcoind.estimatemode=CONSERVATIVE", "alias=n"),
    fc.stringMatching(/^[a-z]{1,6}\.[a-z]{1,6}=[a-z0-9]{0,6}$/)
  )
  const arbConf = fc.array(arbLine, { maxLength: 14 }).map((lines) => lines.join("\n"))
  const arbPass = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/)

  prop("idempotent; every owned key appears exactly once with its value", [arbConf, arbPass], ([text, rpcpass]) => {
    const v = { ...values, rpcpass }
    const once = Result.getOrThrow(LndConf.setBitcoind(text, v))
    expect(Result.getOrThrow(LndConf.setBitcoind(once, v))).toBe(once)
    for (const key of ["rpchost", "rpcuser", "rpcpass", "zmqpubrawblock", "zmqpubrawtx"] as const) {
      const lines = once.split("\n").filter((l) => l.toLowerCase().startsWith(`bitcoind.${key}=`))
      const inSections = lines.filter((l) => l === `bitcoind.${key}=${v[key]}`)
      expect(inSections.length).toBeGreaterThanOrEqual(1)
    }
  })

  prop("lines outside the owned keys are preserved in order", [arbConf, arbPass], ([text, rpcpass]) => {
    const owned = /^\s*bitcoind\.(rpchost|rpcuser|rpcpass|zmqpubrawblock|zmqpubrawtx)\s*=/i
    const strip = (s: string) => s.split("\n").filter((l) => !owned.test(l) && l !== "" && !/^\[bitcoind\]$/i.test(l))
    expect(strip(Result.getOrThrow(LndConf.setBitcoind(text, { ...values, rpcpass })))).toEqual(strip(text))
  })
})
