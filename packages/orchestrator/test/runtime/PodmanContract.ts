/**
 * The ContainerRuntime contract's host side on real podman (kill -9 from the host, removal behind
 * the runtime's back, a hanging pull and build), shared by the contract runs of PodmanRuntime's
 * configurations.
 */
import { spawnSync } from "node:child_process"
import type { AddressInfo, Server } from "node:net"
import { createServer } from "node:net"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Layer } from "effect"
import { Effect } from "effect"
import type { HangingServer } from "../../../../test-support/net.js"
import { freePort, hangingServer } from "../../../../test-support/net.js"
import { ContainerRuntime } from "../../src/runtime/ContainerRuntime.js"
import * as BaseImage from "../../src/runtime/BaseImage.js"
import { hasPodman } from "./podman.js"
import type { Contract } from "./RuntimeContract.js"

/** A program of ours listening on a free port of 127.0.0.1 (podman publishes on 0.0.0.0: that clashes). */
const listeningOnLoopback = async (): Promise<Server> => {
  const port = await freePort()
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  return server
}
const closed = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))

const podman = (args: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const r = spawnSync("podman", args, { encoding: "utf8" })
    return r.status === 0 ? Effect.void : Effect.fail(`podman ${args.join(" ")}: ${r.stderr}`)
  })

/** A registry that accepts and never answers, closed with the test's scope. */
const hanging = Effect.acquireRelease(
  Effect.promise(() => hangingServer()),
  (server) => Effect.promise(() => server.close())
)

/** podman works on it once it connected; it stopped once every connection it made is closed (podman is gone). */
const stoppedWhenClosed = (server: HangingServer) => ({
  started: Effect.gen(function* () {
    for (let i = 0; i < 300 && server.accepted() === 0; i++) yield* Effect.sleep("100 millis")
    if (server.accepted() === 0) return yield* Effect.fail("podman never connected to the hanging registry")
  }),
  stopped: Effect.sync(() => server.accepted() > 0 && server.open() === 0)
})

/**
 * The contract's host side on real podman for `layer` (a PodmanRuntime), with names under `prefix`.
 */
export const podmanContract = (
  name: string,
  layer: Layer.Layer<ContainerRuntime, unknown>,
  prefix: string,
  only?: RegExp
): Contract<never> => ({
  name,
  layer,
  prefix,
  clock: "live",
  ...(only !== undefined ? { only } : {}),
  hostKill: (name) =>
    Effect.gen(function* () {
      const [d] = yield* (yield* ContainerRuntime).inspect([name])
      if (d?.pid === undefined) return yield* Effect.fail(`${name} has no process to kill`)
      const pid = d.pid
      yield* Effect.sync(() => process.kill(pid, "SIGKILL"))
    }),
  hostRemoveContainer: (name) => podman(["rm", "--force", "--time", "0", name]),
  hostRemoveImage: (ref) => podman(["rmi", "--force", ref]),
  hostBindPort: Effect.map(
    Effect.acquireRelease(Effect.promise(() => listeningOnLoopback()), (server) => Effect.promise(() => closed(server))),
    (server) => (server.address() as AddressInfo).port
  ),
  slowPull: () =>
    Effect.map(hanging, (server) => ({
      candidate: { ref: `${server.host}/archipelago-test/hangs:1`, insecure: true },
      ...stoppedWhenClosed(server)
    })),
  // A killed `podman build` leaves its RUN step's process running to its end and its working
  // container in storage (podman 4.3). Working containers are named after their base image's
  // first name: FROM an image of this suite's own (not a tag of the shared base), the working
  // container is `<prefix>slowbase-working-container*` and its RUN process is `sleep 7`
  // under its overlay, both traceable to this test.
  slowBuild: (tag) =>
    Effect.gen(function* () {
      const rt = yield* ContainerRuntime
      const from = `localhost/${prefix}slowbase:1`
      const ctx = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "archy-rt-slowbase-"))),
        (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
      )
      yield* Effect.promise(() => writeFile(join(ctx, "Containerfile"), `FROM ${BaseImage.ref}\nLABEL io.archipelago.test=${prefix}slowbase\n`))
      yield* Effect.acquireRelease(podman(["build", "--pull=never", "--tag", from, ctx]), () =>
        Effect.ignore(podman(["rmi", "--force", from]))
      )
      const working = () =>
        spawnSync("podman", ["ps", "-a", "--external", "--format", "{{.Names}}"], { encoding: "utf8" }).stdout
          .split("\n").filter((n) => n.startsWith(`${prefix}slowbase-working-container`))
      const runs = () => spawnSync("pgrep", ["-f", "-x", "sleep 7"], { encoding: "utf8" }).stdout.split("\n").filter((p) => p !== "")
      return {
        containerfile: `FROM ${from}\nRUN sleep 7\n`,
        // the RUN step is running (a process of ours with our working container)
        started: Effect.gen(function* () {
          for (let i = 0; i < 300 && (working().length === 0 || runs().length === 0); i++) yield* Effect.sleep("100 millis")
        }),
        // past the step's time, an uninterrupted build would have its image
        stopped: Effect.andThen(Effect.sleep("8 seconds"), Effect.map(rt.imageExists(tag), (exists) => !exists)),
        leftBehind: Effect.sync(() => [...working(), ...runs().map((p) => `RUN process ${p}`)])
      }
    }),
  ...(hasPodman ? {} : { skip: "podman is not installed" })
})

