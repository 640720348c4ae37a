/**
 * The entry of the self-contained bundle `@archipelago/web-components/browser`: defines every
 * `archy-*` element and exports the same API as the package.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * from "./index.js"
