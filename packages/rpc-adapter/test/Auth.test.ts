import { chmodSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Auth from "../src/Auth.js"
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

describe("Auth.isAuthenticated", () => {
  const token = "tok-0123456789abcdef"
  it("accepts the bearer header, the session cookie and the WebSocket subprotocol", () => {
    expect(Auth.isAuthenticated(token, { authorization: `Bearer ${token}` })).toBe(true)
    expect(Auth.isAuthenticated(token, { authorization: `bearer ${token}` })).toBe(true)
    expect(Auth.isAuthenticated(token, { cookie: `a=b; ${Auth.cookieName}=${Auth.sessionValue(token)}` })).toBe(true)
    expect(Auth.isAuthenticated(token, { "sec-websocket-protocol": `x, ${Auth.bearerProtocolPrefix}${token}` })).toBe(true)
  })

  it("refuses missing, wrong and raw-token cookies", () => {
    expect(Auth.isAuthenticated(token, {})).toBe(false)
    expect(Auth.isAuthenticated(token, { authorization: `Bearer ${token}x` })).toBe(false)
    expect(Auth.isAuthenticated(token, { authorization: token })).toBe(false)
    expect(Auth.isAuthenticated(token, { cookie: `${Auth.cookieName}=${token}` })).toBe(false)
    expect(Auth.isAuthenticated(token, { cookie: `${Auth.cookieName}=${Auth.sessionValue("other-token-abcdef")}` })).toBe(false)
    expect(Auth.isAuthenticated(token, { "sec-websocket-protocol": `${Auth.bearerProtocolPrefix}nope` })).toBe(false)
  })

  it("the session cookie is HttpOnly, SameSite=Strict, Path=/", () => {
    expect(Auth.sessionCookie(token)).toBe(`archy_session=${Auth.sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`)
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
