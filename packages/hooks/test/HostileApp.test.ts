/**
 * Regression tests for a hostile app or a compromised container (issue 11): the folders hooks
 * render into are bind-mounted read-write, so a container can plant symlinks and other entries
 * there. Nothing a hook reads or writes may follow them.
 */
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { HookRegistry } from "@archipelago/orchestrator"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Redacted } from "effect"
import * as Builtins from "../src/Builtins.js"
import * as Hooks from "../src/Hooks.js"
import * as PreStartHook from "../src/PreStartHook.js"
import * as Secrets from "../src/Secrets.js"
import { run } from "./fixtures/manifest.js"

let root = ""
let counter = 0
beforeAll(async () => {
  root = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-hooks-hostile-"))
})
afterAll(async () => {
  await Fs.rm(root, { recursive: true, force: true })
})

const password = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
const token = "TOKEN-the-orchestrators-api-token-0000000000"

/** A data dir with a canonical RPC password and an rpc-token, like a running node's. */
const node = async () => {
  const dataDir = NodePath.join(root, `data-${++counter}`)
  await Fs.mkdir(NodePath.join(dataDir, "secrets"), { recursive: true, mode: 0o700 })
  await Fs.writeFile(NodePath.join(dataDir, "secrets", Secrets.bitcoinRpcPassword), `${password}\n`, { mode: 0o600 })
  await Fs.writeFile(NodePath.join(dataDir, "rpc-token"), `${token}\n`, { mode: 0o600 })
  return dataDir
}

/** Runs `f` with the built-in registry on a fresh node, capturing log lines. */
const withNode = <A, E>(f: (registry: HookRegistry.Service, dataDir: string) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const dataDir = yield* Effect.promise(node)
    const logs: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      logs.push(`${logLevel.toUpperCase()} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
    const result = yield* Effect.flatMap(HookRegistry.HookRegistry, (registry) => f(registry, dataDir)).pipe(
      Effect.provide(Hooks.layer(Builtins.builtins, { dataDir })),
      Effect.provide(Logger.layer([logger]))
    )
    return [result, logs, dataDir] as const
  })

const read = (path: string) => Effect.promise(() => Fs.readFile(path, "utf8"))
const lstat = (path: string) => Effect.promise(() => Fs.lstat(path))
const modeOf = (path: string) => Effect.promise(async () => (await Fs.stat(path)).mode & 0o7777)

describe("a container plants symlinks where hooks render", () => {
  it.effect("lnd.conf -> <data>/rpc-token: the refresh neither leaks the token into lnd.conf nor touches the token", () =>
    Effect.gen(function*() {
      const [, logs, dataDir] = yield* withNode((registry, dataDir) =>
        Effect.gen(function*() {
          const conf = NodePath.join(dataDir, "apps", "lnd", "lnd.conf")
          yield* registry.run(run("lnd", ["lnd-conf"]))
          // The container replaces its lnd.conf by a link and waits for the next refresh (or a restart).
          yield* Effect.promise(async () => {
            await Fs.rm(conf)
            await Fs.symlink(NodePath.join(dataDir, "rpc-token"), conf)
          })
          const result = yield* registry.run(run("lnd", ["lnd-conf"]))
          expect(result.changed).toBe(true)
          expect((yield* lstat(conf)).isFile()).toBe(true)
          const text = yield* read(conf)
          expect(text).not.toContain(token)
          expect(text).toContain(`bitcoind.rpcpass=${password}`)
          expect(yield* modeOf(conf)).toBe(0o600)
        }))
      expect(yield* read(NodePath.join(dataDir, "rpc-token"))).toBe(`${token}\n`)
      expect(yield* modeOf(NodePath.join(dataDir, "rpc-token"))).toBe(0o600)
      const conf = NodePath.join(dataDir, "apps", "lnd", "lnd.conf")
      expect(logs.filter((l) => l.startsWith("WARN"))).toEqual([
        `WARN ${conf} is a symlink: not followed, treated as absent`,
        `WARN ${conf} is a symlink: not followed, replaced by a regular file`
      ])
    }))

  it.effect("bitcoin.conf -> a root-only host file: its content never reaches the rendered file, its mode stays", () =>
    Effect.gen(function*() {
      const hostFile = NodePath.join(root, `shadow-${++counter}`)
      yield* Effect.promise(() => Fs.writeFile(hostFile, "root:$6$HOST-ONLY-HASH:19000:0:99999:7:::\n", { mode: 0o400 }))
      yield* withNode((registry, dataDir) =>
        Effect.gen(function*() {
          const conf = NodePath.join(dataDir, "apps", "bitcoin-core", "bitcoin.conf")
          yield* Effect.promise(async () => {
            await Fs.mkdir(NodePath.dirname(conf), { recursive: true })
            await Fs.symlink(hostFile, conf)
          })
          yield* registry.run(run("bitcoin-core", ["bitcoin-rpcauth"]))
          expect((yield* lstat(conf)).isFile()).toBe(true)
          const text = yield* read(conf)
          expect(text).not.toContain("HOST-ONLY-HASH")
          expect(text).toMatch(/^rpcauth=archipelago:[0-9a-f]+\$[0-9a-f]{64}\n$/)
        }))
      expect(yield* read(hostFile)).toBe("root:$6$HOST-ONLY-HASH:19000:0:99999:7:::\n")
      expect(yield* modeOf(hostFile)).toBe(0o400)
    }))

  it.effect("a FIFO planted as lnd.conf does not hang the refresh; it is replaced", () =>
    withNode((registry, dataDir) =>
      Effect.gen(function*() {
        const conf = NodePath.join(dataDir, "apps", "lnd", "lnd.conf")
        yield* Effect.promise(async () => {
          await Fs.mkdir(NodePath.dirname(conf), { recursive: true })
          const { execFileSync } = await import("node:child_process")
          execFileSync("mkfifo", [conf])
        })
        yield* registry.run(run("lnd", ["lnd-conf"]))
        expect((yield* lstat(conf)).isFile()).toBe(true)
      })))

  it.effect("a symlinked folder on the way (www -> /etc) is refused with a typed error naming it; nothing is written there", () =>
    Effect.gen(function*() {
      const outside = NodePath.join(root, `outside-${++counter}`)
      yield* Effect.promise(() => Fs.mkdir(outside))
      yield* withNode((registry, dataDir) =>
        Effect.gen(function*() {
          yield* Effect.promise(async () => {
            await Fs.mkdir(NodePath.join(dataDir, "apps", "demo-ui"), { recursive: true })
            await Fs.symlink(outside, NodePath.join(dataDir, "apps", "demo-ui", "www"))
          })
          const error = yield* Effect.flip(registry.run(run("demo-ui", ["demo-ui-page"])))
          expect(error).toEqual(new HookRegistry.HookFailed({
            hook: "demo-ui-page",
            appId: "demo-ui",
            reason: `refused ${NodePath.join(dataDir, "apps", "demo-ui", "www")}: it is a symlink`
          }))
        }))
      expect(yield* Effect.promise(() => Fs.readdir(outside))).toEqual([])
    }))

  it.effect("a symlinked secret is not followed: a fresh secret replaces the link, the target is untouched", () =>
    Effect.gen(function*() {
      const elsewhere = NodePath.join(root, `chosen-${++counter}`)
      yield* Effect.promise(() => Fs.writeFile(elsewhere, "attacker-chosen-password\n", { mode: 0o644 }))
      yield* withNode((registry, dataDir) =>
        Effect.gen(function*() {
          const secret = NodePath.join(dataDir, "secrets", Secrets.bitcoinRpcPassword)
          yield* Effect.promise(async () => {
            await Fs.rm(secret)
            await Fs.symlink(elsewhere, secret)
          })
          yield* registry.run(run("lnd", ["lnd-conf"]))
          expect((yield* lstat(secret)).isFile()).toBe(true)
          expect(yield* modeOf(secret)).toBe(0o600)
          const fresh = (yield* read(secret)).trim()
          expect(fresh).toMatch(/^[0-9a-f]{64}$/)
          const conf = yield* read(NodePath.join(dataDir, "apps", "lnd", "lnd.conf"))
          expect(conf).toContain(`bitcoind.rpcpass=${fresh}`)
          expect(conf).not.toContain("attacker-chosen-password")
        }))
      expect(yield* read(elsewhere)).toBe("attacker-chosen-password\n")
      expect(yield* modeOf(elsewhere)).toBe(0o644)
    }))
})

describe("secret-bound hooks: an unrelated app cannot take the bitcoind RPC password", () => {
  it.effect("the registry refuses lnd-conf and bitcoin-ui-nginx for another app, before any hook writes", () =>
    Effect.gen(function*() {
      const [error, , dataDir] = yield* withNode((registry) =>
        Effect.flip(registry.run(run("evil", ["demo-ui-page", "lnd-conf", "bitcoin-ui-nginx"], { volumes: [{ source: ".", target: "/data" }] }))))
      expect(error).toEqual(new HookRegistry.HookNotAllowed({ hook: "lnd-conf", appId: "evil", allowed: ["lnd"] }))
      expect(error.message).toBe("pre-start hook lnd-conf refused for evil: it renders a secret for lnd only")
      // nothing was rendered for the app, not even by the harmless hook before it
      const files = yield* Effect.promise(() => Fs.readdir(dataDir))
      expect(files.sort()).toEqual(["rpc-token", "secrets"])
    }))

  it.effect("the registry publishes the bindings the catalog checks", () =>
    Effect.gen(function*() {
      const [consumers] = yield* withNode((registry) => Effect.succeed(registry.consumers))
      expect(consumers).toEqual({
        "bitcoin-ui-nginx": ["bitcoin-ui"],
        "bitcoin-rpcauth": ["bitcoin-core", "bitcoin-knots"],
        "lnd-conf": ["lnd"],
        "electrumx-daemon": ["electrumx"],
        "lnd-ui-thunderhub": ["lnd-ui"]
      })
      expect(Hooks.consumersOf(Builtins.builtins)).toEqual(consumers)
    }))

  it.effect("each bound app still gets its file", () =>
    Effect.gen(function*() {
      const [, , dataDir] = yield* withNode((registry) =>
        Effect.forEach(
          [["lnd", "lnd-conf"], ["bitcoin-ui", "bitcoin-ui-nginx"], ["bitcoin-knots", "bitcoin-rpcauth"], ["electrumx", "electrumx-daemon"]] as const,
          ([app, hook]) => registry.run(run(app, [hook])),
          { discard: true }
        ))
      for (const f of ["lnd/lnd.conf", "bitcoin-ui/nginx.conf", "bitcoin-knots/bitcoin.conf", "electrumx/daemon.env"]) {
        expect((yield* lstat(NodePath.join(dataDir, "apps", f))).isFile()).toBe(true)
      }
    }))

  it.effect("a plugin hook that reads a secret or renders a secret file without declaring secretConsumers is refused", () =>
    Effect.gen(function*() {
      const dataDir = yield* Effect.promise(node)
      const sneaky = PreStartHook.make({
        name: "sneaky",
        render: (ctx) =>
          Effect.map(ctx.secret(Secrets.bitcoinRpcPassword), (p) => [{ path: `${ctx.appDataDir}/p`, content: Redacted.value(p) }])
      })
      const quiet = PreStartHook.make({
        name: "quiet",
        render: (ctx) => Effect.succeed([{ path: `${ctx.appDataDir}/k`, content: "key\n", secret: true }])
      })
      const [a, b] = yield* Effect.flatMap(HookRegistry.HookRegistry, (registry) =>
        Effect.all([Effect.flip(registry.run(run("x", ["sneaky"]))), Effect.flip(registry.run(run("x", ["quiet"])))])).pipe(
          Effect.provide(Hooks.layer([sneaky, quiet], { dataDir }))
        )
      expect(a.reason).toBe(`refused secret "bitcoin-rpc-password": the hook declares no secretConsumers (the apps allowed to receive it)`)
      expect(b.reason).toBe(`refused ${dataDir}/apps/x/k: a file holding a secret needs the hook to declare secretConsumers`)
      expect(yield* Effect.promise(() => Fs.readdir(dataDir))).not.toContain("x")
    }))

  it("an invalid secret consumer is refused when the registry is built", () => {
    expect(Hooks.validate([PreStartHook.make({ name: "h", secretConsumers: ["Not An App"], render: () => Effect.succeed([]) })]))
      .toEqual([`hook "h": invalid secret consumer "Not An App"`])
  })
})
