/**
 * The `archipelago` command line as a pure parser: argv (and the environment) in, a command
 * or a usage error out. Running the command is `main.ts`'s job.
 *
 * @since 0.1.0
 */
import { Data, Duration, Either } from "effect"
import { AppId } from "@archipelago/orchestrator/domain"
import { version } from "./ServerInfo.js"

/**
 * Which container engine `serve` drives.
 *
 * @since 0.1.0
 * @category models
 */
export type Engine = "auto" | "podman" | "sim"

/**
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  readonly apps: string
  readonly data: string
  readonly host: string
  readonly port: number
  readonly engine: Engine
  readonly scanInterval: Duration.Duration
  readonly reconcileInterval: Duration.Duration
  readonly passwordFile?: string
  readonly allowOrigins: ReadonlyArray<string>
  /** Apps to install on first start: only those nobody has decided about yet. */
  readonly install: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Validate"; readonly dir: string }
  | { readonly _tag: "Serve"; readonly options: ServeOptions }

/**
 * The arguments make no sense; `message` says why.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string }> {
  override get message(): string {
    return `${this.reason}\nRun \`archipelago --help\` for usage.`
  }
}

/**
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  apps: "apps",
  data: "/var/lib/archipelago",
  host: "127.0.0.1",
  port: 7420,
  engine: "auto" as Engine,
  interval: "30s"
} as const

/**
 * The `--help` text.
 *
 * @since 0.1.0
 * @category constants
 */
export const usage = `archipelago ${version}: keeps the app containers of a Bitcoin/Lightning home node in the
state their owner asked for, and serves the dashboard and its JSON-RPC API.

Usage:
  archipelago serve [options]    run the orchestrator, the RPC server and the dashboard
  archipelago validate DIR       check every manifest of an app catalog (exit 1 on errors)
  archipelago --version          print the version and exit
  archipelago --help             print this help and exit

serve options:
  --apps DIR                 the app catalog, folders of manifest.yml (default: ${defaults.apps})
  --data DIR                 state, secrets, app data and rpc-token
                             (default: $ARCHIPELAGO_DATA or ${defaults.data})
  --host HOST                address to bind (default: ${defaults.host}; anything else warns)
  --port PORT                TCP port (default: ${defaults.port}; 0 picks a free one)
  --engine auto|podman|sim   container engine; auto uses podman when it works, otherwise
                             the in-memory simulator with a warning (default: auto)
  --scan-interval DURATION   time between scans of the engine (default: ${defaults.interval})
  --reconcile-interval DURATION
                             time between reconcile passes (default: ${defaults.interval})
  --password-file FILE       enable password login with the first line of FILE
  --allow-origin URL         also accept browser requests from this origin (repeatable)
  --install ID[,ID...]       install these apps on first start, unless their owner already
                             decided about them (removed, stopped...) (repeatable)

Durations: 500ms, 1s, 30s, 5m, 1h.
The dashboard URL with the login token is printed on start; the token is kept in
<data>/rpc-token (mode 0600). Send it as \`Authorization: Bearer <token>\` to POST /rpc.
`

/**
 * Parses `500ms`, `1s`, `30s`, `5m`, `1h`; zero and anything else are refused.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text.trim())
  if (m === null) return Either.left(`invalid duration ${JSON.stringify(text)}: expected e.g. 500ms, 1s, 30s, 5m`)
  const n = Number(m[1])
  if (n <= 0) return Either.left(`invalid duration ${JSON.stringify(text)}: must be more than zero`)
  const unit = m[2] === "ms" ? "millis" : m[2] === "s" ? "seconds" : m[2] === "m" ? "minutes" : "hours"
  return Either.right(Duration.decode(`${n} ${unit}`))
}

const serveFlags = new Set([
  "apps",
  "data",
  "host",
  "port",
  "engine",
  "scan-interval",
  "reconcile-interval",
  "password-file",
  "allow-origin",
  "install"
])

const fail = (reason: string) => Either.left(new UsageError({ reason }))

/**
 * Parses the arguments after the program name. `--help` and `--version` win wherever they
 * appear, so they never start anything.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = {}
): Either.Either<Command, UsageError> => {
  if (argv.includes("--help") || argv.includes("-h") || argv[0] === "help") return Either.right({ _tag: "Help" })
  if (argv.includes("--version") || argv.includes("-v") || argv[0] === "version") return Either.right({ _tag: "Version" })
  const [command, ...rest] = argv
  if (command === undefined) return fail("missing command: serve or validate")
  if (command === "validate") {
    if (rest.length !== 1 || rest[0]!.startsWith("-")) return fail("usage: archipelago validate DIR")
    return Either.right({ _tag: "Validate", dir: rest[0]! })
  }
  if (command !== "serve") return fail(`unknown command: ${command}`)

  const values = new Map<string, string>()
  const origins: Array<string> = []
  const install: Array<string> = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (!arg.startsWith("--")) return fail(`unexpected argument: ${arg}`)
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!serveFlags.has(name)) return fail(`unknown option: --${name}`)
    let value: string
    if (eq !== -1) value = arg.slice(eq + 1)
    else {
      const next = rest[i + 1]
      if (next === undefined || next.startsWith("--")) return fail(`--${name} needs a value`)
      value = next
      i++
    }
    if (name === "allow-origin") origins.push(value)
    else if (name === "install") install.push(...value.split(",").filter((id) => id !== ""))
    else values.set(name, value)
  }

  const engine = values.get("engine") ?? defaults.engine
  if (engine !== "auto" && engine !== "podman" && engine !== "sim") {
    return fail(`invalid --engine ${JSON.stringify(engine)}: expected auto, podman or sim`)
  }
  const portText = values.get("port") ?? String(defaults.port)
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN
  if (!(port >= 0 && port <= 65535)) return fail(`invalid --port ${JSON.stringify(portText)}: expected 0-65535`)
  const scan = parseDuration(values.get("scan-interval") ?? defaults.interval)
  if (Either.isLeft(scan)) return fail(`--scan-interval: ${scan.left}`)
  const reconcile = parseDuration(values.get("reconcile-interval") ?? defaults.interval)
  if (Either.isLeft(reconcile)) return fail(`--reconcile-interval: ${reconcile.left}`)
  for (const o of origins) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(o)) return fail(`invalid --allow-origin ${JSON.stringify(o)}: expected e.g. https://node.example`)
  }
  for (const id of install) {
    if (!AppId.is(id)) return fail(`invalid --install ${JSON.stringify(id)}: expected app ids like demo-node`)
  }
  const passwordFile = values.get("password-file")
  const options: ServeOptions = {
    apps: values.get("apps") ?? defaults.apps,
    data: values.get("data") ?? env["ARCHIPELAGO_DATA"] ?? defaults.data,
    host: values.get("host") ?? defaults.host,
    port,
    engine,
    scanInterval: scan.right,
    reconcileInterval: reconcile.right,
    allowOrigins: origins,
    install,
    ...(passwordFile === undefined ? {} : { passwordFile })
  }
  return Either.right({ _tag: "Serve", options })
}
