import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import { podmanContract } from "./PodmanContract.js"
import { hasPodman, podmanPath, removeByPrefix, runTag } from "./podman.js"
import { runtimeContract } from "./RuntimeContract.js"

// The events tests of the runtime contract on PodmanRuntime's other event sources: the
// `podman events` process (the fallback when podman does not log events to a file this process
// can read), and an events file podman rotates every few events (a private one: a wrapper runs
// podman with this host's containers.conf plus events_logfile_path and an 8 KB
// events_logfile_max_size, so rotation happens during these tests instead of once a megabyte).
// A container event is about 900 bytes and a rotation keeps the file's second half: at 4 KB the
// file rotated every two or three events, twice within one read on a loaded machine, and the
// lines of the file in between (written after the last read, dropped by the second rotation)
// were gone from disk before anyone could read them. At 8 KB a rotation comes every four or
// five events, and one read never spans two (in production, at 1 MB, one comes every thousand
// or so).
const prefix = `t-rt-ev-${runTag}-`
const eventTests = /^events:|kill -9 from the host restarts/

const work = mkdtempSync(join(tmpdir(), "archy-rt-events-"))
const eventsFile = join(work, "events", "events.log")

/** This host's containers.conf with our events settings in its `[engine]` table. */
const rotatingConf = (): string => {
  const host = existsSync("/etc/containers/containers.conf") ? readFileSync("/etc/containers/containers.conf", "utf8") : ""
  const ours = `events_logger = "file"\nevents_logfile_path = "${eventsFile}"\nevents_logfile_max_size = 8000\n`
  const kept = host
    .split("\n")
    .filter((l) => !/^\s*events_log(ger|file_path|file_max_size)\s*=/.test(l))
    .join("\n")
  return /^\s*\[engine\]\s*$/m.test(kept) ? kept.replace(/^\s*\[engine\]\s*$/m, `[engine]\n${ours}`) : `${kept}\n[engine]\n${ours}`
}

const wrapper = join(work, "podman")
writeFileSync(join(work, "containers.conf"), rotatingConf())
writeFileSync(wrapper, `#!/bin/sh\nCONTAINERS_CONF='${join(work, "containers.conf")}' exec '${podmanPath}' "$@"\n`)
chmodSync(wrapper, 0o755)

if (!hasPodman) console.warn("skipping the podman events-source contract: podman is not installed (run scripts/setup-host.sh)")

beforeAll(async () => {
  if (hasPodman) await Effect.runPromise(BaseImage.ensure())
})
afterAll(() => {
  if (hasPodman) removeByPrefix(prefix)
  rmSync(work, { recursive: true, force: true })
})

runtimeContract(
  podmanContract("PodmanRuntime, events through podman events", PodmanRuntime.layerWith({ events: "process" }), `${prefix}p-`, eventTests)
)

runtimeContract(
  podmanContract("PodmanRuntime, an events file podman rotates every 8 KB", PodmanRuntime.layerWith({ binary: wrapper }), `${prefix}f-`, eventTests)
)

describe.skipIf(!hasPodman)("the rotating events file", () => {
  it("was written by podman and rotated while the tests above ran", () => {
    const text = readFileSync(eventsFile, "utf8")
    assert.include(text, '"Status":"log-rotation"')
    assert.include(text, `${prefix}f-`)
  })
})
