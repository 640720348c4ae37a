/**
 * The systemd unit of the server: `archipelago service unit` prints it, `archipelago service
 * install` writes it. Rendering is pure; the unit is checked with `systemd-analyze verify`.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { SafeFile } from "@archipelago/orchestrator"
import { Data, Effect } from "effect"
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
  readonly configFile: string
  readonly dataDir: string
  readonly appsDir: string
  /** Default root: rootful podman. */
  readonly user?: string
}

/**
 * Node's flags for the long-running server (the unit's command line, `npm start`): a 1 MiB
 * young generation and V8's memory-saving heuristics. The server's live heap is about 26 MB;
 * without them V8 sizes its heap for throughput and let a node with 50 apps and 1 s scans sit
 * at 115-175 MiB resident, with them 90-100 MiB, for about 0.25 % of a core more GC work.
 *
 * @since 0.1.0
 * @category constants
 */
export const nodeFlags: ReadonlyArray<string> = ["--max-semi-space-size=1", "--optimize-for-size"]

const quote = (arg: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, "\\$1")}"`)

/**
 * The command line the unit starts (also run directly by the operations test).
 *
 * @since 0.1.0
 * @category getters
 */
export const execStart = (o: UnitOptions): ReadonlyArray<string> => [
  o.node,
  ...nodeFlags,
  o.cli,
  "serve",
  "--engine",
  "podman",
  "--config",
  o.configFile,
  "--data",
  o.dataDir,
  "--apps",
  o.appsDir,
  "--log-format",
  "json"
]

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
 * A first config file at `path`, every setting commented out at its default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const configTemplateFor = (path: string): string => `# ${path}: read by \`archipelago serve\` (flags and ARCHIPELAGO_* variables win).
# host: 127.0.0.1
# port: 7420
# scanInterval: 30s
# reconcileInterval: 30s
# passwordFile: /etc/archipelago/password
# allowOrigins: [https://node.example]
# mirrors: [registry.local:5000]
# allowedBindRoots: [/srv/bitcoin]
# install: [bitcoin-core, lnd]
# logLevel: info
`

/**
 * The first config file at the default path, `/etc/archipelago/config.yml`.
 *
 * @since 0.1.0
 * @category constants
 */
export const configTemplate: string = configTemplateFor("/etc/archipelago/config.yml")

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
 * Writes the unit under `root` (and a commented config file at `root` + `configFile`, the path the
 * unit reads, when there is none); returns the
 * unit's path. Nothing is ever overwritten unasked: each file is created whole (a temp file
 * hard-linked to its name, which fails when the name exists), so the "is it there?" decision and
 * the write are one step, and an install racing another, or a file the user creates meanwhile,
 * is never clobbered. An existing unit with the same content is left as it is; one with other
 * content (or a symlink to one) fails with `UnitError` naming it, unless `force` replaces it
 * (atomically: temp file, rename). An existing config file of any kind is kept.
 *
 * @since 0.1.0
 * @category constructors
 */
export const install = (
  unit: string,
  root: string,
  configFile = "/etc/archipelago/config.yml",
  options: { readonly force?: boolean } = {}
): Effect.Effect<string, UnitError> =>
  Effect.gen(function*() {
    const path = join(root, unitDir, unitName)
    const config = join(root, configFile)
    const failed = (at: string) => (e: SafeFile.SafeFileError | SafeFile.UnsafePath) =>
      new UnitError({ path: at, reason: e._tag === "SafeFileError" ? e.reason : e.message })
    const create = (at: string, content: string, mode: number) =>
      Effect.mapError(SafeFile.create(at, content, { mode, dirMode: 0o755, replaceNonFile: false }), failed(at))
    if (options.force === true) {
      yield* Effect.mapError(SafeFile.write(path, unit, { mode: 0o644, dirMode: 0o755 }), failed(path))
    } else if (!(yield* create(path, unit, 0o644))) {
      // a link to a unit elsewhere is followed for the comparison (a dangling one differs)
      const current = yield* Effect.promise(() => readFile(path, "utf8").catch(() => undefined))
      if (current !== unit) return yield* new UnitError({ path, reason: refusal })
    }
    yield* create(config, configTemplateFor(configFile), 0o640)
    return path
  })
