/**
 * The engine work of the health-gated `update`: remember what runs (journaled), hold its image,
 * fetch the new one, recreate, then prove it healthy or roll back by digest; an update found in
 * the journal at a later step is resumed through boot's recovery. Over the shared `Engine`.
 *
 * @since 0.1.0
 * @internal
 */
import { Clock, Effect, Result, Option } from "effect"
import type { PendingUpdate, Release } from "../../domain/AppEntry.js"
import * as Journal from "../../domain/Journal.js"
import { ContainerRuntime } from "../../runtime/ContainerRuntime.js"
import { Labels } from "../../runtime/ContainerSpec.js"
import type { AppDef } from "../Apps.js"
import * as HealthGate from "../HealthGate.js"
import { digestOf } from "../../reconcile/Observation.js"
import type { Engine } from "./Engine.js"
import { holdTag, shortDigest } from "./Engine.js"
import type { Install } from "./Install.js"
import { NoRollbackTarget, RolledBack } from "./WorkError.js"
import type { WorkError } from "./WorkError.js"

/**
 * Carries out boot's decision about a journal record (`Recover`'s): what a resumed update
 * hands its record to.
 *
 * @since 0.1.0
 * @category models
 */
export type ApplyRecovery = (def: AppDef, entry: Journal.Entry, decision: Journal.Recovery) => Effect.Effect<void, WorkError>

/**
 * The update steps over `engine`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (engine: Engine, installs: Install, applyRecovery: ApplyRecovery) => {
  const { create, ensureImage, hooks, inspectOwn, journalOf, log, observeStrict, prepareDirs, record, runtime, settleMs, stopContainer, unhold } =
    engine
  const { install, recordedRelease, reinstate } = installs

  const gate = (def: AppDef, since: number) =>
    HealthGate.run({
      name: def.spec.name,
      policy: HealthGate.policy(def.manifest.health, { settleMs }),
      since,
      onFailure: (failure, count) => log.append(def.id, "warn", `health check failed (${count}): ${failure}`)
    }).pipe(Effect.provideService(ContainerRuntime, runtime))

  // Puts the app back on `from`, by digest (the hold tag kept the image), volumes untouched,
  // and holds it to its health check again: a rollback is over when the release it leaves
  // running is healthy, or it says why not.
  const rollBack = (def: AppDef, pending: PendingUpdate & { readonly from: Release }, reason: string): Effect.Effect<never, WorkError> =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* record(def, Journal.advance(pending, "rolling-back", now, { reason }))
      yield* log.append(
        def.id,
        "error",
        `update to ${pending.to.version} failed: ${reason}; rolling back to ${pending.from.version} (${shortDigest(pending.from.digest)})`
      )
      yield* stopContainer(def)
      yield* create(def, pending.from.digest, { version: pending.from.version, image: pending.from.image })
      yield* runtime.start(def.spec.name)
      const since = yield* Clock.currentTimeMillis
      const verdict = yield* gate(def, since)
      const health = verdict._tag === "Healthy"
        ? `healthy again (${HealthGate.reason(verdict)})`
        : `but it is not healthy: ${HealthGate.reason(verdict)}`
      yield* log.append(def.id, verdict._tag === "Healthy" ? "info" : "warn", `rolled back to ${pending.from.version} (${shortDigest(pending.from.digest)}), ${health}`)
      // the record stays until the runner writes the outcome with it: a kill in between rolls
      // back again, never reads as a finished update
      yield* unhold(def)
      return yield* Effect.fail(
        new RolledBack({ to: pending.to.version, from: pending.from.version, reason: verdict._tag === "Healthy" ? reason : `${reason}; ${health}` })
      )
    })

  const proveOrRollBack = (def: AppDef, pending: PendingUpdate & { readonly from: Release }): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const verdict = yield* gate(def, pending.since)
      if (verdict._tag !== "Healthy") return yield* rollBack(def, pending, HealthGate.reason(verdict))
      yield* log.append(def.id, "info", `update to ${pending.to.version} proved: ${HealthGate.reason(verdict)}`)
      yield* unhold(def)
    })

  // The health-gated update: remember what runs (persisted before anything changes), fetch the
  // new image, run the hooks, recreate, then prove it healthy or roll back by digest.
  const update = (def: AppDef): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      const journal = yield* journalOf(def)
      if (journal?.op === "update" && journal.step !== "requested" && journal.from !== undefined) {
        return yield* resumeUpdate(def, { ...journal, from: journal.from })
      }
      const requested: PendingUpdate = journal?.op === "update"
        ? journal
        : { op: "update", step: "requested", since: yield* Clock.currentTimeMillis, to: { version: def.manifest.version, image: def.spec.image } }
      const found = yield* inspectOwn(def)
      // a vanished container is brought back on the release it ran first, so the update is
      // gated and has something to roll back to; with no release recorded (or its image gone
      // too) there is nothing to roll back to, and the update is an install
      const kept = found === undefined ? yield* recordedRelease(def) : undefined
      const recorded = kept !== undefined && Option.isSome(yield* runtime.imageDigest(kept.digest)) ? kept : undefined
      if (found === undefined && recorded === undefined) return yield* Effect.andThen(record(def, undefined), install(def, true))
      if (recorded !== undefined) yield* reinstate(def, recorded, true)
      const existing = found ?? (yield* inspectOwn(def))
      if (existing === undefined) return yield* Effect.andThen(record(def, undefined), install(def, true))
      const digest = digestOf(existing) ?? Option.getOrUndefined(yield* runtime.imageDigest(existing.image))
      if (digest === undefined) return yield* Effect.fail(new NoRollbackTarget({ appId: def.id, name: existing.name }))
      const from: Release = {
        version: existing.labels[Labels.version] ?? "the previous release",
        image: existing.labels[Labels.imageRef] ?? existing.image,
        digest
      }
      const pending = Journal.advance(requested, "fetching", yield* Clock.currentTimeMillis, {
        from,
        to: { version: def.manifest.version, image: def.spec.image }
      }) as PendingUpdate & { readonly from: Release }
      yield* record(def, pending)
      yield* log.append(def.id, "info", `updating from ${from.version} (${shortDigest(from.digest)}) to ${pending.to.version}`)
      yield* runtime.tagImage(from.digest, holdTag(def.id))
      // Until the old container is stopped, a failure leaves it running as it was.
      const prepared = yield* Effect.gen(function*() {
        const image = yield* ensureImage(def, true)
        yield* hooks(def)
        yield* prepareDirs(def)
        return image
      }).pipe(Effect.result)
      if (Result.isFailure(prepared)) {
        yield* unhold(def)
        return yield* Effect.fail(prepared.failure)
      }
      const started = yield* Effect.gen(function*() {
        yield* stopContainer(def)
        yield* create(def, prepared.success)
        yield* runtime.start(def.spec.name)
      }).pipe(Effect.result)
      if (Result.isFailure(started)) return yield* rollBack(def, pending, started.failure.message)
      const [created] = yield* runtime.inspect([def.spec.name])
      const gating = Journal.advance(pending, "gating", yield* Clock.currentTimeMillis, {
        to: { ...pending.to, ...(created === undefined || digestOf(created) === undefined ? {} : { digest: digestOf(created)! }) }
      })
      yield* record(def, gating)
      yield* log.append(def.id, "info", `proving ${pending.to.version} healthy (${describePolicy(def, settleMs)})`)
      yield* proveOrRollBack(def, gating)
    })

  // An update found in the journal at a later step (the orchestrator stopped in its middle):
  // `Journal.recover` decides from the record and the container now; never leave the app on an
  // unproved image undecided.
  const resumeUpdate = (def: AppDef, pending: PendingUpdate & { readonly from: Release }): Effect.Effect<void, WorkError> =>
    Effect.gen(function*() {
      yield* log.append(def.id, "info", `resuming the update to ${pending.to.version} (was ${pending.step})`)
      const decision = Journal.recover(pending, Option.getOrUndefined(yield* observeStrict(def)))
      return yield* applyRecovery(def, pending, decision)
    })

  return { update, rollBack, proveOrRollBack }
}

/**
 * @since 0.1.0
 * @category models
 */
export type Update = ReturnType<typeof make>

const describePolicy = (def: AppDef, settleMs: number): string => {
  const p = HealthGate.policy(def.manifest.health, { settleMs })
  return p._tag === "Probe"
    ? `${p.describe} after ${p.startPeriodMs / 1000}s, up to ${p.retries} failures, within ${p.deadlineMs / 1000}s`
    : `running without a restart for ${p.settleMs / 1000}s`
}
