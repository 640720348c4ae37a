import { chmodSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import * as Auth from "../src/Auth.js"
import { prop } from "../../../test-support/prop.js"
import { tempDir } from "./fixtures.js"

describe("Auth.ensureToken", () => {
  it.effect("creates a 0600 random token on first start and reuses it afterwards", () =>
    Effect.gen(function*() {
      const dir = join(tempDir(), "data")
      const first = yield* Auth.ensureToken(dir)
      expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(statSync(Auth.tokenPath(dir)).mode & 0o777).toBe(0o600)
      expect(yield* Auth.ensureToken(dir)).toBe(first)
      expect(yield* Auth.ensureToken(join(tempDir(), "other"))).not.toBe(first)
    }))

  it.effect("tightens a token file readable by others", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      writeFileSync(Auth.tokenPath(dir), "a-token-that-is-long-enough\n")
      chmodSync(Auth.tokenPath(dir), 0o644)
      expect(yield* Auth.ensureToken(dir)).toBe("a-token-that-is-long-enough")
      expect(statSync(Auth.tokenPath(dir)).mode & 0o777).toBe(0o600)
    }))

  it.effect("a symlinked rpc-token is neither followed nor its target chmod'ed: a fresh token replaces the link", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const victim = join(tempDir(), "someone-elses-file")
      writeFileSync(victim, "a-host-file-that-is-long-enough\n")
      chmodSync(victim, 0o644)
      symlinkSync(victim, Auth.tokenPath(dir))
      const token = yield* Auth.ensureToken(dir)
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(lstatSync(Auth.tokenPath(dir)).isFile()).toBe(true)
      expect(statSync(Auth.tokenPath(dir)).mode & 0o777).toBe(0o600)
      expect(readFileSync(victim, "utf8")).toBe("a-host-file-that-is-long-enough\n")
      expect(statSync(victim).mode & 0o777).toBe(0o644)
      expect(yield* Auth.ensureToken(dir)).toBe(token)
    }))

  it.effect("refuses a token too short to be a secret", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      writeFileSync(Auth.tokenPath(dir), "short\n", { mode: 0o600 })
      const exit = yield* Effect.exit(Auth.ensureToken(dir))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})

describe("Auth.isToken", () => {
  prop("agrees with string equality, whatever token was checked before (one digest kept per token)", [fc.string(), fc.string(), fc.string()], ([a, b, other]) => {
    Auth.isToken(other, other)
    expect(Auth.isToken(a, b)).toBe(a === b)
    expect(Auth.isToken(b, b)).toBe(true)
    expect(Auth.isToken(a, other)).toBe(a === other)
  })
})

describe("Auth.isAuthenticated", () => {
  const token = "tok-0123456789abcdef"
  it("accepts the bearer header, the session cookie and the WebSocket subprotocol", () => {
    expect(Auth.isAuthenticated(token, { authorization: `Bearer ${token}` })).toBe(true)
    expect(Auth.isAuthenticated(token, { authorization: `bearer ${token}` })).toBe(true)
    expect(Auth.isAuthenticated(token, { cookie: `a=b; ${Auth.cookieName}=s1` }, (id) => id === "s1")).toBe(true)
    expect(Auth.isAuthenticated(token, { "sec-websocket-protocol": `x, ${Auth.bearerProtocolPrefix}${token}` })).toBe(true)
  })

  it("refuses missing, wrong and raw-token cookies", () => {
    expect(Auth.isAuthenticated(token, {})).toBe(false)
    expect(Auth.isAuthenticated(token, { authorization: `Bearer ${token}x` })).toBe(false)
    expect(Auth.isAuthenticated(token, { authorization: token })).toBe(false)
    expect(Auth.isAuthenticated(token, { cookie: `${Auth.cookieName}=${token}` })).toBe(false)
    expect(Auth.isAuthenticated(token, { cookie: `${Auth.cookieName}=s2` }, (id) => id === "s1")).toBe(false)
    expect(Auth.isAuthenticated(token, { cookie: `${Auth.cookieName}=` }, () => true)).toBe(false)
    expect(Auth.isAuthenticated(token, { "sec-websocket-protocol": `${Auth.bearerProtocolPrefix}nope` })).toBe(false)
  })

  it("the session cookie is HttpOnly, SameSite=Strict, Path=/, with a lifetime, Secure when asked", () => {
    expect(Auth.sessionCookie("abc", { maxAge: 3600, secure: false })).toBe("archy_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600")
    expect(Auth.sessionCookie("abc", { maxAge: 60.5, secure: true })).toBe("archy_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure")
    expect(Auth.clearedCookie(false)).toBe("archy_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
  })

  it("never selects the token-carrying WebSocket subprotocol", () => {
    expect(Auth.selectProtocol([`${Auth.bearerProtocolPrefix}${token}`, Auth.protocol])).toBe(Auth.protocol)
    expect(Auth.selectProtocol([`${Auth.bearerProtocolPrefix}${token}`])).toBe(false)
    expect(Auth.selectProtocol([`${Auth.bearerProtocolPrefix}${token}`, "other"])).toBe("other")
    expect(Auth.selectProtocol([])).toBe(false)
  })
})

describe("Auth hosts", () => {
  it("a loopback bind allows the loopback names with the bound port, nothing else", () => {
    const allowed = Auth.allowedHosts("127.0.0.1", 7420)
    expect([...allowed].sort()).toStrictEqual(["127.0.0.1:7420", "[::1]:7420", "localhost:7420"])
    for (const h of ["localhost:7420", "LOCALHOST:7420", "127.0.0.1:7420"]) expect(Auth.hostAllowed(h, allowed)).toBe(true)
    for (const h of ["evil.example:7420", "localhost:7421", "localhost", "", undefined]) expect(Auth.hostAllowed(h, allowed)).toBe(false)
  })

  it("adds the hosts of allowed origins and configured hosts", () => {
    const allowed = Auth.allowedHosts("127.0.0.1", 7420, ["https://node.example", "http://box.lan:8080"], ["node.local", "other:9000"])
    for (const h of ["node.example", "node.example:443", "box.lan:8080", "node.local:7420", "other:9000"]) {
      expect(Auth.hostAllowed(h, allowed)).toBe(true)
    }
    expect(Auth.hostAllowed("node.local:80", allowed)).toBe(false)
    expect([...Auth.httpsHosts(["https://node.example", "http://box.lan:8080"])].sort()).toStrictEqual(["node.example", "node.example:443"])
  })

  it("a bind to one address allows that address only; port 80 also without a port", () => {
    const allowed = Auth.allowedHosts("192.168.1.5", 80)
    expect([...allowed].sort()).toStrictEqual(["192.168.1.5", "192.168.1.5:80"])
  })
})

describe("Auth origins", () => {
  it("loopback binds allow the loopback names on the same port only", () => {
    const allowed = Auth.allowedOrigins("127.0.0.1", 7420)
    expect([...allowed].sort()).toStrictEqual(["http://127.0.0.1:7420", "http://[::1]:7420", "http://localhost:7420"])
    expect(Auth.originAllowed("http://localhost:7420", allowed)).toBe(true)
    expect(Auth.originAllowed("http://localhost:7421", allowed)).toBe(false)
    expect(Auth.originAllowed("http://evil.example:7420", allowed)).toBe(false)
    expect(Auth.originAllowed("null", allowed)).toBe(false)
    expect(Auth.originAllowed(undefined, allowed)).toBe(true)
  })

  it("extra origins are added, normalised", () => {
    const allowed = Auth.allowedOrigins("127.0.0.1", 7420, ["https://Node.Example/"])
    expect(Auth.originAllowed("https://node.example", allowed)).toBe(true)
  })

  it("a wildcard bind allows this machine's addresses", () => {
    expect(Auth.originAllowed("http://127.0.0.1:80", Auth.allowedOrigins("0.0.0.0", 80))).toBe(true)
  })
})
