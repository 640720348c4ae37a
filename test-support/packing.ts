/**
 * The packaging tests' helpers: `npm pack` the workspace's packages (built first: `npm test`
 * builds), and install tarballs into an empty project in a temp folder, as a user would with
 * `npm install @archipelago/<name>`.
 *
 * Offline-friendly: third-party packages are pinned (npm `overrides`) to the versions of the
 * workspace's package-lock.json and installed with `--prefer-offline`, so an install is served
 * from the npm cache `npm ci` filled, and goes to the registry only for what it lacks.
 */
import { build, type BuildOptions, type BuildResult } from "esbuild"
import { afterAll, beforeAll } from "vitest"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const root: string = fileURLToPath(new URL("..", import.meta.url))

export type PackageName = "orchestrator" | "hooks" | "rpc-adapter" | "daemon" | "web-components"

/** The workspace's published packages. */
export const packageNames: ReadonlyArray<PackageName> = ["orchestrator", "hooks", "rpc-adapter", "daemon", "web-components"]

/** The folder of a workspace package: `<root>/packages/<name>`. */
export const packageDir = (name: PackageName): string => join(root, "packages", name)

/** Fails with a clear message when `path` (something `npm run build` writes) is missing. */
export const requireBuilt = (path: string): void => {
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first (npm test does)`)
}

const run = (cmd: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 600_000): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(cmd, [...args], { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null
        ? resolve(stdout)
        : reject(new Error(`${cmd} ${args.join(" ")} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`))
    )
  )

/**
 * Runs a command to its end without blocking the test worker, answering its exit code and
 * output whatever the code. Use it, not `execFileSync`, for anything that may take long: a
 * worker blocked past 60 s lets its RPC to vitest's main process time out ("Timeout calling
 * onTaskUpdate"), and the run fails though every test passed (tsc over the declarations took
 * 70-75 s on a loaded machine).
 */
export const exec = (
  cmd: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly timeoutMs?: number; readonly env?: Readonly<Record<string, string>> }
): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }> =>
  new Promise((resolve) =>
    execFile(cmd, [...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 600_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr: error === null ? stderr : `${stderr}${error.message}` })
    )
  )

/** A temp folder removed by the returned function. */
export const tempProject = (prefix: string): { readonly dir: string; readonly remove: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), `archy-${prefix}-`))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Packs the named workspace packages into `dest` and returns each one's tarball path. Fails
 * with a clear message when a package is not built.
 */
export const pack = async (names: ReadonlyArray<PackageName>, dest: string): Promise<Record<string, string>> => {
  mkdirSync(dest, { recursive: true })
  const out: Record<string, string> = {}
  for (const name of names) {
    const dir = packageDir(name)
    requireBuilt(join(dir, "dist"))
    const json = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dest], dir)
    const [info] = JSON.parse(json) as Array<{ filename: string }>
    out[`@archipelago/${name}`] = join(dest, info!.filename)
  }
  return out
}

/** Third-party packages with one version in the workspace's lock, pinned to it. */
export const lockedVersions = (): Record<string, string> => {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string; link?: boolean }>
  }
  const versions = new Map<string, Set<string>>()
  for (const [path, entry] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf("node_modules/")
    if (at < 0 || entry.link === true || entry.version === undefined) continue
    const name = path.slice(at + "node_modules/".length)
    if (name.startsWith("@archipelago/")) continue
    versions.set(name, (versions.get(name) ?? new Set()).add(entry.version))
  }
  return Object.fromEntries([...versions].flatMap(([name, v]) => (v.size === 1 ? [[name, [...v][0]!]] : [])))
}

/**
 * Packs `packed` into `<project>/tarballs`, installs `dependency` into a fresh `<project>/app` (the
 * other tarballs only as overrides, see `install`), and logs the install's size. Returns the
 * app folder and its installed packages.
 */
export const installPacked = async (
  project: string,
  packed: ReadonlyArray<PackageName>,
  dependency: PackageName
): Promise<{ readonly app: string; readonly packages: Array<string>; readonly bytes: number }> => {
  const tarballs = await pack(packed, join(project, "tarballs"))
  const app = join(project, "app")
  mkdirSync(app)
  await install(app, { tarballs, dependencies: [`@archipelago/${dependency}`] })
  const packages = installedPackages(app)
  const bytes = sizeOf(join(app, "node_modules"))
  console.log(`packed install of @archipelago/${dependency}: ${megabytes(bytes)} in node_modules, ${packages.length} packages`)
  return { app, packages, bytes }
}

/** A packed install as a describe block's tests see it (filled in before they run). */
export interface PackedInstall {
  /** The temp project: `tarballs/`, `app/`, and room for a test's own files. */
  readonly project: string
  /** The installed app folder (`<project>/app`). */
  readonly app: string
  /** Its installed packages (`installedPackages`). */
  readonly packages: ReadonlyArray<string>
  /** The bytes of its `node_modules` (`sizeOf`). */
  readonly bytes: number
}

/**
 * Registers, in the calling describe block, an `installPacked` of `packed` installing
 * `dependency` into a fresh temp project before its tests, and the project's removal after them.
 */
export const usePackedInstall = (label: string, packed: ReadonlyArray<PackageName>, dependency: PackageName): PackedInstall => {
  const project = tempProject(label)
  const installed = { project: project.dir, app: "", packages: [] as ReadonlyArray<string>, bytes: 0 }
  // The bound is on npm pack and install (not what these tests are about): ~30 s idle, and it
  // reached 250 s of the former 300 s bound with other test runs and busy loops on 2 cores.
  beforeAll(async () => {
    Object.assign(installed, await installPacked(project.dir, packed, dependency))
  }, 600_000)
  afterAll(() => project.remove())
  return installed
}

/**
 * Bundles for the browser as a dashboard's build would (esbuild, ESM, in memory, with a
 * metafile to read what went in); `options` says what to bundle and may override the rest.
 */
export const bundleForBrowser = (options: BuildOptions): Promise<BuildResult<{ write: false; metafile: true }>> =>
  build({
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    logLevel: "silent",
    ...options,
    write: false,
    metafile: true
  }) as Promise<BuildResult<{ write: false; metafile: true }>>

/** The Node-only imports in bundled code: `from "node:…"` specifiers and `require("…")` calls. */
export const nodeImportsIn = (code: string): Array<string> =>
  [...code.matchAll(/\bfrom\s*["'](node:[^"']+)["']|\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? `require(${m[2]})`)

/**
 * Writes `package.json` into `dir` depending on `dependencies` (names of packed packages) and
 * installs. The other packed tarballs are there only as overrides: npm takes them when a
 * dependency asks for that package, never otherwise, so the install holds exactly what the
 * dependencies declare.
 */
export const install = async (
  dir: string,
  options: {
    readonly tarballs: Record<string, string>
    readonly dependencies: ReadonlyArray<string>
  }
): Promise<void> => {
  const dependencies = Object.fromEntries(options.dependencies.map((n) => [n, `file:${options.tarballs[n]!}`]))
  const overrides = {
    ...lockedVersions(),
    ...Object.fromEntries(
      Object.entries(options.tarballs)
        .filter(([n]) => !options.dependencies.includes(n))
        .map(([n, file]) => [n, `file:${file}`])
    )
  }
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "archy-packed-install", private: true, type: "module", dependencies, overrides }, null, 2)
  )
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], dir)
}

/** The bytes under `dir` (as `du -sb` counts: file sizes, symlinks not followed). */
export const sizeOf = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const path = join(dir, e.name)
    if (e.isSymbolicLink()) return sum
    return sum + (e.isDirectory() ? sizeOf(path) : statSync(path).size)
  }, 0)

/** Every installed package's name under `dir/node_modules` (scoped ones as `@scope/name`). */
export const installedPackages = (dir: string): Array<string> => {
  const nm = join(dir, "node_modules")
  return readdirSync(nm)
    .filter((n) => !n.startsWith("."))
    .flatMap((n) => (n.startsWith("@") ? readdirSync(join(nm, n)).map((m) => `${n}/${m}`) : [n]))
    .sort()
}

/** `12.3 MB` */
export const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

/** Packages that only run on Node (native modules, sockets, processes): never in a browser install. */
export const nodeOnly: ReadonlyArray<string> = [
  "@archipelago/orchestrator",
  "@effect/platform-node",
  "@effect/platform-node-shared",
  "@parcel/watcher",
  "execa",
  "msgpackr-extract",
  "undici",
  "ws"
]
