/**
 * Alternatives by capability: an app `provides` a capability (`bitcoin-node`) with the endpoints
 * its consumers reach, and another app's `dependsOn` names either an app id or a capability. A
 * capability dependency is satisfied by exactly one installed provider (the catalog makes every
 * two providers of one capability conflict, so no two are ever installed together).
 *
 * Pure: functions of manifests and of which apps are installed, nothing else.
 *
 * @since 0.1.0
 */
import type { AppId } from "../domain/AppId.js"
import type { Manifest } from "./Manifest.js"

/**
 * The host name a container reaches a provider's published ports through.
 *
 * @since 0.1.0
 * @category constants
 */
export const gatewayHost = "host.containers.internal"

/**
 * Where a consumer's container reaches one endpoint of a provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  /** `host.containers.internal`. */
  readonly host: string
  /** The host port publishing the endpoint's container port. */
  readonly port: number
  /** The endpoint's port inside the provider's container, as its manifest declares it. */
  readonly containerPort: number
}

/**
 * The app that satisfies one `dependsOn` entry, with the endpoints of everything it provides.
 *
 * @since 0.1.0
 * @category models
 */
export interface Provider {
  /** The `dependsOn` entry (an app id or a capability). */
  readonly name: string
  readonly appId: AppId
  readonly manifest: Manifest
  /** capability → endpoint name → endpoint, for every capability the app provides. */
  readonly capabilities: Readonly<Record<string, Readonly<Record<string, Endpoint>>>>
}

/**
 * How one `dependsOn` entry resolves against what is installed.
 *
 * - `Resolved`: the app itself (an app id that is installed) or the one installed provider.
 * - `Missing`: nothing installed satisfies it; `candidates` lists what would.
 * - `Ambiguous`: several installed apps provide the capability (only possible when the catalog
 *   check was skipped: providers of one capability conflict).
 *
 * @since 0.1.0
 * @category models
 */
export type Resolution =
  | { readonly _tag: "Resolved"; readonly name: string; readonly appId: AppId }
  | { readonly _tag: "Missing"; readonly name: string; readonly candidates: ReadonlyArray<AppId> }
  | { readonly _tag: "Ambiguous"; readonly name: string; readonly installed: ReadonlyArray<AppId> }

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The apps providing a capability, sorted by id.
 *
 * @since 0.1.0
 * @category getters
 */
export const providersOf = (manifests: ReadonlyArray<Manifest>, capability: string): ReadonlyArray<AppId> =>
  manifests.filter((m) => m.provides.some((p) => p.capability === capability)).map((m) => m.id).sort(byId)

/**
 * Every capability provided in the catalog, sorted.
 *
 * @since 0.1.0
 * @category getters
 */
export const capabilities = (manifests: ReadonlyArray<Manifest>): ReadonlyArray<string> =>
  [...new Set(manifests.flatMap((m) => m.provides.map((p) => p.capability)))].sort(byId)

/**
 * The apps that could satisfy a `dependsOn` entry: the app of that id, else the providers of
 * that capability (empty when the name is neither).
 *
 * @since 0.1.0
 * @category getters
 */
export const candidates = (manifests: ReadonlyArray<Manifest>, name: string): ReadonlyArray<AppId> => {
  const app = manifests.find((m) => m.id === name)
  return app !== undefined ? [app.id] : providersOf(manifests, name)
}

/**
 * The apps an app may depend on, whatever is installed: its app dependencies and every provider
 * of its capability dependencies, sorted by id. What start order, cycle checks, dependents and
 * systemd's `After=` use.
 *
 * @since 0.1.0
 * @category getters
 */
export const dependencyIds = (manifests: ReadonlyArray<Manifest>, manifest: Manifest): ReadonlyArray<AppId> =>
  [...new Set(manifest.dependsOn.flatMap((d) => candidates(manifests, d)))].filter((id) => id !== manifest.id).sort(byId)

/**
 * Resolves every `dependsOn` entry of `manifest` against the installed apps.
 *
 * @since 0.1.0
 * @category combinators
 */
export const resolve = (
  manifests: ReadonlyArray<Manifest>,
  manifest: Manifest,
  isInstalled: (id: AppId) => boolean
): ReadonlyArray<Resolution> =>
  manifest.dependsOn.map((name): Resolution => {
    const all = candidates(manifests, name)
    const installed = all.filter(isInstalled)
    if (installed.length === 1) return { _tag: "Resolved", name, appId: installed[0]! }
    if (installed.length === 0) return { _tag: "Missing", name, candidates: all }
    return { _tag: "Ambiguous", name, installed }
  })

/**
 * The endpoints of a capability an app provides, each with the host port publishing it; an
 * endpoint whose container port is not published is left out (the loader refuses those).
 *
 * @since 0.1.0
 * @category getters
 */
export const endpointsOf = (manifest: Manifest, capability: string): Readonly<Record<string, Endpoint>> => {
  const provide = manifest.provides.find((p) => p.capability === capability)
  const out: Record<string, Endpoint> = {}
  if (provide === undefined) return out
  for (const [name, containerPort] of Object.entries(provide.endpoints)) {
    const published = manifest.ports.find((p) => p.container === containerPort && p.protocol === "tcp") ??
      manifest.ports.find((p) => p.container === containerPort)
    if (published !== undefined) out[name] = { host: gatewayHost, port: published.host, containerPort }
  }
  return out
}

/**
 * The provider view of an app: every capability it provides with its endpoints.
 *
 * @since 0.1.0
 * @category constructors
 */
export const provider = (name: string, manifest: Manifest): Provider => ({
  name,
  appId: manifest.id,
  manifest,
  capabilities: Object.fromEntries(manifest.provides.map((p) => [p.capability, endpointsOf(manifest, p.capability)]))
})

/**
 * The providers of an app's resolved dependencies, in `dependsOn` order (unresolved entries are
 * left out: the orchestrator refuses to start an app with one).
 *
 * @since 0.1.0
 * @category combinators
 */
export const providers = (
  manifests: ReadonlyArray<Manifest>,
  manifest: Manifest,
  isInstalled: (id: AppId) => boolean
): ReadonlyArray<Provider> =>
  resolve(manifests, manifest, isInstalled).flatMap((r) => {
    if (r._tag !== "Resolved") return []
    const m = manifests.find((x) => x.id === r.appId)
    return m === undefined ? [] : [provider(r.name, m)]
  })

/**
 * The ids the resolutions settle on, and for each unresolved entry its name (so a caller can
 * say what it waits for).
 *
 * @since 0.1.0
 * @category getters
 */
export const resolvedNames = (resolutions: ReadonlyArray<Resolution>): ReadonlyArray<string> =>
  resolutions.map((r) => (r._tag === "Resolved" ? r.appId : r.name))

/**
 * How an unresolved entry reads in a message: `bitcoin-node (provided by bitcoin-core or
 * bitcoin-knots)`, or the app id.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (r: Resolution): string => {
  switch (r._tag) {
    case "Resolved":
      return r.appId
    case "Missing":
      return r.candidates.length === 1 && r.candidates[0] === r.name
        ? r.name
        : r.candidates.length === 0
        ? `${r.name} (nothing in the catalog provides it)`
        : `${r.name} (provided by ${r.candidates.join(" or ")})`
    case "Ambiguous":
      return `${r.name} (provided by ${r.installed.join(" and ")}, all installed: exactly one may be)`
  }
}
