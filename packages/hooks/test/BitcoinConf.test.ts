import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as fc from "fast-check"
import * as BitcoinConf from "../src/BitcoinConf.js"
import { prop } from "../../../test-support/prop.js"

const value = `archipelago:0011$${"a".repeat(64)}`
const other = `archipelago:2233$${"b".repeat(64)}`

const arbLine = fc.oneof(
  fc.constantFrom("server=1", "txindex=1", "# a comment", "", "[main]", "[test]", "rpcauth=alice:00$" + "c".repeat(64),
    `rpcauth=${other}`, "  rpcauth = archipelago:99$" + "d".repeat(64), "zmqpubrawblock=tcp://0.0.0.0:28332"),
  fc.stringMatching(/^[a-z]{1,8}=[a-z0-9]{0,8}$/)
)
const arbConf = fc.array(arbLine, { maxLength: 12 }).map((lines) => lines.join("\n"))

describe("BitcoinConf", () => {
  it("adds the line to an empty file", () => {
    expect(BitcoinConf.setRpcAuth("", "archipelago", value)).toBe(`rpcauth=${value}\n`)
  })

  it("keeps every other line and replaces the user's line in place", () => {
    const text = `# node\nserver=1\nrpcauth=alice:00$${"c".repeat(64)}\nrpcauth=${other}\ntxindex=1\n[test]\nrpcport=18332\n`
    expect(BitcoinConf.setRpcAuth(text, "archipelago", value)).toBe(
      `# node\nserver=1\nrpcauth=alice:00$${"c".repeat(64)}\nrpcauth=${value}\ntxindex=1\n[test]\nrpcport=18332\n`
    )
  })

  it("puts a new line before the first network section, and drops the user's duplicates", () => {
    const text = `server=1\n[main]\nrpcauth=${other}\n[test]\nrpcauth=${other}\n`
    expect(BitcoinConf.setRpcAuth(text, "archipelago", value)).toBe(`server=1\n[main]\nrpcauth=${value}\n[test]\n`)
    expect(BitcoinConf.setRpcAuth("server=1\n[main]\ndbcache=450", "archipelago", value)).toBe(
      `server=1\nrpcauth=${value}\n[main]\ndbcache=450\n`
    )
  })

  it("does not confuse a user whose name starts with ours", () => {
    const text = `rpcauth=archipelago2:00$${"c".repeat(64)}\n`
    expect(BitcoinConf.setRpcAuth(text, "archipelago", value)).toBe(`${text}rpcauth=${value}\n`)
  })

  it("finds the user's value", () => {
    expect(BitcoinConf.findRpcAuth(`server=1\nrpcauth = ${other}\n`, "archipelago")).toEqual(Option.some(other))
    expect(BitcoinConf.findRpcAuth(`rpcauth=alice:00$${"c".repeat(64)}\n`, "archipelago")).toEqual(Option.none())
  })

  prop("idempotent, and the result holds the line exactly once", [arbConf], ([text]) => {
    const once = BitcoinConf.setRpcAuth(text, "archipelago", value)
    expect(BitcoinConf.setRpcAuth(once, "archipelago", value)).toBe(once)
    expect(once.split("\n").filter((l) => l.includes("archipelago:")).length).toBe(1)
    expect(BitcoinConf.findRpcAuth(once, "archipelago")).toEqual(Option.some(value))
  })

  prop("lines that are not the user's rpcauth are preserved in order", [arbConf], ([text]) => {
    const mine = (l: string) => /^\s*rpcauth\s*=\s*archipelago:/.test(l)
    const kept = text.split("\n").filter((l) => !mine(l))
    const out = BitcoinConf.setRpcAuth(text, "archipelago", value).split("\n").filter((l) => !mine(l))
    expect(out.filter((l) => l !== "")).toEqual(kept.filter((l) => l !== ""))
  })
})
