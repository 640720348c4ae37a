/**
 * A Schema failure as a flat list: every leaf issue with its path of plain keys and Effect's
 * message. Effect 4's Standard Schema formatter types a path segment as a key or `{ key }`; the
 * manifest loader, the state salvage, the RPC params and the config file all read plain keys.
 *
 * @since 0.1.0
 */
import { SchemaIssue } from "effect"

/**
 * One leaf issue.
 *
 * @since 0.1.0
 * @category models
 */
export interface Leaf {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

const format = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * The leaf issues of `issue`, in the formatter's order.
 *
 * @since 0.1.0
 * @category getters
 */
export const leaves = (issue: SchemaIssue.Issue): Array<Leaf> =>
  format(issue).issues.map((i) => ({
    path: (i.path ?? []).map((k) => (typeof k === "object" ? k.key : k)),
    message: i.message
  }))
