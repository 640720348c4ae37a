/**
 * Where an app's image comes from: a registry (tried through the operator's mirrors, then
 * docker.io) or a local build from the app's folder.
 *
 * @since 0.1.0
 */
import type { CatalogApp } from "./CatalogApp.js"
import * as PosixPath from "./internal/PosixPath.js"
import type { Manifest } from "./Manifest.js"
import type { PullCandidate } from "../runtime/ContainerRuntime.js"
import type { Mirror, Registry, Settings } from "./Settings.js"

/**
 * @since 0.1.0
 * @category models
 */
export type ResolvedSource =
  | {
    readonly _tag: "Image"
    /** The fully qualified reference the container is created from (`docker.io/lightninglabs/lnd:v0.18.4-beta`). */
    readonly ref: string
    /** Where to pull it from, in order: each mirror, then docker.io (or only the named registry). */
    readonly candidates: ReadonlyArray<PullCandidate>
    /** Set when `offline` left no candidate: why the image may not be pulled. */
    readonly refused?: string
  }
  | {
    readonly _tag: "Build"
    /** The local tag the build produces: `localhost/archipelago/<id>:<version>`. */
    readonly tag: string
    /** Absolute path of the build context (inside the app's folder). */
    readonly context: string
    /** Absolute path of the Containerfile. */
    readonly containerfile: string
    readonly args: Readonly<Record<string, string>>
  }

const hasRegistry = (ref: string): boolean => {
  const slash = ref.indexOf("/")
  if (slash < 0) return false
  const first = ref.slice(0, slash)
  return first.includes(".") || first.includes(":") || first === "localhost"
}

/**
 * The fully qualified form of an image reference: Docker Hub names get `docker.io/` (and
 * `library/` for official images, also `docker.io/nginx:1`); references naming another
 * registry are kept.
 *
 * @since 0.1.0
 * @category getters
 */
export const canonicalImage = (ref: string): string => {
  if (ref.startsWith("docker.io/") && !ref.slice("docker.io/".length).includes("/")) {
    return `docker.io/library/${ref.slice("docker.io/".length)}`
  }
  if (hasRegistry(ref)) return ref
  return ref.includes("/") ? `docker.io/${ref}` : `docker.io/library/${ref}`
}

/**
 * The registry part of a fully qualified reference (`docker.io`, `127.0.0.1:5000`).
 *
 * @since 0.1.0
 * @category getters
 */
export const registryOf = (canonical: string): string => canonical.slice(0, Math.max(0, canonical.indexOf("/")))

const locationOf = (m: Mirror | Registry): string => (typeof m === "string" ? m : m.location).trim().replace(/\/+$/, "")

/** The listed registry a reference lives in: the longest location that prefixes it at a `/`. */
const listedFor = (canonical: string, registries: ReadonlyArray<Registry>): Registry | undefined =>
  registries
    .filter((r) => {
      const l = locationOf(r)
      return l !== "" && canonical.startsWith(`${l}/`)
    })
    .sort((a, b) => locationOf(b).length - locationOf(a).length)[0]

const candidateOf = (ref: string, r: Registry | undefined): PullCandidate => ({
  ref,
  insecure: r?.insecure ?? false,
  ...(r?.authFile === undefined ? {} : { authFile: r.authFile })
})

/**
 * How images are fetched: `mirrors` of Docker Hub, the operator's own `registries` (insecure,
 * private), and `offline` (contact only those two lists).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sources {
  readonly mirrors: ReadonlyArray<Mirror>
  readonly registries?: ReadonlyArray<Registry>
  readonly offline?: boolean
}

/**
 * The pull candidates of an image, the one source of them: a Docker Hub image (`nginx:1`,
 * `acme/app:1`, `docker.io/...`) through each mirror in order, then `docker.io` last, without
 * duplicates; an image naming another registry only from there, with the TLS and auth file of
 * the listed registry it lives in (mirrors apply to Docker Hub images only). Official images
 * get `library/`. `offline` keeps only the mirrors and the candidates on a listed registry:
 * docker.io and unlisted registries are never tried (an empty list then means the image may
 * not be pulled at all).
 *
 * @example
 * candidates("nginx:1", [{ location: "127.0.0.1:5000", insecure: true }, "mirror.example"])
 * // [{ ref: "127.0.0.1:5000/library/nginx:1", insecure: true },
 * //  { ref: "mirror.example/library/nginx:1", insecure: false },
 * //  { ref: "docker.io/library/nginx:1", insecure: false }]
 *
 * @since 0.1.0
 * @category getters
 */
export const candidates = (ref: string, sources: ReadonlyArray<Mirror> | Sources): ReadonlyArray<PullCandidate> => {
  const { mirrors, offline = false, registries = [] }: Sources = Array.isArray(sources) ? { mirrors: sources as ReadonlyArray<Mirror> } : sources as Sources
  const canonical = canonicalImage(ref)
  if (!canonical.startsWith("docker.io/")) {
    const listed = listedFor(canonical, registries)
    return offline && listed === undefined ? [] : [candidateOf(canonical, listed)]
  }
  const repo = canonical.slice("docker.io/".length)
  const seen = new Set<string>()
  const out: Array<PullCandidate> = []
  const add = (c: PullCandidate) => {
    if (seen.has(c.ref)) return
    seen.add(c.ref)
    out.push(c)
  }
  for (const m of mirrors) {
    const location = locationOf(m)
    if (location === "" || location === "docker.io") continue
    const mirrored = `${location}/${repo}`
    add(candidateOf(mirrored, listedFor(mirrored, registries) ?? (typeof m === "string" ? undefined : { ...m })))
  }
  if (!offline || listedFor(canonical, registries) !== undefined) add(candidateOf(canonical, listedFor(canonical, registries)))
  return out
}

/**
 * Why `offline` refuses to pull `ref` (no mirror and no listed registry has a place for it), in
 * an operator's words; undefined when it may be pulled.
 *
 * @since 0.1.0
 * @category getters
 */
export const offlineRefusal = (ref: string, sources: Sources): string | undefined => {
  if (sources.offline !== true || candidates(ref, sources).length > 0) return undefined
  const canonical = canonicalImage(ref)
  const registry = registryOf(canonical)
  const listed = [...sources.mirrors, ...(sources.registries ?? [])].map(locationOf)
  const named = canonical === ref ? ref : `${ref} (${canonical})`
  return `offline: not pulling ${named}: ${registry} is not a listed registry` +
    (registry === "docker.io" ? " and no mirror is set" : "") +
    ` (listed: ${listed.length === 0 ? "none" : listed.join(", ")}); ` +
    "list it under `registries` (or `mirrors`), turn `offline` off, or give the app a `build`"
}

/**
 * The local tag of a built app: `localhost/archipelago/<id>:<version>` (the version made
 * tag-safe), followed by `-<12 hex digits of the context hash>` when the context was hashed, so
 * a context edited under the same version is built again instead of the old image reused.
 *
 * @since 0.1.0
 * @category getters
 */
export const buildTag = (manifest: Manifest, contextHash?: string): string => {
  const version = manifest.version.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[.-]+/, "").slice(0, 128) || "latest"
  const suffix = contextHash === undefined ? "" : `-${contextHash.slice(0, 12)}`
  return `localhost/archipelago/${manifest.id}:${version.slice(0, 128 - suffix.length)}${suffix}`
}

/**
 * The image reference a container of this manifest runs.
 *
 * @since 0.1.0
 * @category getters
 */
export const imageRef = (manifest: Manifest, contextHash?: string): string =>
  manifest.image !== undefined ? canonicalImage(manifest.image) : buildTag(manifest, contextHash)

/**
 * Resolves an app's image source. The build context was checked by the loader never to
 * escape the app's folder; it is resolved against `app.dir`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (app: CatalogApp, settings: Settings): ResolvedSource => {
  const m = app.manifest
  if (m.build === undefined) {
    const image = m.image ?? ""
    const sources: Sources = { mirrors: settings.mirrors, registries: settings.registries ?? [], offline: settings.offline ?? false }
    const refused = offlineRefusal(image, sources)
    return {
      _tag: "Image",
      ref: canonicalImage(image),
      candidates: candidates(image, sources),
      ...(refused === undefined ? {} : { refused: `${app.file} image: ${refused}` })
    }
  }
  const context = PosixPath.join(app.dir, m.build.context) ?? app.dir
  const containerfile = PosixPath.join(context, m.build.containerfile ?? "Containerfile") ?? `${context}/Containerfile`
  return { _tag: "Build", tag: buildTag(m, app.contextHash), context, containerfile, args: m.build.args }
}
