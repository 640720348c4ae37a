/**
 * The release series of the update tests: one app published to a loopback registry
 * (`Registry.publish`) as several versions, and the catalog manifest of each release. A test
 * says which health check its releases carry, so a deliberately broken release is a matter of
 * that check and the image it runs against (see `releaseEnv`), not a second manifest builder.
 */

/** The service loop of the release images: prints `started`, answers SIGTERM at once. */
export const releaseCommand: ReadonlyArray<string> = [
  "/bin/sh",
  "-c",
  "trap 'exit 0' TERM; echo started; while :; do sleep 1 & wait $!; done"
]

/** A release's `cmd` health check: the command run in the container, and its timings in seconds. */
export interface ReleaseHealth {
  readonly command: ReadonlyArray<string>
  readonly interval: number
  readonly timeout: number
  readonly retries: number
  readonly startPeriod: number
}

/** A health check that passes only in an image whose `RELEASE_OK` is `yes` (see `releaseContainerfile`). */
export const releaseOkCheck: ReadonlyArray<string> = ["sh", "-c", "test \"$RELEASE_OK\" = yes"]

export interface Release {
  readonly id: string
  /** The registry's `host:port`. */
  readonly host: string
  /** The repository the releases are published under (`Registry.publish`'s `repo`). */
  readonly repo: string
  readonly version: string
  readonly health: ReleaseHealth
  /** Bind mounts and volumes, as in a manifest (none when absent). */
  readonly volumes?: ReadonlyArray<{ readonly source: string; readonly target: string }>
}

/** One release's catalog manifest (JSON is YAML): the image `<host>/<repo>:<version>`, a 2 s stop, no restart policy. */
export const releaseManifest = (release: Release): string =>
  JSON.stringify({
    id: release.id,
    name: "Update proof",
    version: release.version,
    image: `${release.host}/${release.repo}:${release.version}`,
    container: { command: releaseCommand },
    ...(release.volumes === undefined ? {} : { volumes: release.volumes }),
    health: { type: "cmd", ...release.health },
    stopTimeout: 2,
    restart: "no"
  }, null, 2)

/**
 * The Containerfile of one release image (for `Registry.publish`): the base image, `env` baked
 * in (e.g. `RELEASE_OK=no` for a release whose `releaseOkCheck` must never pass), and an
 * `x.release` label naming the version.
 */
export const releaseContainerfile = (base: string, version: string, env: Record<string, string> = {}): string =>
  [`FROM ${base}`, ...Object.entries(env).map(([k, v]) => `ENV ${k}=${v}`), `LABEL x.release=${version}`, ""].join("\n")
