import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fc from "fast-check"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Capability from "../../src/manifest/Capability.js"
import * as Catalog from "../../src/manifest/Catalog.js"
import * as Loader from "../../src/manifest/Loader.js"
import { CatalogError } from "../../src/manifest/ManifestError.js"
import * as Settings from "../../src/manifest/Settings.js"
import * as Spec from "../../src/manifest/Spec.js"
import { prop } from "../../../../test-support/prop.js"

const appsDir = fileURLToPath(new URL("../../../../apps", import.meta.url))
const hookNames = ["bitcoin-ui-nginx", "bitcoin-rpcauth", "lnd-conf", "electrumx-daemon", "electrs-ui-page", "lnd-ui-thunderhub", "demo-ui-page"]

const temps: Array<string> = []
afterAll(() => {
  for (const t of temps) Fs.rmSync(t, { recursive: true, force: true })
})

/** Writes a catalog folder from `{ id: manifestText }`; returns its path. */
const writeCatalog = (apps: Readonly<Record<string, string | null>>): string => {
  const dir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "t-manifest-catalog-"))
  temps.push(dir)
  for (const [id, text] of Object.entries(apps)) {
    Fs.mkdirSync(NodePath.join(dir, id))
    if (text !== null) Fs.writeFileSync(NodePath.join(dir, id, "manifest.yml"), text)
  }
  return dir
}

const app = (id: string, extra = "") => `id: ${id}\nname: ${id}\nversion: "1"\nimage: busybox:1.36\n${extra}`

/** Loads a catalog written to a temp folder and returns its error messages, paths made relative. */
const loadErrors = (apps: Readonly<Record<string, string | null>>) =>
  Effect.gen(function*() {
    const dir = writeCatalog(apps)
    const result = yield* Effect.result(Catalog.load(dir, { hookNames }))
    return Result.match(result, {
      onFailure: (e) => e.errors.map((x) => x.message.replaceAll(dir, "apps")),
      onSuccess: () => []
    })
  }).pipe(Effect.provide(NodeServices.layer))

describe("Catalog.load", () => {
  it.effect("loads the real apps/ folder", () =>
    Effect.gen(function*() {
      const catalog = yield* Catalog.load(appsDir, { hookNames })
      const ids = catalog.apps.map((a) => a.manifest.id)
      assert.deepStrictEqual(ids, [
        "bitcoin-core",
        "bitcoin-knots",
        "bitcoin-ui",
        "demo-node",
        "demo-indexer",
        "demo-lightning",
        "demo-ui",
        "electrumx",
        "electrs-ui",
        "lnd",
        "lnd-ui"
      ])
      const lnd = catalog.get("lnd")!
      assert.strictEqual(lnd.dir, NodePath.join(appsDir, "lnd"))
      assert.strictEqual(lnd.file, NodePath.join(appsDir, "lnd", "manifest.yml"))
      assert.strictEqual(lnd.manifest.stopTimeout, 330)
      assert.strictEqual(catalog.get("bitcoin-core")!.manifest.stopTimeout, 600)
      assert.strictEqual(catalog.get("bitcoin-knots")!.manifest.stopTimeout, 600)
      assert.strictEqual(catalog.get("nope"), undefined)
      assert.deepStrictEqual(
        catalog.apps.filter((a) => a.manifest.role === "ui").map((a) => Spec.containerName(a.manifest)),
        ["archy-bitcoin-ui", "archy-demo-ui", "archy-electrs-ui", "archy-lnd-ui"]
      )
      for (const a of catalog.apps) {
        assert.deepStrictEqual(a.manifest.extraHosts, { "host.containers.internal": "host-gateway" }, a.manifest.id)
        assert.isDefined(a.manifest.memory, a.manifest.id)
      }
      assert.deepStrictEqual(catalog.get("bitcoin-ui")!.manifest.hooks, ["bitcoin-ui-nginx"])
      assert.deepStrictEqual(catalog.get("bitcoin-core")!.manifest.hooks, ["bitcoin-rpcauth"])
      assert.deepStrictEqual(catalog.get("bitcoin-knots")!.manifest.hooks, ["bitcoin-rpcauth"])
      assert.deepStrictEqual(catalog.get("lnd")!.manifest.hooks, ["lnd-conf"])
      assert.deepStrictEqual(catalog.get("demo-ui")!.manifest.hooks, ["demo-ui-page"])
      assert.deepStrictEqual<ReadonlyArray<string>>(Catalog.conflictsWith(catalog, "bitcoin-core"), ["bitcoin-knots"])
      assert.deepStrictEqual<ReadonlyArray<string>>(Catalog.conflictsWith(catalog, "bitcoin-knots"), ["bitcoin-core"])
      assert.deepStrictEqual<ReadonlyArray<string>>(Catalog.conflictsWith(catalog, "lnd"), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("every app comes after its dependencies", () =>
    Effect.gen(function*() {
      const catalog = yield* Catalog.load(appsDir, { hookNames })
      const index = new Map(catalog.apps.map((a, i) => [a.manifest.id as string, i]))
      const manifests = catalog.apps.map((a) => a.manifest)
      for (const a of catalog.apps) {
        for (const d of Capability.dependencyIds(manifests, a.manifest)) {
          assert.isTrue(index.get(d)! < index.get(a.manifest.id)!, `${d} before ${a.manifest.id}`)
        }
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("real manifests pin their images and demo manifests build on the base image", () =>
    Effect.gen(function*() {
      const catalog = yield* Catalog.load(appsDir, { hookNames })
      for (const a of catalog.apps) {
        if (a.manifest.id.startsWith("demo-")) {
          assert.isDefined(a.manifest.build, a.manifest.id)
          const containerfile = Fs.readFileSync(NodePath.join(a.dir, a.manifest.build!.containerfile ?? "Containerfile"), "utf8")
          assert.match(containerfile, /^FROM localhost\/archipelago\/base:latest$/m)
          const delay = Number(a.manifest.env["STOP_DELAY"])
          assert.isTrue(delay > 0 && delay < a.manifest.stopTimeout, `${a.manifest.id}: STOP_DELAY ${delay} < stopTimeout`)
        } else {
          assert.match(a.manifest.image ?? "", /:[^:]+$/, a.manifest.id)
          assert.notMatch(a.manifest.image ?? "", /:latest$/, a.manifest.id)
        }
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("golden: a dependency that does not exist", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({ lnd: app("lnd", "dependsOn: [bitcoin-cor]\n"), "bitcoin-core": app("bitcoin-core") })
      assert.deepStrictEqual(errors, [
        `apps/lnd/manifest.yml:5:13 dependsOn[0]: no app is called "bitcoin-cor" and no app provides it as a capability; did you mean "bitcoin-core"?`
      ])
    }))

  const node = (id: string, other: string | undefined, port = 8332) =>
    app(
      id,
      `ports:\n  - host: ${port}\n    container: 8332\nprovides:\n  - capability: bitcoin-node\n    endpoints: {rpc: 8332}\n${
        other === undefined ? "" : `conflicts: [${other}]\n`
      }`
    )

  it.effect("golden: a capability nobody provides, with a suggestion", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({ lnd: app("lnd", "dependsOn: [bitcoin-nod]\n"), "bitcoin-core": node("bitcoin-core", undefined) })
      assert.deepStrictEqual(errors, [
        `apps/lnd/manifest.yml:5:13 dependsOn[0]: no app is called "bitcoin-nod" and no app provides it as a capability; did you mean "bitcoin-node"?`
      ])
    }))

  it.effect("golden: two providers of one capability that do not conflict", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({ "bitcoin-core": node("bitcoin-core", undefined), "bitcoin-knots": node("bitcoin-knots", undefined, 18332) })
      assert.deepStrictEqual(errors, [
        `apps/bitcoin-knots/manifest.yml:9:17 provides[0].capability: bitcoin-core also provides "bitcoin-node"; list each other in conflicts so exactly one of them is installed`
      ])
    }))

  it.effect("golden: a capability named like an app", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        lnd: app("lnd"),
        node: app("node", "provides:\n  - capability: lnd\n")
      })
      assert.deepStrictEqual(errors, [`apps/node/manifest.yml:6:17 provides[0].capability: "lnd" is the id of an app; name the capability differently`])
    }))

  it.effect("golden: a capability only conflicting apps provide", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        lnd: app("lnd", "dependsOn: [bitcoin-node]\nconflicts: [bitcoin-core]\n"),
        "bitcoin-core": node("bitcoin-core", undefined)
      })
      assert.deepStrictEqual(errors, [
        `apps/lnd/manifest.yml:5:13 dependsOn[0]: every provider of "bitcoin-node" (bitcoin-core) conflicts with lnd`
      ])
    }))

  it.effect("alternatives by capability load: each conflicting provider, one consumer", () =>
    Effect.gen(function*() {
      const dir = writeCatalog({
        "bitcoin-core": node("bitcoin-core", "bitcoin-knots"),
        "bitcoin-knots": node("bitcoin-knots", undefined),
        lnd: app("lnd", "dependsOn: [bitcoin-node]\n")
      })
      const catalog = yield* Catalog.load(dir, { hookNames }).pipe(Effect.provide(NodeServices.layer))
      assert.deepStrictEqual(catalog.apps.map((a) => a.manifest.id as string), ["bitcoin-core", "bitcoin-knots", "lnd"])
    }))

  it.effect("golden: a cycle through a capability", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        a: app("a", "dependsOn: [cap-b]\n"),
        b: app("b", "dependsOn: [a]\nprovides:\n  - capability: cap-b\n")
      })
      assert.deepStrictEqual(errors, [`apps/a/manifest.yml:5:13 dependsOn[0]: dependency cycle: a -> b -> a`])
    }))

  it.effect("golden: a dependency cycle, printed", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        a: app("a", "dependsOn: [b]\n"),
        b: app("b", "dependsOn: [c]\n"),
        c: app("c", "dependsOn: [a]\n"),
        d: app("d", "dependsOn: [a]\n")
      })
      assert.deepStrictEqual(errors, [`apps/a/manifest.yml:5:13 dependsOn[0]: dependency cycle: a -> b -> c -> a`])
    }))

  it.effect("golden: two apps publishing the same host port, both named", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        "demo-node": app("demo-node", "ports:\n  - host: 18081\n    container: 8080\n"),
        "demo-copy": app("demo-copy", "ports:\n  - host: 18081\n    container: 80\n")
      })
      assert.deepStrictEqual(errors, [
        `apps/demo-node/manifest.yml:6:11 ports[0].host: host port 18081/tcp is also published by demo-copy (apps/demo-copy/manifest.yml:6:11); give one of them another port or declare them in conflicts`
      ])
    }))

  it.effect("golden: an app mounting another app's named volume that starts with its own id", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        "demo-node": app("demo-node", "volumes:\n  - {source: demo-node-data, target: /data}\n"),
        demo: app("demo", "volumes:\n  - {source: demo-node-data, target: /data}\n  - {source: demo-data, target: /d}\n")
      })
      assert.deepStrictEqual(errors, [
        `apps/demo/manifest.yml:6:14 volumes[0].source: named volume "demo-node-data" belongs to demo-node; name this app's own volume "demo-<name>"`
      ])
      assert.strictEqual(Catalog.ownerOf("demo-node-data", ["demo", "demo-node", "demo-ui"]), "demo-node")
      assert.strictEqual(Catalog.ownerOf("x-data", ["demo"]), undefined)
    }))

  it.effect("refuses an oversized manifest by its size before reading it", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({ big: app("big", `description: "${"x".repeat(Loader.maxBytes)}"\n`) })
      assert.deepStrictEqual(errors, [`apps/big/manifest.yml:1:1: the manifest is larger than 256 KiB`])
    }))

  it.effect("apps in conflict may publish the same ports; other bind addresses do not collide", () =>
    Effect.gen(function*() {
      const ports = "ports:\n  - {host: 8333, container: 8333}\n"
      assert.deepStrictEqual(
        yield* loadErrors({
          "bitcoin-core": app("bitcoin-core", `${ports}conflicts: [bitcoin-knots]\n`),
          "bitcoin-knots": app("bitcoin-knots", ports),
          a: app("a", "ports:\n  - {host: 9000, container: 1, hostIp: 127.0.0.1}\n"),
          b: app("b", "ports:\n  - {host: 9000, container: 1, hostIp: 127.0.0.2}\n"),
          c: app("c", "ports:\n  - {host: 9000, container: 1, protocol: udp}\n")
        }),
        []
      )
    }))

  it.effect("golden: a dependency on a conflicting app", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        "bitcoin-core": app("bitcoin-core", "conflicts: [bitcoin-knots]\n"),
        "bitcoin-knots": app("bitcoin-knots", "dependsOn: [bitcoin-core]\n")
      })
      assert.deepStrictEqual(errors, [
        `apps/bitcoin-knots/manifest.yml:5:13 dependsOn[0]: "bitcoin-core" conflicts with bitcoin-knots: they are never installed together`
      ])
    }))

  it.effect("golden: two apps with one container name", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({
        "archy-x": app("archy-x"),
        x: app("x", "role: ui\n")
      })
      assert.deepStrictEqual(errors, [`apps/x/manifest.yml:1:5 id: container name "archy-x" is also used by archy-x`])
    }))

  it.effect("golden: a folder without a manifest, and an unknown conflict", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({ empty: null, x: app("x", "conflicts: [nobody]\n") })
      assert.strictEqual(errors.length, 2)
      assert.match(errors[0]!, /^apps\/empty\/manifest\.yml: cannot read the manifest: /)
      assert.strictEqual(errors[1], `apps/x/manifest.yml:5:13 conflicts[0]: unknown app "nobody"`)
    }))

  it.effect("reports every error of every manifest at once, by file and line", () =>
    Effect.gen(function*() {
      const dir = writeCatalog({
        a: app("a", "memory: lots\nhooks: [nginx]\n"),
        b: app("b2"),
        c: app("c", "dependsOn: [a, zzz]\n")
      })
      const error = yield* Effect.flip(Catalog.load(dir, { hookNames }))
      assert.instanceOf(error, CatalogError)
      assert.deepStrictEqual(error.errors.map((e) => [NodePath.relative(dir, e.file), e.rule]), [
        ["a/manifest.yml", "memory"],
        ["a/manifest.yml", "hook"],
        ["b/manifest.yml", "id-folder"],
        ["c/manifest.yml", "depends-on"]
      ])
      assert.strictEqual(error.message.split("\n")[0], "4 errors in the app catalog:")
      assert.strictEqual(error.message.split("\n").length, 5)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a broken dependency is not also reported as missing", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors({ a: app("a", "memory: lots\n"), b: app("b", "dependsOn: [a]\n") })
      assert.deepStrictEqual(errors, [`apps/a/manifest.yml:5:9 memory: expected a size such as "128Mi", "2Gi" or "512M", got "lots"`])
    }))

  it.effect("golden: a build whose context or Containerfile is missing or leaves the folder through a symlink", () =>
    Effect.gen(function*() {
      const build = (id: string, b: string) => `id: ${id}\nname: ${id}\nversion: "1"\nbuild: ${b}\n`
      const dir = writeCatalog({
        ok: build("ok", "{context: .}"),
        nodir: build("nodir", "{context: src}"),
        nofile: build("nofile", "{context: ., containerfile: Dockerfile}"),
        escape: build("escape", "{context: outside}"),
        fileescape: build("fileescape", "{context: ., containerfile: Containerfile}")
      })
      for (const id of ["ok", "nofile"]) Fs.writeFileSync(NodePath.join(dir, id, "Containerfile"), "FROM scratch\n")
      Fs.symlinkSync("/etc", NodePath.join(dir, "escape", "outside"))
      Fs.symlinkSync("/etc/hostname", NodePath.join(dir, "fileescape", "Containerfile"))
      const error = yield* Effect.flip(Catalog.load(dir))
      assert.deepStrictEqual(error.errors.map((e) => e.message.replaceAll(dir, "apps")), [
        `apps/escape/manifest.yml:4:18 build.context: expected a folder inside the app's folder, got "outside" (a symlink leading to /etc)`,
        `apps/fileescape/manifest.yml:4:36 build.containerfile: expected a file inside the build context, got "Containerfile" (a symlink leading to /etc/hostname)`,
        `apps/nodir/manifest.yml:4:18 build.context: folder "src" not found in the app's folder`,
        `apps/nofile/manifest.yml:4:36 build.containerfile: Containerfile "Dockerfile" not found in the build context`
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("skips hidden and underscore folders and plain files", () =>
    Effect.gen(function*() {
      const dir = writeCatalog({ a: app("a"), ".git": null, _shared: null })
      Fs.writeFileSync(NodePath.join(dir, "README.md"), "# apps\n")
      const catalog = yield* Catalog.load(dir)
      assert.deepStrictEqual(catalog.apps.map((x) => x.manifest.id), ["a"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("fails with one located error when the folder is missing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Catalog.load("/nonexistent/t-manifest-apps"))
      assert.strictEqual(error.errors.length, 1)
      assert.strictEqual(error.errors[0]!.rule, "io")
      assert.match(error.message, /\/nonexistent\/t-manifest-apps: the app folder does not exist \(set --apps/)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("Catalog.loadTolerant", () => {
  it.effect("one broken manifest leaves the rest standing; the broken app keeps its located errors", () =>
    Effect.gen(function*() {
      const dir = writeCatalog({
        a: app("a"),
        b: app("b", "memory: lots\n"),
        c: app("c", "dependsOn: [a]\n"),
        d: app("d", "ports: [{host: 8080, container: 80}]\n"),
        e: app("e", "ports: [{host: 8080, container: 80}]\n")
      })
      const loaded = yield* Catalog.loadTolerant(dir, { hookNames })
      // the collision is the later app's error: the first to publish the port keeps it
      assert.deepStrictEqual(loaded.catalog.apps.map((x) => x.manifest.id), ["a", "c", "d"])
      assert.deepStrictEqual(loaded.broken.map((x) => [x.id, x.errors.map((e) => NodePath.relative(dir, e.file) + " " + e.rule)]), [
        ["b", ["b/manifest.yml memory"]],
        ["e", ["e/manifest.yml port-collision"]]
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("an app depending on a broken one stays (the missing provider is the reconciler's to wait for)", () =>
    Effect.gen(function*() {
      const dir = writeCatalog({ a: app("a", "memory: lots\n"), b: app("b", "dependsOn: [a]\n") })
      const loaded = yield* Catalog.loadTolerant(dir, { hookNames })
      assert.deepStrictEqual(loaded.catalog.apps.map((x) => x.manifest.id), ["b"])
      assert.deepStrictEqual(loaded.broken.map((x) => x.id), ["a"])
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("Catalog.make", () => {
  it("orders dependencies first, ties by id", () => {
    const m = (id: string, dependsOn: ReadonlyArray<string>) => ({
      manifest: { id, dependsOn, conflicts: [] } as unknown as Catalog.CatalogApp["manifest"],
      dir: `/apps/${id}`,
      file: `/apps/${id}/manifest.yml`
    })
    const catalog = Catalog.make([m("z", []), m("a", ["z"]), m("b", ["a", "c"]), m("c", [])])
    assert.deepStrictEqual(catalog.apps.map((a) => a.manifest.id), ["z", "a", "c", "b"])
  })
})

describe("Catalog.check properties", () => {
  const ids = ["a", "b", "c", "d", "e", "f"]
  const arbGraph = fc.array(
    fc.record({
      deps: fc.subarray(ids, { maxLength: 3 }),
      conflicts: fc.subarray(ids, { maxLength: 1 }),
      port: fc.option(fc.integer({ min: 9000, max: 9003 }), { nil: undefined })
    }),
    { minLength: ids.length, maxLength: ids.length }
  )

  const entriesOf = (graph: ReadonlyArray<{ deps: ReadonlyArray<string>; conflicts: ReadonlyArray<string>; port: number | undefined }>) =>
    graph.map((g, i) => {
      const id = ids[i]!
      const text = [
        `id: ${id}`,
        `name: ${id}`,
        `version: "1"`,
        `image: busybox:1.36`,
        `dependsOn: [${g.deps.filter((d) => d !== id).join(", ")}]`,
        `conflicts: [${g.conflicts.filter((d) => d !== id && !g.deps.includes(d)).join(", ")}]`,
        ...(g.port === undefined ? [] : [`ports: [{host: ${g.port}, container: 80}]`]),
        ""
      ].join("\n")
      const located = Result.getOrThrow(Loader.parseLocated(text, `apps/${id}/manifest.yml`, { expectedId: id }))
      return { app: { manifest: located.manifest, dir: `/apps/${id}`, file: `/apps/${id}/manifest.yml` }, located, shownFile: `apps/${id}/manifest.yml` }
    })

  const hasCycle = (deps: ReadonlyMap<string, ReadonlyArray<string>>): boolean => {
    const state = new Map<string, number>()
    const visit = (n: string): boolean => {
      if (state.get(n) === 1) return true
      if (state.get(n) === 2) return false
      state.set(n, 1)
      const cyclic = (deps.get(n) ?? []).some(visit)
      state.set(n, 2)
      return cyclic
    }
    return [...deps.keys()].some(visit)
  }

  prop("a catalog is accepted exactly when it has no cycle, collision or conflicting dependency; then dependencies come first", [arbGraph], ([graph]) => {
    const entries = entriesOf(graph)
    const result = Catalog.check(entries)
    const manifests = entries.map((e) => e.app.manifest)
    const deps = new Map(manifests.map((m) => [m.id as string, m.dependsOn as ReadonlyArray<string>]))
    const conflicting = (x: typeof manifests[number], y: typeof manifests[number]) =>
      x.conflicts.includes(y.id) || y.conflicts.includes(x.id)
    const collision = manifests.some((x, i) =>
      manifests.some((y, j) => j > i && !conflicting(x, y) && x.ports.some((p) => y.ports.some((q) => q.host === p.host)))
    )
    const badDependency = manifests.some((x) => x.dependsOn.some((d) => conflicting(x, manifests.find((m) => m.id === d)!)))
    assert.strictEqual(Result.isSuccess(result), !hasCycle(deps) && !collision && !badDependency)
    if (Result.isSuccess(result)) {
      const order = result.success.apps.map((a) => a.manifest.id as string)
      assert.deepStrictEqual([...order].sort(), ids)
      for (const m of manifests) for (const d of m.dependsOn) assert.isTrue(order.indexOf(d) < order.indexOf(m.id), `${d} before ${m.id}`)
    } else {
      for (const e of result.failure) assert.isTrue(e.line >= 1 && e.column >= 1 && e.message.startsWith(`${e.file}:${e.line}:${e.column} `), e.message)
      if (hasCycle(deps)) assert.isTrue(result.failure.some((e) => e.rule === "dependency-cycle"))
    }
  }, { fastCheck: { numRuns: 300 } })
})

describe("local builds are tagged by their context", () => {
  it.effect("an edited Containerfile (same version) gives another tag; the same files give the same tag wherever they are", () =>
    Effect.gen(function*() {
      const build = `id: b\nname: b\nversion: "1.0.0"\nbuild: {context: .}\n`
      const dirA = writeCatalog({ b: build })
      const dirB = writeCatalog({ b: build })
      for (const d of [dirA, dirB]) Fs.writeFileSync(NodePath.join(d, "b", "Containerfile"), "FROM scratch\n")
      const tagOf = (d: string) => Effect.map(Catalog.load(d), (c) => Spec.containerSpec(c.apps[0]!, Settings.defaults).image)
      const a1 = yield* tagOf(dirA)
      assert.match(a1, /^localhost\/archipelago\/b:1\.0\.0-[0-9a-f]{12}$/)
      assert.strictEqual(yield* tagOf(dirB), a1)
      Fs.writeFileSync(NodePath.join(dirA, "b", "Containerfile"), "FROM scratch\nLABEL edited=yes\n")
      const a2 = yield* tagOf(dirA)
      assert.notStrictEqual(a2, a1)
      assert.match(a2, /^localhost\/archipelago\/b:1\.0\.0-[0-9a-f]{12}$/)
    }).pipe(Effect.provide(NodeServices.layer)))
})
