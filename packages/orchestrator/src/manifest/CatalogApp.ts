/**
 * One app of the catalog: its manifest and where it lives. A module of its own so that
 * `Resolve` and `Spec` can name it without importing `Catalog` (which imports them).
 *
 * @since 0.1.0
 */
import type { Manifest } from "./Manifest.js"

/**
 * One app of the catalog.
 *
 * @since 0.1.0
 * @category models
 */
export interface CatalogApp {
  readonly manifest: Manifest
  /** Absolute path of the app's folder. */
  readonly dir: string
  /** Absolute path of its manifest. */
  readonly file: string
  /**
   * For a local `build:`, the sha256 of its build context (every file's path, mode and
   * content): part of the built image's tag, so an edited context is built again.
   *
   * @since 0.1.0
   */
  readonly contextHash?: string
}
