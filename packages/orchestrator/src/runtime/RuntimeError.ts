/**
 * Typed errors of the container runtime port.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The engine cannot be reached or is broken; `hint` tells the operator what to do.
 *
 * @since 0.1.0
 * @category errors
 */
export class EngineUnavailable extends Data.TaggedError("EngineUnavailable")<{
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `container engine unavailable: ${this.reason} (${this.hint})`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ContainerNotFound extends Data.TaggedError("ContainerNotFound")<{
  readonly name: string
}> {
  override get message(): string {
    return `no such container: ${this.name}`
  }
}

/**
 * No mirror, nor docker.io, nor the local store has the image. `tried` lists each failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class ImageNotFound extends Data.TaggedError("ImageNotFound")<{
  readonly ref: string
  readonly tried: ReadonlyArray<string>
}> {
  override get message(): string {
    return `image not found: ${this.ref}${this.tried.length > 0 ? ` (tried: ${this.tried.join("; ")})` : ""}`
  }
}

/**
 * A podman command exited non-zero.
 *
 * @since 0.1.0
 * @category errors
 */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly argv: ReadonlyArray<string>
  readonly exitCode: number
  readonly stderr: string
}> {
  override get message(): string {
    return `${this.argv.join(" ")} exited ${this.exitCode}: ${this.stderr.trim().slice(0, 2000)}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type RuntimeError = EngineUnavailable | ContainerNotFound | ImageNotFound | CommandFailed
