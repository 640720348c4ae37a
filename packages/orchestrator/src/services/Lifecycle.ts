/**
 * The asynchronous lifecycle path of CONTEXT.md: validate, write the user's intent, flip the app
 * to its transitional state, fork the work, and return at once.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { AppState } from "../domain/AppState.js"
import type { Conflict, NotAllowed } from "../domain/Transition.js"
import type { Op } from "../domain/Op.js"
import type { UnknownApp } from "./ServiceError.js"

/**
 * The answer to an accepted request: the transitional state the app is now in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly appId: string
  readonly op: Op
  /** e.g. `"stopping"`. */
  readonly status: AppState
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** For `remove`: delete the app's data directory too. */
  readonly purge?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Returns as soon as the intent is persisted and the transitional state is visible. */
  readonly request: (
    op: Op,
    appId: string,
    options?: RequestOptions
  ) => Effect.Effect<Accepted, UnknownApp | Conflict | NotAllowed>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Lifecycle extends Context.Tag("@archipelago/orchestrator/Lifecycle")<Lifecycle, Service>() {}
