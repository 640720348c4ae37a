import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as fc from "fast-check"
import { fileURLToPath } from "node:url"
import * as Capability from "../../src/manifest/Capability.js"
import * as Catalog from "../../src/manifest/Catalog.js"
import { Manifest } from "../../src/manifest/Manifest.js"

const decode = Schema.decodeUnknownSync(Manifest)
const appsDir = fileURLToPath(new URL("../../../../apps", import.meta.url))
const hookNames = ["bitcoin-ui-nginx", "bitcoin-rpcauth", "lnd-conf", "electrumx-daemon", "electrs-ui-page", "lnd-ui-thunderhub", "demo-ui-page"]

const manifest = (id: string, extra: Record<string, unknown> = {}): Manifest =>
  decode({ id, name: id, version: "1", image: "busybox:1.36", ...extra })

const ids: ReadonlyArray<string> = ["a", "b", "c", "d", "e"]

/** A catalog of providers of `cap` (each with its own published rpc port), and which are installed. */
const world = fc.record({
  provides: fc.subarray([...ids]),
  installed: fc.subarray([...ids]),
  ports: fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: ids.length, maxLength: ids.length })
})

const catalogOf = (w: { readonly provides: ReadonlyArray<string>; readonly ports: ReadonlyArray<number> }) => [
  ...ids.map((id, i) =>
    manifest(id, {
      ports: [{ host: w.ports[i], container: 8332 }],
      ...(w.provides.includes(id) ? { provides: [{ capability: "cap", endpoints: { rpc: 8332 } }] } : {})
    })
  ),
  manifest("consumer", { dependsOn: ["cap", "a"] })
]

describe("Capability", () => {
  it("resolves a capability to the one installed provider, else Missing or Ambiguous (property)", () => {
    fc.assert(fc.property(world, (w) => {
      const manifests = catalogOf(w)
      const consumer = manifests.find((m) => m.id === "consumer")!
      const installed = (id: string) => w.installed.includes(id)
      const [cap, app] = Capability.resolve(manifests, consumer, installed)
      const providers = ids.filter((id) => w.provides.includes(id))
      const up = providers.filter(installed)
      if (up.length === 1) assert.deepStrictEqual(cap, { _tag: "Resolved", name: "cap", appId: up[0] as never })
      else if (up.length === 0) assert.deepStrictEqual(cap, { _tag: "Missing", name: "cap", candidates: providers as never })
      else assert.deepStrictEqual(cap, { _tag: "Ambiguous", name: "cap", installed: up as never })
      // an app id resolves to itself, whatever provides what
      assert.deepStrictEqual(
        app,
        installed("a") ? { _tag: "Resolved", name: "a", appId: "a" as never } : { _tag: "Missing", name: "a", candidates: ["a"] as never }
      )
    }))
  })

  it("the static dependencies cover every resolution, whatever is installed (property)", () => {
    fc.assert(fc.property(world, (w) => {
      const manifests = catalogOf(w)
      const consumer = manifests.find((m) => m.id === "consumer")!
      const all = Capability.dependencyIds(manifests, consumer)
      for (const r of Capability.resolve(manifests, consumer, (id) => w.installed.includes(id))) {
        if (r._tag === "Resolved") assert.include(all, r.appId)
      }
      assert.deepStrictEqual([...all], [...new Set(["a", ...w.provides])].sort())
    }))
  })

  it("a provider's endpoints are its published host ports (property)", () => {
    fc.assert(fc.property(world, (w) => {
      const manifests = catalogOf(w)
      for (const p of Capability.providers(manifests, manifests.find((m) => m.id === "consumer")!, (id) => w.installed.includes(id))) {
        const i = ids.indexOf(p.appId)
        const rpc = { host: "host.containers.internal", port: w.ports[i]!, containerPort: 8332 }
        assert.deepStrictEqual(p.capabilities, w.provides.includes(p.appId) ? { cap: { rpc } } : {})
      }
    }))
  })

  it("leaves out an endpoint whose container port is not published", () => {
    const m = manifest("node", {
      ports: [{ host: 18332, container: 8332 }],
      provides: [{ capability: "bitcoin-node", endpoints: { rpc: 8332, p2p: 8333 } }]
    })
    assert.deepStrictEqual(Capability.endpointsOf(m, "bitcoin-node"), {
      rpc: { host: "host.containers.internal", port: 18332, containerPort: 8332 }
    })
    assert.deepStrictEqual(Capability.endpointsOf(m, "other"), {})
  })

  it("Catalog.make puts every app after each possible provider of what it depends on (property)", () => {
    // app i may depend on apps and capabilities provided by apps before it: always acyclic
    const arb = fc.array(fc.record({ deps: fc.array(fc.nat(20)), provides: fc.boolean() }), { minLength: 1, maxLength: 8 })
    fc.assert(fc.property(arb, (specs) => {
      const manifests = specs.map((s, i) => {
        const deps = [...new Set(s.deps.filter((d) => d < i).map((d) => (d % 2 === 0 ? `app${d}` : `cap${d}`)))]
        return manifest(`app${i}`, {
          dependsOn: deps,
          ...(s.provides ? { provides: [{ capability: `cap${i}` }] } : {})
        })
      })
      const catalog = Catalog.make(manifests.reverse().map((m) => ({ manifest: m, dir: "/x", file: "/x/manifest.yml" })))
      const index = new Map(catalog.apps.map((a, i) => [a.manifest.id as string, i]))
      const all = catalog.apps.map((a) => a.manifest)
      for (const a of catalog.apps) {
        for (const d of Capability.dependencyIds(all, a.manifest)) assert.isBelow(index.get(d)!, index.get(a.manifest.id)!)
      }
    }))
  })

  it("describes what is missing in words", () => {
    assert.strictEqual(
      Capability.describe({ _tag: "Missing", name: "bitcoin-node", candidates: ["bitcoin-core", "bitcoin-knots"] as never }),
      "bitcoin-node (provided by bitcoin-core or bitcoin-knots)"
    )
    assert.strictEqual(Capability.describe({ _tag: "Missing", name: "lnd", candidates: ["lnd"] as never }), "lnd")
  })

  it.effect("the real catalog: lnd, electrumx and bitcoin-ui run on Knots or Core by capability", () =>
    Effect.gen(function*() {
      const catalog = yield* Catalog.load(appsDir, { hookNames })
      const manifests = catalog.apps.map((a) => a.manifest)
      assert.deepStrictEqual(Capability.providersOf(manifests, "bitcoin-node"), ["bitcoin-core", "bitcoin-knots"] as never)
      for (const consumer of ["lnd", "electrumx", "bitcoin-ui"]) {
        const m = catalog.get(consumer)!.manifest
        assert.include(m.dependsOn, "bitcoin-node", consumer)
        for (const node of ["bitcoin-knots", "bitcoin-core"]) {
          const [provider] = Capability.providers(manifests, m, (id) => id === node || id === "lnd")
          assert.strictEqual(provider?.appId, node, `${consumer} on ${node}`)
          assert.deepStrictEqual(provider?.capabilities["bitcoin-node"], {
            rpc: { host: "host.containers.internal", port: 8332, containerPort: 8332 },
            p2p: { host: "host.containers.internal", port: 8333, containerPort: 8333 },
            zmqpubrawblock: { host: "host.containers.internal", port: 28332, containerPort: 28332 },
            zmqpubrawtx: { host: "host.containers.internal", port: 28333, containerPort: 28333 }
          })
        }
        const [missing] = Capability.resolve(manifests, m, () => false)
        assert.strictEqual(Capability.describe(missing!), "bitcoin-node (provided by bitcoin-core or bitcoin-knots)")
      }
      // electrs-ui shows the installed electrum-server's ports
      const [electrum] = Capability.providers(manifests, catalog.get("electrs-ui")!.manifest, (id) => id === "electrumx")
      assert.strictEqual(electrum?.appId, "electrumx")
      assert.deepStrictEqual(electrum?.capabilities["electrum-server"], {
        tcp: { host: "host.containers.internal", port: 50001, containerPort: 50001 },
        ssl: { host: "host.containers.internal", port: 50002, containerPort: 50002 }
      })
      // both alternatives come before every consumer
      const index = new Map(catalog.apps.map((a, i) => [a.manifest.id as string, i]))
      for (const consumer of ["lnd", "electrumx", "bitcoin-ui"]) {
        assert.isBelow(index.get("bitcoin-knots")!, index.get(consumer)!)
        assert.isBelow(index.get("bitcoin-core")!, index.get(consumer)!)
      }
    }).pipe(Effect.provide(NodeServices.layer)))
})
