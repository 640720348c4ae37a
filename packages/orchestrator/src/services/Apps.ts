/**
 * The catalog as the services see it: for every app, its manifest and everything derived from
 * it once at start-up (container name, container spec, spec hash, image source, data folder).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Queue, Stream } from "effect"
import type { Scope } from "effect"
import type { Facts } from "../domain/Admission.js"
import type { AppId } from "../domain/AppId.js"
import type { AppMeta } from "../domain/AppView.js"
import * as Capability from "../manifest/Capability.js"
import type { BrokenApp, Catalog } from "../manifest/Catalog.js"
import type { Manifest } from "../manifest/Manifest.js"
import { resolve } from "../manifest/Resolve.js"
import type { ResolvedSource } from "../manifest/Resolve.js"
import type { Settings } from "../manifest/Settings.js"
import { appDataDir, containerName, containerSpec } from "../manifest/Spec.js"
import { order } from "../reconcile/Plan.js"
import type { ContainerSpec } from "../runtime/ContainerSpec.js"
import { Labels } from "../runtime/ContainerSpec.js"
import type { State } from "./StateStore.js"

/**
 * One app, ready for the services.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppDef {
  readonly id: AppId
  readonly manifest: Manifest
  /** The name a container created now gets. Adopted containers may have another. */
  readonly containerName: string
  /** The spec a container created now gets, its spec-hash label included. */
  readonly spec: ContainerSpec
  readonly specHash: string
  /** Where the image comes from: pulled (mirrors first) or built locally. */
  readonly source: ResolvedSource
  /** `<dataDir>/<id>`: removed only on purge. */
  readonly dataDir: string
}

/**
 * The names an app's container may have, most likely first: the adopted container's own name
 * when it differs from the catalog's, then the catalog's.
 *
 * @since 0.1.0
 * @category getters
 */
export const containerNames = (def: AppDef, adoptedName: string | undefined): ReadonlyArray<string> =>
  adoptedName === undefined || adoptedName === def.containerName ? [def.containerName] : [adoptedName, def.containerName]

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Every app, dependencies first: the catalog as last loaded (read it anew each time). */
  readonly all: ReadonlyArray<AppDef>
  /**
   * The apps left out of the catalog at start-up for errors in their manifest, with their
   * located errors (empty once a reload succeeds). They are shown, never managed.
   *
   * @since 0.1.0
   */
  readonly broken: ReadonlyArray<BrokenApp>
  readonly get: (id: string) => Option.Option<AppDef>
  /**
   * Replaces the catalog's definitions (a reload). An app missing from `defs` keeps its
   * current definition (its container is never left without one); new apps are added.
   * Returns the ids whose manifest changed. Nothing running is touched: a changed version
   * shows as an available update, applied only by `update`.
   *
   * @since 0.1.0
   */
  readonly replace: (defs: ReadonlyArray<AppDef>) => ReadonlyArray<AppId>
  /**
   * Reads the catalog again from where it came from (the `--apps` folder) and replaces the
   * definitions when every manifest validates; otherwise reports the errors and keeps the
   * current catalog whole.
   *
   * @since 0.1.0
   */
  readonly reload: Effect.Effect<ReloadReport>
  /**
   * The ids whose definition a `replace` or `reload` changed, once per change that changed any.
   * Never ends; a subscriber sees the changes made after it subscribed.
   *
   * @since 0.1.0
   */
  readonly replaced: Stream.Stream<ReadonlyArray<AppId>>
  /**
   * Like `replaced`, as a queue for the scope's lifetime, subscribed when this effect completes
   * (a stream subscribes only when first pulled): what runs after it cannot miss a change.
   *
   * @since 0.1.0
   */
  readonly subscribeReplaced: Effect.Effect<Queue.Dequeue<ReadonlyArray<AppId>>, never, Scope.Scope>
}

/**
 * What a catalog reload did.
 *
 * @since 0.1.0
 * @category models
 */
export type ReloadReport =
  | { readonly _tag: "Reloaded"; readonly apps: number; readonly changed: ReadonlyArray<AppId> }
  | { readonly _tag: "Rejected"; readonly errors: ReadonlyArray<string> }

/**
 * @since 0.1.0
 * @category tags
 */
export class Apps extends Context.Service<Apps, Service>()("@archipelago/orchestrator/Apps") {}

/**
 * The service over a list of app definitions.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  defs: ReadonlyArray<AppDef>,
  load: Effect.Effect<ReadonlyArray<AppDef>, { readonly errors: ReadonlyArray<string> }> = Effect.fail({
    errors: ["this catalog was given in code, not loaded from a folder: nothing to reload"]
  }),
  brokenAtStart: ReadonlyArray<BrokenApp> = []
): Service => {
  let broken = brokenAtStart
  const ordered = (ds: ReadonlyArray<AppDef>) => {
    const manifests = ds.map((d) => d.manifest)
    return order(ds.map((d) => ({ ...d, dependsOn: Capability.dependencyIds(manifests, d.manifest) }))).map((
      { dependsOn: _d, ...d }
    ) => d)
  }
  let all = ordered(defs)
  let byId = new Map(all.map((d) => [d.id as string, d]))
  const listeners = new Set<(ids: ReadonlyArray<AppId>) => void>()
  const subscribeReplaced = Effect.flatMap(Queue.unbounded<ReadonlyArray<AppId>>(), (q) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const listener = (ids: ReadonlyArray<AppId>) => void Queue.offerUnsafe(q, ids)
        listeners.add(listener)
        return listener
      }),
      (listener) => Effect.andThen(Effect.sync(() => listeners.delete(listener)), Queue.shutdown(q))
    ).pipe(Effect.as(q as Queue.Dequeue<ReadonlyArray<AppId>>)))
  const replaced = Stream.unwrap(Effect.map(subscribeReplaced, (q) => Stream.fromQueue(q)))
  const replace = (next: ReadonlyArray<AppDef>): ReadonlyArray<AppId> => {
    const nextIds = new Set(next.map((d) => d.id as string))
    const kept = all.filter((d) => !nextIds.has(d.id))
    const changed = next.filter((d) => {
      const old = byId.get(d.id)
      return old === undefined || JSON.stringify(old.manifest) !== JSON.stringify(d.manifest) || old.specHash !== d.specHash
    }).map((d) => d.id)
    all = ordered([...next, ...kept])
    byId = new Map(all.map((d) => [d.id as string, d]))
    if (changed.length > 0) for (const listener of listeners) listener(changed)
    return changed
  }
  const reload: Effect.Effect<ReloadReport> = Effect.matchEffect(load, {
    onFailure: (e) =>
      Effect.as(
        Effect.logWarning(`catalog reload rejected, the current catalog is kept: ${e.errors.join("; ")}`),
        { _tag: "Rejected", errors: e.errors } as const
      ),
    onSuccess: (next) => {
      // a repaired app is new to the catalog: `replace` reports it, and its view replaces the broken one
      broken = []
      const changed = replace(next)
      return Effect.as(
        Effect.logInfo(`catalog reloaded: ${next.length} app(s)${changed.length === 0 ? ", none changed" : `, changed: ${changed.join(", ")}`}`),
        { _tag: "Reloaded", apps: next.length, changed } as const
      )
    }
  })
  return {
    get all() {
      return all
    },
    get broken() {
      return broken
    },
    get: (id) => Option.fromNullishOr(byId.get(id)),
    replace,
    reload,
    replaced,
    subscribeReplaced
  }
}

/**
 * The definition of a catalog app under the given settings.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defOf = (app: Catalog["apps"][number], settings: Settings): AppDef => {
  const spec = containerSpec(app, settings)
  return {
    id: app.manifest.id,
    manifest: app.manifest,
    containerName: containerName(app.manifest),
    spec,
    specHash: spec.labels[Labels.specHash] ?? "",
    source: resolve(app, settings),
    dataDir: appDataDir(settings, app.manifest.id)
  }
}

/**
 * The service over a loaded catalog.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCatalog = (
  catalog: Catalog,
  settings: Settings,
  reload?: Effect.Effect<Catalog, { readonly errors: ReadonlyArray<{ readonly message: string }> }>,
  broken: ReadonlyArray<BrokenApp> = []
): Service =>
  make(
    catalog.apps.map((app) => defOf(app, settings)),
    reload === undefined ? undefined : reload.pipe(
      Effect.map((c) => c.apps.map((app) => defOf(app, settings))),
      Effect.mapError((e) => ({ errors: e.errors.map((x) => x.message) }))
    ),
    broken
  )

/**
 * A layer from app definitions (tests, embedders with their own catalog).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (defs: ReadonlyArray<AppDef>): Layer.Layer<Apps> => Layer.sync(Apps, () => make(defs))

/**
 * The apps declared as alternatives of `def` (either side may declare it).
 *
 * @since 0.1.0
 * @category getters
 */
export const conflictsOf = (apps: Service, def: AppDef): ReadonlyArray<AppId> => {
  const out = new Set<AppId>(def.manifest.conflicts.filter((c) => c !== def.id))
  for (const other of apps.all) {
    if (other.id !== def.id && other.manifest.conflicts.includes(def.id)) out.add(other.id)
  }
  return [...out]
}

/**
 * The apps that depend on `id`, directly or through others, ordered so each comes before the
 * apps it depends on (the order to remove them in).
 *
 * @since 0.1.0
 * @category getters
 */
export const dependentsOf = (apps: Service, id: string): ReadonlyArray<AppId> => {
  const manifests = apps.all.map((d) => d.manifest)
  const found = new Set<string>([id])
  let grew = true
  while (grew) {
    grew = false
    for (const def of apps.all) {
      if (!found.has(def.id) && Capability.dependencyIds(manifests, def.manifest).some((d) => found.has(d))) {
        found.add(def.id)
        grew = true
      }
    }
  }
  // `apps.all` puts dependencies first; dependents first is its reverse
  return apps.all.filter((d) => d.id !== id && found.has(d.id)).map((d) => d.id).reverse()
}

/**
 * True when the store counts the app as installed (asked to be, or present and not being removed).
 *
 * @since 0.1.0
 * @category getters
 */
export const isInstalled = (state: State, id: string): boolean => {
  const entry = state.entries[id]
  return state.intents[id]?.installed === true ||
    (entry !== undefined && entry.state !== "not-installed" && entry.transition?.op !== "remove")
}

/**
 * How each `dependsOn` entry of an app resolves against the apps installed in `state`: an app
 * id to itself, a capability to its one installed provider.
 *
 * @since 0.1.0
 * @category getters
 */
export const resolveDependencies = (apps: Service, def: AppDef, state: State): ReadonlyArray<Capability.Resolution> =>
  Capability.resolve(apps.all.map((d) => d.manifest), def.manifest, (id) => isInstalled(state, id))

/**
 * What the apps installed in `state` say about a request for `def` (`Admission.Facts`): its
 * installed alternatives, its dependencies that are not installed, its installed dependents.
 * Gathered, not judged: `Admission.admit` decides what they mean for an op.
 *
 * @since 0.1.0
 * @category getters
 */
export const admissionFacts = (apps: Service, def: AppDef, state: State): Facts => ({
  conflicting: conflictsOf(apps, def).filter((other) => isInstalled(state, other)),
  missing: resolveDependencies(apps, def, state).filter((r) => r._tag !== "Resolved").map(Capability.describe),
  dependents: dependentsOf(apps, def.id).filter((d) => isInstalled(state, d))
})

/**
 * The installed apps an app's `dependsOn` resolves to, with their endpoints (what hooks render from).
 *
 * @since 0.1.0
 * @category getters
 */
export const providersOf = (apps: Service, def: AppDef, state: State): ReadonlyArray<Capability.Provider> =>
  Capability.providers(apps.all.map((d) => d.manifest), def.manifest, (id) => isInstalled(state, id))

/**
 * The catalog facts an `AppView` needs. `dependsOn` defaults to the manifest's entries; pass
 * their resolution (`Capability.resolvedNames`) to show the installed provider of a capability.
 *
 * @since 0.1.0
 * @category getters
 */
export const meta = (def: AppDef, dependsOn: ReadonlyArray<string> = def.manifest.dependsOn): AppMeta => {
  const ui = def.manifest.ui
  const uiPort = ui === undefined ? undefined : def.manifest.ports.find((p) => p.container === ui.port)?.host
  return {
    name: def.manifest.name,
    version: def.manifest.version,
    containerName: def.containerName,
    dependsOn,
    image: def.spec.image,
    ports: def.manifest.ports.map((p) => ({ host: p.host, container: p.container, protocol: p.protocol })),
    ...(uiPort === undefined ? {} : { uiPort })
  }
}
