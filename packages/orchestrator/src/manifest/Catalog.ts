/**
 * The app catalog: every `apps/<id>/manifest.yml` under a folder, checked one by one and
 * together (dependencies exist and have no cycle, no two apps publish the same host port,
 * no two apps share a container name), with ALL errors reported at once.
 *
 * A little over 500 lines: the per-app checks and the checks across apps (dependencies, ports,
 * names) share the catalog's indexes.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Option, Result } from "effect"
import { createHash } from "node:crypto"
import * as NodePath from "node:path"
import type { AppId } from "../domain/AppId.js"
import * as Capability from "./Capability.js"
import type { CatalogApp } from "./CatalogApp.js"
import { closest } from "./internal/Suggest.js"
import type { Located, Position } from "./Loader.js"
import { maxBytes, parseLocated } from "./Loader.js"
import { fileName, type Manifest } from "./Manifest.js"
import { CatalogError, ManifestError } from "./ManifestError.js"
import { resolve } from "./Resolve.js"
import { defaults, type Settings } from "./Settings.js"
import { containerName } from "./Spec.js"

/**
 * One app of the catalog (defined in `CatalogApp.ts`, re-exported here).
 *
 * @since 0.1.0
 * @category models
 */
export type { CatalogApp } from "./CatalogApp.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Catalog {
  /** Sorted so every app comes after its dependencies (ties by id). */
  readonly apps: ReadonlyArray<CatalogApp>
  readonly get: (id: string) => CatalogApp | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  /** The registered pre-start hook names; manifests may name only these. */
  readonly hookNames?: ReadonlyArray<string>
  /** Hooks bound to the apps allowed to run them (see `Loader.Options.hookConsumers`). */
  readonly hookConsumers?: Readonly<Record<string, ReadonlyArray<string>>>
  readonly settings?: Settings
}

/**
 * A parsed manifest waiting for the catalog-wide checks: `located` points into `shownFile`
 * (the path used in messages).
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly app: CatalogApp
  readonly located?: Located
  readonly shownFile?: string
}

const at = (entry: Entry, path: string): Position => entry.located?.locate(path) ?? { line: 1, column: 1 }

const errorAt = (entry: Entry, path: string, rule: string, detail: string): ManifestError => {
  const p = at(entry, path)
  return new ManifestError({
    file: entry.shownFile ?? entry.app.file,
    line: p.line,
    column: p.column,
    path,
    rule,
    detail
  })
}

/**
 * The app a named volume belongs to: the longest id it equals or starts with followed by `-`.
 *
 * @since 0.1.0
 * @category getters
 */
export const ownerOf = (volume: string, ids: ReadonlyArray<string>): string | undefined => {
  let owner: string | undefined
  for (const id of ids) {
    if ((volume === id || volume.startsWith(`${id}-`)) && (owner === undefined || id.length > owner.length)) owner = id
  }
  return owner
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The apps that may never be installed together with `id`: its own `conflicts` and every app
 * naming it in theirs (the relation is symmetric).
 *
 * @since 0.1.0
 * @category getters
 */
export const conflictsWith = (catalog: Pick<Catalog, "apps">, id: string): ReadonlyArray<AppId> => {
  const out = new Set<AppId>()
  for (const { manifest } of catalog.apps) {
    if (manifest.id === id) manifest.conflicts.forEach((c) => out.add(c))
    else if (manifest.conflicts.some((c) => c === id)) out.add(manifest.id)
  }
  return [...out].sort(byId)
}

const conflicting = (a: Manifest, b: Manifest): boolean =>
  a.conflicts.some((c) => c === b.id) || b.conflicts.some((c) => c === a.id)

const bindsOverlap = (a: string | undefined, b: string | undefined): boolean => {
  const any = (ip: string | undefined) => ip === undefined || ip === "0.0.0.0" || ip === "::"
  return any(a) || any(b) || a === b
}

/**
 * Runs the catalog-wide checks and sorts the apps. `knownIds` are the ids that exist even if
 * their manifest failed to load (so a broken dependency is not also reported as missing).
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  entries: ReadonlyArray<Entry>,
  knownIds: ReadonlyArray<string> = []
): Result.Result<Catalog, ReadonlyArray<ManifestError>> => {
  const errors: Array<ManifestError> = []
  const ids = new Map(entries.map((e) => [e.app.manifest.id as string, e]))
  const allIds = [...new Set([...ids.keys(), ...knownIds])].sort(byId)
  const manifests = entries.map((e) => e.app.manifest)
  const provided = new Map<string, Array<Entry>>()
  for (const e of [...entries].sort((a, b) => byId(a.app.manifest.id, b.app.manifest.id))) {
    for (const p of e.app.manifest.provides) provided.set(p.capability, [...(provided.get(p.capability) ?? []), e])
  }

  for (const e of entries) {
    const m = e.app.manifest
    m.conflicts.forEach((d, i) => {
      if (allIds.includes(d)) return
      const near = closest(d, allIds)
      errors.push(errorAt(e, `conflicts[${i}]`, "conflicts", `unknown app ${JSON.stringify(d)}${near ? `; did you mean ${JSON.stringify(near)}?` : ""}`))
    })
    m.dependsOn.forEach((d, i) => {
      if (allIds.includes(d) || provided.has(d)) return
      const near = closest(d, [...allIds, ...provided.keys()])
      errors.push(errorAt(
        e,
        `dependsOn[${i}]`,
        "depends-on",
        `no app is called ${JSON.stringify(d)} and no app provides it as a capability${near ? `; did you mean ${JSON.stringify(near)}?` : ""}`
      ))
    })
    m.dependsOn.forEach((d, i) => {
      const dep = ids.get(d)
      if (dep !== undefined && conflicting(m, dep.app.manifest)) {
        errors.push(errorAt(e, `dependsOn[${i}]`, "depends-on", `${JSON.stringify(d)} conflicts with ${m.id}: they are never installed together`))
      }
      const providers = (provided.get(d) ?? []).filter((p) => p.app.manifest.id !== m.id)
      if (dep === undefined && provided.has(d) && providers.every((p) => conflicting(m, p.app.manifest))) {
        errors.push(errorAt(
          e,
          `dependsOn[${i}]`,
          "depends-on",
          providers.length === 0
            ? `only ${m.id} itself provides ${JSON.stringify(d)}: an app cannot depend on itself`
            : `every provider of ${JSON.stringify(d)} (${providers.map((p) => p.app.manifest.id).join(", ")}) conflicts with ${m.id}`
        ))
      }
    })
  }

  // capabilities: a name is an app id or a capability, never both; the providers of one
  // capability conflict pairwise, so exactly one of them can be installed
  for (const [capability, providers] of provided) {
    providers.forEach((p, k) => {
      const i = p.app.manifest.provides.findIndex((x) => x.capability === capability)
      const path = `provides[${i}].capability`
      if (allIds.includes(capability)) {
        errors.push(errorAt(p, path, "provides", `${JSON.stringify(capability)} is the id of an app; name the capability differently`))
      }
      for (const q of providers.slice(0, k)) {
        if (conflicting(p.app.manifest, q.app.manifest)) continue
        errors.push(errorAt(
          p,
          path,
          "provides",
          `${q.app.manifest.id} also provides ${JSON.stringify(capability)}; list each other in conflicts so exactly one of them is installed`
        ))
      }
    })
  }

  // cycles: a DFS that reports each cycle once, starting from its smallest id
  const state = new Map<string, "visiting" | "done">()
  const reported = new Set<string>()
  const visit = (id: string, stack: Array<string>): void => {
    const s = state.get(id)
    if (s === "done") return
    if (s === "visiting") {
      const cycle = stack.slice(stack.indexOf(id))
      const start = cycle.reduce((a, b) => (b < a ? b : a))
      const rotated = [...cycle.slice(cycle.indexOf(start)), ...cycle.slice(0, cycle.indexOf(start))]
      const key = rotated.join(" ")
      if (!reported.has(key)) {
        reported.add(key)
        const from = ids.get(rotated[0]!)!
        const to = rotated[1] ?? rotated[0]!
        const i = from.app.manifest.dependsOn.findIndex((d) => Capability.candidates(manifests, d).some((c) => c === to))
        errors.push(errorAt(from, `dependsOn[${i}]`, "dependency-cycle", `dependency cycle: ${[...rotated, rotated[0]].join(" -> ")}`))
      }
      return
    }
    const entry = ids.get(id)
    if (entry === undefined) return
    state.set(id, "visiting")
    for (const d of Capability.dependencyIds(manifests, entry.app.manifest)) visit(d, [...stack, id])
    state.set(id, "done")
  }
  for (const id of [...ids.keys()].sort(byId)) visit(id, [])

  // a named volume belongs to the app with the longest id it carries: "demo-node-data" is
  // demo-node's even though it also starts with "demo-"
  for (const e of entries) {
    const m = e.app.manifest
    m.volumes.forEach((v, i) => {
      if (v.source.startsWith(".") || v.source.startsWith("/")) return
      const owner = ownerOf(v.source, allIds)
      if (owner !== undefined && owner !== m.id) {
        errors.push(errorAt(e, `volumes[${i}].source`, "volume-owner", `named volume ${JSON.stringify(v.source)} belongs to ${owner}; name this app's own volume "${m.id}-<name>"`))
      }
    })
  }

  // shared host ports and container names
  const sorted = [...entries].sort((a, b) => byId(a.app.manifest.id, b.app.manifest.id))
  sorted.forEach((b, j) => {
    const mb = b.app.manifest
    for (const a of sorted.slice(0, j)) {
      const ma = a.app.manifest
      if (conflicting(ma, mb)) continue
      mb.ports.forEach((pb, k) => {
        const i = ma.ports.findIndex((pa) => pa.host === pb.host && pa.protocol === pb.protocol && bindsOverlap(pa.hostIp, pb.hostIp))
        if (i < 0) return
        const pa = at(a, `ports[${i}].host`)
        errors.push(errorAt(
          b,
          `ports[${k}].host`,
          "port-collision",
          `host port ${pb.host}/${pb.protocol} is also published by ${ma.id} (${a.shownFile ?? a.app.file}:${pa.line}:${pa.column}); give one of them another port or declare them in conflicts`
        ))
      })
      if (containerName(ma) === containerName(mb)) {
        errors.push(errorAt(b, mb.container.name !== undefined ? "container.name" : "id", "container-name", `container name ${JSON.stringify(containerName(mb))} is also used by ${ma.id}`))
      }
    }
  })

  if (errors.length > 0) return Result.fail(errors)
  return Result.succeed(make(entries.map((e) => e.app)))
}

/**
 * A catalog of already validated apps, sorted so dependencies come first (no checks: use
 * `check` or `load` for those).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (apps: ReadonlyArray<CatalogApp>): Catalog => {
  const byApp = new Map(apps.map((a) => [a.manifest.id as string, a]))
  const manifests = apps.map((a) => a.manifest)
  const out: Array<CatalogApp> = []
  const placed = new Set<string>()
  const place = (a: CatalogApp, depth: number): void => {
    if (placed.has(a.manifest.id) || depth > byApp.size) return
    for (const d of Capability.dependencyIds(manifests, a.manifest)) {
      const dep = byApp.get(d)
      if (dep !== undefined) place(dep, depth + 1)
    }
    if (!placed.has(a.manifest.id)) {
      placed.add(a.manifest.id)
      out.push(a)
    }
  }
  for (const a of [...apps].sort((x, y) => byId(x.manifest.id, y.manifest.id))) place(a, 0)
  return { apps: out, get: (id) => byApp.get(id) }
}

const sortErrors = (errors: ReadonlyArray<ManifestError>): ReadonlyArray<ManifestError> =>
  [...errors].sort((a, b) => byId(a.file, b.file) || a.line - b.line || a.column - b.column)

const within = (p: string, root: string): boolean => p === root || p.startsWith(`${root}${NodePath.sep}`)

/**
 * A build's context and Containerfile must exist and, symlinks followed, stay inside the app's
 * folder (the loader already refused `..` and absolute paths; only the disk knows symlinks).
 */
const checkBuild = (fs: FileSystem.FileSystem, entry: Entry) =>
  Effect.gen(function*() {
    const source = resolve(entry.app, defaults)
    if (source._tag !== "Build") return []
    const real = (p: string) => Effect.option(fs.realPath(p))
    const dir = yield* real(entry.app.dir)
    const context = yield* real(source.context)
    const m = entry.app.manifest
    const shown = JSON.stringify(m.build?.context ?? ".")
    if (Option.isNone(context)) return [errorAt(entry, "build.context", "build-context", `folder ${shown} not found in the app's folder`)]
    if (Option.isNone(dir) || !within(context.value, dir.value)) {
      return [errorAt(entry, "build.context", "build-context", `expected a folder inside the app's folder, got ${shown} (a symlink leading to ${context.value})`)]
    }
    const containerfile = yield* real(source.containerfile)
    const name = JSON.stringify(m.build?.containerfile ?? "Containerfile")
    const path = m.build?.containerfile !== undefined ? "build.containerfile" : "build.context"
    if (Option.isNone(containerfile)) return [errorAt(entry, path, "build-context", `Containerfile ${name} not found in the build context`)]
    if (!within(containerfile.value, context.value)) {
      return [errorAt(entry, path, "build-context", `expected a file inside the build context, got ${name} (a symlink leading to ${containerfile.value})`)]
    }
    return []
  })

/**
 * The sha256 of a build context: every entry's path relative to the context (sorted), its kind,
 * its mode and a file's content. The same files give the same hash wherever the folder is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contextHash = (fs: FileSystem.FileSystem, context: string) =>
  Effect.gen(function*() {
    const hash = createHash("sha256")
    const names = [...(yield* fs.readDirectory(context, { recursive: true }))].sort(byId)
    for (const name of names) {
      const path = NodePath.join(context, name)
      const info = yield* fs.stat(path)
      if (info.type === "Directory") hash.update(`d\0${name}\0`)
      else if (info.type === "File") {
        hash.update(`f\0${name}\0${(info.mode & 0o777).toString(8)}\0${info.size}\0`)
        hash.update(yield* fs.readFile(path))
      }
    }
    return hash.digest("hex")
  })

/**
 * An app whose manifest (or its place in the catalog) has errors: left out of the catalog,
 * shown with its located errors. `id` is its folder's name.
 *
 * @since 0.1.0
 * @category models
 */
export interface BrokenApp {
  readonly id: string
  readonly errors: ReadonlyArray<ManifestError>
}

/**
 * What a tolerant load found: the catalog of the apps that validate, and the apps left out.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loaded {
  readonly catalog: Catalog
  readonly broken: ReadonlyArray<BrokenApp>
}

/**
 * The apps whose entries stand together: `check` is run again without the apps an error of the
 * last run names, until the rest passes (an error between two apps leaves both out). Returns the
 * catalog and each left-out app's errors by its id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const checkTolerant = (
  entries: ReadonlyArray<Entry>,
  knownIds: ReadonlyArray<string> = []
): { readonly catalog: Catalog; readonly errors: ReadonlyMap<string, ReadonlyArray<ManifestError>> } => {
  const errors = new Map<string, Array<ManifestError>>()
  let kept = [...entries]
  for (;;) {
    const checked = check(kept, knownIds)
    if (Result.isSuccess(checked)) return { catalog: checked.success, errors }
    const fileOf = (e: Entry) => e.shownFile ?? e.app.file
    const named = new Set<string>()
    for (const err of checked.failure) {
      const owner = kept.find((e) => fileOf(e) === err.file)
      const id = owner?.app.manifest.id ?? ""
      named.add(id)
      errors.set(id, [...(errors.get(id) ?? []), err])
    }
    const next = kept.filter((e) => !named.has(e.app.manifest.id))
    // an error naming no app of the catalog: nothing can be left out to pass, so none stands
    if (next.length === kept.length) {
      for (const e of kept) errors.set(e.app.manifest.id, errors.get(e.app.manifest.id) ?? [])
      return { catalog: make([]), errors }
    }
    kept = next
  }
}

/**
 * Loads every `<appsDir>/<id>/manifest.yml` (folders starting with `.` or `_` are skipped) and
 * checks them one by one and together; a build's context and Containerfile must exist inside
 * the app's folder. An app with errors is left out (with every error found, located) and the
 * others form the catalog: one broken manifest never takes the rest down. Fails only when the
 * folder itself cannot be read. Paths in messages start with `appsDir` as given;
 * `CatalogApp.dir` and `.file` are absolute.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadTolerant = Effect.fn("Catalog.loadTolerant")(function*(appsDir: string, options: LoadOptions = {}) {
  const fs = yield* FileSystem.FileSystem
  const names = yield* fs.readDirectory(appsDir).pipe(
    Effect.mapError((e) =>
      new CatalogError({
        errors: [new ManifestError({
          file: appsDir,
          line: 0,
          column: 0,
          path: "",
          rule: "io",
          detail: e.reason._tag === "NotFound"
            ? "the app folder does not exist (set --apps, ARCHIPELAGO_APPS or `apps:` in the config file)"
            : e.reason._tag === "BadResource"
            ? "expected a folder of apps, found a file"
            : `cannot read the app folder: ${e.message}`
        })]
      })
    )
  )
  const broken = new Map<string, Array<ManifestError>>()
  const fail = (name: string, e: ManifestError) => broken.set(name, [...(broken.get(name) ?? []), e])
  const entries: Array<Entry> = []
  const known: Array<string> = []
  for (const name of [...names].sort(byId)) {
    if (name.startsWith(".") || name.startsWith("_")) continue
    const dir = NodePath.resolve(appsDir, name)
    const info = yield* Effect.result(fs.stat(dir))
    if (Result.isFailure(info) || info.success.type !== "Directory") continue
    known.push(name)
    const shownFile = NodePath.join(appsDir, name, fileName)
    const file = NodePath.join(dir, fileName)
    const size = yield* Effect.result(fs.stat(file))
    if (Result.isSuccess(size) && Number(size.success.size) > maxBytes) {
      fail(name, new ManifestError({ file: shownFile, line: 1, column: 1, path: "", rule: "size", detail: `the manifest is larger than ${maxBytes / 1024} KiB` }))
      continue
    }
    const text = yield* Effect.result(fs.readFileString(file))
    if (Result.isFailure(text)) {
      fail(name, new ManifestError({ file: shownFile, line: 0, column: 0, path: "", rule: "io", detail: `cannot read the manifest: ${text.failure.message}` }))
      continue
    }
    const parsed = parseLocated(text.success, shownFile, {
      expectedId: name,
      ...(options.hookNames !== undefined ? { hookNames: options.hookNames } : {}),
      ...(options.hookConsumers !== undefined ? { hookConsumers: options.hookConsumers } : {}),
      ...(options.settings !== undefined ? { settings: options.settings } : {})
    })
    if (Result.isFailure(parsed)) {
      for (const e of parsed.failure) fail(name, e)
      continue
    }
    const entry: Entry = { app: { manifest: parsed.success.manifest, dir, file }, located: parsed.success, shownFile }
    const buildErrors = yield* checkBuild(fs, entry)
    for (const e of buildErrors) fail(name, e)
    if (buildErrors.length > 0) continue
    const source = resolve(entry.app, defaults)
    if (source._tag === "Build") {
      const hashed = yield* Effect.result(contextHash(fs, source.context))
      if (Result.isFailure(hashed)) {
        fail(name, errorAt(entry, "build.context", "build-context", `cannot read the build context: ${hashed.failure.message}`))
        continue
      }
      entries.push({ ...entry, app: { ...entry.app, contextHash: hashed.success } })
      continue
    }
    entries.push(entry)
  }
  const checked = checkTolerant(entries, known)
  for (const [id, errs] of checked.errors) for (const e of errs) fail(id, e)
  const out: Loaded = {
    catalog: checked.catalog,
    broken: [...broken.entries()].sort(([a], [b]) => byId(a, b)).map(([id, errs]) => ({ id, errors: sortErrors(errs) }))
  }
  return out
})

/**
 * Like `loadTolerant`, all or nothing: fails with every error found, located, when any app has
 * one (`validate`, reloads that keep the current catalog whole).
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = Effect.fn("Catalog.load")(function*(appsDir: string, options: LoadOptions = {}) {
  const loaded = yield* loadTolerant(appsDir, options)
  if (loaded.broken.length > 0) {
    return yield* Effect.fail(new CatalogError({ errors: sortErrors(loaded.broken.flatMap((b) => b.errors)) }))
  }
  return loaded.catalog
})
