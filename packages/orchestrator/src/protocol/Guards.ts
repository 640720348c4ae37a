/**
 * The browser's decoder: one small hand-written guard per message schema, property by property
 * from the schemas, so a dashboard bundle checks what arrives without carrying Schema code
 * (Schema would more than double the dashboard's gzip budget). Each guard answers exactly what
 * `Schema.is` of the same-named schema in `Messages.schemas` answers: `ProtocolGuards.test.ts`
 * proves it with fast-check on arbitrary, mutated and random JSON values.
 *
 * @since 0.1.0
 */
import * as AppState from "../domain/AppState.js"
import * as DiskSpace from "../domain/DiskSpace.js"
import * as Op from "../domain/Op.js"
import * as Literals from "./internal/Literals.js"
import type { schemas } from "./Messages.js"
import type { Notification } from "./Methods.js"
import type { NotificationParams } from "./Params.js"

/**
 * Why a value is not the message it should be: the dotted path of the first bad field and what
 * was expected there.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly field: string
  readonly expected: string
}

/**
 * A guard: undefined when `u` is valid, else the first issue (`at` is the path of `u`).
 *
 * @since 0.1.0
 * @category models
 */
export type Check = (u: unknown, at: string) => Issue | undefined

const hasOwn = (u: object, key: string): boolean => Object.prototype.hasOwnProperty.call(u, key)
const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const join = (at: string, key: string): string => (at === "" ? key : `${at}.${key}`)

const kind = (expected: string, test: (u: unknown) => boolean): Check => (u, at) =>
  test(u) ? undefined : { field: at, expected }

const str = kind("a string", (u) => typeof u === "string")
const num = kind("a number", (u) => typeof u === "number")
const bool = kind("a boolean", (u) => typeof u === "boolean")
const unknown: Check = () => undefined
const lit = (values: ReadonlyArray<string>): Check => {
  const set = new Set<unknown>(values)
  return kind(values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.join(", ")}`, (u) => set.has(u))
}
const nullable = (c: Check): Check => (u, at) => (u === null ? undefined : c(u, at))
const array = (c: Check): Check => (u, at) => {
  if (!Array.isArray(u)) return { field: at, expected: "an array" }
  for (let i = 0; i < u.length; i++) {
    const issue = c(u[i], `${at}[${i}]`)
    if (issue !== undefined) return issue
  }
  return undefined
}
// `optional` fields may be absent or undefined (`Schema.optional`); `exact` ones may be absent but
// never undefined (`Schema.optionalKey(s)`).
const struct = (
  required: Readonly<Record<string, Check>>,
  optional: Readonly<Record<string, Check>> = {},
  exact: Readonly<Record<string, Check>> = {}
): Check => {
  const req = Object.entries(required)
  const opt = Object.entries(optional)
  const exa = Object.entries(exact)
  return (u, at) => {
    if (!isRecord(u)) return { field: at, expected: "an object" }
    for (const [key, c] of req) {
      if (!hasOwn(u, key)) return { field: join(at, key), expected: "a value (it is missing)" }
      const issue = c(u[key], join(at, key))
      if (issue !== undefined) return issue
    }
    for (const [key, c] of opt) {
      if (!hasOwn(u, key) || u[key] === undefined) continue
      const issue = c(u[key], join(at, key))
      if (issue !== undefined) return issue
    }
    for (const [key, c] of exa) {
      if (!hasOwn(u, key)) continue
      const issue = c(u[key], join(at, key))
      if (issue !== undefined) return issue
    }
    return undefined
  }
}

const nullableNum = nullable(num)
const nullableStr = nullable(str)
const opValue = lit(Op.all)
const stateValue = lit(AppState.all)

const checkAppView = struct({
  id: str,
  name: str,
  version: str,
  state: stateValue,
  generation: num,
  visualState: lit(Literals.visualStates),
  health: lit(Literals.healths),
  ports: array(struct({ host: num, container: num, protocol: lit(Literals.protocols) })),
  containerName: str,
  containerId: nullableStr,
  image: nullableStr,
  lanAddress: nullableStr,
  startedAt: nullableNum,
  exitCode: nullableNum,
  transition: nullable(struct({ op: opValue, since: num, deadline: num, previous: stateValue })),
  lastError: nullable(struct({ op: lit(Literals.errorOps), message: str, at: num })),
  crashLoop: nullable(struct({ restarts: num, nextAttemptAt: num }, {}, { neverRan: bool })),
  dependsOn: array(str),
  intent: struct({ installed: bool, wantRunning: bool, userStopped: bool, updatedAt: num }),
  uiPort: nullableNum,
  digest: nullableStr,
  runningVersion: nullableStr,
  updateAvailable: nullable(struct({ from: str, to: str, direction: lit(Literals.directions) }))
}, {}, { catalogError: str, manifestPorts: array(struct({ host: num, container: num, protocol: lit(Literals.protocols) })) })
const checkAccepted = struct({ appId: str, op: opValue, status: str, generation: num }, { cascade: array(str) })
const checkLogLine = struct({ seq: num, at: num, level: lit(Literals.levels), message: str })
const checkResources = struct({ appId: str, cpuPercent: num, memoryBytes: num, memoryLimitBytes: nullableNum })
const checkSubscribed = struct({ subscription: str }, { appId: str })
const checkErrorObject = struct({ code: num, message: str }, { data: unknown })
const checkId: Check = kind("a string, a number or null", (u) => u === null || typeof u === "string" || typeof u === "number")
const checkSuccess = struct({ jsonrpc: lit(["2.0"]), id: checkId, result: unknown })
const checkFailure = struct({ jsonrpc: lit(["2.0"]), id: checkId, error: checkErrorObject })

/**
 * The guard of every message, by the name of its schema (`notifications`' and `results`' keys
 * included). Each answers exactly what `Schema.is` of the same-named schema answers.
 *
 * @since 0.1.0
 * @category guards
 */
export const checks = {
  AppView: checkAppView,
  Accepted: checkAccepted,
  ServerVersion: struct({ version: str, engine: lit(Literals.engines), engineVersion: str }),
  LogLine: checkLogLine,
  ContainerLogs: struct({ appId: str, text: str, truncated: bool }),
  AppResources: checkResources,
  BackupList: struct({
    dir: str,
    keep: num,
    apps: array(struct({
      appId: str,
      archives: array(struct({ file: str, createdAt: num, bytes: num })),
      watched: array(struct({ path: str, copies: num, lastCopyAt: nullableNum, shrank: nullable(struct({ from: num, to: num })) })),
      recovery: nullableStr,
      schedule: nullable(struct({ everyHours: num, lastAt: nullableNum, nextAt: num }))
    }))
  }),
  Subscribed: checkSubscribed,
  Snapshot: struct({ apps: array(checkAppView), seq: num }),
  Changed: struct({ app: checkAppView, seq: num }),
  LogLines: struct({ subscription: str, appId: str, lines: array(str), dropped: num }),
  LogsEnded: struct({ subscription: str, appId: str, reason: str }),
  StatsChanged: struct({ subscription: str, at: num, apps: array(checkResources) }),
  BackupsChanged: struct({ appId: str }),
  ErrorObject: checkErrorObject,
  Response: ((u, at) => {
    if (checkSuccess(u, at) === undefined) return undefined
    return isRecord(u) && hasOwn(u, "error") ? checkFailure(u, at) : checkSuccess(u, at)
  }) as Check,
  NotificationMessage: struct({ jsonrpc: lit(["2.0"]), method: str, params: unknown }),
  AppList: array(checkAppView),
  InstallLog: array(checkLogLine),
  Stats: struct({ at: num, apps: array(checkResources) }),
  DiskReport: struct({
    at: num,
    freeBytes: num,
    totalBytes: num,
    level: lit(DiskSpace.levels),
    apps: array(struct({ appId: str, bytes: num, partial: bool }))
  })
} as const satisfies { readonly [K in keyof typeof schemas]: Check }

/**
 * The values each guard admits, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Checked = { readonly [K in keyof typeof schemas]: typeof schemas[K]["Type"] }

/**
 * The guard of each notification's params, by notification name.
 *
 * @since 0.1.0
 * @category guards
 */
export const notificationChecks: { readonly [K in Notification]: Check } = {
  "state.snapshot": checks.Snapshot,
  "state.changed": checks.Changed,
  "logs.lines": checks.LogLines,
  "logs.ended": checks.LogsEnded,
  "stats.changed": checks.StatsChanged,
  "backups.changed": checks.BackupsChanged
}

/**
 * True for the name of a notification the protocol defines.
 *
 * @since 0.1.0
 * @category guards
 */
export const isNotification = (u: unknown): u is Notification =>
  typeof u === "string" && Object.prototype.hasOwnProperty.call(notificationChecks, u)

/**
 * A decoded message, or the issue that makes it not one.
 *
 * @since 0.1.0
 * @category models
 */
export type Decoded<A> =
  | { readonly _tag: "Valid"; readonly value: A }
  | { readonly _tag: "Invalid"; readonly issue: Issue }

/**
 * Decodes `u` as the message `name` with its guard; `at` is the path of `u` in what arrived
 * (`params`, `result`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = <K extends keyof Checked>(name: K, u: unknown, at = ""): Decoded<Checked[K]> => {
  const issue = checks[name](u, at)
  return issue === undefined ? { _tag: "Valid", value: u as Checked[K] } : { _tag: "Invalid", issue }
}

/**
 * Decodes the params of notification `method` with its guard.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeParams = <K extends Notification>(method: K, params: unknown): Decoded<NotificationParams[K]> => {
  const issue = notificationChecks[method](params, "params")
  return issue === undefined ? { _tag: "Valid", value: params as NotificationParams[K] } : { _tag: "Invalid", issue }
}

/**
 * An issue in words: `params.app.state: expected one of ...`.
 *
 * @since 0.1.0
 * @category getters
 */
export const describe = (issue: Issue): string => `${issue.field === "" ? "the message" : issue.field}: expected ${issue.expected}`
