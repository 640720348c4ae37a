import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Secrets from "../src/Secrets.js"

let root = ""
beforeAll(async () => {
  root = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-hooks-secrets-"))
})
afterAll(async () => {
  await Fs.rm(root, { recursive: true, force: true })
})

const dataDir = (name: string) => NodePath.join(root, name)
const modeOf = async (path: string) => (await Fs.stat(path)).mode & 0o7777

describe("Secrets", () => {
  it.effect("generates a 32-byte hex secret on first use, 0600 in a 0700 folder, and keeps it", () =>
    Effect.gen(function*() {
      const dir = dataDir("first")
      const secrets = yield* Secrets.make(dir)
      const first = yield* secrets.get("bitcoin-rpc-password")
      expect(Redacted.value(first)).toMatch(/^[0-9a-f]{64}$/)
      const file = NodePath.join(dir, "secrets", "bitcoin-rpc-password")
      expect(yield* Effect.promise(() => Fs.readFile(file, "utf8"))).toBe(`${Redacted.value(first)}\n`)
      expect(yield* Effect.promise(() => modeOf(file))).toBe(0o600)
      expect(yield* Effect.promise(() => modeOf(NodePath.join(dir, "secrets")))).toBe(0o700)
      const again = yield* (yield* Secrets.make(dir)).get("bitcoin-rpc-password")
      expect(Redacted.value(again)).toBe(Redacted.value(first))
      expect(yield* Effect.promise(() => Fs.readdir(NodePath.join(dir, "secrets")))).toEqual(["bitcoin-rpc-password"])
    }))

  it.effect("two secrets differ", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets.make(dataDir("two"))
      const a = yield* secrets.get("a")
      const b = yield* secrets.get("b")
      expect(Redacted.value(a)).not.toBe(Redacted.value(b))
    }))

  it.effect("reads an existing secret without its trailing newline, narrowing a drifted mode to 0600", () =>
    Effect.gen(function*() {
      const dir = dataDir("existing")
      yield* Effect.promise(async () => {
        await Fs.mkdir(NodePath.join(dir, "secrets"), { recursive: true })
        await Fs.writeFile(NodePath.join(dir, "secrets", "given"), "correct horse battery staple\n")
      })
      yield* Effect.promise(() => Fs.chmod(NodePath.join(dir, "secrets", "given"), 0o644))
      const value = yield* (yield* Secrets.make(dir)).get("given")
      expect(Redacted.value(value)).toBe("correct horse battery staple")
      expect(yield* Effect.promise(() => modeOf(NodePath.join(dir, "secrets", "given")))).toBe(0o600)
    }))

  it.effect("many concurrent first uses, from several instances (as from several processes), agree on one value", () =>
    Effect.gen(function*() {
      const dir = dataDir("race")
      const instances = yield* Effect.all([Secrets.make(dir), Secrets.make(dir), Secrets.make(dir), Secrets.make(dir)])
      const values = yield* Effect.all(
        Array.from({ length: 40 }, (_, i) => instances[i % instances.length]!.get("shared")),
        { concurrency: "unbounded" }
      )
      expect(new Set(values.map(Redacted.value)).size).toBe(1)
      expect(yield* Effect.promise(() => Fs.readdir(NodePath.join(dir, "secrets")))).toEqual(["shared"])
    }))

  it.effect("refuses names that could leave the secrets folder, naming the problem", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets.make(dataDir("names"))
      for (const name of ["../escape", "a/b", ".hidden", "", "UPPER", "a".repeat(65), "x\n", "..", "/etc/passwd"]) {
        const error = yield* Effect.flip(secrets.get(name))
        expect(error).toEqual(
          new Secrets.SecretError({ name, reason: "invalid name: use 1-64 lowercase letters, digits, '-' or '_'" })
        )
      }
      expect(yield* Effect.promise(() => Fs.readdir(root))).not.toContain("escape")
    }))

  it.effect("a stored value spanning lines is refused without printing it", () =>
    Effect.gen(function*() {
      const dir = dataDir("bad-value")
      yield* Effect.promise(async () => {
        await Fs.mkdir(NodePath.join(dir, "secrets"), { recursive: true })
        await Fs.writeFile(NodePath.join(dir, "secrets", "broken"), "line-one-SECRET\nline-two-SECRET\n")
      })
      const error = yield* Effect.flip((yield* Secrets.make(dir)).get("broken"))
      expect(error.message).toBe(`secret "broken": the stored value is empty or spans several lines`)
      expect(String(error)).not.toContain("SECRET")
      expect(JSON.stringify(error)).not.toContain("SECRET")
    }))

  it.effect("a file where the secrets folder should be fails, naming that path only", () =>
    Effect.gen(function*() {
      const dir = dataDir("not-a-dir")
      yield* Effect.promise(async () => {
        await Fs.mkdir(dir, { recursive: true })
        await Fs.writeFile(NodePath.join(dir, "secrets"), "a file where the folder should be")
      })
      const error = yield* Effect.flip((yield* Secrets.make(dir)).get("x"))
      expect(error.message).toBe(`secret "x": refused ${NodePath.join(dir, "secrets")}: it is not a folder`)
    }))

  it.effect("values are Redacted: printing one shows <redacted>", () =>
    Effect.gen(function*() {
      const value = yield* (yield* Secrets.make(dataDir("redacted"))).get("p")
      expect(String(value)).toBe("<redacted>")
      expect(JSON.stringify({ value })).toBe(`{"value":"<redacted>"}`)
    }))

  it.effect("layerMemory serves given values and keeps generated ones", () =>
    Effect.gen(function*() {
      const secrets = yield* Secrets.Secrets
      expect(Redacted.value(yield* secrets.get("known"))).toBe("v")
      const generated = Redacted.value(yield* secrets.get("new"))
      expect(generated).toMatch(/^[0-9a-f]{64}$/)
      expect(Redacted.value(yield* secrets.get("new"))).toBe(generated)
      expect((yield* Effect.flip(secrets.get("../x")))._tag).toBe("SecretError")
    }).pipe(Effect.provide(Secrets.layerMemory({ known: "v" }))))
})
