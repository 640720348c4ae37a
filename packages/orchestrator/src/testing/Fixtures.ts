/**
 * Container specs for tests that behave the same on podman and on the simulator: a busybox
 * process on the offline base image that runs until stopped and, on SIGTERM, takes `STOP_DELAY`
 * seconds before exiting 0 (the simulator reads the same variable).
 *
 * @since 0.1.0
 */
import type { ContainerSpec } from "../runtime/ContainerSpec.js"

/**
 * The offline base image (`BaseImage.ensure` / `scripts/build-base-image.sh`).
 *
 * @since 0.1.0
 * @category constants
 */
export const baseImage = "localhost/archipelago/base:latest"

/**
 * A shell loop that logs `started`, waits in `wait` so SIGTERM is handled at once, then logs
 * `stopping` and sleeps `STOP_DELAY` before exiting 0.
 *
 * @since 0.1.0
 * @category constants
 */
export const serviceCommand: ReadonlyArray<string> = [
  "/bin/sh",
  "-c",
  `trap 'echo stopping; sleep "\${STOP_DELAY:-0}"; exit 0' TERM; echo started; while :; do sleep 1 & wait $!; done`
]

/**
 * @since 0.1.0
 * @category models
 */
export interface SpecOptions extends Partial<Omit<ContainerSpec, "name">> {
  /** Seconds the process takes to exit after SIGTERM (the `STOP_DELAY` env). */
  readonly stopDelaySec?: number
}

/**
 * A long-running service container spec on the base image.
 *
 * @example
 * const spec = Fixtures.service("t-x-web", { stopDelaySec: 0.2, stopTimeoutSec: 2 })
 *
 * @since 0.1.0
 * @category constructors
 */
export const service = (name: string, options: SpecOptions = {}): ContainerSpec => {
  const { stopDelaySec, env, ...rest } = options
  return {
    name,
    image: baseImage,
    labels: {},
    ports: [],
    volumes: [],
    extraHosts: [],
    stopTimeoutSec: 5,
    restart: "no",
    command: serviceCommand,
    ...rest,
    env: { ...(stopDelaySec !== undefined ? { STOP_DELAY: String(stopDelaySec) } : {}), ...env }
  }
}
