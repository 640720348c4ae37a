import { Arbitrary, Effect, type Schema } from "effect"
import * as fc from "fast-check"
import type { AppEntry as Entry, Observation, Observed } from "../src/domain/AppEntry.js"
import { AppId, AppState, Op } from "../src/domain/index.js"

export const arbAppId = fc.stringMatching(AppId.pattern).map(AppId.make)
export const arbState = fc.constantFrom(...AppState.all)
export const arbIdleState = fc.constantFrom(...AppState.all.filter((s) => !AppState.isTransitional(s)))
export const arbOp = fc.constantFrom(...Op.all)
export const arbNow = fc.integer({ min: 0, max: 4_000_000_000_000 })
export const arbStopTimeout = fc.integer({ min: 0, max: 900 })

export const arbObserved: fc.Arbitrary<Observed> = fc.record(
  {
    containerId: fc.stringMatching(/^[0-9a-f]{12}$/),
    containerName: fc.constantFrom("lnd", "archy-bitcoin-ui", "bitcoin-knots"),
    image: fc.constantFrom("docker.io/lightninglabs/lnd:v0.18.3-beta", "localhost/archipelago/demo-node:1.0.0"),
    health: fc.constantFrom("healthy" as const, "unhealthy" as const, "starting" as const, "none" as const),
    ports: fc.array(
      fc.record({
        host: fc.integer({ min: 1, max: 65535 }),
        container: fc.integer({ min: 1, max: 65535 }),
        protocol: fc.constantFrom("tcp" as const, "udp" as const)
      }),
      { maxLength: 3 }
    ),
    startedAt: arbNow,
    exitCode: fc.integer({ min: 0, max: 255 }),
    digest: fc.constantFrom(`sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`),
    version: fc.constantFrom("1.0.0", "1.1.0"),
    imageRef: fc.constantFrom("registry.test/web:1.0.0", "registry.test/web:1.1.0")
  },
  { requiredKeys: ["health", "ports"] }
)

export const arbObservation: fc.Arbitrary<Observation> = fc.record({ state: arbIdleState, observed: arbObserved })

export const arbIdleEntry: fc.Arbitrary<Entry> = fc.record({ id: arbAppId, state: arbIdleState, observed: arbObserved })

export const arbEntry: fc.Arbitrary<Entry> = fc.oneof(
  arbIdleEntry,
  fc
    .record({ e: arbIdleEntry, op: arbOp, since: arbNow, span: fc.integer({ min: 1, max: 4_000_000 }) })
    .map(({ e, op, since, span }) => ({
      ...e,
      state: Op.transitionalState(op),
      transition: { op, since, deadline: since + span, previous: e.state }
    }))
)

/**
 * The values of a Schema's type as a fast-check arbitrary (what effect 3's `Arbitrary.make` was).
 * effect 4 derives a generator from the Schema (`Arbitrary.schema`) that is not fast-check's; here
 * fast-check picks the seed and the size (0-30, the complexity each string, array and object gets),
 * and effect's generator makes the value from them, so every run brings a new value, a failure
 * replays from fast-check's seed, and shrinking moves toward smaller sizes.
 */
export const fromSchema = <S extends Schema.Constraint>(schema: S): fc.Arbitrary<S["Type"]> => {
  const arbitrary = Arbitrary.schema(schema)
  return fc
    .tuple(fc.integer(), fc.nat({ max: 30 }))
    .map(([seed, size]) => Effect.runSync(Arbitrary.sampleEffect(arbitrary, { count: 1, seed, size }))[0]!)
}

/** One value of a Schema's type, the same for the same seed (effect 3: `fc.sample(Arbitrary.make(s), { seed })[0]`). */
export const sampleOf = <S extends Schema.Constraint>(schema: S, seed: number): S["Type"] =>
  Effect.runSync(Arbitrary.sampleEffect(Arbitrary.schema(schema), { count: 1, seed }))[0]!
