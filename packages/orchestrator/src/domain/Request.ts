/**
 * What a caller can ask of an operation besides the op and the app: shared by `Lifecycle`
 * (which answers the request) and `Orchestrator` (which carries it out), so neither imports
 * the other for it.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** For `remove`: delete the app's data directory too (and the cascaded apps' ones). */
  readonly purge?: boolean
  /**
   * For `remove`: also remove the installed apps that depend on this one, dependents first.
   * Without it, removing an app others depend on is refused with `DependentsInstalled`.
   */
  readonly cascade?: boolean
  /** For `restore`: the archive's file name in the backup target (default: the newest). @since 0.1.0 */
  readonly archive?: string
  /**
   * For `restore` of an app with channel state and none left live: the owner confirms the channel
   * recovery (the channels are closed; funds return to the on-chain wallet). @since 0.1.0
   */
  readonly closeChannels?: boolean
}
