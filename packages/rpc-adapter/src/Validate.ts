/**
 * `archipelago validate DIR`: loads a catalog the way `serve` would (with the built-in hook
 * names) and reports every error, or a one-line summary.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Catalog } from "@archipelago/orchestrator"
import { Builtins } from "@archipelago/hooks"

/**
 * The one-line summary of a valid catalog, or the catalog's error listing every manifest error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = Effect.fn("Validate.run")(function*(dir: string) {
  const catalog = yield* Catalog.load(dir, { hookNames: Builtins.builtins.map((h) => h.name) })
  const ids = catalog.apps.map((a) => a.manifest.id)
  return `ok: ${ids.length} ${ids.length === 1 ? "app" : "apps"} in ${dir}: ${ids.join(", ")}`
})
