/**
 * The rules of one manifest that look at more than one field, or at the loader's options (the
 * folder's name, the registered hooks, the settings), or that are the catalog's policy rather
 * than a manifest's validity (a pinned image): image or build, bind mounts and named volumes,
 * host ports, extra hosts, dependencies, conflicts, capabilities and hooks. The
 * schema (`Manifest.ts`) checks every field on its own; these run on what of the manifest is
 * valid, so a file with a type error still gets all its other problems in one pass.
 *
 * Pure: no file system, no clock.
 *
 * @since 0.1.0
 */
import * as PosixPath from "./internal/PosixPath.js"
import type { Salvaged } from "./internal/Salvage.js"
import { closest } from "./internal/Suggest.js"
import { imageOrBuild, isIp, isPinnedImage, type Manifest } from "./Manifest.js"
import * as Settings from "./Settings.js"
import { appDataDir, reservedNames } from "./Spec.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The folder name the manifest lives in; `id` must equal it. */
  readonly expectedId?: string
  /** The registered pre-start hook names; when given, `hooks` may name only these. */
  readonly hookNames?: ReadonlyArray<string>
  /**
   * Hooks bound to the apps allowed to run them (hooks that render a secret): hook name → app
   * ids. A manifest of any other app naming such a hook is an error at `hooks[i]`.
   */
  readonly hookConsumers?: Readonly<Record<string, ReadonlyArray<string>>>
  readonly settings?: Settings.Settings
}

/**
 * One broken rule: the field path it points at (`ports[1].host`), the rule's name and what a
 * packager reads.
 *
 * @since 0.1.0
 * @category models
 */
export interface Finding {
  readonly path: string
  readonly rule: string
  readonly detail: string
}

/**
 * Host ports no app may publish, with the reason, besides the orchestrator's own
 * (`Settings.serverPort`).
 *
 * @since 0.1.0
 * @category constants
 */
export const reservedHostPorts: Readonly<Record<number, string>> = { 22: "ssh" }

/**
 * A map key as it appears in a field path: `env.A`, or `extraHosts["host.containers.internal"]`
 * for a key that is not an identifier.
 *
 * @since 0.1.0
 * @category getters
 */
export const keyPath = (prefix: string, key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (prefix === "" ? key : `${prefix}.${key}`) : `${prefix}[${JSON.stringify(key)}]`

const defined = <A>(a: A | undefined): a is A => a !== undefined

/**
 * Checks the rules on the valid part of a manifest. `reported` tells whether a field already
 * has a problem (so "give either image or build" is not said about a broken `image`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (
  m: Salvaged<Manifest>,
  options: Options = {},
  reported: (path: string) => boolean = () => false
): ReadonlyArray<Finding> => {
  const out: Array<Finding> = []
  const fail = (path: string, rule: string, detail: string): void => {
    out.push({ path, rule, detail })
  }
  const settings = options.settings ?? Settings.defaults
  const id: string | undefined = m.id

  if (id !== undefined && reservedNames.has(id)) {
    fail("id", "reserved-id", `${JSON.stringify(id)} is a name the orchestrator keeps for itself in the data dir (reserved: ${[...reservedNames].join(", ")}); choose another id`)
  }

  if (options.expectedId !== undefined && id !== undefined && id !== options.expectedId) {
    fail("id", "id-folder", `expected ${JSON.stringify(options.expectedId)} (the name of the manifest's folder), got ${JSON.stringify(id)}`)
  }

  const xor = imageOrBuild(m)
  if (xor !== undefined && !(xor.path[0] === "image" && (reported("image") || reported("build")))) {
    fail(xor.path[0], "image-xor-build", xor.message)
  }

  if (m.image !== undefined && !isPinnedImage(m.image)) {
    fail("image", "image-pinned", `expected a pinned tag or digest (not "latest"), got ${JSON.stringify(m.image)}`)
  }

  // volumes: bind mounts stay under the app's data directory or an allowed root, named volumes
  // carry the app's id, no target is mounted twice
  const dataDir = id === undefined ? undefined : appDataDir(settings, id)
  const roots = settings.allowedBindRoots.flatMap((r) => {
    const n = PosixPath.normalize(r)
    return n !== undefined && PosixPath.isAbsolute(n) ? [n] : []
  })
  const targets = new Map<string, number>()
  ;(m.volumes ?? []).forEach((v, i) => {
    const source = v?.source
    const sp = `volumes[${i}].source`
    if (source === undefined) {
      // refused by the schema
    } else if (source === "." || source.startsWith("./")) {
      if (dataDir !== undefined && PosixPath.normalize(source) === undefined) {
        fail(sp, "bind-mount", `expected a path inside the app's data directory ${dataDir}, got ${JSON.stringify(source)}`)
      }
    } else if (PosixPath.isAbsolute(source)) {
      const norm = PosixPath.normalize(source) ?? source
      const allowed = (dataDir !== undefined && PosixPath.isWithin(norm, dataDir)) || roots.some((r) => PosixPath.isWithin(norm, r))
      if (!allowed && dataDir !== undefined) {
        fail(
          sp,
          "bind-mount",
          `bind mounts must lie under ${dataDir}${roots.length > 0 ? ` or an allowed bind root (${roots.join(", ")})` : ""}, got ${JSON.stringify(source)}`
        )
      }
    } else if (id !== undefined && source !== id && !source.startsWith(`${id}-`)) {
      fail(sp, "volume-owner", `a named volume must belong to the app: name it ${JSON.stringify(id)} or "${id}-<name>", got ${JSON.stringify(source)}`)
    }
    const norm = v?.target === undefined ? undefined : PosixPath.normalize(v.target)
    if (norm !== undefined) {
      const first = targets.get(norm)
      if (first !== undefined) fail(`volumes[${i}].target`, "volume-target", `${norm} is already mounted by volumes[${first}]`)
      else targets.set(norm, i)
    }
  })

  // ports: none reserved, privileged ones with a reason, each published once
  const published = new Map<string, number>()
  ;(m.ports ?? []).forEach((p, i) => {
    const host = p?.host
    if (host === undefined) return
    const key = `${host}/${p?.protocol ?? "tcp"}`
    const hp = `ports[${i}].host`
    const reserved = host === (settings.serverPort ?? Settings.defaultServerPort) ? "the orchestrator's own API and dashboard" : reservedHostPorts[host]
    if (reserved !== undefined) {
      fail(hp, "host-port", `host port ${host} is reserved for ${reserved}`)
    } else if (host < 1024 && p?.reason === undefined) {
      fail(hp, "host-port", `host port ${host} is privileged (below 1024); say why the app needs it in ports[${i}].reason, or publish a port from 1024 up`)
    }
    const first = published.get(key)
    if (first !== undefined) fail(hp, "port-collision", `host port ${key} is already published by ports[${first}]`)
    else published.set(key, i)
  })

  for (const [host, address] of Object.entries(m.extraHosts ?? {})) {
    if (address === undefined) continue
    const p = keyPath("extraHosts", host)
    if (host === "host.containers.internal") {
      if (address !== "host-gateway") {
        fail(p, "host-gateway", `host.containers.internal must be "host-gateway" (the host itself, never the LAN router), got ${JSON.stringify(address)}`)
      }
    } else if (address !== "host-gateway" && !isIp(address)) {
      fail(p, "extra-host", `expected an IP address or "host-gateway", got ${JSON.stringify(address)}`)
    }
  }

  // references to other apps and hooks
  const depends = m.dependsOn ?? []
  const listRule = (field: "dependsOn" | "conflicts" | "hooks", rule: string, self?: string) => {
    const seen = new Set<string>()
    ;(m[field] ?? []).forEach((d, i) => {
      if (d === undefined) return
      if (self !== undefined && d === id) fail(`${field}[${i}]`, rule, self)
      else if (seen.has(d)) fail(`${field}[${i}]`, rule, `${JSON.stringify(d)} is listed twice`)
      seen.add(d)
    })
  }
  listRule("dependsOn", "depends-on", "an app cannot depend on itself")
  listRule("conflicts", "conflicts", "an app cannot conflict with itself")
  ;(m.conflicts ?? []).forEach((c, i) => {
    if (c !== undefined && depends.includes(c) && c !== id) {
      fail(`conflicts[${i}]`, "conflicts", `${JSON.stringify(c)} is also in dependsOn: an app cannot need what it excludes`)
    }
  })
  listRule("hooks", "hook")

  // capabilities provided: each once, each endpoint a published container port
  const capabilitiesSeen = new Map<string, number>()
  const containerPorts = new Set((m.ports ?? []).map((p) => p?.container).filter(defined))
  ;(m.provides ?? []).forEach((p, i) => {
    const name = p?.capability
    if (name !== undefined) {
      const first = capabilitiesSeen.get(name)
      if (first !== undefined) fail(`provides[${i}].capability`, "provides", `${JSON.stringify(name)} is already provided by provides[${first}]`)
      else capabilitiesSeen.set(name, i)
      const dep = depends.indexOf(name)
      if (dep >= 0 && first === undefined) {
        fail(`dependsOn[${dep}]`, "depends-on", `${JSON.stringify(name)} is provided by this app itself (provides[${i}]): an app cannot depend on itself`)
      }
    }
    for (const [endpoint, port] of Object.entries(p?.endpoints ?? {})) {
      if (port === undefined || containerPorts.has(port)) continue
      fail(
        keyPath(`provides[${i}].endpoints`, endpoint),
        "provides",
        `container port ${port} is not published in ports: consumers reach an endpoint through its host port; publish it or name a published container port (${
          containerPorts.size === 0 ? "none" : [...containerPorts].join(", ")
        })`
      )
    }
  })

  const hooks = m.hooks ?? []
  if (options.hookNames !== undefined) {
    const names = options.hookNames
    hooks.forEach((h, i) => {
      if (h === undefined || names.includes(h)) return
      const near = closest(h, names)
      fail(
        `hooks[${i}]`,
        "hook",
        near !== undefined
          ? `unknown hook ${JSON.stringify(h)}; did you mean ${JSON.stringify(near)}?`
          : `unknown hook ${JSON.stringify(h)}; known hooks: ${names.length === 0 ? "none" : names.join(", ")}`
      )
    })
  }
  if (options.hookConsumers !== undefined) {
    const consumers = options.hookConsumers
    hooks.forEach((h, i) => {
      if (h === undefined || !Object.hasOwn(consumers, h)) return
      const allowed = consumers[h]!
      if (id !== undefined && allowed.includes(id)) return
      fail(
        `hooks[${i}]`,
        "hook-consumer",
        `hook ${JSON.stringify(h)} renders a secret for ${allowed.length === 0 ? "no app" : allowed.join(", ")} only; ${id !== undefined ? JSON.stringify(id) : "this app"} may not run it`
      )
    })
  }
  return out
}
