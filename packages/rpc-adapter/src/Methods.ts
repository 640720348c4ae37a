/**
 * The method table: each method's params schema and the service call it makes. Lifecycle
 * methods call `Lifecycle.request` and answer at once with the transitional state; reads go to
 * `AppViews`. No business logic lives here.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Result, Option, Schema } from "effect"
import { AppId } from "@archipelago/orchestrator/domain"
import { Methods } from "@archipelago/orchestrator/protocol"
import type { Op } from "@archipelago/orchestrator/domain"
import { AppViews, Apps, Archive, BackupScheduler, Backups, ChannelState, DiskUsage, Lifecycle, SchemaIssues, ServiceError } from "@archipelago/orchestrator"
import { clip } from "./JsonRpc.js"
import { InvalidParams } from "./RpcError.js"
import type { MethodError } from "./RpcError.js"
import { ServerInfo } from "./ServerInfo.js"

/**
 * The services the methods call.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = Lifecycle.Lifecycle | AppViews.AppViews | Apps.Apps | ServerInfo

/**
 * A method: decodes its params and calls a service.
 *
 * @since 0.1.0
 * @category models
 */
export type Method = (params: unknown) => Effect.Effect<unknown, MethodError, Requirements>

/**
 * The default and the maximum of `container-logs`' `tail`.
 *
 * @since 0.1.0
 * @category constants
 */
export const logTail = { default: 200, max: 10_000 } as const

/**
 * @since 0.1.0
 * @category schemas
 */
export const NoParams = Schema.Record(Schema.String, Schema.Never.annotate({ message: "is unexpected: this method takes no params" }))

/**
 * An app id, validated by the domain's `AppId.parse` (so `../x` and `--privileged` are refused
 * with the domain's explanation).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AppIdParam = Schema.String.check(
  Schema.makeFilter((s) => Result.match(AppId.parse(s), { onFailure: (why) => why, onSuccess: () => true }))
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const AppParams = Schema.Struct({ appId: AppIdParam })

/**
 * @since 0.1.0
 * @category schemas
 */
export const RemoveParams = Schema.Struct({
  appId: AppIdParam,
  purge: Schema.optional(Schema.Boolean),
  cascade: Schema.optional(Schema.Boolean)
})

/**
 * `container-restore`'s params: `archive` is the file name of one of the app's archives in the
 * backup target (`backup-list` lists them); without it the newest is restored. `closeChannels`
 * confirms a channel recovery: a restore of an app whose channel state is gone (LND after a
 * disk loss) closes its channels, and is refused without `closeChannels: true`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RestoreParams = Schema.Struct({
  appId: AppIdParam,
  archive: Schema.optional(
    Schema.String.check(Schema.makeFilter((s) => Archive.parseFileName(s) !== undefined || "an archive file name such as lnd-20261129T041800000Z.tar"))
  ),
  closeChannels: Schema.optional(Schema.Boolean)
})

/**
 * `backup-list`'s params: one app, or all.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BackupListParams = Schema.Struct({ appId: Schema.optional(AppIdParam) })

/**
 * Pages of `install-log`: at most `max` lines, `default` when no `limit` is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const logPage = { default: 100, max: 500 } as const

/**
 * The most `container-logs` answers, in bytes of text; older lines are cut first.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLogText = 128 * 1024

const Seq = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * `install-log`'s params: `after` pages forward (lines numbered above it, oldest first), `before`
 * pages back (the newest lines numbered below it); neither gives the newest page.
 *
 * @since 0.1.0
 * @category schemas
 */
export const InstallLogParams = Schema.Struct({
  appId: AppIdParam,
  after: Schema.optional(Seq),
  before: Schema.optional(Seq),
  limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: logPage.max })))
})

/**
 * One page of a log, oldest first: with `after`, the first `limit` lines numbered above it;
 * otherwise the last `limit` lines numbered below `before` (or the newest).
 *
 * @since 0.1.0
 * @category combinators
 */
export const page = <L extends { readonly seq: number }>(
  lines: ReadonlyArray<L>,
  options: { readonly after?: number | undefined; readonly before?: number | undefined; readonly limit?: number | undefined }
): ReadonlyArray<L> => {
  const limit = options.limit ?? logPage.default
  if (options.after !== undefined) {
    const after = options.after
    const before = options.before
    return lines.filter((l) => l.seq > after && (before === undefined || l.seq < before)).slice(0, limit)
  }
  const before = options.before
  const older = before === undefined ? lines : lines.filter((l) => l.seq < before)
  return older.slice(Math.max(0, older.length - limit))
}

/**
 * The end of a text within `max` UTF-8 bytes, cut at a line start when it must be cut.
 *
 * @since 0.1.0
 * @category combinators
 */
export const tailBytes = (text: string, max: number): { readonly text: string; readonly truncated: boolean } => {
  const bytes = Buffer.from(text, "utf8")
  if (bytes.length <= max) return { text, truncated: false }
  let cut = bytes.subarray(bytes.length - max).toString("utf8")
  const nl = cut.indexOf("\n")
  if (nl !== -1 && nl < cut.length - 1) cut = cut.slice(nl + 1)
  // A cut through a multi-byte character decodes to U+FFFD at the start: drop it.
  return { text: cut.replace(/^\uFFFD+/, ""), truncated: true }
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const LogsParams = Schema.Struct({
  appId: AppIdParam,
  tail: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: logTail.max })))
})

const reasonLimit = 200

/**
 * Decodes params with a schema; unknown fields are refused. The error names the first bad
 * field by its path; the reason is clipped to 200 characters.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeParams = <A>(schema: Schema.Decoder<A>, params: unknown): Result.Result<A, InvalidParams> =>
  Schema.decodeUnknownResult(schema, { onExcessProperty: "error", errors: "first" })(params).pipe(
    Result.mapError((error) => {
      const issue = SchemaIssues.leaves(error.issue)[0]
      const path = (issue?.path ?? []).map(String)
      const field = path.length === 0 ? "params" : path.join(".")
      // The reason may quote the client's value: clip it, it is echoed back and logged.
      return new InvalidParams({ field: clip(field), reason: clip(issue?.message ?? "invalid", reasonLimit) })
    })
  )

const method = <A>(schema: Schema.Decoder<A>, run: (params: A) => Effect.Effect<unknown, MethodError, Requirements>): Method =>
(params) => Result.match(decodeParams(schema, params), { onFailure: Effect.fail, onSuccess: run })

// The backup target and the catalog come with the orchestrator layer; an embedder's server
// without them answers that backups are not configured.
const backupTarget = Effect.flatMap(
  Effect.zip(Effect.serviceOption(Backups.Backups), Effect.serviceOption(Apps.Apps)),
  ([b, a]) =>
    b._tag === "Some" && a._tag === "Some"
      ? Effect.succeed({ backups: b.value, apps: a.value })
      : Effect.fail(new InvalidParams({ field: "method", reason: "this server has no backup target" }))
)

// Whether a restore of the app now would be a channel recovery: its manifest declares channel
// state and none is left live. The work looks again under the app's lock.
const needsRecovery = (def: Apps.AppDef) =>
  Effect.map(
    ChannelState.expand(def.dataDir, def.manifest.backup?.channelState?.files ?? [], { files: "only" }),
    (live) => ChannelState.decide(def.manifest.backup?.channelState, live)._tag === "Recover"
  )

const restore: Method = method(RestoreParams, ({ appId, archive, closeChannels }) =>
  Effect.gen(function*() {
    if (archive !== undefined) {
      const { backups } = yield* backupTarget
      yield* backups.locate(appId, archive).pipe(
        Effect.mapError((e) => new InvalidParams({ field: "archive", reason: clip(e.message, reasonLimit) }))
      )
    }
    const def = Option.getOrUndefined(Option.flatMap(yield* Effect.serviceOption(Apps.Apps), (a) => a.get(appId)))
    if (def !== undefined && closeChannels !== true) {
      const recovery = yield* needsRecovery(def).pipe(
        Effect.mapError((e) => new InvalidParams({ field: "appId", reason: clip(e.message, reasonLimit) }))
      )
      if (recovery) {
        return yield* Effect.fail(
          new InvalidParams({
            field: ChannelState.confirmField,
            reason: `${ChannelState.recoveryWarning} Send ${ChannelState.confirmField}: true to confirm.`
          })
        )
      }
    }
    const lifecycle = yield* Lifecycle.Lifecycle
    return yield* lifecycle.request("restore", appId, {
      ...(archive === undefined ? {} : { archive }),
      ...(closeChannels === undefined ? {} : { closeChannels })
    })
  }))

const backupList: Method = method(BackupListParams, ({ appId }) =>
  Effect.gen(function*() {
    const { apps, backups } = yield* backupTarget
    const defs = appId === undefined ? apps.all : apps.all.filter((d) => d.id === appId)
    if (appId !== undefined && defs.length === 0) return yield* Effect.fail(new ServiceError.UnknownApp({ appId }))
    const summaries = yield* Effect.forEach(defs, (def) => backups.summary(def)).pipe(
      Effect.mapError((e) => new InvalidParams({ field: "appId", reason: clip(e.message, reasonLimit) }))
    )
    const now = yield* Clock.currentTimeMillis
    const recoveries = yield* Effect.forEach(defs, (def) => Effect.orElseSucceed(needsRecovery(def), () => false))
    return {
      dir: backups.dir,
      keep: backups.keep,
      apps: summaries.map((s, i) => {
        const schedule = defs[i]!.manifest.backup?.schedule
        const lastAt = s.archives.at(-1)?.createdAt
        return {
          appId: s.appId,
          archives: s.archives.map((a) => ({ file: a.file, createdAt: a.createdAt, bytes: a.bytes })),
          watched: s.watched.map((w) => ({ path: w.path, copies: w.copies, lastCopyAt: w.lastCopyAt, shrank: w.shrank })),
          recovery: recoveries[i] === true ? ChannelState.recoveryWarning : null,
          schedule: schedule === undefined
            ? null
            : { everyHours: schedule.everyHours, lastAt: lastAt ?? null, nextAt: BackupScheduler.nextAt(schedule, lastAt, now) }
        }
      })
    }
  }))

const lifecycle = (op: Op.Op): Method =>
  op === "remove"
    ? method(RemoveParams, ({ appId, cascade, purge }) =>
      Effect.flatMap(Lifecycle.Lifecycle, (l) =>
        l.request(op, appId, {
          ...(purge === undefined ? {} : { purge }),
          ...(cascade === undefined ? {} : { cascade })
        })))
    : method(AppParams, ({ appId }) => Effect.flatMap(Lifecycle.Lifecycle, (l) => l.request(op, appId)))

/**
 * The canonical methods.
 *
 * @since 0.1.0
 * @category models
 */
export const methods: { readonly [K in Methods.Method]: Method } = {
  "container-list": method(NoParams, () => Effect.flatMap(AppViews.AppViews, (v) => v.list)),
  "container-install": lifecycle("install"),
  "container-start": lifecycle("start"),
  "container-stop": lifecycle("stop"),
  "container-restart": lifecycle("restart"),
  "container-update": lifecycle("update"),
  "container-remove": lifecycle("remove"),
  "container-backup": lifecycle("backup"),
  "container-restore": restore,
  "backup-list": backupList,
  "install-log": method(InstallLogParams, ({ appId, ...options }) =>
    Effect.flatMap(AppViews.AppViews, (v) => Effect.map(v.installLog(appId), (lines) => page(lines, options)))),
  "container-logs": method(LogsParams, ({ appId, tail }) =>
    Effect.flatMap(AppViews.AppViews, (v) => v.containerLogs(appId, tail ?? logTail.default)).pipe(
      Effect.map((text) => ({ appId, ...tailBytes(text, maxLogText) }))
    )),
  "container-stats": method(NoParams, () => Effect.flatMap(AppViews.AppViews, (v) => v.resources)),
  "catalog-reload": method(NoParams, () => Effect.flatMap(Apps.Apps, (a) => a.reload)),
  "server.version": method(NoParams, () =>
    Effect.map(ServerInfo, (i) => ({ version: i.version, engine: i.engine, engineVersion: i.engineVersion }))),
  // a server assembled without the disk measurement (an embedding, a test) says so
  "node.disk": method(NoParams, () =>
    Effect.flatMap(Effect.serviceOption(DiskUsage.DiskUsage), (d) =>
      d._tag === "Some"
        ? d.value.current
        : Effect.fail(new InvalidParams({ field: "method", reason: "this server does not measure its data disk" }))))
}

/**
 * Methods that live on a WebSocket connection (subscriptions end with it); over HTTP they
 * answer "method not found" with a hint.
 *
 * @since 0.1.0
 * @category constants
 */
export const socketOnly: ReadonlyArray<string> = Object.values(Methods.SocketMethod)

/**
 * Older names kept as aliases of the same asynchronous path.
 *
 * @since 0.1.0
 * @category models
 */
export const aliases: Readonly<Record<string, string>> = {
  "package.list": "container-list",
  "package.install": "container-install",
  "package.start": "container-start",
  "package.stop": "container-stop",
  "package.restart": "container-restart",
  "package.update": "container-update",
  "package.remove": "container-remove",
  "bundled-app-start": "container-start",
  "bundled-app-stop": "container-stop"
}

/**
 * The method a name designates, through aliases.
 *
 * @since 0.1.0
 * @category getters
 */
export const lookup = (name: string): Method | undefined => {
  const canonical = Object.prototype.hasOwnProperty.call(aliases, name) ? aliases[name]! : name
  return Object.prototype.hasOwnProperty.call(methods, canonical) ? methods[canonical as Methods.Method] : undefined
}
