import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { HookRegistry } from "@archipelago/orchestrator"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Result, Option, References } from "effect"
import * as fc from "fast-check"
import * as Yaml from "yaml"
import * as Bcrypt from "../src/Bcrypt.js"
import * as BitcoinConf from "../src/BitcoinConf.js"
import * as Builtins from "../src/Builtins.js"
import * as DemoPage from "../src/DemoPage.js"
import * as ElectrumPage from "../src/ElectrumPage.js"
import * as ElectrumxEnv from "../src/ElectrumxEnv.js"
import * as Hooks from "../src/Hooks.js"
import * as NginxConf from "../src/NginxConf.js"
import * as RpcAuth from "../src/RpcAuth.js"
import * as Secrets from "../src/Secrets.js"
import { bitcoinNode, electrumServer, lightningNode, manifest, run } from "./fixtures/manifest.js"
import { hasPython, hasPythonBcrypt, pythonBcrypt, pythonHmac } from "./fixtures/python.js"

let root = ""
let counter = 0
beforeAll(async () => {
  root = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-hooks-builtins-"))
})
afterAll(async () => {
  await Fs.rm(root, { recursive: true, force: true })
})

const password = "5f2b9c0e7a1d4386b0c9e8f7a6d5c4b3a2918070f6e5d4c3b2a1908f7e6d5c4b"

/** A data dir whose canonical RPC password is already `password`. */
const seeded = async (value = password) => {
  const dataDir = NodePath.join(root, `data-${++counter}`)
  await Fs.mkdir(NodePath.join(dataDir, "secrets"), { recursive: true, mode: 0o700 })
  await Fs.writeFile(NodePath.join(dataDir, "secrets", Secrets.bitcoinRpcPassword), `${value}\n`, { mode: 0o600 })
  return dataDir
}

const withDataDir = <A, E>(f: (registry: HookRegistry.Service, dataDir: string) => Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.promise(() => seeded()), (dataDir) =>
    Effect.flatMap(HookRegistry.HookRegistry, (registry) => f(registry, dataDir)).pipe(
      Effect.provide(Hooks.layer(Builtins.builtins, { dataDir }))
    ))

const read = (path: string) => Effect.promise(() => Fs.readFile(path, "utf8"))
const modeOf = (path: string) => Effect.promise(async () => (await Fs.stat(path)).mode & 0o777)

describe("bitcoin-ui-nginx", () => {
  it.effect("writes <dataDir>/bitcoin-ui/nginx.conf, 0600 in a 0700 dir, with the canonical password's header", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const result = yield* registry.run(run("bitcoin-ui", ["bitcoin-ui-nginx"], { role: "ui", ui: { port: 8080 } }))
        const path = NodePath.join(dataDir, "apps", "bitcoin-ui", "nginx.conf")
        expect(result.files.map((f) => f.path)).toEqual([path])
        expect(yield* read(path)).toBe(
          Result.getOrThrow(NginxConf.render({ ...NginxConf.defaults, listenPort: 8080, rpcUser: "archipelago", rpcPassword: password }))
        )
        expect(yield* modeOf(path)).toBe(0o600)
        expect(yield* modeOf(NodePath.dirname(path))).toBe(0o700)
      })))

  it.effect("listens on port 80 when the manifest names no UI port", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        yield* registry.run(run("bitcoin-ui", ["bitcoin-ui-nginx"]))
        expect(yield* read(NodePath.join(dataDir, "apps", "bitcoin-ui", "nginx.conf"))).toContain("    listen 80;\n")
      })))
})

describe("bitcoin-rpcauth", () => {
  const authOf = (text: string) =>
    Option.getOrThrow(Option.flatMap(BitcoinConf.findRpcAuth(text, "archipelago"), RpcAuth.parse))

  it.effect("writes an rpcauth line that verifies the canonical password, keeping the rest of bitcoin.conf", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const path = NodePath.join(dataDir, "apps", "bitcoin-knots", "bitcoin.conf")
        yield* Effect.promise(async () => {
          await Fs.mkdir(NodePath.dirname(path), { recursive: true })
          await Fs.writeFile(path, "# mine\nserver=1\ntxindex=1\n[main]\ndbcache=450\n")
        })
        const result = yield* registry.run(run("bitcoin-knots", ["bitcoin-rpcauth"]))
        expect(result.changed).toBe(true)
        const text = yield* read(path)
        const auth = authOf(text)
        expect(text).toBe(`# mine\nserver=1\ntxindex=1\nrpcauth=${RpcAuth.format(auth)}\n[main]\ndbcache=450\n`)
        expect(auth.salt).toMatch(/^[0-9a-f]{32}$/)
        expect(RpcAuth.verify(auth, password)).toBe(true)
        expect(RpcAuth.verify(auth, `${password}x`)).toBe(false)
        expect(yield* modeOf(path)).toBe(0o600)
        if (hasPython) expect(pythonHmac(auth.salt, password)).toBe(auth.hash)
      })))

  it.effect("keeps the salt while the password verifies: a converged node writes nothing", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const request = run("bitcoin-core", ["bitcoin-rpcauth"])
        yield* registry.run(request)
        const path = NodePath.join(dataDir, "apps", "bitcoin-core", "bitcoin.conf")
        const first = yield* read(path)
        for (let i = 0; i < 3; i++) expect((yield* registry.run(request)).changed).toBe(false)
        expect(yield* read(path)).toBe(first)
      })))

  it.effect("a drifted line (another password's hash) is replaced by one that verifies", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const path = NodePath.join(dataDir, "apps", "bitcoin-core", "bitcoin.conf")
        const stale = RpcAuth.make("archipelago", "00112233445566778899aabbccddeeff", "an-old-password")
        yield* Effect.promise(async () => {
          await Fs.mkdir(NodePath.dirname(path), { recursive: true })
          await Fs.writeFile(path, `server=1\nrpcauth=${RpcAuth.format(stale)}\nrpcauth=alice:ab$${"0".repeat(64)}\n`)
        })
        expect((yield* registry.run(run("bitcoin-core", ["bitcoin-rpcauth"]))).changed).toBe(true)
        const text = yield* read(path)
        const auth = authOf(text)
        expect(auth.salt).not.toBe(stale.salt)
        expect(RpcAuth.verify(auth, password)).toBe(true)
        expect(text).toBe(`server=1\nrpcauth=${RpcAuth.format(auth)}\nrpcauth=alice:ab$${"0".repeat(64)}\n`)
      })))

  it.effect("a changed canonical password rewrites the line (and asks for a restart)", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const request = run("bitcoin-core", ["bitcoin-rpcauth"])
        yield* registry.run(request)
        yield* Effect.promise(() => Fs.writeFile(NodePath.join(dataDir, "secrets", Secrets.bitcoinRpcPassword), "rotated\n"))
        expect((yield* registry.run(request)).changed).toBe(true)
        const auth = authOf(yield* read(NodePath.join(dataDir, "apps", "bitcoin-core", "bitcoin.conf")))
        expect(RpcAuth.verify(auth, "rotated")).toBe(true)
        expect(RpcAuth.verify(auth, password)).toBe(false)
      })))
})

describe("lnd-conf", () => {
  it.effect("sets the [Bitcoind] section of <dataDir>/lnd/lnd.conf, the rest preserved, 0600", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const path = NodePath.join(dataDir, "apps", "lnd", "lnd.conf")
        yield* Effect.promise(async () => {
          await Fs.mkdir(NodePath.dirname(path), { recursive: true })
          await Fs.writeFile(path, "[Application Options]\nalias=home\n\n[Bitcoin]\nbitcoin.node=bitcoind\n")
        })
        expect((yield* registry.run(run("lnd", ["lnd-conf"]))).changed).toBe(true)
        expect(yield* read(path)).toBe([
          "[Application Options]",
          "alias=home",
          "",
          "[Bitcoin]",
          "bitcoin.node=bitcoind",
          "",
          "[Bitcoind]",
          "bitcoind.rpchost=host.containers.internal:8332",
          "bitcoind.rpcuser=archipelago",
          `bitcoind.rpcpass=${password}`,
          "bitcoind.zmqpubrawblock=tcp://host.containers.internal:28332",
          "bitcoind.zmqpubrawtx=tcp://host.containers.internal:28333",
          ""
        ].join("\n"))
        expect(yield* modeOf(path)).toBe(0o600)
        expect((yield* registry.run(run("lnd", ["lnd-conf"]))).changed).toBe(false)
      })))
})

describe("endpoints from the provider's manifest", () => {
  const knots = bitcoinNode("bitcoin-knots", { rpc: 18443, zmqpubrawblock: 38332, zmqpubrawtx: 38333 })

  it.effect("lnd-conf, bitcoin-ui-nginx and electrumx-daemon render the installed provider's host ports", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        yield* registry.run(run("lnd", ["lnd-conf"], {}, [knots]))
        const lnd = yield* read(NodePath.join(dataDir, "apps", "lnd", "lnd.conf"))
        expect(lnd).toContain("bitcoind.rpchost=host.containers.internal:18443\n")
        expect(lnd).toContain("bitcoind.zmqpubrawblock=tcp://host.containers.internal:38332\n")
        expect(lnd).toContain("bitcoind.zmqpubrawtx=tcp://host.containers.internal:38333\n")
        yield* registry.run(run("bitcoin-ui", ["bitcoin-ui-nginx"], { role: "ui" }, [knots]))
        expect(yield* read(NodePath.join(dataDir, "apps", "bitcoin-ui", "nginx.conf"))).toContain("proxy_pass http://host.containers.internal:18443/;")
        yield* registry.run(run("electrumx", ["electrumx-daemon"], {}, [knots]))
        expect(yield* read(NodePath.join(dataDir, "apps", "electrumx", "daemon.env"))).toContain(
          `export DAEMON_URL='http://archipelago:${password}@host.containers.internal:18443/'\n`
        )
      })))

  it.effect("a consumer with no provider of bitcoin-node is refused, naming the capability, and nothing is written", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        for (const [app, hook, file] of [["lnd", "lnd-conf", "lnd.conf"], ["electrumx", "electrumx-daemon", "daemon.env"]] as const) {
          const failed = yield* Effect.result(registry.run(run(app, [hook], {}, [])))
          expect(Result.isFailure(failed) ? failed.failure.message : "").toBe(
            `pre-start hook ${hook} failed for ${app}: no installed app provides "bitcoin-node" to it: the manifest must name "bitcoin-node" in dependsOn, and one of its providers must be installed`
          )
          expect(yield* Effect.promise(() => Fs.access(NodePath.join(dataDir, "apps", app, file)).then(() => true, () => false))).toBe(false)
        }
      })))

  it.effect("a provider without the endpoint a hook needs is refused, naming both", () =>
    withDataDir((registry) =>
      Effect.gen(function*() {
        const rpcOnly = { ...knots, capabilities: { "bitcoin-node": { rpc: knots.capabilities["bitcoin-node"]!["rpc"]! } } }
        const failed = yield* Effect.result(registry.run(run("lnd", ["lnd-conf"], {}, [rpcOnly])))
        expect(Result.isFailure(failed) ? failed.failure.message : "").toBe(
          `pre-start hook lnd-conf failed for lnd: bitcoin-knots provides "bitcoin-node" without a published endpoint "zmqpubrawblock"`
        )
      })))
})

describe("electrumx-daemon", () => {
  it.effect("writes <dataDir>/electrumx/daemon.env 0600 with DAEMON_URL, and repairs it after drift", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const path = NodePath.join(dataDir, "apps", "electrumx", "daemon.env")
        const request = run("electrumx", ["electrumx-daemon"])
        expect((yield* registry.run(request)).changed).toBe(true)
        const rendered = yield* read(path)
        expect(rendered).toBe(
          ElectrumxEnv.render({ rpcUser: "archipelago", rpcPassword: password, rpcHost: "host.containers.internal", rpcPort: 8332 })
            .pipe(Result.getOrThrow)
        )
        expect(rendered).toContain(`export DAEMON_URL='http://archipelago:${password}@host.containers.internal:8332/'\n`)
        expect(yield* modeOf(path)).toBe(0o600)
        expect(yield* modeOf(NodePath.dirname(path))).toBe(0o700)
        expect((yield* registry.run(request)).changed).toBe(false)
        // drift: the file edited by hand (an old password, the wrong port) is rewritten at the next run
        yield* Effect.promise(() => Fs.writeFile(path, "export DAEMON_URL='http://archipelago:old@host.containers.internal:18332/'\n"))
        const repaired = yield* registry.run(request)
        expect(repaired.changed).toBe(true)
        expect(repaired.files.map((f) => [f.hook, f.path, f.changed])).toEqual([["electrumx-daemon", path, true]])
        expect(yield* read(path)).toBe(rendered)
        // a rotated canonical password reaches it too
        yield* Effect.promise(() => Fs.writeFile(NodePath.join(dataDir, "secrets", Secrets.bitcoinRpcPassword), "rotated\n"))
        expect((yield* registry.run(request)).changed).toBe(true)
        expect(yield* read(path)).toContain("archipelago:rotated@")
      })))

  it.effect("is bound to electrumx: another app naming it is refused before anything renders", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const refused = yield* Effect.result(registry.run(run("lnd", ["electrumx-daemon"])))
        expect(Result.isFailure(refused) && refused.failure._tag).toBe("HookNotAllowed")
        expect(Builtins.electrumxDaemon.secretConsumers).toEqual(["electrumx"])
        expect(yield* Effect.promise(() => Fs.access(NodePath.join(dataDir, "apps", "lnd", "daemon.env")).then(() => true, () => false))).toBe(false)
      })))
})

describe("electrs-ui-page", () => {
  it.effect("renders <dataDir>/electrs-ui/www/index.html 0644 with the electrum-server provider's host ports", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const request = run("electrs-ui", ["electrs-ui-page"], { role: "ui" }, [electrumServer(51001, 51002)])
        expect((yield* registry.run(request)).changed).toBe(true)
        const path = NodePath.join(dataDir, "apps", "electrs-ui", "www", "index.html")
        const page = yield* read(path)
        expect(page).toBe(ElectrumPage.render({ server: "App electrumx", tcp: 51001, ssl: 51002 }))
        expect(page).toContain(`<span class="host">this-node</span>:51001:t`)
        expect(page).toContain(`<span class="host">this-node</span>:51002:s`)
        expect(yield* modeOf(path)).toBe(0o644)
        expect((yield* registry.run(request)).changed).toBe(false)
        yield* Effect.promise(() => Fs.writeFile(path, "defaced"))
        expect((yield* registry.run(request)).changed).toBe(true)
        expect(yield* read(path)).toBe(page)
      })))

  it.effect("without an electrum-server provider it fails naming the capability", () =>
    withDataDir((registry) =>
      Effect.gen(function*() {
        const failed = yield* Effect.result(registry.run(run("electrs-ui", ["electrs-ui-page"], {}, [bitcoinNode()])))
        expect(Result.isFailure(failed) ? failed.failure.message : "").toContain(`no installed app provides "electrum-server" to it`)
      })))

  it("escapes the server's name (property)", () => {
    fc.assert(fc.property(fc.string(), (name) => {
      const page = ElectrumPage.render({ server: name, tcp: 50001 })
      expect(page).toContain(DemoPage.escapeHtml(name))
      expect(page.includes("{{")).toBe(false)
      expect(page).not.toContain(":s</code>")
    }))
  })
})

describe("ElectrumxEnv.render", () => {
  it("percent-encodes the credentials so no value leaves its quotes or its line (property)", () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (user, pw) => {
      const text = Result.getOrThrow(ElectrumxEnv.render({ rpcUser: user, rpcPassword: pw, rpcHost: "host.containers.internal", rpcPort: 8332 }))
      const lines = text.split("\n")
      expect(lines.length).toBe(4)
      const m = /^export DAEMON_URL='http:\/\/([^'\s:@\/]*):([^'\s:@\/]*)@host\.containers\.internal:8332\/'$/.exec(lines[2]!)
      expect(m).not.toBeNull()
      expect(decodeURIComponent(m![1]!)).toBe(user)
      expect(decodeURIComponent(m![2]!)).toBe(pw)
    }))
  })

  it("refuses a host or port that is not one", () => {
    const ok = { rpcUser: "a", rpcPassword: "b", rpcHost: "host.containers.internal", rpcPort: 8332 }
    expect(Result.isFailure(ElectrumxEnv.render({ ...ok, rpcHost: "x;rm -rf /" }))).toBe(true)
    expect(Result.isFailure(ElectrumxEnv.render({ ...ok, rpcPort: 0 }))).toBe(true)
    expect(Result.isFailure(ElectrumxEnv.render({ ...ok, rpcPassword: "" }))).toBe(true)
  })
})

describe("demo-ui-page", () => {
  it.effect("renders <dataDir>/demo-ui/www/index.html, 0644 so httpd in the container can read it", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const request = run("demo-ui", ["demo-ui-page"], { description: "Offline demo", role: "ui" })
        yield* registry.run(request)
        const path = NodePath.join(dataDir, "apps", "demo-ui", "www", "index.html")
        expect(yield* read(path)).toBe(DemoPage.render({ id: "demo-ui", name: "App demo-ui", version: "1.0.0", description: "Offline demo" }))
        expect(yield* modeOf(path)).toBe(0o644)
        expect(yield* modeOf(NodePath.dirname(path))).toBe(0o755)
        expect((yield* registry.run(request)).changed).toBe(false)
      })))
})

describe("built-ins as a whole", () => {
  it("exports the built-in hooks by name", () => {
    expect(Builtins.builtins.map((h) => h.name)).toEqual(["bitcoin-ui-nginx", "bitcoin-rpcauth", "lnd-conf", "electrumx-daemon", "electrs-ui-page", "lnd-ui-thunderhub", "demo-ui-page"])
    expect(Builtins.builtins).toEqual([
      Builtins.bitcoinUiNginx,
      Builtins.bitcoinRpcAuth,
      Builtins.lndConf,
      Builtins.electrumxDaemon,
      Builtins.electrsUiPage,
      Builtins.lndUiThunderhub,
      Builtins.demoUiPage
    ])
  })

  it("for any password and manifest: renders are complete (no `{{`), and a second run on the result changes nothing", async () => {
    const arbPassword = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{64}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/)
    )
    // any name a manifest may hold: not blank, no control characters (the schema refuses those)
    const arbName = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== "" && !/[\u0000-\u001f]/.test(s))
    await fc.assert(
      fc.asyncProperty(arbPassword, arbName, async (pw, name) => {
        const dataDir = await seeded(pw)
        const requests = [
          run("bitcoin-ui", ["bitcoin-ui-nginx"]),
          run("bitcoin-core", ["bitcoin-rpcauth"]),
          run("lnd", ["lnd-conf"]),
          run("electrumx", ["electrumx-daemon"]),
          run("electrs-ui", ["electrs-ui-page"], {}, [electrumServer()]),
          { ...run("demo-ui", ["demo-ui-page"]), manifest: manifest("demo-ui", { name, hooks: ["demo-ui-page"] }) }
        ]
        const program = Effect.gen(function*() {
          const registry = yield* HookRegistry.HookRegistry
          const first = yield* Effect.forEach(requests, (r) => registry.run(r))
          const second = yield* Effect.forEach(requests, (r) => registry.run(r))
          return { first, second }
        }).pipe(Effect.provide(Hooks.layer(Builtins.builtins, { dataDir })), Effect.provideService(References.MinimumLogLevel, "None"))
        const { first, second } = await Effect.runPromise(program)
        expect(first.every((r) => r.changed)).toBe(true)
        expect(second.map((r) => r.changed)).toEqual([false, false, false, false, false, false])
        expect(second.flatMap((r) => r.files.map((f) => f.sha256))).toEqual(first.flatMap((r) => r.files.map((f) => f.sha256)))
        for (const file of first.flatMap((r) => r.files)) {
          const text = await Fs.readFile(file.path, "utf8")
          expect(text).not.toContain("{{")
        }
        await Fs.rm(dataDir, { recursive: true, force: true })
      }),
      { numRuns: 40 }
    )
  }, 180_000) // 40 runs of 12 fsynced renders: ~10 s idle, 38 s of the default 60 s bound under load; the bound is not what the test is about
})

describe("lnd-ui-thunderhub", () => {
  const macaroon = Buffer.from([0x02, 0x01, 0x03, 0x6c, 0x6e, 0x64, 0x00, 0xff, 0x10])
  const cert = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
  const lndFiles = (dataDir: string, mac: Uint8Array = macaroon, tls: Uint8Array = cert) =>
    Effect.promise(async () => {
      const lnd = NodePath.join(dataDir, "apps", "lnd")
      await Fs.mkdir(NodePath.join(lnd, "data", "chain", "bitcoin", "mainnet"), { recursive: true })
      await Fs.writeFile(NodePath.join(lnd, Builtins.lndFiles.adminMacaroon("mainnet")), mac, { mode: 0o600 })
      await Fs.writeFile(NodePath.join(lnd, Builtins.lndFiles.tlsCert), tls, { mode: 0o644 })
    })
  const request = run("lnd-ui", ["lnd-ui-thunderhub"], { role: "ui" }, [lightningNode("lnd", 10019)])
  const configOf = (dataDir: string) => NodePath.join(dataDir, "apps", "lnd-ui", "data", "thubConfig.yaml")
  const secretOf = (dataDir: string) =>
    Effect.map(read(NodePath.join(dataDir, "secrets", Secrets.lndUiPassword)), (s) => s.trim())
  const parsed = (dataDir: string) => Effect.map(read(configOf(dataDir)), (text) => Yaml.parse(text))

  it.effect("renders ThunderHub's account config from the provider's endpoint, macaroon and cert, with a bcrypt'd password (0600)", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        yield* lndFiles(dataDir)
        const first = yield* registry.run(request)
        expect(first.changed).toBe(true)
        const config = yield* parsed(dataDir)
        expect(config.defaultNetwork).toBe("mainnet")
        expect(config.accounts).toEqual([{
          name: "LND",
          serverUrl: "host.containers.internal:10019",
          macaroon: macaroon.toString("hex"),
          certificate: cert.toString("hex")
        }])
        const password = yield* secretOf(dataDir)
        expect(password).toMatch(/^[0-9a-f]{64}$/)
        expect(config.masterPassword).toMatch(/^thunderhub-\$2b\$10\$/)
        const stored = config.masterPassword.slice("thunderhub-".length)
        expect(Bcrypt.verify(password, stored)).toBe(true)
        if (hasPythonBcrypt) expect(yield* Effect.promise(() => pythonBcrypt(password, stored))).toBe(stored)
        expect(yield* read(configOf(dataDir))).not.toContain(password)
        expect(yield* modeOf(configOf(dataDir))).toBe(0o600)
        // converged: a second pass writes nothing
        const again = yield* registry.run(request)
        expect(again.changed).toBe(false)
      })))

  it.effect("drift is judged on meaning: ThunderHub's own re-dump is kept; a new macaroon or password is repaired, keeping ThunderHub's keys", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        yield* lndFiles(dataDir)
        yield* registry.run(request)
        const rendered = yield* parsed(dataDir)
        // what ThunderHub writes back: its own layout, no comments, a 2FA secret added
        const redump = Yaml.stringify(
          { ...rendered, accounts: [{ ...rendered.accounts[0], twofaSecret: "JBSWY3DPEHPK3PXP" }] },
          { defaultStringType: "QUOTE_SINGLE", indent: 4 }
        )
        yield* Effect.promise(() => Fs.writeFile(configOf(dataDir), redump))
        for (let i = 0; i < 3; i++) expect((yield* registry.run(request)).changed).toBe(false)
        expect(yield* read(configOf(dataDir))).toBe(redump)

        // LND rotates its macaroon: rewritten, the hash (it still verifies) and the 2FA secret kept
        const rotated = Buffer.from("0201ab", "hex")
        yield* lndFiles(dataDir, rotated)
        expect((yield* registry.run(request)).changed).toBe(true)
        const repaired = yield* parsed(dataDir)
        expect(repaired.accounts[0].macaroon).toBe("0201ab")
        expect(repaired.accounts[0].twofaSecret).toBe("JBSWY3DPEHPK3PXP")
        expect(repaired.masterPassword).toBe(rendered.masterPassword)

        // the canonical password rotates: a new hash that verifies it
        const next = "0f".repeat(32)
        yield* Effect.promise(() => Fs.writeFile(NodePath.join(dataDir, "secrets", Secrets.lndUiPassword), `${next}\n`))
        expect((yield* registry.run(request)).changed).toBe(true)
        const rehashed = (yield* parsed(dataDir)).masterPassword as string
        expect(rehashed).not.toBe(rendered.masterPassword)
        expect(Bcrypt.verify(next, rehashed.slice("thunderhub-".length))).toBe(true)
      })))

  it.effect("fails naming the file while LND has not written its macaroon, and never renders for another app", () =>
    withDataDir((registry, dataDir) =>
      Effect.gen(function*() {
        const missing = yield* Effect.flip(registry.run(request))
        expect(missing.message).toContain(
          "cannot read data/chain/bitcoin/mainnet/admin.macaroon of lnd for lnd-ui (hook lnd-ui-thunderhub): absent"
        )
        yield* lndFiles(dataDir)
        const evil = yield* Effect.flip(registry.run(run("evil", ["lnd-ui-thunderhub"], {}, [lightningNode()])))
        expect(evil._tag).toBe("HookNotAllowed")
        expect(yield* Effect.promise(() => Fs.stat(NodePath.join(dataDir, "apps", "evil")).then(() => true, () => false))).toBe(false)
        const noLnd = yield* Effect.flip(registry.run(run("lnd-ui", ["lnd-ui-thunderhub"], {}, [])))
        expect(noLnd.message).toContain(`no installed app provides "lightning-node"`)
      })))
})
