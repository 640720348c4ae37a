/**
 * One way to touch files: the orchestrator's sources reach `node:fs` only through
 * `src/fs/internal/Files.ts` (and `SafeFile`, built on it). A new raw import elsewhere fails
 * here; the way out is to use `SafeFile` or `Files`, or to add the file below with its reason.
 */
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"

const src = NodePath.join(import.meta.dirname, "..", "..", "src")

/** The files that may import `node:fs` themselves, each with why. */
const rawAllowed: Readonly<Record<string, string>> = {
  "fs/internal/Files.ts": "the one door to node:fs: re-exports the primitives every other module uses"
}

/**
 * The files that still use Effect's `FileSystem` service, each with why. Not raw
 * access (it is a service a test can replace), but a second style: new code uses `SafeFile` or
 * `Files`, and this list only shrinks.
 */
const platformAllowed: Readonly<Record<string, string>> = {
  "manifest/Catalog.ts": "reads a catalog folder and hashes build contexts through the service its callers provide",
  "services/Archipelago.ts": "watches the apps folder (FileSystem.watch) and hands the service to the layers it builds",
  "services/internal/Engine.ts": "creates volume sources, and hands the service to Remove, which trashes an app's data dir; moved out of Orchestrator.ts as it was",
  "systemd/QuadletInstaller.ts": "lists and removes unit files through the service its tests replace"
}

const sources = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = NodePath.join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith(".ts") ? [path] : []
  })

const rel = (file: string): string => NodePath.relative(src, file).split(NodePath.sep).join("/")

// `from "node:fs"`, `from "fs/promises"`, `import "node:fs"`, `import("node:fs")`, `require("fs")`
const rawImport = /(?:from\s+|import\s*\(?\s*|require\s*\(\s*)["'](?:node:)?fs(?:\/promises)?["']/
const platformFileSystem = /import\s*(?:type\s*)?\{[^}]*\bFileSystem\b[^}]*\}\s*from\s*["']effect["']|from\s*["'](?:effect\/FileSystem|@effect\/platform-node(?:-shared)?\/NodeFileSystem)["']/

const offenders = (pattern: RegExp, allowed: Readonly<Record<string, string>>): ReadonlyArray<string> =>
  sources(src).map(rel).filter((file) => !(file in allowed) && pattern.test(Fs.readFileSync(NodePath.join(src, file), "utf8")))

describe("file access in the orchestrator's sources", () => {
  it("the scan sees the sources and the patterns match what they guard", () => {
    assert.isAbove(sources(src).length, 50)
    assert.isTrue(rawImport.test(`import * as Fs from "node:fs/promises"`))
    assert.isTrue(rawImport.test(`import { constants } from "fs"`))
    assert.isTrue(rawImport.test(`await import("node:fs")`))
    assert.isTrue(rawImport.test(`import "node:fs"`))
    assert.isFalse(rawImport.test(`import * as Fs from "../fs/internal/Files.js"`))
    assert.isTrue(platformFileSystem.test(`import { FileSystem, Path } from "effect"`))
    assert.isTrue(platformFileSystem.test(`import * as FileSystem from "effect/FileSystem"`))
    assert.isFalse(platformFileSystem.test(`import { Path } from "effect"`))
  })

  it("no module but the allowed ones imports node:fs", () => {
    assert.deepStrictEqual(offenders(rawImport, rawAllowed), [])
  })

  it("no module but the listed ones uses Effect's FileSystem", () => {
    assert.deepStrictEqual(offenders(platformFileSystem, platformAllowed), [])
  })

  it("every allowed file exists and still needs its place on the list", () => {
    const present = new Set(sources(src).map(rel))
    const stale = [
      ...Object.keys(rawAllowed).filter((f) => !present.has(f) || !rawImport.test(Fs.readFileSync(NodePath.join(src, f), "utf8"))),
      ...Object.keys(platformAllowed).filter((f) => !present.has(f) || !platformFileSystem.test(Fs.readFileSync(NodePath.join(src, f), "utf8")))
    ]
    assert.deepStrictEqual(stale, [])
  })
})
