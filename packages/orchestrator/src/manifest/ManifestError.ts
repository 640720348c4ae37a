/**
 * Errors of manifests and of the app catalog, each located in its file. The message text is
 * part of the API: packagers read it and golden tests pin it.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * One problem in one manifest: `file:line:column path: detail`. `line` and `column` are
 * 1-based; both are 0 when the problem has no position (a missing file). `rule` names the check
 * that failed (`type`, `unknown-key`, `privileged`, `port-collision`, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestError extends Data.TaggedError("ManifestError")<{
  readonly file: string
  readonly line: number
  readonly column: number
  readonly path: string
  readonly rule: string
  readonly detail: string
}> {
  override get message(): string {
    return format(this)
  }
}

/**
 * Renders an error the way `message` does.
 *
 * @since 0.1.0
 * @category getters
 */
export const format = (e: {
  readonly file: string
  readonly line: number
  readonly column: number
  readonly path: string
  readonly detail: string
}): string => {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file
  return e.path === "" ? `${where}: ${e.detail}` : `${where} ${e.path}: ${e.detail}`
}

/**
 * The catalog did not load; `errors` holds every problem found, in file order.
 *
 * @since 0.1.0
 * @category errors
 */
export class CatalogError extends Data.TaggedError("CatalogError")<{
  readonly errors: ReadonlyArray<ManifestError>
}> {
  override get message(): string {
    const n = this.errors.length
    return [`${n} ${n === 1 ? "error" : "errors"} in the app catalog:`, ...this.errors.map((e) => `  ${e.message}`)]
      .join("\n")
  }
}
