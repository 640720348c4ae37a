import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { FailureMessage } from "../src/domain/index.js"
import { CommandFailed, ImageNotFound } from "../src/runtime/RuntimeError.js"
import { prop } from "../../../test-support/prop.js"

const fixture = (name: string) => readFileSync(join(__dirname, "fixtures", "stderr", name), "utf8")

describe("FailureMessage on real podman 4.3 stderr (test/fixtures/stderr)", () => {
  it("a host port bound by another program: the port, in words; podman's line after a blank line, its id shortened", () => {
    const m = FailureMessage.format("lnd", "start", fixture("start-port-in-use-127.txt"))
    assert.strictEqual(
      m,
      "lnd could not start: host port 47811 is already in use by another program\n\n" +
        "Error: unable to start container \"990beff2c320…\": cannot listen on the TCP port: listen tcp4 127.0.0.1:47811: bind: address already in use"
    )
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.format("lnd", "install", fixture("run-port-in-use-wildcard.txt"))),
      "lnd could not install: host port 47812 is already in use by another program"
    )
  })

  it("the systemd health-check timer complaints are left out, even at level=error", () => {
    const m = FailureMessage.format("lnd", "start", fixture("run-port-in-use-with-healthcheck-timer.txt"))
    assert.strictEqual(
      m,
      "lnd could not start: host port 47814 is already in use by another program\n\n" +
        "Error: cannot listen on the TCP port: listen tcp4 :47814: bind: address already in use"
    )
    // only noise: the last line is kept, so the detail is never empty
    const noise = fixture("run-healthcheck-timer-noise-only.txt")
    assert.strictEqual(FailureMessage.clean(noise), noise.trim().split("\n").at(-1))
  })

  it("a registry over plain HTTP, a missing image, a refused registry with retry warnings", () => {
    assert.strictEqual(
      FailureMessage.format("web", "install", fixture("pull-plain-http-registry.txt")),
      "pulling image 127.0.0.1:47813/x:1 failed: the registry answered over plain HTTP (mark it insecure in the registries setting)\n\n" +
        "Trying to pull 127.0.0.1:47813/x:1...\n" +
        "Error: initializing source docker://127.0.0.1:47813/x:1: pinging container registry 127.0.0.1:47813: Get \"https://127.0.0.1:47813/v2/\": http: server gave HTTP response to HTTPS client"
    )
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.format("web", "update", fixture("pull-manifest-unknown.txt"))),
      "pulling image 127.0.0.1:47813/x:1 failed: image not found"
    )
    const refused = FailureMessage.format("web", "install", fixture("pull-localhost-refused-retries.txt"))
    assert.strictEqual(
      refused,
      "pulling image localhost/archipelago/nope:1 failed: the registry localhost refused the connection (is it running?)\n\n" +
        "Trying to pull localhost/archipelago/nope:1...\n" +
        "Error: initializing source docker://localhost/archipelago/nope:1: pinging container registry localhost: Get \"https://localhost/v2/\": dial tcp 127.0.0.1:443: connect: connection refused"
    )
  })

  it("a full disk, a missing command, a missing mount source, a vanished container", () => {
    const full = FailureMessage.format("bitcoin", "install", fixture("pull-no-space-left.txt"))
    assert.strictEqual(FailureMessage.headline(full), "bitcoin could not install: no space left on device: the data disk is full")
    // the CNI warning, the pull progress and the level=error line the final error repeats are left out
    assert.deepStrictEqual(FailureMessage.detail(full).split("\n"), [
      "Trying to pull 127.0.0.1:47813/errs/base:1...",
      "time=\"2026-12-07T20:56:18Z\" level=error msg=\"While applying layer: ApplyLayer stdout:  stderr: write /bin/busybox: no space left on device exit status 1\"",
      "Error: writing blob: adding layer with blob \"sha256:f2e1107ed53e…\": ApplyLayer stdout:  stderr: write /bin/busybox: no space left on device exit status 1"
    ])
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.format("web", "start", fixture("start-command-not-found.txt"))),
      "web could not start: the container's command /nonexistent-cmd is not in its image"
    )
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.format("web", "start", fixture("start-mount-source-missing.txt"))),
      "web could not start: the folder /tmp/errs-cap/gone to mount at /data does not exist"
    )
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.format("web", "stop", fixture("start-no-such-container.txt"))),
      "web could not stop: its container is gone"
    )
  })

  it("permission denied names the path; an unknown failure keeps podman's words behind the opening", () => {
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.format("web", "start", "Error: open /var/lib/archipelago/apps/web/data: permission denied\n")),
      "web could not start: permission denied on /var/lib/archipelago/apps/web/data"
    )
    assert.strictEqual(
      FailureMessage.format("web", "remove", "Error: something new and strange   \n"),
      "web could not be removed: something new and strange\n\nError: something new and strange"
    )
    assert.strictEqual(FailureMessage.format("web", "start", "  \n"), "web could not start (the engine gave no reason)")
  })

  it("ofError: engine errors are formatted, any other error's message is kept", () => {
    const failed = new CommandFailed({ argv: ["podman", "start", "lnd"], exitCode: 125, stderr: fixture("start-port-in-use-127.txt") })
    assert.strictEqual(FailureMessage.ofError("lnd", "start", failed), FailureMessage.format("lnd", "start", failed.stderr))
    assert.strictEqual(
      FailureMessage.ofError("lnd", "start", new CommandFailed({ argv: ["podman", "start", "lnd"], exitCode: 125, stderr: "" })),
      "lnd could not start: podman start lnd exited 125\n\npodman start lnd exited 125"
    )
    const missing = new ImageNotFound({ ref: "docker.io/library/busybox:1.36", tried: ["docker.io/library/busybox:1.36: initializing source docker://docker.io/library/busybox:1.36: pinging container registry registry-1.docker.io: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host"] })
    assert.strictEqual(
      FailureMessage.headline(FailureMessage.ofError("nopull", "install", missing)),
      "pulling image docker.io/library/busybox:1.36 failed: the registry host registry-1.docker.io could not be found (no network, or a wrong name)"
    )
    assert.strictEqual(FailureMessage.ofError("web", "update", { _tag: "RolledBack", message: "update to 1.1.0 rolled back: x" }), "update to 1.1.0 rolled back: x")
    assert.strictEqual(FailureMessage.why("lnd", "start", failed), "host port 47811 is already in use by another program")
    assert.strictEqual(FailureMessage.why("web", "start", { _tag: "HookFailed", message: "hook x failed\nmore" }), "hook x failed")
  })
})

const noiseLine = fc.oneof(
  fc.constant("time=\"2026-12-07T20:56:16Z\" level=error msg=\"Removing timer for container 0d3840c96df0256f65e95d54f980fd168ae7e75aafd2cee8d1b8c14b5dafc35f healthcheck: unable to get systemd connection to remove healthchecks: dial unix /run/systemd/private: connect: no such file or directory\""),
  fc.constant("time=\"2026-12-07T20:55:52Z\" level=warning msg=\"Failed, retrying in 1s ... (1/3). Error: pinging container registry\""),
  fc.constant("Failed to start transient timer unit: Unit 0d3840c96df0.timer already exists."),
  fc.constant("Running timer as unit: run-r5f2c1b9d3e4a4b1c.timer"),
  fc.constant("Copying blob sha256:f2e1107ed53eb229ea6e53cdc7d07e2a024c0b77dc56e1788d45593fc90cea95"),
  fc.constant(""),
  fc.constant("   ")
)
// what podman's final error line can look like: printable, no 64-hex ids, bounded
const errorLine = fc.string({ minLength: 1, maxLength: 300, unit: fc.constantFrom(..."abcdefxyz :/\"._-0123456789ÄŁ") })
  .filter((s) => s.trim() === s && !/[0-9a-f]{64}/.test(s))
  .map((s) => `Error: ${s}`)
const stderr = fc.tuple(fc.array(fc.oneof(noiseLine, fc.string({ maxLength: 120 })), { maxLength: 12 }), errorLine, fc.array(noiseLine, { maxLength: 4 }))
const anyText = fc.oneof(fc.string({ maxLength: 2000 }), fc.string({ maxLength: 12000, unit: "grapheme" }), stderr.map(([a, e, b]) => [...a, e, ...b].join("\n")))
const app = fc.constantFrom("lnd", "bitcoin-core", "web")
const op = fc.constantFrom("install", "start", "stop", "restart", "update", "remove", "backup", "restore")

describe("FailureMessage properties", () => {
  prop("the first line is a sentence: never empty, one line, opening with the app or the image", [app, op, anyText], ([a, o, text]) => {
    const first = FailureMessage.headline(FailureMessage.format(a, o, text))
    expect(first.trim()).not.toBe("")
    expect(first.length).toBeLessThanOrEqual(FailureMessage.maxSentenceChars)
    expect(first.startsWith(`${a} could not `) || first.startsWith("pulling image ")).toBe(true)
  })

  prop("never loses podman's final error line, whatever noise surrounds it", [app, op, stderr], ([a, o, [before, error, after]]) => {
    const m = FailureMessage.format(a, o, [...before, error, ...after].join("\n"))
    expect(FailureMessage.detail(m).split("\n")).toContain(error)
  })

  prop("idempotent on its own output", [app, op, anyText], ([a, o, text]) => {
    const once = FailureMessage.format(a, o, text)
    expect(FailureMessage.format(a, o, once)).toBe(once)
    expect(FailureMessage.clean(FailureMessage.clean(text))).toBe(FailureMessage.clean(text))
  })

  prop("bounded, whatever the length of stderr", [app, op, anyText, fc.integer({ min: 1, max: 40 })], ([a, o, text, times]) => {
    const long = Array.from({ length: times }, (_, i) => `${text} ${i}`).join("\n")
    const m = FailureMessage.format(a, o, long)
    expect(FailureMessage.detail(m).length).toBeLessThanOrEqual(FailureMessage.maxDetailChars)
    expect(m.length).toBeLessThanOrEqual(FailureMessage.maxSentenceChars + 2 + FailureMessage.maxDetailChars)
    for (const line of m.split("\n")) expect(line.length).toBeLessThanOrEqual(FailureMessage.maxLineChars)
  })

  prop("timer noise and warnings never reach the detail when there is an error line", [app, op, noiseLine.filter((l) => l.trim() !== ""), errorLine], ([a, o, noise, error]) => {
    const detail = FailureMessage.detail(FailureMessage.format(a, o, `${noise}\n${error}\n${noise}`))
    expect(detail).toBe(error)
  })
})
