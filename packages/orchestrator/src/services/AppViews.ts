/**
 * Read side for adapters (RPC, dashboards): the views of all apps, their changes, and logs.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Stream } from "effect"
import type { AppView } from "../domain/AppView.js"
import type { CommandFailed, ContainerNotFound, EngineUnavailable } from "../runtime/RuntimeError.js"
import type { UnknownApp } from "./ServiceError.js"

/**
 * One line of an app's install log (progress of pulls and builds, errors of operations).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogLine {
  /** Unix milliseconds. */
  readonly at: number
  readonly level: "info" | "warn" | "error"
  readonly message: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Every app of the catalog, in catalog order, each with its kebab-case state. */
  readonly list: Effect.Effect<ReadonlyArray<AppView>>
  /** One view per change of an app, in the order the store changed. Never ends. */
  readonly changes: Stream.Stream<AppView>
  /** The app's bounded install log, oldest first. */
  readonly installLog: (appId: string) => Effect.Effect<ReadonlyArray<LogLine>, UnknownApp>
  /** The container's own log, the last `tail` lines. */
  readonly containerLogs: (
    appId: string,
    tail: number
  ) => Effect.Effect<string, UnknownApp | ContainerNotFound | EngineUnavailable | CommandFailed>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class AppViews extends Context.Tag("@archipelago/orchestrator/AppViews")<AppViews, Service>() {}
