import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import { createHash } from "node:crypto"
import { Labels } from "../../src/runtime/ContainerSpec.js"
import type { ContainerSpec } from "../../src/runtime/ContainerSpec.js"
import type { CatalogApp } from "../../src/manifest/Catalog.js"
import * as Loader from "../../src/manifest/Loader.js"
import * as Resolve from "../../src/manifest/Resolve.js"
import * as Settings from "../../src/manifest/Settings.js"
import * as Spec from "../../src/manifest/Spec.js"
import { prop } from "../../../../test-support/prop.js"

const settings = Settings.make({ dataDir: "/data", allowedBindRoots: ["/srv/shared"] })

const parse = (text: string, id: string) =>
  Result.getOrThrow(Loader.parseManifest(text, `apps/${id}/manifest.yml`, { expectedId: id, settings }))

const demoUi = parse(
  `id: demo-ui
name: Demo UI
version: "1.0.0"
role: ui
build: {context: .}
ports: [{host: 18084, container: 8080}]
volumes:
  - {source: ./www, target: /var/www, readOnly: true}
  - {source: demo-ui-cache, target: /cache/}
  - {source: /srv/shared/../shared/blocks, target: /blocks}
env: {STOP_DELAY: "1", APP_NAME: demo-ui}
extraHosts: {host.containers.internal: host-gateway, a.example: 10.0.0.1}
memory: 32Mi
stopTimeout: 10
container: {command: [/bin/sh, /app/serve.sh], user: nobody}
health: {type: http, port: 8080, path: /status, interval: 10}
`,
  "demo-ui"
)

describe("Spec", () => {
  it("names containers: archy-<id> for UI companions, <id> otherwise, container.name wins", () => {
    assert.strictEqual(Spec.containerName(demoUi), "archy-demo-ui")
    assert.strictEqual(Spec.containerName({ ...demoUi, role: "backend" }), "demo-ui")
    assert.strictEqual(Spec.containerName({ ...demoUi, container: { name: "legacy-ui" } }), "legacy-ui")
  })

  it("puts each app's data under <dataDir>/apps/<id>", () => {
    assert.strictEqual(Spec.appDataDir(Settings.defaults, "lnd"), "/var/lib/archipelago/apps/lnd")
    assert.strictEqual(Spec.appDataDir(Settings.make({ dataDir: "/tmp/x/" }), "lnd"), "/tmp/x/apps/lnd")
    assert.strictEqual(Spec.volumeSource(settings, "lnd", "."), "/data/apps/lnd")
    assert.strictEqual(Spec.volumeSource(settings, "lnd", "./a/./b"), "/data/apps/lnd/a/b")
    assert.strictEqual(Spec.volumeSource(settings, "lnd", "named"), "named")
  })

  it("derives the full container spec", () => {
    const spec = Spec.containerSpec(demoUi, settings)
    const { [Labels.specHash]: hash, ...labels } = spec.labels
    assert.deepStrictEqual(labels, { "io.archipelago.app": "demo-ui", "io.archipelago.managed-by": "archipelago" })
    assert.match(hash!, /^[0-9a-f]{64}$/)
    assert.deepStrictEqual({ ...spec, labels: {} }, {
      name: "archy-demo-ui",
      image: "localhost/archipelago/demo-ui:1.0.0",
      labels: {},
      ports: [{ host: 18084, container: 8080, protocol: "tcp" }],
      volumes: [
        { source: "/data/apps/demo-ui/www", target: "/var/www", readOnly: true },
        { source: "demo-ui-cache", target: "/cache", readOnly: false },
        { source: "/srv/shared/blocks", target: "/blocks", readOnly: false }
      ],
      env: { STOP_DELAY: "1", APP_NAME: "demo-ui" },
      extraHosts: [{ host: "a.example", address: "10.0.0.1" }, { host: "host.containers.internal", address: "host-gateway" }],
      memoryBytes: 33554432,
      stopTimeoutSec: 10,
      restart: "always",
      command: ["/bin/sh", "/app/serve.sh"],
      user: "nobody",
      healthCheck: {
        command: [],
        probe: { type: "http", port: 8080, path: "/status" },
        intervalSec: 10,
        timeoutSec: 5,
        retries: 3,
        startPeriodSec: 0
      }
    })
    assert.deepStrictEqual(Spec.bindSources(demoUi, settings), ["/data/apps/demo-ui/www", "/srv/shared/blocks"])
  })

  it("accepts a catalog app as well as a bare manifest", () => {
    const app: CatalogApp = { manifest: demoUi, dir: "/apps/demo-ui", file: "/apps/demo-ui/manifest.yml" }
    assert.deepStrictEqual(Spec.containerSpec(app, settings), Spec.containerSpec(demoUi, settings))
  })

  it("omits memory when the manifest has none, and derives tcp and cmd health checks", () => {
    const m = parse(`id: x\nname: X\nversion: "1"\nimage: busybox:1.36\nhealth: {type: tcp, port: 8332}\n`, "x")
    const spec = Spec.containerSpec(m, Settings.defaults)
    assert.isFalse("memoryBytes" in spec)
    assert.isFalse("command" in spec)
    assert.strictEqual(spec.image, "docker.io/library/busybox:1.36")
    // tcp and http checks run from outside the container (OutsideProbe), never nc or wget inside
    assert.deepStrictEqual([spec.healthCheck?.command, spec.healthCheck?.probe], [[], { type: "tcp", port: 8332 }])
    const cmd = parse(`id: x\nname: X\nversion: "1"\nimage: busybox:1.36\nhealth: {type: cmd, command: ["true"]}\n`, "x")
    assert.deepStrictEqual(Spec.containerSpec(cmd, Settings.defaults).healthCheck?.command, ["true"])
  })

  it("hashes canonical JSON without the spec-hash label, so a stamped spec hashes to its own label", () => {
    const spec = Spec.containerSpec(demoUi, settings)
    assert.strictEqual(Spec.specHash(spec), spec.labels[Labels.specHash])
    const { [Labels.specHash]: _, ...labels } = spec.labels
    const expected = createHash("sha256").update(Spec.canonicalJson({ ...spec, labels })).digest("hex")
    assert.strictEqual(spec.labels[Labels.specHash], expected)
  })

  it("canonical JSON sorts keys and drops undefined fields", () => {
    assert.strictEqual(Spec.canonicalJson({ b: 1, a: [{ d: undefined, c: "x" }], e: undefined }), `{"a":[{"c":"x"}],"b":1}`)
  })

  prop("the hash ignores key order and changes with any field", [fc.integer({ min: 1, max: 3600 }), fc.string()], ([timeout, value]) => {
    const spec = Spec.containerSpec(demoUi, settings)
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as unknown as ContainerSpec
    assert.strictEqual(Spec.specHash(reordered), Spec.specHash(spec))
    const changed = { ...spec, stopTimeoutSec: timeout, env: { ...spec.env, EXTRA: value } }
    assert.notStrictEqual(Spec.specHash(changed), Spec.specHash(spec))
  })

  it("the hash follows the settings (the data dir moves the bind mounts)", () => {
    assert.notStrictEqual(
      Spec.containerSpec(demoUi, settings).labels[Labels.specHash],
      Spec.containerSpec(demoUi, Settings.make({ dataDir: "/elsewhere", allowedBindRoots: ["/srv/shared"] })).labels[Labels.specHash]
    )
  })
})

describe("Resolve", () => {
  it("qualifies Docker Hub references and keeps other registries", () => {
    assert.strictEqual(Resolve.canonicalImage("nginx:1.27.3-alpine"), "docker.io/library/nginx:1.27.3-alpine")
    assert.strictEqual(Resolve.canonicalImage("lightninglabs/lnd:v0.18.4-beta"), "docker.io/lightninglabs/lnd:v0.18.4-beta")
    assert.strictEqual(Resolve.canonicalImage("ghcr.io/a/b:1"), "ghcr.io/a/b:1")
    assert.strictEqual(Resolve.canonicalImage("localhost/archipelago/base:latest"), "localhost/archipelago/base:latest")
  })

  const refs = (cs: ReadonlyArray<{ readonly ref: string }>) => cs.map((c) => c.ref)

  it("tries each mirror, then docker.io", () => {
    assert.deepStrictEqual(refs(Resolve.candidates("lightninglabs/lnd:v0.18.4-beta", ["mirror.a:5000", "mirror.b/"])), [
      "mirror.a:5000/lightninglabs/lnd:v0.18.4-beta",
      "mirror.b/lightninglabs/lnd:v0.18.4-beta",
      "docker.io/lightninglabs/lnd:v0.18.4-beta"
    ])
    // the founding bug of issue 14: a fully qualified docker.io reference still goes through the mirrors
    assert.deepStrictEqual(refs(Resolve.candidates("docker.io/library/nginx:1", ["m"])), ["m/library/nginx:1", "docker.io/library/nginx:1"])
    assert.deepStrictEqual(refs(Resolve.candidates("docker.io/nginx:1", ["m"])), ["m/library/nginx:1", "docker.io/library/nginx:1"])
    assert.deepStrictEqual(refs(Resolve.candidates("nginx:1", [])), ["docker.io/library/nginx:1"])
  })

  it("a reference naming another registry is pulled from there only", () => {
    assert.deepStrictEqual(Resolve.candidates("ghcr.io/a/b:1", ["m"]), [{ ref: "ghcr.io/a/b:1", insecure: false }])
    assert.deepStrictEqual(refs(Resolve.candidates("localhost/archipelago/base:latest", ["m"])), ["localhost/archipelago/base:latest"])
    assert.deepStrictEqual(refs(Resolve.candidates("registry:5000/x:1", ["m"])), ["registry:5000/x:1"])
  })

  it("marks only the mirrors declared insecure; docker.io as a mirror is not tried twice", () => {
    assert.deepStrictEqual(Resolve.candidates("a/b:1", [{ location: "127.0.0.1:5000", insecure: true }, "docker.io", "m.example"]), [
      { ref: "127.0.0.1:5000/a/b:1", insecure: true },
      { ref: "m.example/a/b:1", insecure: false },
      { ref: "docker.io/a/b:1", insecure: false }
    ])
  })

  const host = fc.stringMatching(/^[a-z]{1,6}(\.example|:[1-9][0-9]{0,3})$/)
  const mirror = fc.oneof(host, fc.record({ location: host, insecure: fc.boolean() }))
  const hubRef = fc.tuple(
    fc.constantFrom("", "docker.io/"),
    fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), { nil: undefined }),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/),
    fc.stringMatching(/^[0-9a-z][0-9a-z.]{0,5}$/)
  ).map(([registry, ns, name, tag]) => ({ ref: `${registry}${ns === undefined ? "" : `${ns}/`}${name}:${tag}`, repo: `${ns ?? "library"}/${name}:${tag}` }))

  it("Docker Hub images: each mirror in order, no duplicates, docker.io last, library/ for official images (property)", () => {
    fc.assert(
      fc.property(hubRef, fc.array(mirror, { maxLength: 5 }), ({ ref, repo }, mirrors) => {
        const cs = Resolve.candidates(ref, mirrors)
        assert.deepStrictEqual(cs[cs.length - 1], { ref: `docker.io/${repo}`, insecure: false })
        assert.strictEqual(new Set(refs(cs)).size, cs.length)
        const locations = mirrors.map((m) => (typeof m === "string" ? m : m.location))
        const firstOf = [...new Set(locations)]
        assert.deepStrictEqual(refs(cs), [...firstOf.map((l) => `${l}/${repo}`), `docker.io/${repo}`])
        for (const c of cs.slice(0, -1)) {
          const first = mirrors.find((m) => `${typeof m === "string" ? m : m.location}/${repo}` === c.ref)!
          assert.strictEqual(c.insecure, typeof first === "string" ? false : first.insecure)
        }
      }),
      { numRuns: 200 }
    )
  })

  it("explicit registries are untouched whatever the mirrors (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("ghcr.io", "quay.io", "localhost", "registry:5000", "127.0.0.1:5000"),
        fc.stringMatching(/^[a-z][a-z0-9/-]{0,10}[a-z0-9]:[0-9a-z.]{1,5}$/),
        fc.array(mirror, { maxLength: 4 }),
        (registry, path, mirrors) => {
          const ref = `${registry}/${path}`
          assert.deepStrictEqual(Resolve.candidates(ref, mirrors), [{ ref, insecure: false }])
        }
      ),
      { numRuns: 200 }
    )
  })

  it("resolves an image app", () => {
    const m = parse(`id: lnd\nname: LND\nversion: "0.18"\nimage: lightninglabs/lnd:v0.18.4-beta\n`, "lnd")
    assert.deepStrictEqual(Resolve.resolve({ manifest: m, dir: "/apps/lnd", file: "/apps/lnd/manifest.yml" }, Settings.make({ mirrors: ["m"] })), {
      _tag: "Image",
      ref: "docker.io/lightninglabs/lnd:v0.18.4-beta",
      candidates: [
        { ref: "m/lightninglabs/lnd:v0.18.4-beta", insecure: false },
        { ref: "docker.io/lightninglabs/lnd:v0.18.4-beta", insecure: false }
      ]
    })
  })

  it("listed registries: an image naming one gets its TLS and auth file; a longer location wins", () => {
    const registries = [
      { location: "127.0.0.1:5000", insecure: true },
      { location: "registry.lan:5000/team", insecure: false, authFile: "/etc/archipelago/auth.json" }
    ]
    assert.deepStrictEqual(Resolve.candidates("127.0.0.1:5000/x:1", { mirrors: [], registries }), [
      { ref: "127.0.0.1:5000/x:1", insecure: true }
    ])
    assert.deepStrictEqual(Resolve.candidates("registry.lan:5000/team/app:2", { mirrors: [], registries }), [
      { ref: "registry.lan:5000/team/app:2", insecure: false, authFile: "/etc/archipelago/auth.json" }
    ])
    // the same host, another path: not that listed location
    assert.deepStrictEqual(Resolve.candidates("registry.lan:5000/other/app:2", { mirrors: [], registries }), [
      { ref: "registry.lan:5000/other/app:2", insecure: false }
    ])
    // a mirror that is also a listed registry takes the listed one's auth file
    assert.deepStrictEqual(
      Resolve.candidates("nginx:1", { mirrors: ["registry.lan:5000/team"], registries }),
      [
        { ref: "registry.lan:5000/team/library/nginx:1", insecure: false, authFile: "/etc/archipelago/auth.json" },
        { ref: "docker.io/library/nginx:1", insecure: false }
      ]
    )
  })

  it("offline: never docker.io nor an unlisted registry; mirrors and listed registries only", () => {
    const sources = { mirrors: [{ location: "127.0.0.1:6000", insecure: true }], registries: [{ location: "127.0.0.1:5000", insecure: true }], offline: true }
    assert.deepStrictEqual(Resolve.candidates("busybox:1", sources), [{ ref: "127.0.0.1:6000/library/busybox:1", insecure: true }])
    assert.deepStrictEqual(Resolve.candidates("127.0.0.1:5000/x:1", sources), [{ ref: "127.0.0.1:5000/x:1", insecure: true }])
    assert.deepStrictEqual(Resolve.candidates("ghcr.io/a/b:1", sources), [])
    assert.isUndefined(Resolve.offlineRefusal("busybox:1", sources))
    const bare = { mirrors: [], registries: [{ location: "127.0.0.1:5000", insecure: true }], offline: true }
    assert.deepStrictEqual(Resolve.candidates("busybox:1", bare), [])
    assert.deepStrictEqual(Resolve.candidates("docker.io/library/busybox:1", bare), [])
    assert.strictEqual(
      Resolve.offlineRefusal("busybox:1", bare),
      "offline: not pulling busybox:1 (docker.io/library/busybox:1): docker.io is not a listed registry and no mirror is set " +
        "(listed: 127.0.0.1:5000); list it under `registries` (or `mirrors`), turn `offline` off, or give the app a `build`"
    )
    assert.strictEqual(
      Resolve.offlineRefusal("ghcr.io/a/b:1", sources),
      "offline: not pulling ghcr.io/a/b:1: ghcr.io is not a listed registry (listed: 127.0.0.1:6000, 127.0.0.1:5000); " +
        "list it under `registries` (or `mirrors`), turn `offline` off, or give the app a `build`"
    )
    // a refused image resolves with the reason, located at the manifest
    const m = parse(`id: lnd\nname: LND\nversion: "0.18"\nimage: lightninglabs/lnd:v0.18.4-beta\n`, "lnd")
    const r = Resolve.resolve({ manifest: m, dir: "/apps/lnd", file: "/apps/lnd/manifest.yml" }, Settings.make({ offline: true }))
    assert.strictEqual(r._tag === "Image" ? r.refused : "", "/apps/lnd/manifest.yml image: offline: not pulling lightninglabs/lnd:v0.18.4-beta " +
      "(docker.io/lightninglabs/lnd:v0.18.4-beta): docker.io is not a listed registry and no mirror is set (listed: none); " +
      "list it under `registries` (or `mirrors`), turn `offline` off, or give the app a `build`")
    // without offline nothing is refused, whatever the lists
    fc.assert(fc.property(fc.constantFrom("busybox:1", "ghcr.io/a/b:1", "127.0.0.1:5000/x:1"), (ref) => {
      assert.isUndefined(Resolve.offlineRefusal(ref, { ...sources, offline: false }))
      assert.isAbove(Resolve.candidates(ref, { ...sources, offline: false }).length, 0)
    }))
  })

  it("resolves a build against the app's folder", () => {
    const m = parse(`id: demo\nname: D\nversion: "1.0 beta"\nbuild: {context: ./src/.., containerfile: build/Containerfile, args: {A: "1"}}\n`, "demo")
    assert.deepStrictEqual(Resolve.resolve({ manifest: m, dir: "/apps/demo", file: "/apps/demo/manifest.yml" }, Settings.defaults), {
      _tag: "Build",
      tag: "localhost/archipelago/demo:1.0-beta",
      context: "/apps/demo",
      containerfile: "/apps/demo/build/Containerfile",
      args: { A: "1" }
    })
    const plain = parse(`id: demo\nname: D\nversion: "1"\nbuild: {context: docker}\n`, "demo")
    const resolved = Resolve.resolve({ manifest: plain, dir: "/apps/demo", file: "/apps/demo/manifest.yml" }, Settings.defaults)
    assert.deepStrictEqual(resolved._tag === "Build" ? [resolved.context, resolved.containerfile] : [], ["/apps/demo/docker", "/apps/demo/docker/Containerfile"])
  })
})

describe("Spec hash stability", () => {
  it("pins the hash of a known spec: a change here makes every node recreate its containers on upgrade", () => {
    // the fixture names its volume demo-ui-cache since named volumes must belong to their app;
    // changed once by outside health probes (decision 0036) and once by the app folder's move to
    // <data>/apps/<id> (decision 0034): apps are recreated once
    assert.strictEqual(Spec.containerSpec(demoUi, settings).labels[Labels.specHash], "a7f8c5a5b9031d0f398c20bfdba842b58ff8c5a0894295b8a5fbef6bf36a7907")
  })
})
