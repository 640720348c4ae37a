import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import { stringify } from "yaml"
import * as Loader from "../../src/manifest/Loader.js"
import * as Settings from "../../src/manifest/Settings.js"
import { prop } from "../../../../test-support/prop.js"

const file = "apps/demo/manifest.yml"
const hookNames = ["bitcoin-ui-nginx", "bitcoin-rpcauth", "lnd-conf", "electrumx-daemon", "electrs-ui-page", "demo-ui-page"]
const options: Loader.Options = { expectedId: "demo", hookNames }

// lines 1-4; the cases below start at line 5
const base = `id: demo
name: Demo
version: "1"
image: busybox:1.36
`

const messages = (text: string, opts: Loader.Options = options): ReadonlyArray<string> =>
  Result.match(Loader.parseManifest(text, file, opts), { onFailure: (es) => es.map((e) => e.message), onSuccess: () => [] })

const rules = (text: string, opts: Loader.Options = options): ReadonlyArray<string> =>
  Result.match(Loader.parseManifest(text, file, opts), { onFailure: (es) => es.map((e) => e.rule), onSuccess: () => [] })

describe("Loader.parseManifest", () => {
  it("decodes a minimal manifest with every default", () => {
    const m = Result.getOrThrow(Loader.parseManifest(base, file, options))
    assert.deepStrictEqual(m, {
      id: "demo" as typeof m.id,
      name: "Demo",
      version: "1",
      role: "service",
      image: "busybox:1.36",
      container: {},
      ports: [],
      volumes: [],
      env: {},
      extraHosts: {},
      stopTimeout: 10,
      restart: "always",
      dependsOn: [],
      provides: [],
      conflicts: [],
      hooks: []
    })
  })

  it("decodes ports, volumes, health and build with defaults filled in", () => {
    const m = Result.getOrThrow(Loader.parseManifest(
      `id: demo
name: Demo
version: "1"
build: {context: .}
ports: [{host: 18081, container: 8080}]
volumes: [{source: ./www, target: /var/www}]
health: {type: http, port: 8080}
`,
      file,
      options
    ))
    assert.deepStrictEqual(m.build, { context: ".", args: {} })
    assert.deepStrictEqual(m.ports, [{ host: 18081, container: 8080, protocol: "tcp" }])
    assert.deepStrictEqual(m.volumes, [{ source: "./www", target: "/var/www", readOnly: false }])
    assert.deepStrictEqual(m.health, { type: "http", port: 8080, path: "/", interval: 30, timeout: 5, retries: 3, startPeriod: 0 })
  })

  // the message text is part of the API: each rule's exact wording is pinned here
  const golden: ReadonlyArray<readonly [string, string, ReadonlyArray<string>, Loader.Options?]> = [
    [
      "a capability endpoint on a port the app does not publish",
      `${base}ports:\n  - host: 8332\n    container: 8332\nprovides:\n  - capability: bitcoin-node\n    endpoints:\n      rpc: 8332\n      zmqpubrawblock: 28332\n`,
      [
        `apps/demo/manifest.yml:12:23 provides[0].endpoints.zmqpubrawblock: container port 28332 is not published in ports: consumers reach an endpoint through its host port; publish it or name a published container port (8332)`
      ]
    ],
    [
      "a capability provided twice, and depended on by its provider",
      `${base}dependsOn: [bitcoin-node]\nprovides:\n  - capability: bitcoin-node\n  - capability: bitcoin-node\n`,
      [
        `apps/demo/manifest.yml:5:13 dependsOn[0]: "bitcoin-node" is provided by this app itself (provides[0]): an app cannot depend on itself`,
        `apps/demo/manifest.yml:8:17 provides[1].capability: "bitcoin-node" is already provided by provides[0]`
      ]
    ],
    [
      "a capability name that is not a name",
      `${base}provides:\n  - capability: Bitcoin Node\n    endpoints: {RPC: 8332}\n`,
      [
        `apps/demo/manifest.yml:6:17 provides[0].capability: expected a capability name (lowercase letters, digits and dashes), got "Bitcoin Node"`,
        `apps/demo/manifest.yml:7:17 provides[0].endpoints.RPC: expected an endpoint name (lowercase letters, digits and dashes), got "RPC"`
      ]
    ],
    [
      "an integer field given a string (the example of the issue)",
      `${base}ports:
  - host: 8333
    container: 8333
  - host: 80a
    container: 80
`,
      [`apps/demo/manifest.yml:8:11 ports[1].host: expected an integer 1-65535, got "80a"`]
    ],
    [
      "an integer out of range",
      `${base}stopTimeout: 0\n`,
      [`apps/demo/manifest.yml:5:14 stopTimeout: expected an integer 1-3600, got 0`]
    ],
    [
      "a number where a string is expected",
      `${base}env:\n  STOP_DELAY: 8\n`,
      [`apps/demo/manifest.yml:6:15 env.STOP_DELAY: expected a string (quote it), got 8`]
    ],
    [
      "a list where a map is expected",
      `${base}container: [a]\n`,
      [`apps/demo/manifest.yml:5:12 container: expected a map, got a list`]
    ],
    [
      "an unknown key close to a known one",
      `${base}stop_timeout: 30\n`,
      [`apps/demo/manifest.yml:5:1 stop_timeout: unknown key; did you mean "stopTimeout"?`]
    ],
    [
      "an unknown nested key",
      `${base}ports:\n  - host: 1081\n    container: 2\n    hots: 3\n`,
      [`apps/demo/manifest.yml:8:5 ports[0].hots: unknown key; did you mean "host"?`]
    ],
    [
      "an unknown key far from every known one",
      `${base}colour: blue\n`,
      [
        `apps/demo/manifest.yml:5:1 colour: unknown key; expected one of id, name, version, description, role, image, build, container, ports, volumes, env, extraHosts, memory, stopTimeout, restart, dependsOn, provides, conflicts, hooks, health, ui, backup`
      ]
    ],
    [
      "a compose-style key at the top level",
      `${base}privileged: true\n`,
      [`apps/demo/manifest.yml:5:1 privileged: unknown key; did you mean "container.privileged"?`]
    ],
    [
      "a duplicate key",
      `${base}memory: 64Mi\nmemory: 128Mi\n`,
      [`apps/demo/manifest.yml:6:1 memory: duplicate key (first at line 5)`]
    ],
    [
      "a missing required field",
      `id: demo\nversion: "1"\nimage: busybox:1.36\n`,
      [`apps/demo/manifest.yml:1:1 name: required field missing; expected a string`]
    ],
    [
      "an enum value with a typo",
      `${base}restart: alway\n`,
      [`apps/demo/manifest.yml:5:10 restart: expected one of "no", "always", "on-failure", "unless-stopped", got "alway"; did you mean "always"?`]
    ],
    [
      "an invalid app id",
      `id: Demo\nname: Demo\nversion: "1"\nimage: busybox:1.36\n`,
      [`apps/demo/manifest.yml:1:5 id: expected an app id (lowercase letters, digits and dashes), got "Demo"`]
    ],
    [
      "an id that is not the folder name",
      `id: demo2\nname: Demo\nversion: "1"\nimage: busybox:1.36\n`,
      [`apps/demo/manifest.yml:1:5 id: expected "demo" (the name of the manifest's folder), got "demo2"`]
    ],
    [
      "both image and build",
      `${base}build:\n  context: .\n`,
      [`apps/demo/manifest.yml:6:3 build: give either "image" or "build", not both`]
    ],
    [
      "neither image nor build",
      `id: demo\nname: Demo\nversion: "1"\n`,
      [`apps/demo/manifest.yml:1:1 image: required field missing; give either "image" (a pinned reference) or "build" (a local build)`]
    ],
    [
      "an unpinned image",
      `id: demo\nname: Demo\nversion: "1"\nimage: nginx:latest\n`,
      [`apps/demo/manifest.yml:4:8 image: expected a pinned tag or digest (not "latest"), got "nginx:latest"`]
    ],
    [
      "an image that is not a reference",
      `id: demo\nname: Demo\nversion: "1"\nimage: "-v /:/host nginx:1"\n`,
      [`apps/demo/manifest.yml:4:8 image: expected an image reference such as "lightninglabs/lnd:v0.18.4-beta", got "-v /:/host nginx:1"`]
    ],
    [
      "a build context escaping the app's folder",
      `id: demo\nname: Demo\nversion: "1"\nbuild:\n  context: ../shared\n  containerfile: /etc/Containerfile\n`,
      [
        `apps/demo/manifest.yml:5:12 build.context: expected a folder inside the app's folder, got "../shared"`,
        `apps/demo/manifest.yml:6:18 build.containerfile: expected a file inside the build context, got "/etc/Containerfile"`
      ]
    ],
    [
      "privileged mode",
      `${base}container:\n  privileged: true\n`,
      [`apps/demo/manifest.yml:6:15 container.privileged: privileged mode is not allowed: it gives the app full control of the host`]
    ],
    [
      "host networking",
      `${base}container:\n  network: host\n`,
      [`apps/demo/manifest.yml:6:12 container.network: host networking is not allowed: publish ports instead`]
    ],
    [
      "the host PID namespace",
      `${base}container:\n  pid: host\n`,
      [`apps/demo/manifest.yml:6:8 container.pid: the host PID namespace is not allowed`]
    ],
    [
      "the host IPC namespace",
      `${base}container:\n  ipc: host\n`,
      [`apps/demo/manifest.yml:6:8 container.ipc: the host IPC namespace is not allowed`]
    ],
    [
      "an added capability",
      `${base}container:\n  capAdd: [NET_ADMIN]\n`,
      [`apps/demo/manifest.yml:6:12 container.capAdd[0]: added capabilities are not allowed, got "NET_ADMIN"`]
    ],
    [
      "a bind mount outside the app's data directory",
      `${base}volumes:\n  - source: /etc\n    target: /host-etc\n`,
      [`apps/demo/manifest.yml:6:13 volumes[0].source: bind mounts must lie under /var/lib/archipelago/apps/demo, got "/etc"`]
    ],
    [
      "a bind mount outside the data directory and the allowed roots",
      `${base}volumes:\n  - source: /var/lib/archipelago/lnd\n    target: /lnd\n`,
      [`apps/demo/manifest.yml:6:13 volumes[0].source: bind mounts must lie under /var/lib/archipelago/apps/demo or an allowed bind root (/srv/shared), got "/var/lib/archipelago/lnd"`],
      { ...options, settings: Settings.make({ allowedBindRoots: ["/srv/shared"] }) }
    ],
    [
      "a relative bind mount climbing out of the data directory",
      `${base}volumes:\n  - source: ./../lnd\n    target: /lnd\n`,
      [`apps/demo/manifest.yml:6:13 volumes[0].source: expected a path inside the app's data directory /var/lib/archipelago/apps/demo, got "./../lnd"`]
    ],
    [
      "a volume source that is neither ./path, absolute nor a name",
      `${base}volumes:\n  - source: data/x\n    target: /data\n`,
      [`apps/demo/manifest.yml:6:13 volumes[0].source: expected "./path" (in the app's data directory), an absolute path or a volume name, got "data/x"`]
    ],
    [
      "a relative volume target and a target mounted twice",
      `${base}volumes:\n  - source: demo-a\n    target: data\n  - source: demo-b\n    target: /x\n  - source: demo-c\n    target: /x/\n`,
      [
        `apps/demo/manifest.yml:7:13 volumes[0].target: expected an absolute path in the container, got "data"`,
        `apps/demo/manifest.yml:11:13 volumes[2].target: /x is already mounted by volumes[1]`
      ]
    ],
    [
      "host.containers.internal pointing anywhere but the host gateway",
      `${base}extraHosts:\n  host.containers.internal: 192.168.1.1\n`,
      [`apps/demo/manifest.yml:6:29 extraHosts["host.containers.internal"]: host.containers.internal must be "host-gateway" (the host itself, never the LAN router), got "192.168.1.1"`]
    ],
    [
      "an extra host that is not an address",
      `${base}extraHosts:\n  router: lan\n`,
      [`apps/demo/manifest.yml:6:11 extraHosts.router: expected an IP address or "host-gateway", got "lan"`]
    ],
    [
      "an unparsable memory limit",
      `${base}memory: 128 megs\n`,
      [`apps/demo/manifest.yml:5:9 memory: expected a size such as "128Mi", "2Gi" or "512M", got "128 megs"`]
    ],
    [
      "a zero memory limit",
      `${base}memory: "0"\n`,
      [`apps/demo/manifest.yml:5:9 memory: expected a size such as "128Mi", "2Gi" or "512M", got "0"`]
    ],
    [
      "an unknown hook close to a known one",
      `${base}hooks: [lnd-conff]\n`,
      [`apps/demo/manifest.yml:5:9 hooks[0]: unknown hook "lnd-conff"; did you mean "lnd-conf"?`]
    ],
    [
      "an unknown hook",
      `${base}hooks: [make-coffee]\n`,
      [`apps/demo/manifest.yml:5:9 hooks[0]: unknown hook "make-coffee"; known hooks: bitcoin-ui-nginx, bitcoin-rpcauth, lnd-conf, electrumx-daemon, electrs-ui-page, demo-ui-page`]
    ],
    [
      "an app depending on itself, twice",
      `${base}dependsOn: [demo, lnd, lnd]\n`,
      [
        `apps/demo/manifest.yml:5:13 dependsOn[0]: an app cannot depend on itself`,
        `apps/demo/manifest.yml:5:24 dependsOn[2]: "lnd" is listed twice`
      ]
    ],
    [
      "an app conflicting with its own dependency",
      `${base}dependsOn: [lnd]\nconflicts: [lnd]\n`,
      [`apps/demo/manifest.yml:6:13 conflicts[0]: "lnd" is also in dependsOn: an app cannot need what it excludes`]
    ],
    [
      "a host port published twice",
      `${base}ports:\n  - {host: 8080, container: 80}\n  - {host: 8080, container: 81}\n  - {host: 8080, container: 81, protocol: udp}\n`,
      [`apps/demo/manifest.yml:7:12 ports[1].host: host port 8080/tcp is already published by ports[0]`]
    ],
    [
      "a health check of an unknown type",
      `${base}health: {type: htp, port: 80}\n`,
      [`apps/demo/manifest.yml:5:16 health.type: expected one of "http", "tcp", "cmd", got "htp"; did you mean "http"?`]
    ],
    [
      "a YAML syntax error",
      `${base}ports: [\n`,
      [`apps/demo/manifest.yml:6:1: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]`]
    ],
    [
      "a document that is not a map",
      `- id: demo\n`,
      [`apps/demo/manifest.yml:1:1: expected a map of manifest fields, got a list`]
    ],
    [
      "an empty document",
      ``,
      [`apps/demo/manifest.yml:1:1: expected a map of manifest fields, got nothing`]
    ]
  ]

  for (const [name, text, expected, opts] of golden) {
    it(`golden: ${name}`, () => {
      assert.deepStrictEqual(messages(text, opts ?? options), expected)
    })
  }

  it("reports every problem of a manifest at once, in line order", () => {
    const text = `${base}stopTimeout: "600"
memory: lots
container:
  privileged: true
restart: sometimes
`
    assert.deepStrictEqual(rules(text), ["type", "memory", "privileged", "type"])
  })

  it("accepts a bind mount under an allowed root, a ./ path and a named volume", () => {
    const text = `${base}volumes:
  - {source: /srv/shared/blocks, target: /blocks, readOnly: true}
  - {source: ./data, target: /data}
  - {source: /var/lib/archipelago/apps/demo/cache, target: /cache}
  - {source: demo-cache, target: /tmp/cache}
`
    const opts = { ...options, settings: Settings.make({ allowedBindRoots: ["/srv/shared"] }) }
    assert.deepStrictEqual(messages(text, opts), [])
  })

  it("follows the settings' data directory", () => {
    const text = `${base}volumes:\n  - {source: /data/node/apps/demo/x, target: /x}\n`
    assert.deepStrictEqual(messages(text, { ...options, settings: Settings.make({ dataDir: "/data/node" }) }), [])
    assert.deepStrictEqual(rules(text), ["bind-mount"])
  })

  it("checks hook names only when the loader is given them", () => {
    assert.deepStrictEqual(messages(`${base}hooks: [anything]\n`, { expectedId: "demo" }), [])
  })

  it("locates fields for later checks", () => {
    const located = Result.getOrThrow(Loader.parseLocated(`${base}ports:\n  - host: 1081\n    container: 2\n`, file, options))
    assert.deepStrictEqual(located.locate("ports[0].host"), { line: 6, column: 11 })
    assert.deepStrictEqual(located.locate("ports[0].nothing"), { line: 6, column: 5 })
    assert.deepStrictEqual(located.locate("id"), { line: 1, column: 5 })
  })

  it("resolves aliases and refuses alias bombs", () => {
    const ok = `${base}env:\n  A: &v "1"\n  B: *v\n`
    assert.deepStrictEqual(Result.getOrThrow(Loader.parseManifest(ok, file, options)).env, { A: "1", B: "1" })
    const bomb = [
      `${base}description: &a0 "a"`,
      ...Array.from({ length: 9 }, (_, i) => `x${i + 1}: &a${i + 1} [*a${i}, *a${i}, *a${i}, *a${i}, *a${i}, *a${i}, *a${i}, *a${i}, *a${i}]`),
      "hooks: *a9",
      ""
    ].join("\n")
    // an alias shares its anchor's value and decoding stops at the first type mismatch, so
    // nested aliases never expand exponentially
    assert.deepStrictEqual(rules(bomb), [...Array(9).fill("unknown-key"), ...Array(9).fill("type")])
    const many = `${base}env:\n  K: &v "1"\n${Array.from({ length: 201 }, (_, i) => `  K${i}: *v`).join("\n")}\n`
    assert.deepStrictEqual(messages(many), ["apps/demo/manifest.yml:1:1: more than 200 alias expansions"])
  })

  it("refuses another app's named volume and accepts its own", () => {
    const text = `${base}volumes:\n  - {source: node-data, target: /a}\n  - {source: demo, target: /b}\n  - {source: demo-data, target: /c}\n  - {source: demonic, target: /d}\n`
    assert.deepStrictEqual(messages(text), [
      `apps/demo/manifest.yml:6:14 volumes[0].source: a named volume must belong to the app: name it "demo" or "demo-<name>", got "node-data"`,
      `apps/demo/manifest.yml:9:14 volumes[3].source: a named volume must belong to the app: name it "demo" or "demo-<name>", got "demonic"`
    ])
  })

  it("refuses dangerous mount targets, normalised, and allows files below /etc and /usr", () => {
    const refused = ["/", "/proc/sys", "/proc", "/sys/fs/cgroup", "/dev/", "/etc", "/etc/passwd", "/usr", "/var/../etc/shadow", "/run/secrets/x", "/etc/resolv.conf"]
    for (const target of refused) {
      const out = messages(`${base}volumes:\n  - {source: ./x, target: "${target}"}\n`)
      assert.lengthOf(out, 1, target)
      assert.match(out[0]!, /^apps\/demo\/manifest\.yml:6:\d+ volumes\[0\]\.target: /, target)
    }
    assert.deepStrictEqual(messages(`${base}volumes:\n  - {source: ./x, target: /proc/sys}\n`), [
      `apps/demo/manifest.yml:6:27 volumes[0].target: /proc belongs to the kernel or the runtime; nothing may be mounted on or below it, got "/proc/sys"`
    ])
    for (const target of ["/etc/nginx/conf.d/default.conf", "/usr/share/nginx/html", "/var/www", "/data", "/process"]) {
      assert.deepStrictEqual(messages(`${base}volumes:\n  - {source: ./x, target: "${target}"}\n`), [], target)
    }
  })

  it("refuses reserved host ports and privileged ones without a reason", () => {
    const port = (host: number, extra = "") => messages(`${base}ports:\n  - {host: ${host}, container: 80${extra}}\n`)
    assert.deepStrictEqual(port(22), [`apps/demo/manifest.yml:6:12 ports[0].host: host port 22 is reserved for ssh`])
    assert.deepStrictEqual(port(22, ", reason: I want it"), [`apps/demo/manifest.yml:6:12 ports[0].host: host port 22 is reserved for ssh`])
    assert.deepStrictEqual(port(7420), [`apps/demo/manifest.yml:6:12 ports[0].host: host port 7420 is reserved for the orchestrator's own API and dashboard`])
    assert.deepStrictEqual(port(443), [
      `apps/demo/manifest.yml:6:12 ports[0].host: host port 443 is privileged (below 1024); say why the app needs it in ports[0].reason, or publish a port from 1024 up`
    ])
    assert.deepStrictEqual(port(80), [
      `apps/demo/manifest.yml:6:12 ports[0].host: host port 80 is privileged (below 1024); say why the app needs it in ports[0].reason, or publish a port from 1024 up`
    ])
    assert.deepStrictEqual(port(443, ", reason: \"HTTPS for LAN clients that cannot take a port\""), [])
    assert.deepStrictEqual(port(1024), [])
    assert.deepStrictEqual(rules(`${base}ports:\n  - {host: 443, container: 80, reason: "  "}\n`), ["host-port", "type"])
    // the configured port replaces 7420
    const moved = { ...options, settings: Settings.make({ serverPort: 8420 }) }
    assert.deepStrictEqual(rules(`${base}ports:\n  - {host: 8420, container: 80}\n`, moved), ["host-port"])
    assert.deepStrictEqual(rules(`${base}ports:\n  - {host: 7420, container: 80}\n`, moved), [])
  })

  it("refuses a memory limit below 4Mi", () => {
    assert.deepStrictEqual(messages(`${base}memory: "1"\n`), [`apps/demo/manifest.yml:5:9 memory: expected at least 4Mi (no process starts in less), got "1"`])
    assert.deepStrictEqual(rules(`${base}memory: 4095Ki\n`), ["memory"])
    assert.deepStrictEqual(rules(`${base}memory: 4Mi\n`), [])
  })

  it("refuses env values and build args with a newline, and NUL anywhere", () => {
    assert.deepStrictEqual(messages(`${base}env:\n  A: "x\\ny"\n  B: ok\n`), [`apps/demo/manifest.yml:6:6 env.A: expected a single-line value (no newline), got "x\\ny"`])
    assert.deepStrictEqual(rules(`${base}env:\n  A: "x\\ry"\n`), ["type"])
    assert.deepStrictEqual(rules(`${base}env:\n  A: |\n    two\n    lines\n`), ["type"])
    assert.deepStrictEqual(rules(`id: demo\nname: Demo\nversion: "1"\nbuild:\n  context: .\n  args: {A: "a\\nb"}\n`), ["type"])
    assert.deepStrictEqual(messages(`${base}container:\n  command: ["a\\0b"]\n`), [`apps/demo/manifest.yml:6:13 container.command[0]: expected a string without NUL characters, got "a\\u0000b"`])
  })

  it("reports type errors and rule errors of the same file in one pass", () => {
    const text = `${base}env:
  1BAD: x
  OK: "a\\nb"
extraHosts:
  "bad host!": 1.2.3.4
  host.containers.internal: 10.0.0.1
volumes:
  - {source: other-app-data, target: /proc/sys, readOnly: maybe}
ports:
  - {host: 22, container: 80, protocol: sctp}
memory: "1"
stopTimeout: soon
container: {privileged: true, user: 5}
`
    assert.deepStrictEqual(rules(text), [
      "key", "type", "key", "host-gateway", "volume-owner", "volume-target", "type", "host-port", "type", "memory", "type", "privileged", "type"
    ])
  })

  it("refuses an oversized manifest by size, quickly, without parsing it", () => {
    const huge = `${base}description: "${"x".repeat(100 * 1024 * 1024)}"\n`
    const started = performance.now()
    assert.deepStrictEqual(messages(huge), [`apps/demo/manifest.yml:1:1: the manifest is larger than 256 KiB`])
    // a loose bound against a regression to parsing (59 s before); timing targets live in bench/
    assert.isBelow(performance.now() - started, 5_000)
  })

  it("caps the errors of one manifest: 130,000 unknown keys do not crash the loader", () => {
    const keys = (n: number) => `${base}${Array.from({ length: n }, (_, i) => `k${i}: 1`).join("\n")}\n`
    const many = Loader.parseManifest(keys(20_000), file, options)
    assert.isTrue(Result.isFailure(many))
    if (Result.isFailure(many)) {
      assert.lengthOf(many.failure, Loader.maxErrors + 1)
      assert.strictEqual(many.failure[Loader.maxErrors]!.rule, "too-many-errors")
      assert.include(many.failure[Loader.maxErrors]!.message, "19900 more problems not shown")
    }
    assert.deepStrictEqual(rules(keys(130_000)), ["size"])
  })

  it("refuses __proto__ keys rather than dropping them", () => {
    assert.deepStrictEqual(rules(`${base}env:\n  __proto__: x\n`), ["key"])
  })
})

// ---------------------------------------------------------------------------------------------
// properties: nothing a packager writes makes the loader throw

const valid = {
  id: "demo",
  name: "Demo",
  version: "1.0.0",
  role: "ui",
  build: { context: ".", containerfile: "Containerfile", args: { A: "1" } },
  container: { command: ["/bin/sh", "-c", "true"], user: "nobody", workdir: "/tmp", privileged: false },
  ports: [{ host: 18081, container: 8080, protocol: "tcp", hostIp: "127.0.0.1" }],
  volumes: [{ source: "./www", target: "/var/www", readOnly: true }, { source: "demo-cache", target: "/cache" }],
  env: { STOP_DELAY: "8" },
  extraHosts: { "host.containers.internal": "host-gateway" },
  memory: "64Mi",
  stopTimeout: 20,
  restart: "on-failure",
  dependsOn: ["demo-node"],
  conflicts: ["other"],
  hooks: ["demo-ui-page"],
  health: { type: "http", port: 8080, path: "/status", interval: 10 },
  ui: { port: 8080 }
}

const arbValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("host", "host-gateway", "/etc", "./x", "../x", "128Mi", "latest", "demo"),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 })
)

type Mutation = (o: Record<string, unknown>) => void

const pathsOf = (o: unknown, prefix: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
  if (Array.isArray(o)) return o.flatMap((v, i) => [[...prefix, i], ...pathsOf(v, [...prefix, i])])
  if (typeof o === "object" && o !== null) {
    return Object.entries(o).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])])
  }
  return []
}

const arbMutation: fc.Arbitrary<Mutation> = fc.tuple(
  fc.nat(),
  fc.constantFrom("set", "delete", "rename", "add"),
  arbValue,
  fc.string({ maxLength: 12 })
).map(([pick, kind, value, key]) => (root: Record<string, unknown>) => {
  const paths = pathsOf(root)
  const path = paths[pick % paths.length]!
  let parent: any = root
  for (const k of path.slice(0, -1)) parent = parent[k]
  const last = path[path.length - 1]!
  if (kind === "set") parent[last] = value
  else if (kind === "delete") Array.isArray(parent) ? parent.splice(last as number, 1) : delete parent[last]
  else if (kind === "rename" && !Array.isArray(parent)) {
    parent[key] = parent[last]
    delete parent[last]
  } else if (typeof parent[last] === "object" && parent[last] !== null && !Array.isArray(parent[last])) {
    parent[last][key] = value
  } else parent[last] = value
})

const assertLocated = (text: string): void => {
  const result = Loader.parseManifest(text, file, options)
  if (Result.isFailure(result)) {
    assert.isTrue(result.failure.length > 0)
    for (const e of result.failure) {
      assert.strictEqual(e._tag, "ManifestError")
      assert.strictEqual(e.file, file)
      assert.isTrue(e.line >= 1 && e.column >= 1, e.message)
      assert.isTrue(e.message.startsWith(`${file}:${e.line}:${e.column}`), e.message)
      // "schema" means an issue of the Effect Schema the loader could not put in a packager's words
      assert.notStrictEqual(e.rule, "schema", e.message)
    }
  } else {
    assert.strictEqual(result.success.id, "demo")
  }
}

describe("Loader properties", () => {
  it("the unmutated fixture is valid", () => {
    assert.deepStrictEqual(messages(stringify(valid)), [])
  })

  prop("mutated valid manifests yield a manifest or located errors, never a throw", [fc.array(arbMutation, { minLength: 1, maxLength: 4 })], ([mutations]) => {
    const copy = structuredClone(valid) as Record<string, unknown>
    for (const m of mutations) m(copy)
    assertLocated(stringify(copy))
  }, { fastCheck: { numRuns: 300 } })

  prop("arbitrary YAML values yield located errors, never a throw", [fc.jsonValue()], ([value]) => {
    assertLocated(stringify(value))
  }, { fastCheck: { numRuns: 200 } })

  prop("arbitrary text yields a manifest or located errors, never a throw", [fc.string({ unit: "binary", maxLength: 200 })], ([text]) => {
    assertLocated(text)
  }, { fastCheck: { numRuns: 300 } })

  prop("YAML-ish text built from manifest tokens never throws", [
    fc.array(fc.constantFrom("id: demo", "name: x", "  - ", "ports:", "host: 1", "&a", "*a", "{", "}", "[", "]", ": ", "\n", "  ", "'", "\"", "!!str", "%YAML 1.1\n---\n", "<<: *a", "? ", "---\n", "#"), { maxLength: 30 })
  ], ([tokens]) => {
    assertLocated(tokens.join(""))
  }, { fastCheck: { numRuns: 300 } })
})
