/**
 * The `archipelago` command line on `@effect/cli`: per-command `--help`, shell completions
 * (`--completions bash`), `--log-level`, `--log-format`, a "did you mean" for misspelt flags,
 * and every `serve` setting also from an `ARCHIPELAGO_*` variable and the config file
 * (precedence: flag > environment > file > default; see `Config`).
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { resolve } from "node:path"
import { Args, Command, Options } from "@effect/cli"
import type { CliApp } from "@effect/cli"
import { Console, Effect, Either, Logger, LogLevel, Option } from "effect"
import * as Config from "./Config.js"
import * as Journal from "./Journal.js"
import * as StrictModes from "./internal/strictModes.js"
import { version } from "./ServerInfo.js"

export {
  /** @since 0.1.0 */
  type Engine,
  /** @since 0.1.0 */
  parseDuration,
  /** @since 0.1.0 */
  type ServeOptions,
  /** @since 0.1.0 */
  UsageError
} from "./Config.js"

const described = (s: Config.Setting, what: string, fallback?: string) =>
  `${what}${fallback === undefined ? "" : ` (default: ${fallback})`}; env ${s.env}, config file: ${s.key}`

const byKey = (key: keyof Config.ServeOptions) => Config.settings.find((s) => s.key === key)!

const text = (key: keyof Config.ServeOptions, what: string, fallback?: string) => {
  const s = byKey(key)
  return Options.text(s.flag).pipe(Options.withDescription(described(s, what, fallback)), Options.optional)
}
const list = (key: keyof Config.ServeOptions, what: string) => {
  const s = byKey(key)
  return Options.text(s.flag).pipe(Options.withDescription(described(s, `${what} (repeatable)`)), Options.repeated)
}

const configOption = Options.text("config").pipe(
  Options.withDescription(`the config file (default: $ARCHIPELAGO_CONFIG or ${Config.defaultConfigFile}, if present)`),
  Options.optional
)
const logFormatOption = Options.choice("log-format", ["pretty", "json"]).pipe(
  Options.withDescription(described(byKey("logFormat"), "pretty for people, json for the journal (one object per line)", "pretty")),
  Options.optional
)
const dataOption = text("data", "state, secrets, app data, rpc-token and instance id", Config.defaults.data)

const serveOptions = {
  apps: text("apps", "the app catalog, folders of manifest.yml", Config.defaults.apps),
  data: dataOption,
  host: text("host", "address to bind; anything but loopback warns", Config.defaults.host),
  port: text("port", "TCP port; 0 picks a free one", String(Config.defaults.port)),
  engine: text("engine", "auto, podman or sim; auto falls back to the simulator only when started from a terminal", "auto"),
  scanInterval: text("scanInterval", "time between scans of the engine: 500ms, 1s, 30s, 5m, 1h", Config.defaults.interval),
  reconcileInterval: text("reconcileInterval", "time between reconcile passes", Config.defaults.interval),
  passwordFile: text("passwordFile", "enable password login with the first line of this file"),
  allowOrigins: list("allowOrigins", "also accept browser requests from this origin"),
  install: list("install", "install these apps (ID[,ID...]) on first start, unless their owner decided otherwise"),
  mirrors: list("mirrors", "a registry tried before docker.io"),
  registries: list("registries", "a registry of your own images: host[:port], http://host[:port] for one without TLS"),
  offline: Options.boolean("offline").pipe(
    Options.withDescription(described(byKey("offline"), "pull only from the mirrors and registries: never docker.io"))
  ),
  allowedBindRoots: list("allowedBindRoots", "an extra host folder manifests may bind-mount"),
  backupDir: text("backupDir", "the backup target folder (a mounted disk, a network share)", "<data>/backups"),
  backupKeep: text("backupKeep", "archives kept per app", "5"),
  backupKeyFile: text("backupKeyFile", "encrypt backups (age) with the identity (age-keygen) or passphrase in this file; only archives it opens are restored"),
  printLoginUrl: Options.boolean("print-login-url").pipe(
    Options.withDescription(described(byKey("printLoginUrl"), "print the login URL with its token even when stdout is not a terminal"))
  ),
  logFormat: logFormatOption,
  config: configOption
}

type ServeFlags = {
  readonly [K in keyof typeof serveOptions]: (typeof serveOptions)[K] extends Options.Options<infer A> ? A : never
}

const splitLists = (values: ReadonlyArray<string>) => values.flatMap((v) => v.split(",")).filter((v) => v !== "")

/** The flags layer of the settings: `Option`s unwrapped, comma lists split. */
const flagsLayer = (flags: Partial<ServeFlags>, logLevel: string | undefined): Config.Layer => {
  const raw: Partial<Record<keyof Config.ServeOptions, Config.Raw | undefined>> = {}
  for (const [key, value] of Object.entries(flags)) {
    if (key === "config") continue
    if (Option.isOption(value)) raw[key as keyof Config.ServeOptions] = Option.getOrUndefined(value) as Config.Raw | undefined
    else if (Array.isArray(value)) raw[key as keyof Config.ServeOptions] = key === "install" ? splitLists(value) : value
    else raw[key as keyof Config.ServeOptions] = value as Config.Raw
  }
  if (logLevel !== undefined) raw.logLevel = logLevel
  return Config.fromFlags(raw)
}

/**
 * The value of the built-in `--log-level` flag in `argv`, if given (it is handled by
 * `@effect/cli`, and also counts as a flag in the settings' precedence).
 *
 * @since 0.1.0
 * @category parsing
 */
export const logLevelFlag = (argv: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === "--log-level") return argv[i + 1]
    if (a.startsWith("--log-level=")) return a.slice("--log-level=".length)
  }
  return undefined
}

/**
 * Reads the config file and resolves the settings: flags, then the environment, then the file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadOptions = (
  flags: Config.Layer,
  configFlag: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
  /** A missing named file is fine too (`service install` creates it). */
  missingOk = false
): Effect.Effect<Config.ServeOptions, Config.UsageError> =>
  Effect.gen(function*() {
    const file = Config.configFileOf(configFlag, env)
    const read = yield* Effect.either(Effect.tryPromise(() => readFile(file.path, "utf8")))
    let fromFile: Config.Layer = {}
    if (Either.isLeft(read)) {
      const code = (read.left.error as NodeJS.ErrnoException | undefined)?.code
      if ((file.required && !missingOk) || code !== "ENOENT") {
        return yield* Effect.fail(new Config.UsageError({ reason: `cannot read the config file ${file.path}: ${code ?? String(read.left.error)}` }))
      }
    } else {
      const uid = process.getuid?.() ?? 0
      const insecure = yield* Effect.promise(() =>
        StrictModes.check("config file", file.path, [0, uid], `root or the user running archipelago (uid ${uid})`)
      )
      if (insecure !== undefined) return yield* Effect.fail(new Config.UsageError({ reason: insecure }))
      const parsed = Config.parseFile(read.right, file.path)
      if (Either.isLeft(parsed)) return yield* Effect.fail(new Config.UsageError({ reason: parsed.left.join("\n") }))
      fromFile = parsed.right
    }
    return yield* Config.resolve(flags, Config.fromEnv(env), fromFile)
  })

const levelOf = (level: Config.LogLevel): LogLevel.LogLevel =>
  LogLevel.allLevels.find((l) => l._tag.toLowerCase() === level) ?? LogLevel.Info

/**
 * Runs `effect` with the log format and minimum level of the settings.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLogging = (options: Pick<Config.ServeOptions, "logFormat" | "logLevel">) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Logger.withMinimumLogLevel(levelOf(options.logLevel)),
    Effect.provide(Journal.layer(options.logFormat))
  )

const withSettings = <A, E, R>(
  argv: ReadonlyArray<string>,
  flags: Partial<ServeFlags>,
  body: (options: Config.ServeOptions) => Effect.Effect<A, E, R>,
  missingOk = false
) =>
  Effect.flatMap(
    loadOptions(flagsLayer(flags, logLevelFlag(argv)), Option.getOrUndefined(flags.config ?? Option.none()), process.env, missingOk),
    (options) => withLogging(options)(body(options))
  )

/**
 * The command tree; `argv` (the arguments after the program name) is needed for the
 * `--log-level` precedence.
 *
 * @since 0.1.0
 * @category constructors
 */
export const command = (argv: ReadonlyArray<string>) => {
  const serve = Command.make("serve", serveOptions, (flags) =>
    withSettings(argv, flags, (options) => Effect.flatMap(Effect.promise(() => import("./Serve.js")), (S) => S.run(options)))).pipe(
      Command.withDescription("run the orchestrator, the RPC server and the dashboard")
    )

  const validate = Command.make("validate", { dir: Args.text({ name: "DIR" }) }, ({ dir }) =>
    Effect.flatMap(Effect.promise(() => import("./Validate.js")), (V) => V.run(dir)).pipe(Effect.flatMap(Console.log))).pipe(
      Command.withDescription("check every manifest of an app catalog (exit 1 on errors)")
    )

  const json = Options.boolean("json").pipe(Options.withDescription("print the server's answer as JSON"))
  const status = Command.make("status", { data: dataOption, config: configOption, logFormat: logFormatOption, json }, (flags) =>
    withSettings(argv, flags, (options) =>
      Effect.flatMap(Effect.promise(() => import("./Status.js")), (S) => S.run(options, { json: flags.json })))).pipe(
      Command.withDescription("ask the running server for its apps, their states and errors")
    )

  const loginUrl = Command.make("login-url", { data: dataOption, config: configOption }, (flags) =>
    withSettings(argv, flags, (options) =>
      Effect.flatMap(Effect.promise(() => import("./Status.js")), (S) => S.printLoginUrl(options)))).pipe(
      Command.withDescription("print the dashboard's login URL with its token (keep it secret)")
    )

  const takeover = Command.make(
    "takeover",
    {
      data: dataOption,
      config: configOption,
      logFormat: logFormatOption,
      app: Args.text({ name: "APP" }),
      container: Options.text("container").pipe(
        Options.withDescription("replace this container, made without Archipelago's labels, that holds APP's name"),
        Options.optional
      )
    },
    (flags) =>
      withSettings(argv, flags, (options) =>
        Effect.flatMap(Effect.promise(() => import("./Takeover.js")), (T) => T.runOnPodman(options, flags.app, Option.getOrUndefined(flags.container))))
  ).pipe(
    Command.withDescription(
      "stop and remove APP's container left by another orchestrator instance (or, with --container, one made without Archipelago's labels), so this data dir's server installs its own"
    )
  )

  const verify = Command.make(
    "verify",
    {
      archive: Args.text({ name: "ARCHIVE" }),
      app: Options.text("app").pipe(Options.withDescription("also check the archive is a backup of this app"), Options.optional),
      keyFile: Options.text("key-file").pipe(
        Options.withDescription("the backup key file (age identity or passphrase): decrypt and authenticate the archive, refuse a plaintext one"),
        Options.optional
      )
    },
    ({ app, archive, keyFile }) =>
      Effect.flatMap(Effect.promise(() => import("./BackupCli.js")), (B) => B.verify(archive, Option.getOrUndefined(app), Option.getOrUndefined(keyFile))).pipe(
        Effect.flatMap(Console.log)
      )
  ).pipe(Command.withDescription("read a backup archive and check every entry against its manifest, restoring nothing (exit 1 when it does not match)"))
  const backupList = Command.make(
    "list",
    { data: dataOption, config: configOption, backupDir: serveOptions.backupDir },
    (flags) =>
      withSettings(argv, flags, (options) =>
        Effect.flatMap(Effect.promise(() => import("./BackupCli.js")), (B) =>
          B.list(options.backupDir ?? resolve(options.data, "backups"))).pipe(Effect.flatMap(Console.log)))
  ).pipe(Command.withDescription("list the archives in the backup target"))

  const root = Args.text({ name: "ROOT" }).pipe(Args.withDescription("install under this root instead of /"), Args.optional)
  const unitOptions = {
    data: dataOption,
    config: configOption,
    apps: serveOptions.apps,
    host: serveOptions.host,
    port: serveOptions.port,
    user: Options.text("user").pipe(Options.withDescription("run the service as this user (default: root, as rootful podman needs)"), Options.optional)
  }
  const unitOf = (flags: { readonly user: Option.Option<string> }, configPath: string) =>
    Effect.map(Effect.promise(() => import("./Unit.js")), (U) => ({
      U,
      unit: U.render({
        node: process.execPath,
        cli: U.cliPath(),
        configFile: configPath,
        ...(Option.isSome(flags.user) ? { user: flags.user.value } : {})
      })
    }))
  const configPathOf = (flags: { readonly config: Option.Option<string> }) =>
    Config.configFileOf(Option.getOrUndefined(flags.config), process.env).path
  const unit = Command.make("unit", unitOptions, (flags) =>
    withSettings(argv, flags, () =>
      Effect.flatMap(unitOf(flags, configPathOf(flags)), ({ unit }) => Effect.sync(() => process.stdout.write(unit))))).pipe(
      Command.withDescription("print the systemd unit of the server")
    )
  const force = Options.boolean("force").pipe(
    Options.withDescription("replace an existing unit with other content (by default it is never overwritten)")
  )
  const install = Command.make("install", { ...unitOptions, root, force }, (flags) =>
    withSettings(argv, flags, (options) =>
      Effect.flatMap(unitOf(flags, configPathOf(flags)), ({ U, unit }) => {
        // the config file holds every setting: the flags given here are written into a first one
        const asked = {
          ...Option.match(flags.data, { onNone: () => ({}), onSome: (d) => ({ data: resolve(d) }) }),
          ...Option.match(flags.apps, { onNone: () => ({}), onSome: (a) => ({ apps: resolve(a) }) }),
          ...Option.match(flags.host, { onNone: () => ({}), onSome: (host) => ({ host }) }),
          ...(Option.isSome(flags.port) ? { port: options.port } : {})
        }
        const values = { ...U.serviceValues, data: resolve(options.data), apps: resolve(options.apps), ...asked }
        return Effect.flatMap(
          Effect.zipRight(
            U.checkProgram([process.execPath, U.cliPath()]),
            U.install(unit, Option.getOrElse(flags.root, () => "/"), configPathOf(flags), { force: flags.force, values, asked })
          ),
          (done) => Console.log(U.report(done).join("\n"))
        )
      }), true)).pipe(
      Command.withDescription(`write the systemd unit to /etc/systemd/system (or under ROOT), never over another unit unless --force`)
    )
  const service = Command.make("service").pipe(
    Command.withDescription("the systemd service"),
    Command.withSubcommands([unit, install])
  )

  const appArg = Args.text({ name: "APP" }).pipe(Args.withDescription("the app's id, as `archipelago list` shows it"))
  const clientOptions = { data: dataOption, config: configOption }
  const wait = Options.boolean("wait").pipe(
    Options.withDescription("return when the operation has settled, with exit 0 (done), 1 (failed) or 3 (--timeout passed); a progress line on stderr meanwhile")
  )
  const timeout = Options.text("timeout").pipe(
    Options.withDescription("with --wait, give up waiting after this long (500ms, 30s, 5m, 1h); the operation goes on"),
    Options.optional
  )
  const jsonOut = Options.boolean("json").pipe(Options.withDescription("print JSON for scripts instead of text"))
  const appCommands = () => Effect.promise(() => import("./AppCommands.js"))
  const timeoutOf = (t: Option.Option<string>) =>
    Option.match(t, {
      onNone: () => Effect.succeed(undefined),
      onSome: (text) =>
        Either.match(Config.parseDuration(text), {
          onLeft: (reason) => Effect.fail(new Config.UsageError({ reason: `--timeout: ${reason}` })),
          onRight: (d) => Effect.succeed(d)
        })
    })
  type Op = "install" | "start" | "stop" | "restart" | "update" | "remove" | "backup" | "restore"
  const lifecycleOptions = { ...clientOptions, json: jsonOut, wait, timeout }
  const requestOf = (
    op: Op,
    flags: {
      readonly app: string
      readonly json: boolean
      readonly wait: boolean
      readonly timeout: Option.Option<string>
      readonly data: Option.Option<string>
      readonly config: Option.Option<string>
    },
    params: Record<string, unknown> = {}
  ) =>
    withSettings(argv, { data: flags.data, config: flags.config }, (options) =>
      Effect.gen(function*() {
        const t = yield* timeoutOf(flags.timeout)
        const A = yield* appCommands()
        yield* A.request(op, flags.app, {
          data: options.data,
          json: flags.json,
          wait: flags.wait,
          ...(t === undefined ? {} : { timeout: t }),
          params
        })
      }))
  const lifecycleCommand = (op: Op, name: string, description: string) =>
    Command.make(name, { ...lifecycleOptions, app: appArg }, (flags) => requestOf(op, flags)).pipe(Command.withDescription(description))
  const listCommand = Command.make("list", { ...clientOptions, json: jsonOut }, (flags) =>
    withSettings(argv, flags, (options) => Effect.flatMap(appCommands(), (A) => A.list({ data: options.data, json: flags.json })))).pipe(
      Command.withDescription("list the apps of the running server: state, health, version, ports, error")
    )
  const tail = Options.integer("tail").pipe(Options.withDescription("how many of the last lines (at most 10000)"), Options.withDefault(200))
  const logsCommand = Command.make("logs", { ...clientOptions, json: jsonOut, tail, app: appArg }, (flags) =>
    withSettings(argv, flags, (options) =>
      Effect.flatMap(appCommands(), (A) => A.logs(flags.app, { data: options.data, json: flags.json, tail: flags.tail })))).pipe(
      Command.withDescription("print the last lines of an app's container log")
    )
  const purge = Options.boolean("purge").pipe(Options.withDescription("also delete the app's data folder and volumes (cannot be undone)"))
  const cascade = Options.boolean("cascade").pipe(Options.withDescription("also remove the installed apps that depend on it, first"))
  const archiveOption = Options.text("archive").pipe(
    Options.withDescription("the archive's file name in the backup target (`archipelago backup list`); default: the newest"),
    Options.optional
  )
  const backupCreate = lifecycleCommand("backup", "create", "back up an app's data now into the backup target")
  const backup = Command.make("backup").pipe(
    Command.withDescription("backup archives: create one now, list them, verify one"),
    Command.withSubcommands([backupCreate, backupList, verify])
  )
  const removeCommand = Command.make("remove", { ...lifecycleOptions, purge, cascade, app: appArg }, (flags) =>
    requestOf("remove", flags, { ...(flags.purge ? { purge: true } : {}), ...(flags.cascade ? { cascade: true } : {}) })).pipe(
      Command.withDescription("remove an app's container (its data stays unless --purge)")
    )
  const restoreCommand = Command.make("restore", { ...lifecycleOptions, archive: archiveOption, app: appArg }, (flags) =>
    requestOf("restore", flags, Option.match(flags.archive, { onNone: () => ({}), onSome: (archive) => ({ archive }) }))).pipe(
      Command.withDescription("restore an app's data from a backup archive")
    )

  return Command.make("archipelago").pipe(
    Command.withDescription("keeps the app containers of a Bitcoin/Lightning home node in the state their owner asked for"),
    Command.withSubcommands([
      serve,
      listCommand,
      lifecycleCommand("install", "install", "install an app (pull or build its image, create and start its container)"),
      lifecycleCommand("start", "start", "start an installed app"),
      lifecycleCommand("stop", "stop", "stop an app gracefully (it stays stopped until started)"),
      lifecycleCommand("restart", "restart", "stop, then start an app"),
      lifecycleCommand("update", "update", "move an app to the version its manifest asks for (rolled back when it does not turn healthy)"),
      removeCommand,
      restoreCommand,
      logsCommand,
      validate,
      status,
      loginUrl,
      takeover,
      service,
      backup
    ])
  )
}

const builtInFlags = ["help", "version", "completions", "log-level", "wizard"]

const client = ["data", "config"]
const lifecycleFlags = [...client, "json", "wait", "timeout"]

/**
 * The flags each command takes, by its path (`serve`, `service install`, `backup list`), for the
 * "did you mean" of misspelt commands and flags.
 *
 * @since 0.1.0
 * @category constants
 */
export const knownFlags: Readonly<Record<string, ReadonlyArray<string>>> = {
  serve: [...Config.settings.filter((s) => s.key !== "logLevel").map((s) => s.flag), "config"],
  list: [...client, "json"],
  install: lifecycleFlags,
  start: lifecycleFlags,
  stop: lifecycleFlags,
  restart: lifecycleFlags,
  update: lifecycleFlags,
  remove: [...lifecycleFlags, "purge", "cascade"],
  restore: [...lifecycleFlags, "archive"],
  logs: [...client, "json", "tail"],
  validate: [],
  status: [...client, "log-format", "json"],
  "login-url": client,
  takeover: [...client, "log-format"],
  service: [],
  "service unit": [...client, "apps", "host", "port", "user"],
  "service install": [...client, "apps", "host", "port", "user", "force"],
  backup: [],
  "backup create": lifecycleFlags,
  "backup list": [...client, "backup-dir"],
  "backup verify": ["app", "key-file"]
}

/**
 * The command path `argv` names (`service install`), or the misspelt word with the closest
 * command when the first word names none.
 *
 * @since 0.1.0
 * @category parsing
 */
export const commandOf = (
  argv: ReadonlyArray<string>
): { readonly path: string } | { readonly unknown: string; readonly suggestion?: string } | undefined => {
  const words = argv.filter((a) => !a.startsWith("-"))
  const first = argv[0]
  if (first === undefined || first.startsWith("-")) return undefined
  const top = Object.keys(knownFlags).filter((k) => !k.includes(" "))
  if (!top.includes(first)) {
    const suggestion = Config.closest(first, top)
    return { unknown: first, ...(suggestion === undefined ? {} : { suggestion }) }
  }
  const sub = words[1]
  if (sub !== undefined && `${first} ${sub}` in knownFlags) return { path: `${first} ${sub}` }
  const subs = Object.keys(knownFlags).filter((k) => k.startsWith(`${first} `)).map((k) => k.slice(first.length + 1))
  if (subs.length > 0 && sub !== undefined && argv[1] === sub) {
    const suggestion = Config.closest(sub, subs)
    return { unknown: `${first} ${sub}`, ...(suggestion === undefined ? {} : { suggestion: `${first} ${suggestion}` }) }
  }
  return { path: first }
}

/**
 * The first unknown `--flag` of the command in `argv`, with the closest known flag.
 *
 * @since 0.1.0
 * @category parsing
 */
export const unknownFlag = (argv: ReadonlyArray<string>): { readonly flag: string; readonly suggestion?: string } | undefined => {
  const command = commandOf(argv)
  const path = command !== undefined && "path" in command ? command.path : undefined
  const known = [...(path === undefined ? [] : knownFlags[path]!), ...builtInFlags]
  for (const a of argv) {
    if (!a.startsWith("--") || a === "--") continue
    const flag = a.slice(2).split("=")[0]!
    if (known.includes(flag)) continue
    if (path === undefined) return undefined
    const suggestion = Config.closest(flag, known)
    return { flag: `--${flag}`, ...(suggestion === undefined ? {} : { suggestion: `--${suggestion}` }) }
  }
  return undefined
}

/**
 * Runs the command line (arguments after the program name). Usage errors print one message and
 * fail with a `UsageError`; `@effect/cli`'s own validation errors are printed by it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (argv: ReadonlyArray<string>) => {
  const named = commandOf(argv)
  if (named !== undefined && "unknown" in named) {
    return Effect.fail(
      new Config.UsageError({
        reason: `unknown command ${named.unknown}${named.suggestion === undefined ? "" : `: did you mean ${named.suggestion}?`} (archipelago --help lists them)`
      })
    )
  }
  const unknown = unknownFlag(argv)
  if (unknown !== undefined) {
    return Effect.fail(
      new Config.UsageError({
        reason: `unknown option ${unknown.flag}${unknown.suggestion === undefined ? "" : `: did you mean ${unknown.suggestion}?`}`
      })
    )
  }
  return Command.run(command(argv), { name: "archipelago", version })(["node", "archipelago", ...argv])
}

/**
 * The environment `run` needs.
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = CliApp.CliApp.Environment
