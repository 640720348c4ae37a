/**
 * The `archipelago` command line on `effect/cli`: per-command `--help` (rendered here, plain text
 * unless stdout is a terminal: see `internal/help.ts`), shell completions (`--completions bash`),
 * `--log-level`, `--log-format`, a "did you mean" for misspelt commands and flags, usage errors
 * naming the command (`programOf`),
 * and every `serve` setting also from an `ARCHIPELAGO_*` variable and the config file
 * (precedence: flag > environment > file > default; see `Config`).
 *
 * Over 500 lines: the command tree is one table (each command's options, help entry and handler
 * side by side, so the help and the parser cannot drift); the flags' precedence is in `Config`.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { resolve } from "node:path"
import { Console, Effect, LogLevel, Option, References, Result } from "effect"
import { Argument, CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli"
import * as Config from "./Config.js"
import * as Help from "./internal/help.js"
import * as Journal from "./Journal.js"
import * as StrictModes from "./internal/strictModes.js"
import { version } from "./internal/version.js"

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

// Paths are text (named DIR or FILE in the help), not `Flag.Directory`/`Flag.File`: those
// reject an existing path of the wrong kind before the command's own check, whose message names
// the variable and the config key to fix, and a folder that does not exist yet is fine (`--data`
// is created).
const text = (key: keyof Config.ServeOptions, pseudo: string, what: string, fallback?: string) => {
  const s = byKey(key)
  return Flag.String(s.flag).pipe(Flag.withMetavar(pseudo), Flag.withDescription(described(s, what, fallback)), Flag.optional)
}
const integer = (key: keyof Config.ServeOptions, pseudo: string, what: string, fallback?: string) => {
  const s = byKey(key)
  return Flag.Int(s.flag).pipe(Flag.withMetavar(pseudo), Flag.withDescription(described(s, what, fallback)), Flag.optional)
}
const list = (key: keyof Config.ServeOptions, pseudo: string, what: string) => {
  const s = byKey(key)
  return Flag.String(s.flag).pipe(
    Flag.withMetavar(pseudo),
    Flag.withDescription(described(s, `${what}; repeat the option for more (the variable takes a comma-separated list)`)),
    Flag.atLeast(0)
  )
}

const configOption = Flag.String("config").pipe(
  Flag.withMetavar("FILE"),
  Flag.withDescription(`the config file (default: $ARCHIPELAGO_CONFIG, else ${Config.defaultConfigFile} if it exists)`),
  Flag.optional
)
const logFormatOption = Flag.Literals("log-format", ["pretty", "json"]).pipe(
  Flag.withDescription(described(byKey("logFormat"), "pretty for people, json for the journal (one object per line)", "pretty")),
  Flag.optional
)
const dataOption = text("data", "DIR", "the data folder: state, secrets, app data, rpc-token and instance id", Config.defaults.data)

const serveOptions = {
  apps: text("apps", "DIR", "the app catalog: one folder per app, each with its manifest.yml", Config.defaults.apps),
  data: dataOption,
  host: text("host", "ADDRESS", "the address to listen on; anything but loopback warns", Config.defaults.host),
  port: integer("port", "PORT", "the TCP port to listen on, 0-65535; 0 picks a free one", String(Config.defaults.port)),
  engine: text("engine", "ENGINE", "auto, podman or sim; auto falls back to the simulator only when started from a terminal", "auto"),
  scanInterval: text("scanInterval", "DURATION", "time between scans of the engine, e.g. 500ms, 1s, 30s, 5m, 1h", Config.defaults.interval),
  reconcileInterval: text("reconcileInterval", "DURATION", "time between reconcile passes, e.g. 500ms, 1s, 30s, 5m, 1h", Config.defaults.interval),
  passwordFile: text("passwordFile", "FILE", "enable password login with the first line of this file"),
  allowOrigins: list("allowOrigins", "ORIGIN", "also accept browser requests from this origin, e.g. https://node.example"),
  install: list("install", "ID", "install these apps on first start (ID or ID,ID,...), unless their owner decided otherwise"),
  mirrors: list("mirrors", "REGISTRY", "a registry tried before docker.io, e.g. registry.local:5000 (http://... for one without TLS)"),
  registries: list("registries", "REGISTRY", "a registry of your own images, host[:port] (http://host[:port] for one without TLS); its pulls never fall back to docker.io"),
  offline: Flag.Boolean("offline").pipe(
    Flag.withDescription(described(byKey("offline"), "pull only from the mirrors and the listed registries, never docker.io")),
    Flag.withDefault(false)
  ),
  allowedBindRoots: list("allowedBindRoots", "DIR", "an extra host folder (absolute path) manifests may bind-mount"),
  backupDir: text("backupDir", "DIR", "the backup target folder (absolute path: a mounted disk, a network share)", "<data>/backups"),
  backupKeep: integer("backupKeep", "N", "how many archives to keep per app, 1-1000", "5"),
  backupKeyFile: text(
    "backupKeyFile",
    "FILE",
    "encrypt backups (age) with the identity (age-keygen) or passphrase in this file (absolute path); only archives it opens are restored"
  ),
  printLoginUrl: Flag.Boolean("print-login-url").pipe(
    Flag.withDescription(described(byKey("printLoginUrl"), "print the login URL with its token even when stdout is not a terminal")),
    Flag.withDefault(false)
  ),
  logFormat: logFormatOption,
  config: configOption
}

type ServeFlags = {
  readonly [K in keyof typeof serveOptions]: (typeof serveOptions)[K] extends Flag.Flag<infer A> ? A : never
}

const splitLists = (values: ReadonlyArray<string>) => values.flatMap((v) => v.split(",")).filter((v) => v !== "")

/** The flags layer of the settings: `Option`s unwrapped, comma lists split. */
const flagsLayer = (flags: Partial<ServeFlags>, logLevel: string | undefined): Config.Layer => {
  const raw: Partial<Record<keyof Config.ServeOptions, Config.Raw | undefined>> = {}
  for (const [key, value] of Object.entries(flags)) {
    if (key === "config") continue
    if (Option.isOption(value)) raw[key as keyof Config.ServeOptions] = Option.getOrUndefined(value as Option.Option<Config.Raw>)
    else if (Array.isArray(value)) raw[key as keyof Config.ServeOptions] = key === "install" ? splitLists(value) : value
    else raw[key as keyof Config.ServeOptions] = value as Config.Raw
  }
  if (logLevel !== undefined) raw.logLevel = logLevel
  return Config.fromFlags(raw)
}

/**
 * The value of the `--log-level` flag in `argv`, if given (a global flag, before or after the
 * command, read here rather than by `effect/cli`; it counts as a flag in the settings' precedence).
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
    const read = yield* Effect.result(Effect.tryPromise(() => readFile(file.path, "utf8")))
    let fromFile: Config.Layer = {}
    if (Result.isFailure(read)) {
      const code = (read.failure.cause as NodeJS.ErrnoException | undefined)?.code
      if ((file.required && !missingOk) || code !== "ENOENT") {
        return yield* Effect.fail(new Config.UsageError({ reason: `cannot read the config file ${file.path}: ${code ?? String(read.failure.cause)}` }))
      }
    } else {
      const uid = process.getuid?.() ?? 0
      const insecure = yield* Effect.promise(() =>
        StrictModes.check("config file", file.path, [0, uid], `root or the user running archipelago (uid ${uid})`)
      )
      if (insecure !== undefined) return yield* Effect.fail(new Config.UsageError({ reason: insecure }))
      const parsed = Config.parseFile(read.success, file.path)
      if (Result.isFailure(parsed)) return yield* Effect.fail(new Config.UsageError({ reason: parsed.failure.join("\n") }))
      fromFile = parsed.success
    }
    return yield* Effect.fromResult(Config.resolve(flags, Config.fromEnv(env), fromFile))
  })

const levelOf = (level: Config.LogLevel): LogLevel.LogLevel =>
  LogLevel.values.find((l) => l.toLowerCase() === (level === "warning" ? "warn" : level)) ?? "Info"

/**
 * Runs `effect` with the log format and minimum level of the settings.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withLogging = (options: Pick<Config.ServeOptions, "logFormat" | "logLevel">) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provideService(References.MinimumLogLevel, levelOf(options.logLevel)),
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
 * The command tree and the help entry of each command; `argv` (the arguments after the program
 * name) is needed for the `--log-level` precedence.
 */
const tuple = <T extends ReadonlyArray<unknown>>(...xs: T): T => xs

const build = (argv: ReadonlyArray<string>) => {
  const entries: Array<Help.Entry> = []
  // a command to run: its help entry, by its full path, and its `Command`
  const make = <const C extends Command.Command.Config, R, E>(
    path: string,
    description: string,
    config: C,
    handler: (flags: Command.Command.Config.Infer<C>) => Effect.Effect<void, E, R>
  ) => {
    entries.push({ path: path.split(" "), description, config, children: [] })
    return Command.make(path.split(" ").at(-1)!, config, handler).pipe(Command.withDescription(description))
  }
  // a group of commands (`service`, `backup`): only its help entry (the caller adds the subcommands)
  const group = (path: string, description: string, children: ReadonlyArray<string>) => {
    entries.push({ path: path === "" ? [] : path.split(" "), description, config: {}, children })
    return description
  }

  const serve = make("serve", "run the orchestrator, the RPC server and the dashboard", serveOptions, (flags) =>
    withSettings(argv, flags, (options) => Effect.flatMap(Effect.promise(() => import("./Serve.js")), (S) => S.run(options))))

  const validate = make(
    "validate",
    "check every manifest of an app catalog (exit 1 on errors)",
    { dir: Argument.String("DIR").pipe(Argument.withDescription("the app catalog folder to check")) },
    ({ dir }) => Effect.flatMap(Effect.promise(() => import("./Validate.js")), (V) => V.run(dir)).pipe(Effect.flatMap(Console.log))
  )

  const json = Flag.Boolean("json").pipe(Flag.withDescription("print the server's answer as JSON"), Flag.withDefault(false))
  const status = make(
    "status",
    "ask the running server for its apps, their states and errors",
    { data: dataOption, config: configOption, logFormat: logFormatOption, json },
    (flags) =>
      withSettings(argv, flags, (options) => Effect.flatMap(Effect.promise(() => import("./Status.js")), (S) => S.run(options, { json: flags.json })))
  )

  const loginUrl = make(
    "login-url",
    "print the dashboard's login URL with its token (keep it secret)",
    { data: dataOption, config: configOption },
    (flags) => withSettings(argv, flags, (options) => Effect.flatMap(Effect.promise(() => import("./Status.js")), (S) => S.printLoginUrl(options)))
  )

  const takeover = make(
    "takeover",
    "stop and remove APP's container left by another orchestrator instance (or, with --container, one made without Archipelago's labels), so this data dir's server installs its own",
    {
      data: dataOption,
      config: configOption,
      apps: serveOptions.apps,
      logFormat: logFormatOption,
      app: Argument.String("APP").pipe(Argument.withDescription("the app's id, as in the catalog (`archipelago list` shows them)")),
      container: Flag.String("container").pipe(
        Flag.withMetavar("NAME"),
        Flag.withDescription("replace this container, made without Archipelago's labels, that holds APP's name"),
        Flag.optional
      )
    },
    (flags) =>
      withSettings(argv, flags, (options) =>
        Effect.flatMap(
          Effect.promise(() => import("./Takeover.js")),
          (T) => T.runOnPodman(options, flags.app, Option.getOrUndefined(flags.container))
        ))
  )

  const verify = make(
    "backup verify",
    "read a backup archive and check every entry against its manifest, restoring nothing (exit 1 when it does not match)",
    {
      archive: Argument.String("ARCHIVE").pipe(Argument.withDescription("the archive file to check (.tar, or .tar.age when encrypted)")),
      app: Flag.String("app").pipe(Flag.withMetavar("APP"), Flag.withDescription("also check the archive is a backup of this app"), Flag.optional),
      keyFile: Flag.String("key-file").pipe(
        Flag.withMetavar("FILE"),
        Flag.withDescription("the backup key file (age identity or passphrase): decrypt and authenticate the archive, refuse a plaintext one"),
        Flag.optional
      )
    },
    ({ app, archive, keyFile }) =>
      Effect.flatMap(Effect.promise(() => import("./BackupCli.js")), (B) => B.verify(archive, Option.getOrUndefined(app), Option.getOrUndefined(keyFile))).pipe(
        Effect.flatMap(Console.log)
      )
  )
  const backupList = make(
    "backup list",
    "list the archives in the backup target",
    { data: dataOption, config: configOption, backupDir: serveOptions.backupDir },
    (flags) =>
      withSettings(argv, flags, (options) =>
        Effect.flatMap(Effect.promise(() => import("./BackupCli.js")), (B) => B.list(options.backupDir ?? resolve(options.data, "backups"))).pipe(
          Effect.flatMap(Console.log)
        ))
  )

  const root = Argument.String("ROOT").pipe(Argument.withDescription("install under this folder instead of / (to prepare an image)"), Argument.optional)
  const unitOptions = {
    data: dataOption,
    config: configOption,
    apps: serveOptions.apps,
    host: serveOptions.host,
    port: serveOptions.port,
    user: Flag.String("user").pipe(
      Flag.withMetavar("USER"),
      Flag.withDescription("run the service as this user (default: root, as rootful podman needs)"),
      Flag.optional
    )
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
  // the unit runs `serve --config FILE` alone, so only the config file's path and the user shape it
  const unit = make("service unit", "print the systemd unit of the server", { config: configOption, user: unitOptions.user }, (flags) =>
    withSettings(argv, flags, () =>
      Effect.flatMap(unitOf(flags, configPathOf(flags)), ({ unit }) => Effect.sync(() => process.stdout.write(unit)))))
  const force = Flag.Boolean("force").pipe(
    Flag.withDescription("replace an existing unit with other content (by default it is never overwritten)"),
    Flag.withDefault(false)
  )
  const install = make(
    "service install",
    "write the systemd unit to /etc/systemd/system (or under ROOT), never over another unit unless --force",
    { ...unitOptions, root, force },
    (flags) =>
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
            Effect.andThen(
              U.checkProgram([process.execPath, U.cliPath()]),
              U.install(unit, Option.getOrElse(flags.root, () => "/"), configPathOf(flags), { force: flags.force, values, asked })
            ),
            (done) => Console.log(U.report(done).join("\n"))
          )
        }), true)
  )
  const service = Command.make("service").pipe(
    Command.withDescription(group("service", "the systemd service of the server: print or install its unit", ["unit", "install"])),
    Command.withSubcommands([unit, install])
  )

  const appArg = Argument.String("APP").pipe(Argument.withDescription("the app's id, as `archipelago list` shows it"))
  const clientOptions = { data: dataOption, config: configOption }
  const wait = Flag.Boolean("wait").pipe(
    Flag.withDescription("return when the operation has settled, with exit 0 (done), 1 (failed) or 3 (--timeout passed); a progress line on stderr meanwhile"),
    Flag.withDefault(false)
  )
  const timeout = Flag.String("timeout").pipe(
    Flag.withMetavar("DURATION"),
    Flag.withDescription("with --wait, give up waiting after this long, e.g. 500ms, 30s, 5m, 1h; the operation goes on"),
    Flag.optional
  )
  const jsonOut = Flag.Boolean("json").pipe(Flag.withDescription("print JSON for scripts instead of text"), Flag.withDefault(false))
  const appCommands = () => Effect.promise(() => import("./AppCommands.js"))
  const timeoutOf = (t: Option.Option<string>) =>
    Option.match(t, {
      onNone: () => Effect.succeed(undefined),
      onSome: (text) =>
        Result.match(Config.parseDuration(text), {
          onFailure: (reason) => Effect.fail(new Config.UsageError({ reason: `--timeout: ${reason}` })),
          onSuccess: (d) => Effect.succeed(d)
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
  const lifecycleCommand = (op: Op, path: string, description: string) =>
    make(path, description, { ...lifecycleOptions, app: appArg }, (flags) => requestOf(op, flags))
  const listCommand = make(
    "list",
    "list the apps of the running server: state, health, version, ports, error",
    { ...clientOptions, json: jsonOut },
    (flags) => withSettings(argv, flags, (options) => Effect.flatMap(appCommands(), (A) => A.list({ data: options.data, json: flags.json })))
  )
  const tail = Flag.Int("tail").pipe(
    Flag.withMetavar("N"),
    Flag.withDescription("how many of the last lines to print, at most 10000 (default: 200)"),
    Flag.withDefault(200)
  )
  const logsCommand = make(
    "logs",
    "print the last lines of an app's container log",
    { ...clientOptions, json: jsonOut, tail, app: appArg },
    (flags) =>
      withSettings(argv, flags, (options) =>
        Effect.flatMap(appCommands(), (A) => A.logs(flags.app, { data: options.data, json: flags.json, tail: flags.tail })))
  )
  const purge = Flag.Boolean("purge").pipe(Flag.withDescription("also delete the app's data folder and volumes (cannot be undone)"), Flag.withDefault(false))
  const cascade = Flag.Boolean("cascade").pipe(Flag.withDescription("also remove the installed apps that depend on it, first"), Flag.withDefault(false))
  const archiveOption = Flag.String("archive").pipe(
    Flag.withMetavar("NAME"),
    Flag.withDescription("the archive's file name in the backup target (`archipelago backup list`); default: the newest"),
    Flag.optional
  )
  const backupCreate = lifecycleCommand("backup", "backup create", "back up an app's data now into the backup target")
  const backup = Command.make("backup").pipe(
    Command.withDescription(group("backup", "backup archives: create one now, list them, verify one", ["create", "list", "verify"])),
    Command.withSubcommands([backupCreate, backupList, verify])
  )
  const removeCommand = make(
    "remove",
    "remove an app's container (its data stays unless --purge)",
    { ...lifecycleOptions, purge, cascade, app: appArg },
    (flags) => requestOf("remove", flags, { ...(flags.purge ? { purge: true } : {}), ...(flags.cascade ? { cascade: true } : {}) })
  )
  const restoreCommand = make(
    "restore",
    "restore an app's data from a backup archive",
    { ...lifecycleOptions, archive: archiveOption, app: appArg },
    (flags) => requestOf("restore", flags, Option.match(flags.archive, { onNone: () => ({}), onSome: (archive) => ({ archive }) }))
  )

  const top = tuple(
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
  )
  const description = group(
    "",
    "keeps the app containers of a Bitcoin/Lightning home node in the state their owner asked for",
    top.map((c) => c.name)
  )
  const command = Command.make("archipelago").pipe(Command.withDescription(description), Command.withSubcommands(top))
  return { command, entries: entries as ReadonlyArray<Help.Entry> }
}

/**
 * The command tree; `argv` (the arguments after the program name) is needed for the
 * `--log-level` precedence.
 *
 * @since 0.1.0
 * @category constructors
 */
export const command = (argv: ReadonlyArray<string>) => build(argv).command

// `--log-level` is read by `logLevelFlag`; the parser gets the rest without it
const withoutLogLevel = (argv: ReadonlyArray<string>) =>
  argv.filter((a, i) => a !== "--log-level" && argv[i - 1] !== "--log-level" && !a.startsWith("--log-level="))

// no `--wizard`: its prompts know nothing of the environment and the config file
const builtInFlags = ["help", "version", "completions", "log-level"]

let flagsByPath: Readonly<Record<string, ReadonlyArray<string>>> | undefined

/**
 * The flags each command takes, by its path (`serve`, `service install`, `backup list`), for the
 * "did you mean" of misspelt commands and flags: read once from the command tree itself, as its
 * help shows them, so the two cannot drift.
 *
 * @since 0.1.0
 * @category constants
 */
export const knownFlags = (): Readonly<Record<string, ReadonlyArray<string>>> =>
  flagsByPath ??= Object.fromEntries(
    build([]).entries.filter((e) => e.path.length > 0).map((e) => [
      e.path.join(" "),
      Help.optionDefinitions(e).flatMap((d) => [...d.term.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!))
    ])
  )

/**
 * The command path `argv` names (`service install`), or the misspelt word with the closest
 * command when the first word (after a `--log-level LEVEL`) names none.
 *
 * @since 0.1.0
 * @category parsing
 */
export const commandOf = (
  argv: ReadonlyArray<string>
): { readonly path: string } | { readonly unknown: string; readonly suggestion?: string } | undefined => {
  const args = withoutLogLevel(argv)
  const words = args.filter((a) => !a.startsWith("-"))
  const first = args[0]
  if (first === undefined || first.startsWith("-")) return undefined
  const flags = knownFlags()
  const top = Object.keys(flags).filter((k) => !k.includes(" "))
  if (!top.includes(first)) {
    const suggestion = Config.closest(first, top)
    return { unknown: first, ...(suggestion === undefined ? {} : { suggestion }) }
  }
  const sub = words[1]
  if (sub !== undefined && `${first} ${sub}` in flags) return { path: `${first} ${sub}` }
  const subs = Object.keys(flags).filter((k) => k.startsWith(`${first} `)).map((k) => k.slice(first.length + 1))
  if (subs.length > 0 && sub !== undefined && args[1] === sub) {
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
  const known = [...(path === undefined ? [] : knownFlags()[path]!), ...builtInFlags]
  for (const a of argv) {
    if (!a.startsWith("--") || a === "--") continue
    const flag = a.slice(2).split("=")[0]!
    if (known.includes(flag)) continue
    const suggestion = Config.closest(flag, known)
    return { flag: `--${flag}`, ...(suggestion === undefined ? {} : { suggestion: `--${suggestion}` }) }
  }
  return undefined
}

/**
 * What a usage error is prefixed with: the program and the command `argv` names
 * (`archipelago service unit`), or the group a misspelt subcommand is under (`archipelago backup`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const programOf = (argv: ReadonlyArray<string>): string => {
  const named = commandOf(argv)
  const path = named === undefined ? [] : "path" in named ? named.path.split(" ") : named.unknown.split(" ").slice(0, -1)
  return ["archipelago", ...path].join(" ")
}

const helpFlags = ["--help", "-h"]
const wantsHelp = (argv: ReadonlyArray<string>) => {
  const end = argv.indexOf("--")
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => helpFlags.includes(a))
}

const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1)

/** `effect/cli`'s parse error in an operator's words, naming what is missing or wrong. */
const usageReason = (error: CliError.CliError, entry: Help.Entry | undefined): string => {
  switch (error._tag) {
    case "MissingArgument": {
      const d = entry === undefined ? undefined : Help.argumentDefinitions(entry).find((x) => x.term === `<${error.argument}>`)
      return `missing argument <${error.argument}>${d === undefined || d.text === "" ? "" : ` (${d.text})`}`
    }
    case "UnexpectedArgument":
      return `unexpected argument ${error.arguments[0] ?? ""}`
    case "UnrecognizedOption":
      // a short option (`-x`): none is ours
      return error.option.startsWith("--") ? `unknown option ${error.option}` : `unexpected argument ${error.option}`
    case "MissingOption":
      return `missing option --${error.option}`
    case "InvalidValue": {
      const name = error.kind === "flag" ? `--${error.option}` : `<${error.option}>`
      // a flag given without its value (`--port` last)
      if (error.kind === "flag" && error.value === "") return `${name}: expected a value`
      // a flag given twice (`--port 1 --port 2`)
      const times = /^(\d+) occurrences$/.exec(error.value)
      if (times !== null) return `${name}: given ${times[1]} times, expected once`
      const choices = /^"[^"]*"( \| "[^"]*")*$/.test(error.expected) ? `one of ${error.expected.replaceAll("\"", "").split(" | ").join(", ")}` : undefined
      const expects = (error.kind === "flag" && entry !== undefined ? Help.expected(entry, error.option) : undefined) ?? choices ??
        lowerFirst(error.expected.replace(/^Expected:? /, ""))
      return `${name}: expected ${expects}, got ${JSON.stringify(error.value)}`
    }
    case "UnknownSubcommand":
      return `unknown command ${error.subcommand}`
    case "ShowHelp": {
      const first = error.errors[0]
      return first === undefined ? "help requested" : usageReason(first, entry)
    }
    default:
      return lowerFirst(error.message.split("\n").map((l) => l.trim()).filter((l) => l !== "").join("; ").replace(/\.$/, ""))
  }
}

// `effect/cli`'s own global flags, without `--wizard` (its prompts know nothing of the
// environment and the config file) and `--log-level` (read by `logLevelFlag`)
const cliConfig = CliConfig.make({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })

// `effect/cli` prints its help and usage errors through the presenter: ours prints nothing, the
// help is `Help.render`'s and a usage error is one line of the caller's
const silent: CliOutput.Presenter = { present: () => Effect.void }

/**
 * Runs the command line (arguments after the program name). `--help` prints this program's own
 * help (`Help`); every usage error (an unknown command or option, a missing or bad argument)
 * fails with one `UsageError`, printed by the caller after `programOf(argv)`, and nothing of
 * `effect/cli`'s own help or error output.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (argv: ReadonlyArray<string>) => {
  const named = commandOf(argv)
  if (named !== undefined && "unknown" in named) {
    const words = named.unknown.split(" ")
    const suggestion = named.suggestion?.split(" ").at(-1)
    return Effect.fail(
      new Config.UsageError({
        reason: `unknown command ${words.at(-1)}${suggestion === undefined ? "" : `: did you mean ${suggestion}?`} (${
          ["archipelago", ...words.slice(0, -1)].join(" ")
        } --help lists them)`
      })
    )
  }
  const { command: cli, entries } = build(argv)
  const entry = entries.find((e) => e.path.join(" ") === (named === undefined ? "" : named.path))
  const printHelp = (e: Help.Entry) =>
    Effect.sync(() => {
      const color = process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""
      process.stdout.write(Help.render("archipelago", version, entries, e, color))
    })
  if (entry !== undefined && (wantsHelp(argv) || (entry.children.length > 0 && withoutLogLevel(argv).every((a) => !a.startsWith("-"))))) {
    return printHelp(entry)
  }
  const unknown = unknownFlag(argv)
  if (unknown !== undefined) {
    return Effect.fail(
      new Config.UsageError({
        reason: `unknown option ${unknown.flag}${unknown.suggestion === undefined ? "" : `: did you mean ${unknown.suggestion}?`}`
      })
    )
  }
  return Command.runWith(cli, { version, renderErrors: false })(withoutLogLevel(argv)).pipe(
    // a parse error is one line of ours, not the library's help and error
    Effect.catchIf(
      (e): e is CliError.ShowHelp => CliError.isCliError(e) && e._tag === "ShowHelp",
      (e) => e.errors.length === 0 && entry !== undefined
        ? printHelp(entry)
        : Effect.fail(new Config.UsageError({ reason: usageReason(e, entry) }))
    ),
    Effect.provideService(CliOutput.Presenter, silent),
    Effect.provideService(CliConfig.CliConfig, cliConfig)
  )
}

/**
 * The environment `run` needs.
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = Command.Environment
