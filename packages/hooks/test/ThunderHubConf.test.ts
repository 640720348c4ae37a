import { describe, expect, it } from "@effect/vitest"
import { Result, Option } from "effect"
import * as fc from "fast-check"
import * as Yaml from "yaml"
import * as ThunderHubConf from "../src/ThunderHubConf.js"

const params: ThunderHubConf.Params = {
  serverUrl: "host.containers.internal:10009",
  macaroon: "0201036c6e6400f801",
  certificate: "2d2d2d2d2d424547",
  network: "mainnet"
}
const hash = "thunderhub-$2b$10$abcdefghijklmnopqrstuuDkm3Q1xGZ8wS4m0h2Ua4J9i6oQ1rY2e"
const yes: ThunderHubConf.Verifies = (stored) => stored === hash
const render = (current: string, p: ThunderHubConf.Params = params) =>
  Result.getOrThrow(ThunderHubConf.render(current, { ...p, masterPassword: hash }))

/** What ThunderHub does to the file on its own: parse, add its keys, dump again (no comments, other layout). */
const thunderhubRedump = (text: string, extra: Record<string, unknown> = {}) => {
  const config = Yaml.parse(text) as { accounts: Array<Record<string, unknown>> } & Record<string, unknown>
  config.accounts[0] = { ...config.accounts[0], twofaSecret: "JBSWY3DPEHPK3PXP" }
  return Yaml.stringify({ backupsEnabled: false, ...config, ...extra }, { defaultStringType: "QUOTE_SINGLE", indent: 4 })
}

describe("ThunderHubConf", () => {
  it("renders a fresh config: the LND account with its credentials inline and the hashed master password", () => {
    const text = render("")
    expect(text.startsWith("# Written by @archipelago/hooks (lnd-ui-thunderhub)")).toBe(true)
    expect(Yaml.parse(text)).toEqual({
      masterPassword: hash,
      defaultNetwork: "mainnet",
      accounts: [{ name: "LND", serverUrl: params.serverUrl, macaroon: params.macaroon, certificate: params.certificate }]
    })
    expect(ThunderHubConf.inSync(text, params, yes)).toBe(true)
    expect(Option.getOrThrow(ThunderHubConf.masterPassword(text))).toBe(hash)
  })

  it("stays in sync after ThunderHub re-dumps the file and adds its own keys; drifts on a changed credential or password", () => {
    const redumped = thunderhubRedump(render(""))
    expect(redumped).not.toBe(render(""))
    expect(ThunderHubConf.inSync(redumped, params, yes)).toBe(true)
    expect(ThunderHubConf.inSync(redumped, { ...params, macaroon: "0202" }, yes)).toBe(false)
    expect(ThunderHubConf.inSync(redumped, { ...params, certificate: "00" }, yes)).toBe(false)
    expect(ThunderHubConf.inSync(redumped, { ...params, serverUrl: "host.containers.internal:10010" }, yes)).toBe(false)
    expect(ThunderHubConf.inSync(redumped, params, () => false)).toBe(false)
    // a plain password (ThunderHub would hash it) or one overriding the master password is drift
    expect(ThunderHubConf.inSync(redumped.replace(hash, "plain"), params, () => true)).toBe(false)
    const overridden = Yaml.parse(redumped)
    overridden.accounts[0].password = "mine"
    expect(ThunderHubConf.inSync(Yaml.stringify(overridden), params, yes)).toBe(false)
    expect(ThunderHubConf.inSync("accounts: [", params, yes)).toBe(false)
  })

  it("a repair sets only the owned keys: other keys, accounts and ThunderHub's 2FA secret stay", () => {
    const mine = [
      "# my notes",
      "backupsEnabled: true",
      "masterPassword: plain",
      "accounts:",
      "  - name: Remote node",
      "    serverUrl: 10.0.0.2:10009",
      "    macaroonPath: /data/remote.macaroon",
      "  - name: LND",
      "    serverUrl: elsewhere:1",
      "    password: override",
      "    twofaSecret: JBSWY3DPEHPK3PXP",
      "  - name: LND",
      "    serverUrl: duplicate:1",
      ""
    ].join("\n")
    const text = render(mine)
    expect(text.startsWith("# my notes\n")).toBe(true)
    expect(Yaml.parse(text)).toEqual({
      backupsEnabled: true,
      masterPassword: hash,
      defaultNetwork: "mainnet",
      accounts: [
        { name: "Remote node", serverUrl: "10.0.0.2:10009", macaroonPath: "/data/remote.macaroon" },
        { name: "LND", serverUrl: params.serverUrl, twofaSecret: "JBSWY3DPEHPK3PXP", macaroon: params.macaroon, certificate: params.certificate }
      ]
    })
    expect(ThunderHubConf.inSync(text, params, yes)).toBe(true)
  })

  it("refuses inputs that are not a host:port, hex or a network, naming the field", () => {
    const field = (p: ThunderHubConf.Params) =>
      Result.match(ThunderHubConf.render("", { ...p, masterPassword: hash }), { onFailure: (e) => e.field, onSuccess: () => "" })
    expect(field({ ...params, serverUrl: "host\nmasterPassword: x:1" })).toBe("serverUrl")
    expect(field({ ...params, serverUrl: "host:70000" })).toBe("serverUrl")
    expect(field({ ...params, macaroon: "" })).toBe("macaroon")
    expect(field({ ...params, certificate: "xyz" })).toBe("certificate")
    expect(field({ ...params, network: "mainnet\n" })).toBe("network")
  })

  it("render is deterministic, idempotent and always in sync with what it rendered (fast-check)", () => {
    const hex = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b).toString("hex"))
    const existing = fc.oneof(
      fc.constant(""),
      fc.constant("garbage: [unclosed\n"),
      fc.record({ backupsEnabled: fc.boolean(), masterPassword: fc.string(), accounts: fc.array(fc.record({ name: fc.constantFrom("LND", "other"), serverUrl: fc.string() })) })
        .map((o) => Yaml.stringify(o))
    )
    fc.assert(
      fc.property(existing, hex, hex, fc.integer({ min: 1, max: 65535 }), (current, macaroon, certificate, port) => {
        const p = { ...params, macaroon, certificate, serverUrl: `host.containers.internal:${port}` }
        const once = render(current, p)
        expect(render(current, p)).toBe(once)
        expect(render(once, p)).toBe(once)
        expect(ThunderHubConf.inSync(once, p, yes)).toBe(true)
        expect(ThunderHubConf.inSync(thunderhubRedump(once), p, yes)).toBe(true)
      }),
      { numRuns: 200 }
    )
  })
})
