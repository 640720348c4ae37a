/**
 * `archipelago validate DIR`: loads a catalog the way `serve` would (with the built-in hook
 * names) and reports every error, or a one-line summary.
 *
 * @since 0.1.0
 */
import type { FileSystem } from "effect"
import { Effect } from "effect"
import { Catalog } from "@archipelago/orchestrator"
import type { ManifestError } from "@archipelago/orchestrator"
import { Builtins, Hooks } from "@archipelago/hooks"

/**
 * The one-line summary of a valid catalog, or the catalog's error listing every manifest error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run: (dir: string) => Effect.Effect<string, ManifestError.CatalogError, FileSystem.FileSystem> = Effect.fn(
  "Validate.run"
)(function*(dir: string) {
  const catalog = yield* Catalog.load(dir, {
    hookNames: Builtins.builtins.map((h) => h.name),
    hookConsumers: Hooks.consumersOf(Builtins.builtins)
  })
  const ids = catalog.apps.map((a) => a.manifest.id)
  return `ok: ${ids.length} ${ids.length === 1 ? "app" : "apps"} in ${dir}: ${ids.join(", ")}`
})
