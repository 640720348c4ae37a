/**
 * A property test over fast-check arbitraries, as `it.prop` of @effect/vitest 0.x ran it:
 * `prop(name, [arbA, arbB], ([a, b]) => …, { fastCheck: { numRuns } })`, or a record of
 * arbitraries for a record of values. @effect/vitest 4 takes only Schemas and effect's own
 * `Arbitrary` in `it.prop`, and our generators are fast-check's (shrinking, seeds, `fc.*`
 * combinators across 30 files), so the suites keep fast-check through this one helper.
 */
import { it } from "@effect/vitest"
import * as fc from "fast-check"

/** What a property may be given: fast-check's run options and vitest's timeout. */
export interface PropOptions {
  readonly fastCheck?: fc.Parameters<unknown>
  readonly timeout?: number
}

type Values<Arbs> = { readonly [K in keyof Arbs]: Arbs[K] extends fc.Arbitrary<infer A> ? A : never }

/** Declares a vitest test that asserts `body` for every generated tuple (or record) of values. */
export function prop<const Arbs extends ReadonlyArray<fc.Arbitrary<unknown>>>(
  name: string,
  arbitraries: Arbs,
  body: (values: Values<Arbs>) => boolean | void,
  options?: PropOptions | number
): void
export function prop<const Arbs extends Readonly<Record<string, fc.Arbitrary<unknown>>>>(
  name: string,
  arbitraries: Arbs,
  body: (values: Values<Arbs>) => boolean | void,
  options?: PropOptions | number
): void
export function prop(
  name: string,
  arbitraries: ReadonlyArray<fc.Arbitrary<unknown>> | Readonly<Record<string, fc.Arbitrary<unknown>>>,
  body: (values: never) => boolean | void,
  options?: PropOptions | number
): void {
  const opts: PropOptions = typeof options === "number" ? { timeout: options } : options ?? {}
  const arb = Array.isArray(arbitraries)
    ? fc.tuple(...(arbitraries as ReadonlyArray<fc.Arbitrary<unknown>>))
    : fc.record(arbitraries as Record<string, fc.Arbitrary<unknown>>)
  it(name, () => {
    fc.assert(fc.property(arb, (values) => body(values as never)), opts.fastCheck as fc.Parameters<unknown> | undefined)
  }, opts.timeout)
}
