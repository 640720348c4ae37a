/**
 * The registry of the example: the built-in hooks plus `greeting`.
 *
 * @since 0.1.0
 */
import { Builtins, Hooks } from "@archipelago/hooks"
import { greeting } from "./greeting.js"

/**
 * Registers the custom hook beside the built-ins; provides the orchestrator's `HookRegistry`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (dataDir: string) => Hooks.layer([...Builtins.builtins, greeting], { dataDir })
