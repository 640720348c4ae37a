/**
 * Turning what the engine lists into observations of apps: which container is whose, and what
 * it shows. Pure functions shared by the scanner, the orchestrator and the reconciler.
 *
 * @since 0.1.0
 */
import type { Observation, Observed } from "../domain/AppEntry.js"
import { absent, stateOfContainer } from "../domain/AppEntry.js"
import type { AppState } from "../domain/AppState.js"
import type { Intent } from "../domain/Intent.js"
import type { ContainerFacts } from "./Plan.js"
import type { ContainerDetails, ContainerSummary } from "../runtime/ContainerRuntime.js"
import { Labels } from "../runtime/ContainerSpec.js"

/**
 * The app's container among all containers: one labelled with the app's id, else one with the
 * name the app's container has or would get. Adopted containers keep their own names.
 *
 * @since 0.1.0
 * @category getters
 */
export const findContainer = <C extends ContainerSummary>(
  containers: ReadonlyArray<C>,
  appId: string,
  names: ReadonlyArray<string>
): C | undefined => {
  const labelled = containers.filter((c) => c.labels[Labels.app] === appId)
  if (labelled.length > 0) return labelled.find((c) => names.includes(c.name)) ?? labelled[0]
  for (const name of names) {
    const byName = containers.find((c) => c.name === name)
    if (byName !== undefined) return byName
  }
  return undefined
}

/**
 * The digest of the image a container was created from: its label, else the engine's image id.
 *
 * @since 0.1.0
 * @category getters
 */
export const digestOf = (c: ContainerSummary): string | undefined => {
  const label = c.labels[Labels.imageDigest]
  if (label !== undefined && label !== "") return label
  if (c.imageId === undefined || c.imageId === "") return undefined
  return c.imageId.startsWith("sha256:") ? c.imageId : `sha256:${c.imageId}`
}

/**
 * The observed fields of a container.
 *
 * @since 0.1.0
 * @category getters
 */
export const observedOf = (c: ContainerSummary | ContainerDetails): Observed => {
  const specHash = c.labels[Labels.specHash]
  const lanAddress = "ipAddress" in c ? c.ipAddress : undefined
  const digest = digestOf(c)
  const version = c.labels[Labels.version]
  const imageRef = c.labels[Labels.imageRef]
  return {
    containerId: c.id,
    containerName: c.name,
    image: c.image,
    ...(specHash === undefined ? {} : { specHash }),
    ...(digest === undefined ? {} : { digest }),
    ...(version === undefined ? {} : { version }),
    ...(imageRef === undefined ? {} : { imageRef }),
    health: c.health ?? "none",
    ports: c.ports,
    ...(lanAddress === undefined || lanAddress === "" ? {} : { lanAddress }),
    ...(c.startedAt === undefined ? {} : { startedAt: c.startedAt }),
    ...(c.exitCode === undefined ? {} : { exitCode: c.exitCode })
  }
}

/**
 * The app state a container shows. A container that exited after the user stopped the app
 * reads `stopped` (what the user did), one that exited by itself `exited` (what happened to it).
 *
 * @since 0.1.0
 * @category getters
 */
export const stateOf = (c: ContainerSummary | ContainerDetails, intent?: Pick<Intent, "userStopped">): AppState => {
  // podman lists a container whose process ended as "stopped" until its cleanup has run, then
  // "exited": both mean the same, and only the user's stop makes it `stopped`.
  const ended = c.state.toLowerCase() === "stopped" || stateOfContainer(c.state) === "exited"
  if (ended) return intent?.userStopped === true ? "stopped" : "exited"
  return stateOfContainer(c.state)
}

/**
 * What a scan saw of an app: its container's state and fields, or `absent`.
 *
 * @since 0.1.0
 * @category getters
 */
export const observationOf = (
  c: ContainerSummary | ContainerDetails | undefined,
  intent?: Pick<Intent, "userStopped">
): Observation => c === undefined ? absent : { state: stateOf(c, intent), observed: observedOf(c) }

/**
 * True when the orchestrator created the container (it carries the managed-by label).
 *
 * @since 0.1.0
 * @category guards
 */
export const isManaged = (c: ContainerSummary): boolean => c.labels[Labels.managedBy] === Labels.managedByValue

/**
 * True when a container carries any of Archipelago's labels (`managed-by`, or the `app` label
 * an older orchestrator stamped): only such a container may be stopped, removed or replaced.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLabelled = (c: Pick<ContainerSummary, "labels">): boolean =>
  c.labels[Labels.managedBy] === Labels.managedByValue || (c.labels[Labels.app] ?? "") !== ""

/**
 * The facts the reconcile plan needs about a container.
 *
 * @since 0.1.0
 * @category getters
 */
export const factsOf = (c: ContainerSummary): ContainerFacts => {
  const specHash = c.labels[Labels.specHash]
  const instance = c.labels[Labels.instance]
  const version = c.labels[Labels.version]
  const imageRef = c.labels[Labels.imageRef]
  return {
    id: c.id,
    name: c.name,
    state: stateOfContainer(c.state),
    managed: isManaged(c),
    labelled: isLabelled(c),
    ...(specHash === undefined ? {} : { specHash }),
    ...(instance === undefined ? {} : { instance }),
    ...(version === undefined ? {} : { version }),
    ...(imageRef === undefined ? {} : { imageRef }),
    ...(c.exitedAt === undefined ? {} : { exitedAt: c.exitedAt })
  }
}

/**
 * What the engine's own answer tells of a container the work held the details of (from a
 * listing or an inspect taken under the app's lock), after a command that changed only its run
 * state: `start`/`restart` answered `running`, `create` answered `created` (the container's id).
 * The state is the engine's word; the fields a start renews and only the engine knows (start
 * time, exit code, address, health verdict) are left out, or `starting` for an app with a
 * health check, until the next scan. Nothing in it is guessed: the observation the runner takes instead of
 * asking again.
 *
 * @since 0.1.0
 * @category getters
 */
export const answeredOf = (
  c: ContainerSummary,
  state: "running" | "created",
  hasHealthCheck: boolean
): Observation => {
  // a summary's fields only: an inspect's address may change with the start
  const kept: ContainerSummary = {
    id: c.id,
    name: c.name,
    image: c.image,
    ...(c.imageId === undefined ? {} : { imageId: c.imageId }),
    state,
    labels: c.labels,
    ports: c.ports
  }
  return {
    state: stateOfContainer(state),
    observed: observedOf(state === "running" && hasHealthCheck ? { ...kept, health: "starting" } : kept)
  }
}
