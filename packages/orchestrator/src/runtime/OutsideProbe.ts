/**
 * Health probes from outside the container, as the kubelet runs `tcpSocket` and `httpGet`: the
 * orchestrator connects to the app's published port (or, unpublished, the container's address)
 * itself, so an image without `nc` or `wget` (Debian-slim, or busybox without `nc -z`) can turn
 * healthy. `cmd` checks stay podman's (`--health-cmd`): only the app can answer them.
 *
 * The container carries its probe as a label (`io.archipelago.probe`, JSON); the runtime keeps
 * each probed container's health in memory with podman's rules (starting until the first
 * success; unhealthy after `retries` failures in a row once the start period is over).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Net from "node:net"
import type { ContainerDetails } from "./ContainerRuntime.js"

/**
 * The label holding a container's outside probe.
 *
 * @since 0.1.0
 * @category constants
 */
export const label = "io.archipelago.probe"

/**
 * @since 0.1.0
 * @category models
 */
export interface Probe {
  readonly type: "tcp" | "http"
  readonly port: number
  /** The HTTP path (`http` only). */
  readonly path?: string
  readonly timeoutSec: number
  readonly retries: number
  readonly startPeriodSec: number
}

/**
 * The label's value for a probe (canonical JSON: fixed key order).
 *
 * @since 0.1.0
 * @category constructors
 */
export const encode = (p: Probe): string =>
  JSON.stringify({
    type: p.type,
    port: p.port,
    ...(p.path === undefined ? {} : { path: p.path }),
    timeoutSec: p.timeoutSec,
    retries: p.retries,
    startPeriodSec: p.startPeriodSec
  })

const isInt = (u: unknown, min: number, max: number): u is number => typeof u === "number" && Number.isInteger(u) && u >= min && u <= max

/**
 * The probe a label's value holds; undefined for anything else (a hand-edited label is ignored,
 * never trusted as a target).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (text: string | undefined): Probe | undefined => {
  if (text === undefined) return undefined
  let u: unknown
  try {
    u = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof u !== "object" || u === null) return undefined
  const o = u as Record<string, unknown>
  if ((o["type"] !== "tcp" && o["type"] !== "http") || !isInt(o["port"], 1, 65535)) return undefined
  if (!isInt(o["timeoutSec"], 1, 3600) || !isInt(o["retries"], 1, 100) || !isInt(o["startPeriodSec"], 0, 3600)) return undefined
  const path = o["path"]
  if (path !== undefined && (typeof path !== "string" || !path.startsWith("/") || /[\s\u0000-\u001f]/.test(path))) return undefined
  return {
    type: o["type"],
    port: o["port"],
    ...(typeof path === "string" ? { path } : {}),
    timeoutSec: o["timeoutSec"],
    retries: o["retries"],
    startPeriodSec: o["startPeriodSec"]
  }
}

/**
 * Where the orchestrator connects: the container's own address (rootful podman: reachable from
 * the host), else the host port published for the probe's container port, on loopback
 * (rootless podman gives the container no address the host reaches); undefined when the
 * container has neither.
 *
 * @since 0.1.0
 * @category getters
 */
export const target = (
  c: Pick<ContainerDetails, "ports" | "ipAddress">,
  probe: Probe
): { readonly host: string; readonly port: number } | undefined => {
  if (c.ipAddress !== undefined && c.ipAddress !== "") return { host: c.ipAddress, port: probe.port }
  const published = c.ports.find((p) => p.container === probe.port && p.protocol === "tcp" && p.host > 0)
  return published === undefined ? undefined : { host: "127.0.0.1", port: published.host }
}

/**
 * The health kept for one probed container.
 *
 * @since 0.1.0
 * @category models
 */
export interface Kept {
  readonly health: "starting" | "healthy" | "unhealthy"
  readonly failures: number
}

/**
 * The health after one probe, by podman's rules: a success is healthy; a failure during the
 * start period (counted from `startedAt`) leaves it as it was; after it, `retries` failures in a
 * row make it unhealthy.
 *
 * @since 0.1.0
 * @category combinators
 */
export const next = (kept: Kept | undefined, ok: boolean, probe: Probe, startedAt: number | undefined, now: number): Kept => {
  const before = kept ?? { health: "starting", failures: 0 }
  if (ok) return { health: "healthy", failures: 0 }
  if (startedAt !== undefined && now - startedAt < probe.startPeriodSec * 1000) return before
  const failures = before.failures + 1
  return { health: failures >= probe.retries ? "unhealthy" : before.health, failures }
}

/**
 * One probe: a TCP connect, or an HTTP GET answered 200-399 (as the kubelet), within the
 * probe's timeout. Never fails: a refused or timed-out probe is `false`, with why.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (to: { readonly host: string; readonly port: number }, probe: Probe): Effect.Effect<{ readonly ok: boolean; readonly why: string }> => {
  const ms = probe.timeoutSec * 1000
  if (probe.type === "http") {
    const host = to.host.includes(":") ? `[${to.host}]` : to.host
    const url = `http://${host}:${to.port}${probe.path ?? "/"}`
    return Effect.promise((signal) =>
      fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(ms)]), redirect: "manual" }).then(
        async (r) => {
          await r.body?.cancel()
          return r.status >= 200 && r.status < 400 ? { ok: true, why: `GET ${url}: ${r.status}` } : { ok: false, why: `GET ${url}: HTTP ${r.status}` }
        },
        (e: unknown) => ({ ok: false, why: `GET ${url}: ${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name}` })
      )
    )
  }
  return Effect.callback<{ readonly ok: boolean; readonly why: string }>((resume) => {
    const socket = Net.connect({ host: to.host, port: to.port })
    const done = (ok: boolean, why: string) => {
      socket.destroy()
      resume(Effect.succeed({ ok, why: `connect ${to.host}:${to.port}: ${why}` }))
    }
    socket.setTimeout(ms, () => done(false, "timed out"))
    socket.once("connect", () => done(true, "open"))
    socket.once("error", (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message))
    return Effect.sync(() => socket.destroy())
  })
}
