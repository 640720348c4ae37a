import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { HookRegistry } from "@archipelago/orchestrator"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, References } from "effect"
import * as fc from "fast-check"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import * as PreStartHook from "../src/PreStartHook.js"
import { startInPlaceWriter } from "../../../test-support/inplace.js"
import { lightningNode, run } from "./fixtures/manifest.js"

let root = ""
let counter = 0
beforeAll(async () => {
  root = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-hooks-registry-"))
})
afterAll(async () => {
  await Fs.rm(root, { recursive: true, force: true })
})

const freshDataDir = () => NodePath.join(root, `data-${++counter}`)
const read = (path: string) => Effect.promise(() => Fs.readFile(path, "utf8"))
const stat = (path: string) => Effect.promise(() => Fs.stat(path))
const past = new Date("2020-01-02T03:04:05Z")

/** Runs `f` with a registry over `hooks` on a fresh data dir. */
const withRegistry = <A, E>(
  hooks: ReadonlyArray<PreStartHook.PreStartHook>,
  f: (registry: HookRegistry.Service, dataDir: string) => Effect.Effect<A, E>
) => {
  const dataDir = freshDataDir()
  return Effect.flatMap(HookRegistry.HookRegistry, (registry) => f(registry, dataDir)).pipe(
    Effect.provide(Hooks.layer(hooks, { dataDir }))
  )
}

const fileHook = (name: string, path: (ctx: PreStartHook.HookContext) => string, extra: Partial<PreStartHook.RenderedFile> = {}) =>
  PreStartHook.make({
    name,
    // a hook rendering a secret must name its consumers; these test hooks render for "app"
    ...(extra.secret === true ? { secretConsumers: ["app"] } : {}),
    render: (ctx) => Effect.succeed([{ path: path(ctx), content: `${name}\n`, ...extra }])
  })

describe("Hooks.layer", () => {
  it.effect("lists the registered names", () =>
    withRegistry(Builtins.builtins, (registry) =>
      Effect.sync(() => expect(registry.names).toEqual(["bitcoin-ui-nginx", "bitcoin-rpcauth", "lnd-conf", "electrumx-daemon", "electrs-ui-page", "lnd-ui-thunderhub", "demo-ui-page"]))))

  it.effect("no hooks: nothing to do", () =>
    withRegistry(Builtins.builtins, (registry) =>
      Effect.gen(function*() {
        expect(yield* registry.run(run("plain", []))).toEqual({ changed: false, files: [] })
      })))

  it.effect("drift repair: the first render writes, a second one writes nothing, a tampered file is rewritten", () =>
    withRegistry(Builtins.builtins, (registry, dataDir) =>
      Effect.gen(function*() {
        const request = run("bitcoin-ui", ["bitcoin-ui-nginx"])
        const path = NodePath.join(dataDir, "apps", "bitcoin-ui", "nginx.conf")
        const first = yield* registry.run(request)
        expect(first.changed).toBe(true)
        expect(first.files).toEqual([{ hook: "bitcoin-ui-nginx", path, changed: true, sha256: first.files[0]!.sha256 }])
        const original = yield* read(path)
        yield* Effect.promise(() => Fs.utimes(path, past, past))

        const second = yield* registry.run(request)
        expect(second).toEqual({ changed: false, files: [{ ...first.files[0]!, changed: false }] })
        expect((yield* stat(path)).mtime.toISOString()).toBe(past.toISOString())

        yield* Effect.promise(() => Fs.writeFile(path, original.replace("Basic ", "Basic AAAA")))
        const third = yield* registry.run(request)
        expect(third).toEqual({ changed: true, files: [{ ...first.files[0]!, changed: true }] })
        expect(yield* read(path)).toBe(original)

        yield* Effect.promise(() => Fs.rm(path))
        expect((yield* registry.run(request)).changed).toBe(true)
        expect(yield* read(path)).toBe(original)
      })))

  it.effect("a permission drift is repaired without a restart", () =>
    withRegistry(Builtins.builtins, (registry, dataDir) =>
      Effect.gen(function*() {
        const request = run("lnd", ["lnd-conf"])
        yield* registry.run(request)
        const path = NodePath.join(dataDir, "apps", "lnd", "lnd.conf")
        yield* Effect.promise(() => Fs.chmod(path, 0o644))
        expect((yield* registry.run(request)).changed).toBe(false)
        expect((yield* stat(path)).mode & 0o777).toBe(0o600)
      })))

  it.effect("runs the named hooks in the manifest's order; changed when any file changed", () =>
    withRegistry([fileHook("one", (c) => `${c.appDataDir}/one`), fileHook("two", (c) => `${c.appDataDir}/two`)], (registry, dataDir) =>
      Effect.gen(function*() {
        const result = yield* registry.run(run("app", ["two", "one"]))
        expect(result.files.map((f) => [f.hook, f.path, f.changed])).toEqual([
          ["two", `${dataDir}/apps/app/two`, true],
          ["one", `${dataDir}/apps/app/one`, true]
        ])
        yield* Effect.promise(() => Fs.writeFile(`${dataDir}/apps/app/one`, "drifted\n"))
        const again = yield* registry.run(run("app", ["two", "one"]))
        expect(again.changed).toBe(true)
        expect(again.files.map((f) => f.changed)).toEqual([false, true])
      })))

  it.effect("an unknown hook name fails the run", () =>
    withRegistry(Builtins.builtins, (registry) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(registry.run(run("app", ["nope"])))
        expect(error).toEqual(new HookRegistry.HookFailed({ hook: "nope", appId: "app", reason: "no hook of that name is registered" }))
      })))

  it.effect("a failing hook stops the run; files of earlier hooks are kept, later hooks do not run", () =>
    withRegistry([
      fileHook("first", (c) => `${c.appDataDir}/first`),
      PreStartHook.make({ name: "broken", render: (ctx) => Effect.fail(ctx.fail("the template is missing")) }),
      fileHook("last", (c) => `${c.appDataDir}/last`)
    ], (registry, dataDir) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(registry.run(run("app", ["first", "broken", "last"])))
        expect(error.message).toBe("pre-start hook broken failed for app: the template is missing")
        expect(yield* Effect.promise(() => Fs.readdir(`${dataDir}/apps/app`))).toEqual(["first"])
      })))

  it.effect("a crashing hook becomes HookFailed without its message", () =>
    withRegistry([PreStartHook.make({ name: "crash", render: () => Effect.sync(() => { throw new TypeError("secret-ish detail") }) })],
      (registry) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(registry.run(run("app", ["crash"])))
          expect(error.reason).toBe("the hook crashed (TypeError)")
          expect(error.message).not.toContain("secret-ish")
        })))

  it.effect("refuses paths outside the data dir, relative or unnormalized, and writes nothing", () =>
    Effect.gen(function*() {
      const outside = NodePath.join(root, `outside-${++counter}`)
      const cases: ReadonlyArray<[(c: PreStartHook.HookContext) => string, RegExp]> = [
        [() => `${outside}/evil.conf`, /it is outside the data dir/],
        [(c) => `${c.dataDir}/../${NodePath.basename(outside)}/evil.conf`, /it must be absolute and normalized/],
        [() => "relative/evil.conf", /it must be absolute and normalized/],
        [(c) => c.dataDir, /it is outside the data dir/],
        [(c) => `${c.dataDir}-sibling/evil.conf`, /it is outside the data dir/]
      ]
      for (const [path, reason] of cases) {
        yield* withRegistry([fileHook("bad", path)], (registry) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(registry.run(run("app", ["bad"])))
            expect(error.hook).toBe("bad")
            expect(error.reason).toMatch(reason)
          }))
      }
      expect(yield* Effect.promise(() => Fs.access(outside).then(() => true, () => false))).toBe(false)
    }))

  it.effect("for any path a hook returns: the write lands under the data dir or is refused", () =>
    Effect.gen(function*() {
      const segment = fc.oneof(fc.constantFrom("..", ".", "", "app", "x y", "a.conf"), fc.stringMatching(/^[a-z.]{1,5}$/))
      const arbPath = fc.tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 }))
      const samples = fc.sample(arbPath, 60)
      const dataDir = freshDataDir()
      const outsideBefore = yield* Effect.promise(() => Fs.readdir(root))
      for (const [absolute, segments] of samples) {
        const path = `${absolute ? `${dataDir}/` : ""}${segments.join("/")}`
        const hook = fileHook("any", () => path)
        const exit = yield* HookRegistry.HookRegistry.pipe(
          Effect.flatMap((registry) => registry.run(run("app", ["any"]))),
          Effect.provide(Hooks.layer([hook], { dataDir })),
          Effect.exit
        )
        if (Exit.isSuccess(exit)) {
          const written = exit.value.files[0]!.path
          expect(written.startsWith(`${dataDir}/`)).toBe(true)
          expect(NodePath.resolve(written)).toBe(written)
        }
      }
      expect((yield* Effect.promise(() => Fs.readdir(root))).filter((n) => !outsideBefore.includes(n))).toEqual(
        (yield* Effect.promise(() => Fs.access(dataDir).then(() => [NodePath.basename(dataDir)], () => [])))
      )
    }))

  it.effect("refuses a write that a symlink inside the data dir would lead outside", () =>
    Effect.gen(function*() {
      const outside = NodePath.join(root, `target-${++counter}`)
      yield* Effect.promise(() => Fs.mkdir(outside))
      yield* withRegistry([fileHook("sneaky", (c) => `${c.appDataDir}/link/evil.conf`)], (registry, dataDir) =>
        Effect.gen(function*() {
          yield* Effect.promise(async () => {
            await Fs.mkdir(`${dataDir}/apps/app`, { recursive: true })
            await Fs.symlink(outside, `${dataDir}/apps/app/link`)
          })
          const error = yield* Effect.flip(registry.run(run("app", ["sneaky"])))
          expect(error.reason).toBe(`refused ${dataDir}/apps/app/link: it is a symlink`)
        }))
      expect(yield* Effect.promise(() => Fs.readdir(outside))).toEqual([])
    }))

  it.effect("the context carries the app, its manifest, the settings and the data dirs", () =>
    Effect.gen(function*() {
      const dataDir = freshDataDir()
      const seen: Array<unknown> = []
      const probe = PreStartHook.make({
        name: "probe",
        render: (ctx) =>
          Effect.sync(() => {
            seen.push([ctx.appId, ctx.manifest.id, ctx.manifest.name, ctx.dataDir, ctx.appDataDir, ctx.settings])
            return []
          })
      })
      yield* HookRegistry.HookRegistry.pipe(
        Effect.flatMap((registry) => registry.run(run("app", ["probe"]))),
        Effect.provide(Hooks.layer([probe], { dataDir, settings: { dataDir: "/ignored", mirrors: ["m.example"], allowedBindRoots: [] } }))
      )
      expect(seen).toEqual([["app", "app", "App app", dataDir, `${dataDir}/apps/app`, { dataDir, mirrors: ["m.example"], allowedBindRoots: [] }]])
    }))

  it.effect("ctx.read refuses paths outside the data dir and reads none for a missing file", () =>
    withRegistry([
      PreStartHook.make({
        name: "reader",
        render: (ctx) =>
          Effect.gen(function*() {
            const missing = yield* ctx.read(`${ctx.appDataDir}/missing`)
            const refused = yield* Effect.orDie(Effect.flip(ctx.read("/etc/passwd")))
            return [{ path: `${ctx.appDataDir}/out`, content: `${missing._tag} ${refused.reason}\n` }]
          })
      })
    ], (registry, dataDir) =>
      Effect.gen(function*() {
        yield* registry.run(run("app", ["reader"]))
        expect(yield* read(`${dataDir}/apps/app/out`)).toBe(`None refused path /etc/passwd: it is outside the data dir ${dataDir}\n`)
      })))

  it.effect("a secret file may not be readable by others; default modes are 0600 / 0644", () =>
    withRegistry([
      fileHook("leaky", (c) => `${c.appDataDir}/leaky`, { secret: true, mode: 0o644 }),
      fileHook("secret", (c) => `${c.appDataDir}/s/secret`, { secret: true }),
      fileHook("public", (c) => `${c.appDataDir}/p/public`)
    ], (registry, dataDir) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(registry.run(run("app", ["leaky"])))
        expect(error.reason).toBe(`refused mode 644 for ${dataDir}/apps/app/leaky: a file holding a secret must be 0600 or narrower`)
        yield* registry.run(run("app", ["secret", "public"]))
        expect((yield* stat(`${dataDir}/apps/app/s/secret`)).mode & 0o777).toBe(0o600)
        expect((yield* stat(`${dataDir}/apps/app/s`)).mode & 0o777).toBe(0o700)
        expect((yield* stat(`${dataDir}/apps/app/p/public`)).mode & 0o777).toBe(0o644)
        expect((yield* stat(`${dataDir}/apps/app/p`)).mode & 0o777).toBe(0o755)
      })))

  it.effect("an app folder whose first file is not a secret is still 0700, and so is <data>/apps (issue 26)", () =>
    withRegistry([fileHook("public", (c) => `${c.appDataDir}/index.html`)], (registry, dataDir) =>
      Effect.gen(function*() {
        yield* registry.run(run("app", ["public"]))
        expect((yield* stat(`${dataDir}/apps/app/index.html`)).mode & 0o777).toBe(0o644)
        expect((yield* stat(`${dataDir}/apps/app`)).mode & 0o777).toBe(0o700)
        expect((yield* stat(`${dataDir}/apps`)).mode & 0o777).toBe(0o700)
      })))

  it.effect("refuses a hook rendering the same path twice", () =>
    withRegistry([
      PreStartHook.make({
        name: "twice",
        render: (ctx) => Effect.succeed([{ path: `${ctx.appDataDir}/x`, content: "a" }, { path: `${ctx.appDataDir}/x`, content: "b" }])
      })
    ], (registry, dataDir) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(registry.run(run("app", ["twice"])))
        expect(error.reason).toBe(`rendered ${dataDir}/apps/app/x twice`)
      })))

  it.effect("duplicate or invalid hook names are a defect when the layer is built", () =>
    Effect.gen(function*() {
      const dup = yield* Effect.exit(Layer.build(Hooks.layer([Builtins.lndConf, Builtins.lndConf], { dataDir: freshDataDir() })).pipe(Effect.scoped))
      expect(Exit.isFailure(dup) && Exit.getCause(dup)).toBeTruthy()
      expect(String(Exit.isFailure(dup) ? dup.cause : "")).toContain(`hook "lnd-conf" is registered twice`)
      expect(Hooks.validate([fileHook("Bad Name", () => "/x")])).toEqual([`invalid hook name "Bad Name"`])
      expect(Hooks.validate(Builtins.builtins)).toEqual([])
    }))
})

describe("secrets never reach the logs", () => {
  it.effect("all built-ins, drift, failures: no captured log line or error message holds the password", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.map(Logger.formatLogFmt, (line) => lines.push(line))
      const dataDir = freshDataDir()
      const errors: Array<string> = []
      const program = Effect.gen(function*() {
        const registry = yield* HookRegistry.HookRegistry
        const apps = [run("bitcoin-ui", ["bitcoin-ui-nginx"]), run("bitcoin-core", ["bitcoin-rpcauth"]), run("lnd", ["lnd-conf"]),
          run("demo-ui", ["demo-ui-page"])]
        for (const app of apps) yield* registry.run(app)
        for (const app of apps) yield* registry.run(app)
        yield* Effect.promise(() => Fs.writeFile(`${dataDir}/apps/lnd/lnd.conf`, "[Bitcoind]\nbitcoind.rpcpass=wrong\n"))
        yield* registry.run(apps[2]!)
        // A password the lnd.conf renderer must refuse: the error names the field only.
        yield* Effect.promise(() => Fs.writeFile(`${dataDir}/secrets/bitcoin-rpc-password`, " spaced-PASSWORD-value \n"))
        for (const app of apps) {
          const exit = yield* Effect.exit(registry.run(app))
          if (Exit.isFailure(exit)) {
            errors.push(String(exit.cause))
            yield* Effect.logError("hook run failed", exit.cause)
          }
        }
      }).pipe(
        Effect.provide(Hooks.layer(Builtins.builtins, { dataDir })),
        Effect.provide(Logger.layer([capture])),
        Effect.provideService(References.MinimumLogLevel, "All")
      )
      yield* program
      // The first password is generated inside the run: read it back from the lnd.conf it produced.
      const password = (yield* read(`${dataDir}/apps/lnd/lnd.conf`)).match(/bitcoind\.rpcpass=(.+)/)?.[1] ?? ""
      expect(password).toMatch(/^[0-9a-f]{64}$/)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain("cannot render rpcpass: contains a line break or surrounding spaces")
      expect(lines.length).toBeGreaterThan(8)
      const all = lines.join("\n") + errors.join("\n")
      expect(all).toContain("pre-start hook wrote a changed file")
      expect(all).not.toContain(password)
      expect(all).not.toContain("spaced-PASSWORD-value")
      expect(all).not.toContain(Buffer.from(`archipelago:${password}`).toString("base64"))
    }))
})

describe("Provided.readFile: a provider's binary files", () => {
  /** A hook for "app" reading `path` of the `lightning-node` provider "lnd"; renders its hex. */
  const reader = (path: string, options?: { readonly maxBytes?: number }, bound = true) =>
    PreStartHook.make({
      name: "reader",
      ...(bound ? { secretConsumers: ["app"] } : {}),
      render: (ctx) =>
        Effect.gen(function*() {
          const lnd = yield* ctx.provider("lightning-node")
          const bytes = yield* lnd.readFile(path, options)
          return [{ path: `${ctx.appDataDir}/out.hex`, content: Buffer.from(bytes).toString("hex"), secret: true }]
        })
    })
  const request = run("app", ["reader"], {}, [lightningNode()])
  const setup = (dataDir: string, f: (lndDir: string) => Promise<void>) =>
    Effect.promise(async () => {
      const lndDir = NodePath.join(dataDir, "apps", "lnd")
      await Fs.mkdir(NodePath.join(lndDir, "data"), { recursive: true })
      await f(lndDir)
    })
  const reason = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
    Effect.map(Effect.flip(effect), (e) => e.message)

  it.effect("reads bytes (NUL, 0xff) of a file in the provider's data folder, exactly", () =>
    withRegistry([reader("data/admin.macaroon")], (registry, dataDir) =>
      Effect.gen(function*() {
        const bytes = Buffer.from([0x02, 0x01, 0x00, 0xff, 0x0a, 0x80, 0x00])
        yield* setup(dataDir, (lnd) => Fs.writeFile(NodePath.join(lnd, "data", "admin.macaroon"), bytes, { mode: 0o600 }))
        yield* registry.run(request)
        expect(yield* read(NodePath.join(dataDir, "apps", "app", "out.hex"))).toBe(bytes.toString("hex"))
      })))

  it.effect("a missing file, a symlink, a FIFO-like non-file and a file past the bound fail naming the file and the provider", () =>
    Effect.gen(function*() {
      const cases: Array<[string, (lnd: string) => Promise<void>, string, { readonly maxBytes?: number }?]> = [
        ["data/admin.macaroon", async () => {}, "absent (or not a regular file)"],
        ["tls.cert", (lnd) => Fs.symlink("/etc/shadow", NodePath.join(lnd, "tls.cert")), "absent (or not a regular file)"],
        ["data", async () => {}, "absent (or not a regular file)"],
        ["big.cert", (lnd) => Fs.writeFile(NodePath.join(lnd, "big.cert"), Buffer.alloc(4097)), "larger than 4096 bytes", { maxBytes: 4096 }],
        ["big.cert", (lnd) => Fs.writeFile(NodePath.join(lnd, "big.cert"), Buffer.alloc(1024 * 1024 + 1)), "larger than 1048576 bytes"]
      ]
      for (const [path, prepare, why, options] of cases) {
        const message = yield* withRegistry([reader(path, options)], (registry, dataDir) =>
          Effect.andThen(setup(dataDir, prepare), reason(registry.run(request))))
        expect(message).toContain(`cannot read ${path} of lnd for app (hook reader): ${why}`)
      }
    }))

  it.effect("refuses a path leaving the provider's folder (.., absolute, another app, a symlinked folder on the way)", () =>
    Effect.gen(function*() {
      for (const path of ["../secrets/bitcoin-rpc-password", "/etc/passwd", "data/../../app/x", "", "."]) {
        const message = yield* withRegistry([reader(path)], (registry, dataDir) =>
          Effect.andThen(setup(dataDir, async () => {}), reason(registry.run(request))))
        expect(message, path).toContain(`cannot read ${path} of lnd for app (hook reader): the path must be relative and stay inside`)
      }
      const message = yield* withRegistry([reader("linked/admin.macaroon")], (registry, dataDir) =>
        Effect.andThen(
          setup(dataDir, async (lnd) => {
            await Fs.mkdir(NodePath.join(dataDir, "secrets"), { recursive: true })
            await Fs.writeFile(NodePath.join(dataDir, "secrets", "admin.macaroon"), "stolen")
            await Fs.symlink(NodePath.join(dataDir, "secrets"), NodePath.join(lnd, "linked"))
          }),
          reason(registry.run(request))
        ))
      expect(message).toContain("cannot read linked/admin.macaroon of lnd for app (hook reader): refused")
      expect(message).toContain("it is a symlink")
    }))

  it.effect("only a hook bound to its consumers (secretConsumers) may read a provider's files", () =>
    withRegistry([reader("tls.cert", undefined, false)], (registry, dataDir) =>
      Effect.gen(function*() {
        yield* setup(dataDir, (lnd) => Fs.writeFile(NodePath.join(lnd, "tls.cert"), "cert"))
        expect(yield* reason(registry.run(request))).toContain(
          `refused to read "tls.cert" of lnd: the hook declares no secretConsumers`
        )
      })))
})

describe("a provider's file rewritten in place while a hook reads it", () => {
  const reader = PreStartHook.make({
    name: "reader",
    secretConsumers: ["app"],
    render: (ctx) =>
      Effect.gen(function*() {
        const lnd = yield* ctx.provider("lightning-node")
        const bytes = yield* lnd.readFile("data/admin.macaroon")
        return [{ path: `${ctx.appDataDir}/out.bin`, content: Buffer.from(bytes).toString("latin1"), secret: true }]
      })
  })
  const request = run("app", ["reader"], {}, [lightningNode()])
  // whole versions of 300 KB: anything else rendered is a torn read
  const versions = ["a", "b", "c"].map((c) => c.repeat(300_000))

  it.live("the hook never renders from a torn read; a file that never settles fails naming it", () =>
    withRegistry([reader], (registry, dataDir) =>
      Effect.gen(function*() {
        const file = NodePath.join(dataDir, "apps", "lnd", "data", "admin.macaroon")
        const out = NodePath.join(dataDir, "apps", "app", "out.bin")
        yield* Effect.promise(() => Fs.mkdir(NodePath.dirname(file), { recursive: true }))
        const rendered: Array<string> = []
        const failures: Array<string> = []
        // truncate, then 4 KiB chunks 15 ms apart, then 400 ms left alone
        const writer = yield* Effect.promise(() => startInPlaceWriter(file, versions, { chunkBytes: 4096, pauseMs: 15, idleMs: 400 }))
        yield* Effect.gen(function*() {
          const until = Date.now() + 5_000
          while (Date.now() < until) {
            const result = yield* Effect.result(registry.run(request))
            if (result._tag === "Failure") failures.push(result.failure.message)
            else rendered.push(yield* Effect.promise(() => Fs.readFile(out, "latin1")))
          }
        }).pipe(Effect.ensuring(Effect.promise(() => writer.stop())))
        const torn = rendered.filter((r) => !versions.includes(r))
        console.info(`hook reads under an in-place writer: ${rendered.length} renders, ${torn.length} torn, ${failures.length} unsettled`)
        expect(torn.map((t) => t.length)).toEqual([])
        expect(new Set(rendered).size).toBeGreaterThan(1)
        for (const f of failures) expect(f).toContain(`cannot read data/admin.macaroon of lnd for app (hook reader): ${file} kept changing`)
        // a writer that never leaves it alone: the run fails naming the file, nothing torn is written
        const before = yield* Effect.promise(() => Fs.readFile(out, "latin1"))
        const busy = yield* Effect.promise(() => startInPlaceWriter(file, versions, { chunkBytes: 4096, pauseMs: 5, idleMs: 0 }))
        const message = yield* Effect.flip(registry.run(request)).pipe(
          Effect.map((e) => e.message),
          Effect.ensuring(Effect.promise(() => busy.stop()))
        )
        expect(message).toContain(`cannot read data/admin.macaroon of lnd for app (hook reader): ${file} kept changing while it was read`)
        expect(yield* Effect.promise(() => Fs.readFile(out, "latin1"))).toBe(before)
      }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))), 60_000)
})

describe("a file the app rewrites while its hook renders (basedOn)", () => {
  /** A read-modify-write hook appending its line to what it read; `between` runs after the read. */
  const mergeHook = (between: (path: string, attempt: number) => Promise<void>) => {
    let attempts = 0
    const hook = PreStartHook.make({
      name: "merge",
      render: (ctx) =>
        Effect.gen(function*() {
          const path = NodePath.join(ctx.appDataDir, "app.yaml")
          const current = yield* ctx.read(path)
          yield* Effect.promise(() => between(path, ++attempts))
          const base = current._tag === "Some" ? current.value : ""
          const content = base.includes("ours: 1\n") ? base : `${base}ours: 1\n`
          return [{ path, content, basedOn: current._tag === "Some" ? current.value : null }]
        })
    })
    return { hook, attempts: () => attempts }
  }

  it.effect("is rendered again from the rewrite, never overwritten by what was read before it", () =>
    Effect.gen(function*() {
      const { attempts, hook } = mergeHook(async (path, attempt) => {
        if (attempt === 1) {
          await Fs.mkdir(NodePath.dirname(path), { recursive: true })
          await Fs.writeFile(path, "theirs: 2fa\n")
        }
      })
      const [result, content] = yield* withRegistry([hook], (registry, dataDir) =>
        Effect.gen(function*() {
          const result = yield* registry.run(run("app", ["merge"]))
          return [result, yield* read(NodePath.join(dataDir, "apps", "app", "app.yaml"))] as const
        }))
      expect(content).toBe("theirs: 2fa\nours: 1\n")
      expect(result.changed).toBe(true)
      expect(attempts()).toBe(2)
    }))

  it.effect("an in-sync file the app re-dumps meanwhile keeps the app's version", () =>
    Effect.gen(function*() {
      const { attempts, hook } = mergeHook(async (path, attempt) => {
        if (attempt === 1) await Fs.writeFile(path, "ours: 1\ntheirs: re-dumped\n")
      })
      const content = yield* withRegistry([hook], (registry, dataDir) =>
        Effect.gen(function*() {
          const path = NodePath.join(dataDir, "apps", "app", "app.yaml")
          yield* Effect.promise(() => Fs.mkdir(NodePath.dirname(path), { recursive: true }))
          yield* Effect.promise(() => Fs.writeFile(path, "ours: 1\n"))
          expect((yield* registry.run(run("app", ["merge"]))).changed).toBe(false)
          return yield* read(path)
        }))
      expect(content).toBe("ours: 1\ntheirs: re-dumped\n")
      expect(attempts()).toBe(2)
    }))

  it.effect("a file that keeps changing fails the run naming it, and keeps the app's last content", () =>
    Effect.gen(function*() {
      const { attempts, hook } = mergeHook(async (path, attempt) => {
        await Fs.mkdir(NodePath.dirname(path), { recursive: true })
        await Fs.writeFile(path, `theirs: ${attempt}\n`)
      })
      const [exit, content] = yield* withRegistry([hook], (registry, dataDir) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(registry.run(run("app", ["merge"])))
          return [exit, yield* read(NodePath.join(dataDir, "apps", "app", "app.yaml"))] as const
        }))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("kept changing while the hook rendered it (4 attempts)")
      expect(content).toBe("theirs: 4\n")
      expect(attempts()).toBe(4)
    }))
})
