/**
 * The gate judges a request's path as written against the paths the router answers
 * (`Guard.paths`); the router itself is lenient about case, slashes, `;` and %-escapes. The two
 * lists must be the same, or a route would answer only behind a 404 (missing here) or a path
 * would pass the gate that no route answers exactly (extra here).
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import * as Dashboard from "../src/Dashboard.js"
import * as Guard from "../src/internal/guard.js"

const routes = readFileSync(fileURLToPath(new URL("../src/internal/routes.ts", import.meta.url)), "utf8")
const constants: Record<string, string> = { "Dashboard.faviconPath": Dashboard.faviconPath, "Dashboard.bundlePath": Dashboard.bundlePath }

describe("Guard.paths", () => {
  it("is every path routes.ts routes, and /ws (the socket's upgrade)", () => {
    const routed = [...routes.matchAll(/HttpRouter\.add\(\s*"[A-Z]+",\s*("([^"]+)"|([\w.]+))/g)]
      .map((m) => m[2] ?? constants[m[3]!] ?? `unknown constant ${m[3]}`)
    expect(routed.length).toBeGreaterThan(5)
    expect(new Set([...routed, "/ws"])).toStrictEqual(new Set(Guard.paths))
  })

  it("cuts a request target at its query or fragment, and never decodes it", () => {
    expect(Guard.pathOf("/rpc?x=1")).toBe("/rpc")
    expect(Guard.pathOf("/rpc#x")).toBe("/rpc")
    expect(Guard.pathOf("/%72pc")).toBe("/%72pc")
    expect(Guard.pathOf(undefined)).toBe("/")
  })
})
