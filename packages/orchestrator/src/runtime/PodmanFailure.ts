/**
 * Maps a failed podman command (exit code + stderr) to the port's typed errors. podman exits 125
 * for most failures, so the decision rests on stderr's wording, matched narrowly.
 *
 * @since 0.1.0
 */
import { CommandFailed, ContainerNotFound, EngineUnavailable, ImageNotFound } from "./RuntimeError.js"

/**
 * How to get podman on this kind of host.
 *
 * @since 0.1.0
 * @category constants
 */
export const installHint =
  "install it with `apt-get install -y podman runc busybox-static uidmap` (or run scripts/setup-host.sh as root)"

/**
 * What the failed command was acting on, so a "not found" names the right thing.
 *
 * @since 0.1.0
 * @category models
 */
export type Target =
  | { readonly _tag: "Container"; readonly name: string }
  | { readonly _tag: "Image"; readonly ref: string }
  | { readonly _tag: "None" }

const containerMissing = /no container with name or ID|no such container/i
const imageMissing = /image not known|no such image|image not found|manifest unknown|repository .* not found/i
// A transient "database is locked" stays CommandFailed: the next call usually succeeds.
const engineBroken =
  /cannot connect to podman|could not get runtime|error opening database|invalid internal status|OCI runtime .* not found|no such file or directory: OCI runtime/i

/**
 * Classifies a failed command.
 *
 * @since 0.1.0
 * @category constructors
 */
export const classify = (
  argv: ReadonlyArray<string>,
  exitCode: number,
  stderr: string,
  target: Target
): ContainerNotFound | ImageNotFound | EngineUnavailable | CommandFailed => {
  if (target._tag === "Container" && containerMissing.test(stderr)) return new ContainerNotFound({ name: target.name })
  if (target._tag === "Image" && imageMissing.test(stderr)) {
    return new ImageNotFound({ ref: target.ref, tried: [lastErrorLine(stderr)] })
  }
  if (engineBroken.test(stderr)) {
    return new EngineUnavailable({ reason: lastErrorLine(stderr), hint: "check `podman info`; see docs/operations.md" })
  }
  return new CommandFailed({ argv: ["podman", ...argv], exitCode, stderr })
}

const containerLeftMidCall =
  /cannot get cgroup path unless container .* is running|container .* is not running|no container with name or ID|no such container/i

/**
 * `podman stats` lists the running containers, then reads each one's cgroup: a container that
 * stops or goes in between fails the whole call. True for that race, so the caller samples again.
 *
 * @since 0.1.0
 * @category utils
 */
export const isContainerLeftMidSample = (stderr: string): boolean => containerLeftMidCall.test(stderr)

/**
 * The most telling line of podman's stderr: the last `Error:` line, else the last line.
 *
 * @since 0.1.0
 * @category utils
 */
export const lastErrorLine = (stderr: string): string => {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    // podman's own debug and info log lines (`--log-level=debug`) are never the reason
    .filter((l) => l !== "" && !/^time="[^"]*" level=(trace|debug|info) /.test(l))
  const errors = lines.filter((l) => l.startsWith("Error:"))
  return (errors[errors.length - 1] ?? lines[lines.length - 1] ?? "").replace(/^Error:\s*/, "")
}

/**
 * `podman container inspect a b` prints the containers it found and exits 125 naming the rest;
 * true when every stderr line is such a "no such" line, so stdout can still be used.
 *
 * @since 0.1.0
 * @category utils
 */
export const onlyMissingContainers = (stderr: string): boolean =>
  stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .every((l) => /no such (container|object)|no container with name or ID/i.test(l))
