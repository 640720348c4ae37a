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
