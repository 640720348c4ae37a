/**
 * What an interrupted `podman build` leaves behind, and how to find exactly ours. Podman 4.3
 * stops on SIGTERM or SIGINT without cleaning up: the working container of the step it was in
 * stays in storage (`podman ps -a --external` shows it) and a `RUN` step's process runs on to its
 * end. Working containers carry no label and are named after the base image
 * (`base-working-container-3`), so a name says nothing about whose build made one. What does: a
 * `RUN` step's process descends from our `podman build` process, and its root is the overlay
 * mount of the working container's layer (`upperdir=<graph root>/overlay/<layer>/diff` in its
 * mountinfo); the storage's `containers.json` names the container of that layer. So, before
 * stopping our build, its descendants and their layers are taken; after it stopped, those
 * processes are killed and those containers removed. Nothing else is touched: another build's
 * containers and processes descend from another process. A build interrupted outside a `RUN`
 * step has no such process and its working container cannot be told from another build's: it
 * is left (and said so in the log).
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Effect } from "effect"
import * as Fs from "../fs/internal/Files.js"
import type * as PodmanCommand from "./PodmanCommand.js"
import type { EngineUnavailable } from "./RuntimeError.js"

/**
 * The pids descending from `root` (children, their children, ...), from a pid → parent pid table.
 *
 * @since 0.1.0
 * @category utils
 */
export const descendants = (root: number, parents: ReadonlyMap<number, number>): ReadonlyArray<number> => {
  const children = new Map<number, Array<number>>()
  for (const [pid, parent] of parents) {
    if (pid === parent) continue
    const list = children.get(parent) ?? []
    list.push(pid)
    children.set(parent, list)
  }
  const out: Array<number> = []
  const seen = new Set<number>([root])
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (seen.has(child)) continue
      seen.add(child)
      out.push(child)
      queue.push(child)
    }
  }
  return out.sort((a, b) => a - b)
}

/**
 * The parent pid in the text of `/proc/<pid>/stat` (the field after the state, which follows the
 * command name in parentheses; the name may itself hold spaces and parentheses).
 *
 * @since 0.1.0
 * @category utils
 */
export const parentOf = (stat: string): number | undefined => {
  const rest = stat.slice(stat.lastIndexOf(")") + 1).trim().split(/\s+/)
  const ppid = Number(rest[1])
  return Number.isSafeInteger(ppid) && ppid >= 0 ? ppid : undefined
}

/**
 * The overlay layer a process runs on: the `upperdir` of the topmost mount at `/` in its
 * `/proc/<pid>/mountinfo`, when that is an overlay under `<...>/overlay/<layer>/diff`.
 *
 * @since 0.1.0
 * @category utils
 */
export const rootLayer = (mountinfo: string): string | undefined => {
  let layer: string | undefined
  for (const line of mountinfo.split("\n")) {
    const [head, tail] = line.split(" - ")
    if (head === undefined || tail === undefined) continue
    if (head.split(" ")[4] !== "/") continue
    const [fsType, , options] = tail.split(" ")
    if (fsType !== "overlay" || options === undefined) continue
    const upper = options.split(",").find((o) => o.startsWith("upperdir="))
    const m = upper === undefined ? null : /\/overlay\/([0-9a-f]{64})\/diff$/.exec(upper)
    if (m !== null) layer = m[1]
  }
  return layer
}

/**
 * The ids of the containers (in the text of containers/storage's `containers.json`) whose layer
 * is one of `layers`.
 *
 * @since 0.1.0
 * @category utils
 */
export const containersOfLayers = (containersJson: string, layers: ReadonlyArray<string>): ReadonlyArray<string> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(containersJson)
  } catch {
    return []
  }
  if (!Array.isArray(parsed)) return []
  return parsed.flatMap((c: unknown) => {
    if (typeof c !== "object" || c === null) return []
    const { id, layer } = c as { readonly id?: unknown; readonly layer?: unknown }
    return typeof id === "string" && typeof layer === "string" && layers.includes(layer) ? [id] : []
  })
}

/**
 * What a running build has on the host: its descendant processes and the layers they run on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly pids: ReadonlyArray<number>
  readonly layers: ReadonlyArray<string>
}

/**
 * Takes the descendants of `pid` and their root layers from `/proc` (empty where `/proc` is not
 * readable).
 *
 * @since 0.1.0
 * @category constructors
 */
export const snapshot = async (pid: number): Promise<Snapshot> => {
  const names = await Fs.readdir("/proc").catch(() => [] as Array<string>)
  const parents = new Map<number, number>()
  await Promise.all(names.filter((n) => /^\d+$/.test(n)).map(async (n) => {
    const parent = parentOf(await Fs.readFile(`/proc/${n}/stat`, "utf8").catch(() => ""))
    if (parent !== undefined) parents.set(Number(n), parent)
  }))
  const pids = descendants(pid, parents)
  const layers = await Promise.all(pids.map((p) => Fs.readFile(`/proc/${p}/mountinfo`, "utf8").then(rootLayer, () => undefined)))
  return { pids, layers: [...new Set(layers.filter((l): l is string => l !== undefined))] }
}

/**
 * The containers of the snapshot's layers, read from `<graphRoot>/overlay-containers/containers.json`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const containersOf = async (graphRoot: string, layers: ReadonlyArray<string>): Promise<ReadonlyArray<string>> =>
  layers.length === 0
    ? []
    : containersOfLayers(await Fs.readFile(NodePath.join(graphRoot, "overlay-containers", "containers.json"), "utf8").catch(() => "[]"), layers)

/**
 * The interruption of a `podman build` (`RunOptions.onInterrupt`): takes the build's snapshot,
 * stops it, kills the `RUN` processes it left running and removes the working containers of their
 * layers (`podman rm --force`), logging what it removed. Failures to clean up are logged, never
 * raised (the interruption goes on).
 *
 * @since 0.1.0
 * @category constructors
 */
export const interruptBuild = (
  running: PodmanCommand.Running,
  podman: (argv: ReadonlyArray<string>) => Effect.Effect<PodmanCommand.Result, EngineUnavailable>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const left = running.pid === undefined ? { pids: [], layers: [] } : yield* Effect.promise(() => snapshot(running.pid!))
    yield* running.stop
    for (const pid of left.pids) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // gone with the build already
      }
    }
    if (left.layers.length === 0) {
      yield* Effect.logDebug("interrupted build: no RUN step was running, no working container of ours to remove")
      return
    }
    const info = yield* podman(["info", "--format", "{{.Store.GraphRoot}}"])
    const ids = info.exitCode === 0 ? yield* Effect.promise(() => containersOf(info.stdout.trim(), left.layers)) : []
    if (ids.length === 0) return
    const removed = yield* podman(["rm", "--force", ...ids])
    yield* removed.exitCode === 0
      ? Effect.logInfo(`interrupted build: removed its working container ${ids.join(", ")}`)
      : Effect.logWarning(`interrupted build: cannot remove its working container ${ids.join(", ")}: ${removed.stderr.trim()}`)
  }).pipe(
    Effect.catch((e) => Effect.logWarning(`interrupted build: cleanup failed: ${e.message}`)),
    Effect.withSpan("BuildLeftovers.interruptBuild")
  )
