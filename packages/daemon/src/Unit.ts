/**
 * The systemd unit of the server: `archipelago service unit` prints it, `archipelago service
 * install` writes it. Rendering is pure; the unit is checked with `systemd-analyze verify`.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { SafeFile } from "@archipelago/orchestrator"
import { Data, Effect, Result } from "effect"
import * as Config from "./Config.js"
import * as StrictModes from "./internal/strictModes.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const unitName = "archipelago.service"

/**
 * Where `install` writes the unit, under the root.
 *
 * @since 0.1.0
 * @category constants
 */
export const unitDir = "/etc/systemd/system"

/**
 * @since 0.1.0
 * @category models
 */
export interface UnitOptions {
  /** The node binary. */
  readonly node: string
  /** The `archipelago` CLI script (`dist/cli.js`). */
  readonly cli: string
  /** The config file the server reads: every setting lives there, none on the command line. */
  readonly configFile: string
  /** Default root: rootful podman. */
  readonly user?: string
}

/**
 * Node's flags for the long-running server (the unit's command line, `npm start`): a 1 MiB
 * young generation and V8's memory-saving heuristics; no background threads (`--single-threaded`:
 * their stacks and malloc arenas); no optimizing compiler (`--no-opt`: TurboFan's code, and the
 * pages of node's binary it would touch; the server's work is small); bytecode of functions not
 * run since the last GC flushed (`--bytecode-old-age=1`: the startup code). With 50 apps and 1 s
 * scans (bench/soak.ts and the same servers side by side for 9 minutes) the server peaked at
 * 137-157 MiB resident with no flags, 103 MiB with the first two and 88-96 MiB with all five, for
 * the same CPU (1.06 against 1.09 s per minute). What remains is node's binary (46 MiB of mapped
 * code) and a live heap of about 24 MB.
 *
 * @since 0.1.0
 * @category constants
 */
export const nodeFlags: ReadonlyArray<string> = [
  "--max-semi-space-size=1", "--optimize-for-size", "--single-threaded", "--no-opt", "--bytecode-old-age=1"
]

const quote = (arg: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, "\\$1")}"`)

/**
 * The command line the unit starts (also run directly by the operations test): `serve --config
 * <file>` and nothing else, so no flag shadows a key of the config file (flags win over it: a
 * `--data` here made an edited `data:` silently do nothing).
 *
 * @since 0.1.0
 * @category getters
 */
export const execStart = (o: UnitOptions): ReadonlyArray<string> => [o.node, ...nodeFlags, o.cli, "serve", "--config", o.configFile]

/**
 * The capabilities the unit takes out of its bounding set: neither podman, conmon, runc nor the
 * containers (whose added capabilities manifests refuse) use them, and every container inherits
 * the bounding set. Tried: `setpriv --bounding-set -<these>` then `podman run -p …` of the base
 * image runs, with podman's default capability set (docs/operations.md lists each option).
 *
 * @since 0.1.0
 * @category constants
 */
export const droppedCapabilities: ReadonlyArray<string> = [
  "CAP_SYS_MODULE",
  "CAP_SYS_BOOT",
  "CAP_SYS_TIME",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_SYS_TTY_CONFIG",
  "CAP_SYSLOG",
  "CAP_MAC_ADMIN",
  "CAP_MAC_OVERRIDE",
  "CAP_AUDIT_CONTROL",
  "CAP_AUDIT_READ",
  "CAP_LINUX_IMMUTABLE",
  "CAP_SYS_PACCT"
]

/**
 * The unit text. Hardening is limited to what rootful podman tolerates: nothing that gives the
 * service its own mount namespace (`PrivateTmp`, `ProtectSystem`, `ProtectHome`: podman's
 * overlay mounts would be invisible outside it), no `NoNewPrivileges` (containers inherit it),
 * no device or SUID restrictions (images carry setuid files and need `/dev/fuse`), no system call
 * or namespace filter (containers inherit it); only the capabilities nothing uses are dropped
 * (`droppedCapabilities`). docs/operations.md weighs each option.
 * `KillMode=process` stops the server, never the containers it runs: they outlive a restart and
 * the server adopts them.
 *
 * @since 0.1.0
 * @category getters
 */
export const render = (o: UnitOptions): string =>
  `# Written by \`archipelago service install\`; \`archipelago service unit\` prints it.
[Unit]
Description=Archipelago orchestrator: the app containers of a Bitcoin/Lightning home node
Documentation=man:podman(1)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
${o.user === undefined ? "" : `User=${o.user}\n`}Environment=ARCHIPELAGO_CONFIG=${quote(o.configFile)}
ExecStart=${execStart(o).map(quote).join(" ")}
Restart=always
RestartSec=5
TimeoutStopSec=90
KillMode=process
Delegate=yes
LimitNOFILE=1048576
TasksMax=infinity
UMask=0027
LockPersonality=yes
RestrictRealtime=yes
SystemCallArchitectures=native
CapabilityBoundingSet=~${droppedCapabilities.join(" ")}

[Install]
WantedBy=multi-user.target
`

/**
 * The settings `service install` writes into a first config file, uncommented: the folders
 * always (absolute), the service's engine and journal format, and what its flags gave.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigValues {
  readonly apps?: string
  readonly data?: string
  readonly host?: string
  readonly port?: number
  readonly engine?: Config.Engine
  readonly logFormat?: Config.LogFormat
}

type FileKey = keyof typeof Config.FileSchema.fields

/**
 * Each key of the config file in the template: what it means, its default, and a commented
 * example. A mapped type over `Config.FileSchema`, so a key added there fails to compile until
 * the template documents it.
 *
 * @since 0.1.0
 * @category constants
 */
export const templateEntries: { readonly [K in FileKey]: { readonly meaning: string; readonly fallback: string; readonly example: string } } = {
  apps: { meaning: "the app catalog: folders of manifest.yml", fallback: "apps (relative to the working folder)", example: "/opt/archipelago/apps" },
  data: { meaning: "state, secrets, app data, rpc-token and instance id", fallback: Config.defaults.data, example: Config.defaults.data },
  host: { meaning: "the address the dashboard and API listen on; anything but loopback warns", fallback: Config.defaults.host, example: Config.defaults.host },
  port: { meaning: "their TCP port; 0 picks a free one", fallback: String(Config.defaults.port), example: String(Config.defaults.port) },
  engine: { meaning: "auto, podman or sim (auto: the simulator only when started from a terminal)", fallback: Config.defaults.engine, example: "podman" },
  scanInterval: { meaning: "time between scans of the engine: 500ms, 1s, 30s, 5m, 1h", fallback: Config.defaults.interval, example: Config.defaults.interval },
  reconcileInterval: { meaning: "time between reconcile passes", fallback: Config.defaults.interval, example: Config.defaults.interval },
  passwordFile: { meaning: "enable password login with the first line of this file", fallback: "none (token login only)", example: "/etc/archipelago/password" },
  allowOrigins: { meaning: "also accept browser requests from these origins", fallback: "none", example: "[https://node.example]" },
  install: { meaning: "apps installed on first start, unless their owner decided otherwise", fallback: "none", example: "[bitcoin-core, lnd]" },
  mirrors: { meaning: "registries tried, in order, before docker.io for Docker Hub images (http:// for one without TLS)", fallback: "none (docker.io only)", example: "[registry.local:5000]" },
  registries: {
    meaning: "registries of your own images: insecure (plain HTTP) or private (a podman auth file)",
    fallback: "none (TLS, no auth file)",
    example: "[{ location: \"127.0.0.1:5000\", insecure: true }, { location: registry.lan:5000, authFile: /etc/archipelago/auth.json }]"
  },
  offline: { meaning: "pull only from the mirrors and registries: never docker.io, never another registry", fallback: "false", example: "true" },
  allowedBindRoots: { meaning: "extra host folders manifests may bind-mount", fallback: "none", example: "[/srv/bitcoin]" },
  logLevel: { meaning: "all, trace, debug, info, warning, error, fatal or none", fallback: Config.defaults.logLevel, example: Config.defaults.logLevel },
  logFormat: { meaning: "pretty for people, json for the journal (one object per line)", fallback: Config.defaults.logFormat, example: "json" },
  printLoginUrl: { meaning: "print the login URL with its token even when stdout is not a terminal", fallback: "false", example: "false" },
  backupDir: { meaning: "the backup target folder (a mounted disk, a network share)", fallback: "<data>/backups", example: "/mnt/backup/archipelago" },
  backupKeep: { meaning: "archives kept per app", fallback: "5", example: "5" },
  backupKeyFile: { meaning: "encrypt backups (age) with the identity or passphrase in this file", fallback: "none (archives not encrypted)", example: "/etc/archipelago/backup.key" }
}

const yamlScalar = (v: string | number): string => typeof v === "number" || /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? String(v) : JSON.stringify(v)

/**
 * A config file at `path` listing every key the config supports, each with its meaning and
 * default; `values` are written as settings, every other key is a commented example.
 *
 * @since 0.1.0
 * @category constructors
 */
export const configTemplateFor = (path: string, values: ConfigValues = {}): string => {
  const lines = [
    `# ${path}: the settings of \`archipelago serve\`.`,
    `# The service (${unitName}) runs \`archipelago serve --config ${path}\` and nothing else:`,
    "# every setting lives here. `archipelago service install` writes this file only when it is",
    "# missing and never rewrites it; after an edit: systemctl restart archipelago",
    "# (By hand, flags and ARCHIPELAGO_* variables win over this file.)",
    "# A commented line is an example; the default is in brackets."
  ]
  for (const [key, e] of Object.entries(templateEntries) as ReadonlyArray<[FileKey, (typeof templateEntries)[FileKey]]>) {
    const value = (values as Partial<Record<FileKey, string | number>>)[key]
    lines.push("", `# ${e.meaning} [default: ${e.fallback}]`, value === undefined ? `# ${key}: ${e.example}` : `${key}: ${yamlScalar(value)}`)
  }
  return `${lines.join("\n")}\n`
}

/**
 * The first config file at the default path, `/etc/archipelago/config.yml`, with no setting.
 *
 * @since 0.1.0
 * @category constants
 */
export const configTemplate: string = configTemplateFor(Config.defaultConfigFile)

/**
 * The service's own settings, written uncommented into a first config file: podman (a service
 * never falls back to the simulator) and JSON lines for the journal.
 *
 * @since 0.1.0
 * @category constants
 */
export const serviceValues: ConfigValues = { engine: "podman", logFormat: "json" }

/**
 * Where an existing config file disagrees with what `service install`'s flags ask (`data`,
 * `apps`, `host`, `port`): one line per key, empty when they agree. Paths compare resolved.
 *
 * @since 0.1.0
 * @category getters
 */
export const conflicts = (file: Config.ServeOptions, asked: ConfigValues, flagOf: (key: keyof ConfigValues) => string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const check = (key: keyof ConfigValues, have: string, want: string | undefined) => {
    if (want !== undefined && have !== want) out.push(`it says ${key}: ${have}, ${flagOf(key)} says ${want}`)
  }
  check("data", resolve(file.data), asked.data === undefined ? undefined : resolve(asked.data))
  check("apps", resolve(file.apps), asked.apps === undefined ? undefined : resolve(asked.apps))
  check("host", file.host, asked.host)
  check("port", String(file.port), asked.port === undefined ? undefined : String(asked.port))
  return out
}

/**
 * Writing the unit failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnitError extends Data.TaggedError("UnitError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `cannot write ${this.path}: ${this.reason}`
  }
}

/**
 * The CLI script this process runs.
 *
 * @since 0.1.0
 * @category getters
 */
export const cliPath = (): string => resolve(process.argv[1] ?? "archipelago")

/**
 * Refuses (`UnitError` naming the path and the fix) to write a unit that would run a program
 * root does not control: each path (the node binary, the CLI script), resolved through its
 * links, and every folder above it must be owned by root and writable by no group and no one
 * else (sshd's StrictModes; `Config.strictModes`). A user who can write the CLI script, or swap
 * a folder above it, would otherwise run code as root at the next start.
 *
 * @since 0.1.0
 * @category guards
 */
export const checkProgram = (paths: ReadonlyArray<string>): Effect.Effect<void, UnitError> =>
  Effect.forEach(paths, (path) =>
    Effect.flatMap(
      Effect.tryPromise({
        try: () => StrictModes.check("program", path, [0], "root (the unit runs it as root)"),
        catch: (e) => new UnitError({ path: join(unitDir, unitName), reason: `cannot check ${path}: ${e instanceof Error ? e.message : String(e)}` })
      }),
      (problem) => problem === undefined ? Effect.void : Effect.fail(new UnitError({ path: join(unitDir, unitName), reason: problem }))
    ), { discard: true })

const refusal = "it exists with other content (your own unit, or one an older install wrote): not overwritten; " +
  "compare it with `archipelago service unit`, then remove it or install with --force"

/**
 * What `install` did to one file: `wrote` it, found it `unchanged` (the same content: not
 * rewritten, its mtime stays), or `kept` an operator's edited config file as it is.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly path: string
  readonly status: "wrote" | "unchanged" | "kept"
}

/**
 * What `install` did: the unit and the config file.
 *
 * @since 0.1.0
 * @category models
 */
export interface Installed {
  readonly unit: Outcome
  readonly config: Outcome
}

/**
 * The lines `service install` prints: one per file (`wrote …`, `unchanged …`, `kept … `), then
 * what to run when the unit was written.
 *
 * @since 0.1.0
 * @category getters
 */
export const report = (r: Installed): ReadonlyArray<string> => [
  `${r.unit.status} ${r.unit.path}`,
  r.config.status === "kept"
    ? `kept ${r.config.path} (edited: never rewritten; the service reads every setting from it)`
    : `${r.config.status} ${r.config.path}`,
  ...(r.unit.status === "wrote" ? [`now: systemctl daemon-reload && systemctl enable --now ${unitName}`] : [])
]

const readText = (path: string) => Effect.promise(() => readFile(path, "utf8").catch(() => undefined))

/**
 * Writes the unit under `root` and, when there is none, a first config file at `root` +
 * `configFile` (the path the unit reads) from `values` (`configTemplateFor`). Nothing is ever
 * overwritten unasked: each file is created whole (a temp file hard-linked to its name, which
 * fails when the name exists), so the "is it there?" decision and the write are one step, and an
 * install racing another, or a file the user creates meanwhile, is never clobbered. An existing
 * unit with the same content is left as it is (`unchanged`); one with other content (or a
 * symlink to one) fails with `UnitError` naming it, unless `force` replaces it (atomically: temp
 * file, rename). An existing config file is kept as the operator left it; when it disagrees
 * with what `asked` (the install's flags) says, the install fails before writing anything,
 * naming each difference: the flags would otherwise silently do nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (
  unit: string,
  root: string,
  configFile = Config.defaultConfigFile,
  options: {
    readonly force?: boolean
    /** The first config file's settings. */
    readonly values?: ConfigValues
    /** What the install's flags asked, checked against an existing config file. */
    readonly asked?: ConfigValues
    readonly flagOf?: (key: keyof ConfigValues) => string
  } = {}
): Effect.Effect<Installed, UnitError> =>
  Effect.gen(function*() {
    const path = join(root, unitDir, unitName)
    const config = join(root, configFile)
    const template = configTemplateFor(configFile, options.values)
    const failed = (at: string) => (e: SafeFile.SafeFileError | SafeFile.UnsafePath) =>
      new UnitError({ path: at, reason: e._tag === "SafeFileError" ? e.reason : e.message })
    const create = (at: string, content: string, mode: number) =>
      Effect.mapError(SafeFile.create(at, content, { mode, dirMode: 0o755, replaceNonFile: false }), failed(at))
    const configNow = yield* readText(config)
    if (configNow !== undefined && configNow !== template && options.asked !== undefined) {
      const parsed = Config.parseFile(configNow, config)
      const file = Result.flatMap(Result.mapError(parsed, (problems) => problems.join("; ")), (layer) => Result.mapError(Config.resolve(layer), (e) => e.message))
      if (Result.isFailure(file)) return yield* new UnitError({ path: config, reason: file.failure })
      const differ = conflicts(file.success, options.asked, options.flagOf ?? ((k) => `--${k}`))
      if (differ.length > 0) {
        return yield* new UnitError({
          path: config,
          reason: `it exists and the service reads every setting from it, but ${differ.join("; ")}: ` +
            "edit the file (it is never rewritten), or leave those flags out"
        })
      }
    }
    let unitStatus: Outcome["status"] = "wrote"
    if (options.force === true) {
      const r = yield* Effect.mapError(SafeFile.write(path, unit, { mode: 0o644, dirMode: 0o755 }), failed(path))
      if (!r.written) unitStatus = "unchanged"
    } else if (!(yield* create(path, unit, 0o644))) {
      // a link to a unit elsewhere is followed for the comparison (a dangling one differs)
      const current = yield* readText(path)
      if (current !== unit) return yield* new UnitError({ path, reason: refusal })
      unitStatus = "unchanged"
    }
    const created = yield* create(config, template, 0o640)
    const configStatus: Outcome["status"] = created ? "wrote" : (yield* readText(config)) === template ? "unchanged" : "kept"
    return { unit: { path, status: unitStatus }, config: { path: config, status: configStatus } }
  })
