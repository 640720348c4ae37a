/**
 * The full description of a container the runtime creates: derived purely from a manifest and
 * settings, hashed into the `io.archipelago.spec-hash` label.
 *
 * @since 0.1.0
 */

/**
 * Labels the orchestrator stamps on every container it manages.
 *
 * @since 0.1.0
 * @category constants
 */
export const Labels = {
  app: "io.archipelago.app",
  managedBy: "io.archipelago.managed-by",
  specHash: "io.archipelago.spec-hash",
  /** The id of the orchestrator instance (one per data dir) that created the container. */
  instance: "io.archipelago.instance",
  /**
   * Stamped at create, outside the spec hash: the digest (`sha256:<image id>`) of the image the
   * container was created from, the app's version and the image reference that release asked
   * for (a rollback keeps the previous ones while the catalog already asks for the next).
   */
  imageDigest: "io.archipelago.image-digest",
  version: "io.archipelago.version",
  imageRef: "io.archipelago.image",
  managedByValue: "archipelago"
} as const

/**
 * @since 0.1.0
 * @category models
 */
export interface PortSpec {
  readonly host: number
  readonly container: number
  readonly protocol: "tcp" | "udp"
  /** Host address to bind; default all addresses. */
  readonly hostIp?: string
}

/**
 * A bind mount (absolute `source`) or a named volume (`source` without a slash).
 *
 * @since 0.1.0
 * @category models
 */
export interface VolumeSpec {
  readonly source: string
  readonly target: string
  readonly readOnly: boolean
}

/**
 * An `/etc/hosts` entry; `address` may be the `host-gateway` literal.
 *
 * @since 0.1.0
 * @category models
 */
export interface ExtraHost {
  readonly host: string
  readonly address: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped"

/**
 * A health check the engine runs inside the container.
 *
 * @since 0.1.0
 * @category models
 */
export interface HealthCheckSpec {
  /** The command podman runs inside the container (`cmd` checks); empty when `probe` is set. */
  readonly command: ReadonlyArray<string>
  /**
   * A `tcp` or `http` check the orchestrator runs from outside the container
   * (`OutsideProbe`); podman then runs no health command at all.
   *
   * @since 0.1.0
   */
  readonly probe?: { readonly type: "tcp" | "http"; readonly port: number; readonly path?: string }
  readonly intervalSec: number
  readonly timeoutSec: number
  readonly retries: number
  readonly startPeriodSec: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ContainerSpec {
  readonly name: string
  readonly image: string
  readonly labels: Readonly<Record<string, string>>
  readonly ports: ReadonlyArray<PortSpec>
  readonly volumes: ReadonlyArray<VolumeSpec>
  readonly env: Readonly<Record<string, string>>
  readonly extraHosts: ReadonlyArray<ExtraHost>
  /** Bytes; omitted when the manifest has no valid limit (never 0). */
  readonly memoryBytes?: number
  readonly stopTimeoutSec: number
  readonly restart: RestartPolicy
  /** Retries for `on-failure`. */
  readonly restartRetries?: number
  readonly command?: ReadonlyArray<string>
  readonly entrypoint?: ReadonlyArray<string>
  readonly user?: string
  readonly workdir?: string
  readonly healthCheck?: HealthCheckSpec
}
