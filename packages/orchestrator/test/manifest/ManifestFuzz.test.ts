/**
 * Fuzzing the manifest loader: mutations of every catalog app in apps/, YAML features (anchors,
 * aliases, tags, merge keys, directives, several documents) and sizes. Whatever the input,
 * `parseManifest` returns a manifest or errors, never throws, and every error is located
 * (`file:line:column`, inside the text), names a rule and stays within the error cap. The loader
 * holds no schema of its own: what it accepts, the `Manifest` schema decodes from the same YAML
 * to the same value, and each issue of the schema comes back as a located error at its path.
 *
 * Runs per property: `ARCHY_FUZZ_RUNS` (default 25, so `npm test` stays fast; `npm run fuzz`
 * sets a large count).
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema, SchemaIssue } from "effect"
import * as fc from "fast-check"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { parse, stringify } from "yaml"
import * as Loader from "../../src/manifest/Loader.js"
import { Manifest } from "../../src/manifest/Manifest.js"
import { keyPath } from "../../src/manifest/Rules.js"
import { prop } from "../../../../test-support/prop.js"

const runs = (() => {
  const n = Number(process.env["ARCHY_FUZZ_RUNS"] ?? "")
  return Number.isSafeInteger(n) && n > 0 ? n : 25
})()

// a large ARCHY_FUZZ_RUNS takes longer than the default test timeout; failures are still failures
const timeout = Math.max(60_000, runs * 1_000)

const appsDir = fileURLToPath(new URL("../../../../apps", import.meta.url))
const catalog: ReadonlyArray<{ readonly id: string; readonly text: string }> = Fs.readdirSync(appsDir)
  .filter((name) => Fs.existsSync(NodePath.join(appsDir, name, "manifest.yml")))
  .sort()
  .map((id) => ({ id, text: Fs.readFileSync(NodePath.join(appsDir, id, "manifest.yml"), "utf8") }))

const hookNames = ["bitcoin-ui-nginx", "bitcoin-rpcauth", "lnd-conf", "electrumx-daemon", "electrs-ui-page", "lnd-ui-thunderhub", "demo-ui-page"]
const file = "apps/fuzz/manifest.yml"

let checked = 0
let refused = 0
let compared = 0

const decode = Schema.decodeUnknownResult(Manifest)

/** The YAML as the `yaml` package reads it on its own, or undefined when it refuses it. */
const plainOf = (text: string): { readonly value: unknown } | undefined => {
  try {
    return { value: parse(text, { uniqueKeys: false, logLevel: "silent" }) }
  } catch {
    return undefined
  }
}

const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : keyPath(acc, String(k))), "")

/** One schema: the loader's verdict agrees with the schema's on the same YAML. */
const assertOneSchema = (text: string, result: ReturnType<typeof Loader.parseManifest>): void => {
  const plain = plainOf(text)
  if (plain === undefined) return
  const direct = decode(plain.value, { errors: "all", onExcessProperty: "error" })
  if (Result.isSuccess(result)) {
    compared++
    assert.isTrue(Result.isSuccess(direct), `the loader accepted what the schema refuses: ${text.slice(0, 200)}`)
    if (Result.isSuccess(direct)) assert.deepStrictEqual(result.success, direct.success)
    return
  }
  // YAML-level problems (duplicate or odd keys, aliases, syntax) change the value itself
  if (Result.isSuccess(direct) || result.failure.length > Loader.maxErrors || result.failure.some((e) => ["yaml", "key", "duplicate-key"].includes(e.rule))) return
  compared++
  const paths = result.failure.map((e) => e.path)
  const within = (a: string, b: string) => a === b || a.startsWith(`${b}[`) || a.startsWith(`${b}.`)
  for (const issue of SchemaIssue.makeFormatterStandardSchemaV1()(direct.failure.issue).issues) {
    const at = pathOf((issue.path ?? []).map((k) => typeof k === "object" ? k.key : k))
    // a missing list item is reported on its list; a union that no member takes (`health`) is
    // reported at its discriminating key (`health.type`), below the schema's issue
    assert.isTrue(paths.some((p) => within(at, p) || within(p, at)), `${at}: ${issue.message} not among ${paths.join(", ")}`)
  }
}

/** The property every input must satisfy. */
const assertLocated = (text: string, expectedId: string): void => {
  let result: ReturnType<typeof Loader.parseManifest>
  try {
    result = Loader.parseManifest(text, file, { expectedId, hookNames })
  } catch (e) {
    assert.fail(`parseManifest threw ${String(e)} on ${JSON.stringify(text.slice(0, 200))}`)
  }
  checked++
  assertOneSchema(text, result)
  if (Result.isSuccess(result)) {
    assert.strictEqual(result.success.id, expectedId)
    return
  }
  refused++
  assert.isAbove(result.failure.length, 0)
  assert.isAtMost(result.failure.length, Loader.maxErrors + 1)
  const lines = text.split(/\r\n|\r|\n/).length
  for (const e of result.failure) {
    assert.strictEqual(e._tag, "ManifestError")
    assert.strictEqual(e.file, file)
    assert.isTrue(e.line >= 1 && e.column >= 1 && e.line <= lines + 1, e.message)
    assert.isTrue(e.message.startsWith(`${file}:${e.line}:${e.column}`), e.message)
    assert.isTrue(e.rule.length > 0, e.message)
    // "schema" means an issue the loader could not put in a packager's words
    assert.notStrictEqual(e.rule, "schema", e.message)
  }
}

// ---------------------------------------------------------------------------------------------
// structural mutations of a decoded catalog manifest

const arbValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 10 }),
  fc.integer(),
  fc.constantFrom(0, -1, 1, 22, 80, 443, 1023, 1024, 7420, 65535, 65536, 1e21, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "/",
    "/proc/sys",
    "/etc",
    "/etc/nginx/x.conf",
    "../..",
    "./x",
    "demo-node-data",
    "1",
    "3Mi",
    "128Mi",
    "latest",
    "host",
    "host-gateway",
    "a\nb",
    "a\u0000b",
    "__proto__",
    "constructor"
  ),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 3 })
)

type Path = ReadonlyArray<string | number>

const pathsOf = (o: unknown, prefix: Path = []): Array<Path> => {
  if (Array.isArray(o)) return o.flatMap((v, i) => [[...prefix, i], ...pathsOf(v, [...prefix, i])])
  if (typeof o === "object" && o !== null) {
    return Object.entries(o).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])])
  }
  return []
}

type Mutation = (root: Record<string, unknown>) => void

const arbMutation: fc.Arbitrary<Mutation> = fc.tuple(
  fc.nat(),
  fc.constantFrom("set", "delete", "rename", "add", "duplicate"),
  arbValue,
  fc.string({ maxLength: 12 })
).map(([pick, kind, value, key]) => (root: Record<string, unknown>) => {
  const paths = pathsOf(root)
  if (paths.length === 0) return
  const path = paths[pick % paths.length]!
  let parent: any = root
  for (const k of path.slice(0, -1)) parent = parent[k]
  const last = path[path.length - 1]!
  if (kind === "set") parent[last] = value
  else if (kind === "delete") Array.isArray(parent) ? parent.splice(last as number, 1) : delete parent[last]
  else if (kind === "rename" && !Array.isArray(parent)) {
    parent[key] = parent[last]
    delete parent[last]
  } else if (kind === "duplicate" && Array.isArray(parent)) parent.push(structuredClone(parent[last as number]))
  else if (typeof parent[last] === "object" && parent[last] !== null && !Array.isArray(parent[last])) parent[last][key] = value
  else parent[last] = value
})

const arbApp = fc.constantFrom(...catalog)

// ---------------------------------------------------------------------------------------------
// textual YAML features spliced into a catalog manifest's text

const yamlSnippets = [
  "anchor: &a {x: 1}",
  "merged:\n  <<: *a",
  "<<: {memory: 64Mi}",
  "env: &e {A: \"1\"}",
  "extraHosts: *e",
  "description: !!str 12",
  "stopTimeout: !!int \"30\"",
  "stopTimeout: !!float 1.5",
  "description: !!binary aGVsbG8=",
  "description: !custom x",
  "hooks: !!set {a, b}",
  "ports: !!omap [{a: 1}]",
  "memory: !!timestamp 2001-12-14",
  "%YAML 1.1\n---",
  "---",
  "...",
  "? [complex, key]\n: value",
  "? {a: 1}\n: value",
  "description: >\n  folded\n  text",
  "description: |-\n  literal\n  text",
  "description: 'single ''quoted'''",
  "description: \"\\u0000\"",
  "description: \"\\x00\"",
  "env: {A: *undefined}",
  "env: {? A : \"1\"}",
  "\"quoted key\": 1",
  "id: *a",
  "volumes: [{source: demo-node-data, target: /proc/sys}]",
  "ports: [{host: 22, container: 22}]",
  "memory: \"1\"",
  "\t- tab",
  "\ufeffid: bom",
  "# comment only",
  "env:\n  A: \"x\n    y\""
]

const arbSplice = fc.tuple(fc.nat(), fc.constantFrom(...yamlSnippets)).map(([at, snippet]) => (text: string) => {
  const lines = text.split("\n")
  const i = at % (lines.length + 1)
  return [...lines.slice(0, i), snippet, ...lines.slice(i)].join("\n")
})

describe("manifest fuzz", () => {
  it("every catalog app in apps/ validates unmutated", () => {
    assert.isAbove(catalog.length, 5)
    for (const app of catalog) {
      const r = Loader.parseManifest(app.text, file, { expectedId: app.id, hookNames })
      assert.isTrue(Result.isSuccess(r), Result.isFailure(r) ? r.failure.map((e) => e.message).join("\n") : "")
    }
  })

  prop("mutations of every catalog app yield a manifest or located errors", [
    arbApp,
    fc.array(arbMutation, { minLength: 1, maxLength: 5 })
  ], ([app, mutations]) => {
    const doc = parse(app.text) as Record<string, unknown>
    for (const m of mutations) m(doc)
    assertLocated(stringify(doc), app.id)
  }, { fastCheck: { numRuns: runs * 8 }, timeout })

  prop("YAML features spliced into catalog text yield a manifest or located errors", [
    arbApp,
    fc.array(arbSplice, { minLength: 1, maxLength: 4 })
  ], ([app, splices]) => {
    assertLocated(splices.reduce((t, s) => s(t), app.text), app.id)
  }, { fastCheck: { numRuns: runs * 8 }, timeout })

  prop("byte-level damage of catalog text yields a manifest or located errors", [
    arbApp,
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ unit: "binary", maxLength: 6 })), { minLength: 1, maxLength: 6 })
  ], ([app, edits]) => {
    let text = app.text
    for (const [at, del, ins] of edits) {
      const i = at % (text.length + 1)
      text = text.slice(0, i) + ins + text.slice(i + del)
    }
    assertLocated(text, app.id)
  }, { fastCheck: { numRuns: runs * 8 }, timeout })

  prop("sizes: many keys, many list items, long values, aliases fanning out", [
    arbApp,
    fc.constantFrom("keys", "items", "long", "fanout", "nested"),
    fc.integer({ min: 1, max: 6_000 })
  ], ([app, kind, n]) => {
    const extra = kind === "keys"
      ? Array.from({ length: n }, (_, i) => `k${i}: ${i}`).join("\n")
      : kind === "items"
      ? `conflicts:\n${Array.from({ length: n }, (_, i) => `  - app-${i}`).join("\n")}`
      : kind === "long"
      ? `description: "${"x".repeat(n * 64)}"`
      : kind === "fanout"
      ? `x0: &a0 [1]\n${Array.from({ length: Math.min(n, 40) }, (_, i) => `x${i + 1}: &a${i + 1} [*a${i}, *a${i}]`).join("\n")}`
      : `env: ${"[".repeat(Math.min(n, 500))}${"]".repeat(Math.min(n, 500))}`
    assertLocated(`${app.text}\n${extra}\n`, app.id)
  }, { fastCheck: { numRuns: runs * 2 }, timeout })

  it("reports what it checked", () => {
    // the counts of the properties above, for the test log
    console.info(
      `manifest fuzz: ${checked} inputs checked, ${refused} refused with located errors, ${compared} compared with the schema (ARCHY_FUZZ_RUNS=${runs})`
    )
    assert.isAbove(checked, 0)
    assert.isAbove(compared, 0)
  })
})
