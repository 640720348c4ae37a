/**
 * A container registry on loopback for tests: Debian's `docker-registry` package
 * (`docker-registry serve <config.yml>`) on 127.0.0.1:<free port> with a scratch storage dir, so
 * pulls, pushes, mirrors and updates run offline. Plain HTTP: push and pull with
 * `--tls-verify=false`, or hand a process `env()` (a registries.conf marking this registry
 * insecure) so the orchestrator's plain `podman pull` works too.
 *
 * `scripts/setup-host.sh` installs the package without enabling its system service.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { freePort } from "./net.js"
import { must } from "./podman.js"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Where Debian installs the registry. */
export const registryBinary = "/usr/bin/docker-registry"

/** True when the registry binary is installed (tests needing it skip, and say so, when not). */
export const hasRegistry: boolean = existsSync(registryBinary)

export interface Registry {
  /** `127.0.0.1:<port>`: prefix image references with it. */
  readonly host: string
  /** A registries.conf that marks this registry insecure (plain HTTP). */
  readonly registriesConf: string
  /** `env` with `CONTAINERS_REGISTRIES_CONF` pointing at `registriesConf`. */
  readonly env: (env?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv
  /** Pushes a local image to `<host>/<name>`; returns the pushed reference. */
  readonly push: (localRef: string, name: string) => string
  /**
   * Publishes one image per release as `<host>/<repo>:<version>`: each built locally from the
   * Containerfile text `containerfile(version)` gives, pushed, then its local tags removed (so a
   * pull really fetches it). Returns the pushed references, in the order of `versions`.
   */
  readonly publish: (repo: string, versions: ReadonlyArray<string>, containerfile: (version: string) => string) => Array<string>
  /** The registry's own output so far. */
  readonly output: () => string
  /** Stops the registry and removes its storage. */
  readonly stop: () => Promise<void>
}


/** The registry's config: loopback only, filesystem storage under `storage`. */
export const registryConfig = (port: number, storage: string): string =>
  `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${JSON.stringify(storage)}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
`

/** Starts a registry and waits until it answers `GET /v2/`. */
export const startRegistry = async (): Promise<Registry> => {
  if (!hasRegistry) throw new Error(`${registryBinary} is missing: run scripts/setup-host.sh as root`)
  const dir = mkdtempSync(join(tmpdir(), "archy-registry-"))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const config = join(dir, "config.yml")
  writeFileSync(config, registryConfig(port, join(dir, "storage")))
  const registriesConf = join(dir, "registries.conf")
  writeFileSync(registriesConf, `[[registry]]\nlocation = "${host}"\ninsecure = true\n`)
  let log = ""
  const child: ChildProcess = spawn(registryBinary, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] })
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()))
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()))
  const end = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}:\n${log}`)
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false)
    if (ok) break
    if (Date.now() > end) throw new Error(`docker-registry did not answer on ${host}:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r))
      child.kill("SIGTERM")
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const push = (localRef: string, name: string): string => {
    const ref = `${host}/${name}`
    must("tag", localRef, ref)
    must("push", "--tls-verify=false", "--quiet", ref)
    return ref
  }
  return {
    host,
    registriesConf,
    env: (env = process.env) => ({ ...env, CONTAINERS_REGISTRIES_CONF: registriesConf }),
    push,
    publish: (repo, versions, containerfile) => {
      const ctx = mkdtempSync(join(tmpdir(), "archy-registry-ctx-"))
      try {
        return versions.map((version) => {
          writeFileSync(join(ctx, "Containerfile"), containerfile(version))
          const local = `localhost/${repo}-build:${version}`
          must("build", "--pull=never", "-q", "-t", local, "-f", join(ctx, "Containerfile"), ctx)
          const ref = push(local, `${repo}:${version}`)
          must("rmi", local, ref)
          return ref
        })
      } finally {
        rmSync(ctx, { recursive: true, force: true })
      }
    },
    output: () => log,
    stop
  }
}
