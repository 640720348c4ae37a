import { describe, expect } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import type { AppEntry as Entry } from "../src/domain/AppEntry.js"
import type { Intent as IntentT } from "../src/domain/Intent.js"
import { AppEntry, AppId, Merge, Transition } from "../src/domain/index.js"
import { arbEntry, arbNow, arbObservation, arbObserved } from "./arbitraries.js"
import { prop } from "../../../test-support/prop.js"

describe("Merge", () => {
  prop("while a transition is live the state is kept and the observed fields are taken", [arbEntry, arbObservation, arbNow],
    ([entry, obs, now]) => {
      fc.pre(entry.transition !== undefined && now < entry.transition.deadline)
      const { entry: merged, expired } = Merge.merge(entry, obs, now)
      expect(merged.state).toBe(entry.state)
      expect(merged.transition).toEqual(entry.transition)
      expect(merged.observed).toEqual(obs.observed)
      expect(expired).toBeUndefined()
    }
  )

  prop("past the deadline observation wins and the transition is reported", [arbEntry, arbObservation], ([entry, obs]) => {
    fc.pre(entry.transition !== undefined)
    const now = entry.transition!.deadline
    const { entry: merged, expired } = Merge.merge(entry, obs, now)
    expect(merged.state).toBe(obs.state)
    expect(merged.transition).toBeUndefined()
    expect(expired).toEqual(entry.transition)
  })

  prop("without a transition observation wins", [arbEntry, arbObservation, arbNow], ([entry, obs, now]) => {
    fc.pre(entry.transition === undefined)
    const { entry: merged, expired } = Merge.merge(entry, obs, now)
    expect(merged).toEqual(AppEntry.recordRelease({ ...entry, state: obs.state, observed: obs.observed }, obs.observed))
    expect(expired).toBeUndefined()
  })

  prop("records the release a container shows and keeps it while the container is gone", [arbEntry, arbObservation, arbNow],
    ([entry, obs, now]) => {
      const seen = Merge.merge(entry, obs, now).entry
      expect(seen.release).toEqual(AppEntry.releaseOf(obs.observed) ?? entry.release)
      const gone = Merge.merge(seen, AppEntry.absent, now).entry
      expect(gone.release).toEqual(seen.release)
      expect(gone.observed).toEqual(AppEntry.emptyObserved)
    }
  )

  prop("is idempotent", [arbEntry, arbObservation, arbNow], ([entry, obs, now]) => {
    const once = Merge.merge(entry, obs, now).entry
    expect(Merge.merge(once, obs, now).entry).toEqual(once)
  })

  prop("keeps identity, last error and crash-loop facts", [arbEntry, arbObservation, arbNow], ([entry, obs, now]) => {
    const merged = Merge.merge(entry, obs, now).entry
    expect(merged.id).toBe(entry.id)
    expect(merged.lastError).toEqual(entry.lastError)
    expect(merged.crashLoop).toEqual(entry.crashLoop)
  })

  prop("never touches intent: a store record's intent passes through any merge unchanged", [arbEntry, arbObservation, arbNow, fc.boolean(), fc.boolean()],
    ([entry, obs, now, wantRunning, userStopped]) => {
      const intent: IntentT = { installed: true, wantRunning, userStopped, updatedAt: now }
      const record = { entry, intent }
      const next = { ...record, entry: Merge.merge(record.entry, obs, now).entry }
      expect(next.intent).toBe(intent)
    }
  )

  // The founding bug: the user stops LND (330 s graceful stop) while a 30 s scan keeps seeing
  // the container as still running. The entry must read `stopping` at every scan until the stop
  // completes or the deadline passes; never a flash back to `running`.
  prop("the founding bug: scans of a still-running container during a stop keep it stopping", [
    arbNow,
    fc.array(fc.tuple(fc.integer({ min: 1, max: 60_000 }), arbObserved), { minLength: 1, maxLength: 40 }),
    fc.boolean()
  ], ([t0, scans, completes]) => {
    const lnd = AppEntry.make(AppId.make("lnd"), "running")
    let entry: Entry = Result.getOrThrow(Transition.begin(lnd, "stop", t0, 330))
    const deadline = entry.transition!.deadline
    let now = t0
    for (const [dt, observed] of scans) {
      now += dt
      entry = Merge.merge(entry, { state: "running", observed }, now).entry
      if (now < deadline) expect(entry.state).toBe("stopping")
      else expect(entry.state).toBe("running")
    }
    if (completes && now < deadline) {
      const done = Transition.succeed(entry, "stop")
      expect(done.state).toBe("stopped")
      expect(Merge.merge(done, { state: "exited", observed: done.observed }, now + 1).entry.state).toBe("exited")
    }
  })
})
