/**
 * The start-up probe and self-heal on the real engine, in a store of its own: a temporary
 * containers.conf (file locks under a private tmp_dir, so the host's shared lock memory is never
 * touched) and storage.conf (private graph root and run root), and runc's state in a private
 * folder, all through a wrapper binary. The machine's store and other tests' containers are
 * never seen. Cases provoked for real: containers whose process died (SIGKILL of the process
 * and its conmon, as on an unclean shutdown, with and without a `podman stop` that leaves them
 * stuck), recovered, then recreated by the runtime with their volume data intact; and a
 * malformed state database, detected and left to the operator, byte for byte untouched.
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ContainerSpec } from "../../src/runtime/ContainerSpec.js"
import * as PodmanRuntime from "../../src/runtime/PodmanRuntime.js"
import * as SelfHeal from "../../src/runtime/PodmanSelfHeal.js"
import { hasPodman, runTag } from "./podman.js"

if (!hasPodman) console.warn("skipping the podman self-heal tests: podman is not installed (run scripts/setup-host.sh)")

const prefix = `t-heal-${runTag}-`
const image = `localhost/${prefix}busybox:1`

/** An isolated podman: its own config, store, run root, tmp_dir, lock files and runc root. */
const isolated = () => {
  const dir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), prefix))
  const tmpDir = NodePath.join(dir, "tmp")
  Fs.writeFileSync(
    NodePath.join(dir, "containers.conf"),
    [
      "[containers]",
      "default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]",
      "[engine]",
      "runtime = \"runc\"",
      "cgroup_manager = \"cgroupfs\"",
      "events_logger = \"file\"",
      "lock_type = \"file\"",
      `tmp_dir = "${tmpDir}"`,
      ""
    ].join("\n")
  )
  Fs.writeFileSync(
    NodePath.join(dir, "storage.conf"),
    ["[storage]", "driver = \"overlay\"", `graphroot = "${dir}/root"`, `runroot = "${dir}/runroot"`, ""].join("\n")
  )
  const binary = NodePath.join(dir, "podman")
  Fs.writeFileSync(
    binary,
    [
      "#!/bin/sh",
      `export CONTAINERS_CONF="${dir}/containers.conf" CONTAINERS_STORAGE_CONF="${dir}/storage.conf"`,
      `exec podman --runtime-flag "root=${dir}/runc" --network-backend netavark "$@"`,
      ""
    ].join("\n"),
    { mode: 0o755 }
  )
  return { dir, tmpDir, binary, root: NodePath.join(dir, "root") }
}

const iso = hasPodman ? isolated() : undefined

const podman = (...args: ReadonlyArray<string>) => {
  const r = spawnSync(iso!.binary, args, { encoding: "utf8", timeout: 120_000 })
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr }
}
const must = (...args: ReadonlyArray<string>): string => {
  const r = podman(...args)
  if (r.status !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

/** Kills a container's process and its conmon with SIGKILL: what an unclean shutdown leaves. */
const killHard = (name: string) => {
  const [pid, conmon] = must("inspect", name, "--format", "{{.State.Pid}} {{.State.ConmonPid}}").split(" ").map(Number)
  for (const p of [conmon!, pid!]) if (p > 0) process.kill(p, "SIGKILL")
}

const waitGone = async (pid: number) => {
  for (let i = 0; i < 100 && SelfHeal.pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 50))
}

beforeAll(() => {
  if (iso === undefined) return
  const rootfs = Fs.mkdtempSync(NodePath.join(iso.dir, "rootfs-"))
  Fs.mkdirSync(NodePath.join(rootfs, "bin"))
  Fs.copyFileSync("/bin/busybox", NodePath.join(rootfs, "bin/busybox"))
  Fs.chmodSync(NodePath.join(rootfs, "bin/busybox"), 0o755)
  for (const tool of ["sh", "sleep", "echo"]) Fs.symlinkSync("busybox", NodePath.join(rootfs, "bin", tool))
  const tar = spawnSync("sh", ["-c", `tar -C '${rootfs}' -cf - . | '${iso.binary}' import - ${image}`], { encoding: "utf8" })
  if (tar.status !== 0) throw new Error(`import failed: ${tar.stderr}`)
}, 120_000)

afterAll(() => {
  if (iso === undefined) return
  podman("rm", "--all", "--force", "--time", "0")
  podman("volume", "rm", "--all", "--force")
  podman("rmi", "--all", "--force")
  const runc = NodePath.join(iso.dir, "runc")
  if (Fs.existsSync(runc)) {
    for (const id of Fs.readdirSync(runc)) spawnSync("runc", ["--root", runc, "delete", "--force", id])
  }
  const mounts = spawnSync("sh", ["-c", `grep -o '${iso.dir}[^ ]*' /proc/mounts | sort -r`], { encoding: "utf8" }).stdout
  for (const m of mounts.split("\n").filter((l) => l !== "")) spawnSync("umount", ["-l", m])
  Fs.rmSync(iso.dir, { recursive: true, force: true })
}, 120_000)

describe.skipIf(!hasPodman)("PodmanSelfHeal on the real engine (an isolated store)", () => {
  it("a healthy engine: one probe, no step", async () => {
    const report = await Effect.runPromise(SelfHeal.heal({ binary: iso!.binary, confirmDelay: "300 millis" }))
    expect(report.before._tag).toBe("Healthy")
    expect(report.steps).toEqual([])
    expect(report.operator).toEqual([])
  })

  for (const stuck of [false, true]) {
    it(`containers whose process died${stuck ? " (then a stop that hangs them in stopping)" : ""}: removed, recreated, volume kept`, async () => {
      const name = `${prefix}app${stuck ? "-stuck" : ""}`
      const volume = `${prefix}data${stuck ? "-stuck" : ""}`
      must("volume", "create", volume)
      must("run", "-d", "--name", name, "--label", "io.archipelago.managed-by=archipelago", "--network", "none", "-v", `${volume}:/data`, image, "sh", "-c", "echo kept > /data/f; sleep 1000")
      for (let i = 0; i < 50 && podman("run", "--rm", "--network", "none", "-v", `${volume}:/data`, image, "sh", "-c", "read x < /data/f").status !== 0; i++) {
        await new Promise((r) => setTimeout(r, 100))
      }
      const pid = Number(must("inspect", name, "--format", "{{.State.Pid}}"))
      killHard(name)
      await waitGone(pid)
      if (stuck) podman("stop", "--time", "1", name)
      const state = must("ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.State}}")

      const before = await Effect.runPromise(SelfHeal.probe({ binary: iso!.binary, confirmDelay: "300 millis" }))
      if (/running|stopping/i.test(state)) {
        expect(before.health._tag).toBe("Broken")
        expect(JSON.stringify(before.health)).toContain(name)
      }
      const report = await Effect.runPromise(SelfHeal.heal({ binary: iso!.binary, confirmDelay: "300 millis" }))
      expect(report.after._tag, JSON.stringify(report, null, 1)).toBe("Healthy")
      expect(report.operator).toEqual([])
      if (/running|stopping/i.test(state)) {
        expect(report.steps.map((s) => s.step._tag)).toEqual(["RemoveDeadContainer"])
        expect(report.steps[0]!.outcome).toBe("done")
      }

      // What the reconciler does next: create the app's container again from its spec.
      const spec: ContainerSpec = {
        name,
        image,
        labels: { "io.archipelago.app": "heal" },
        ports: [],
        volumes: [{ source: volume, target: "/data", readOnly: false }],
        env: {},
        extraHosts: [],
        stopTimeoutSec: 1,
        restart: "no",
        command: ["sh", "-c", "read x < /data/f; echo \"$x\"; sleep 1000"]
      }
      const runtime = await Effect.runPromise(PodmanRuntime.make({ binary: iso!.binary }))
      await Effect.runPromise(Effect.flatMap(runtime.remove(name, { force: true }), () => runtime.create(spec)))
      await Effect.runPromise(runtime.start(name))
      let logs = ""
      for (let i = 0; i < 50 && !logs.includes("kept"); i++) {
        logs = await Effect.runPromise(runtime.logs(name))
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(logs).toContain("kept")
      await Effect.runPromise(runtime.remove(name, { force: true }))
    }, 120_000)
  }

  it("a malformed state database: detected, left to the operator, never reset, bytes untouched", async () => {
    const volume = `${prefix}precious`
    must("volume", "create", volume)
    const dataDir = must("volume", "inspect", volume, "--format", "{{.Mountpoint}}")
    Fs.writeFileSync(NodePath.join(dataDir, "wallet.dat"), "precious")
    const db = NodePath.join(iso!.root, "libpod", "bolt_state.db")
    const good = Fs.readFileSync(db)
    const bad = Buffer.alloc(4096, 7)
    Fs.writeFileSync(db, bad)
    try {
      const report = await Effect.runPromise(SelfHeal.heal({ binary: iso!.binary, confirmDelay: "300 millis" }))
      expect(report.before._tag).toBe("Broken")
      expect(JSON.stringify(report.before)).toContain("DatabaseMalformed")
      expect(report.steps.every((s) => s.outcome === "operator")).toBe(true)
      expect(report.operator.join("\n")).toContain("podman system reset")
      expect(Fs.readFileSync(db).equals(bad)).toBe(true)
      expect(Fs.readFileSync(NodePath.join(dataDir, "wallet.dat"), "utf8")).toBe("precious")
    } finally {
      Fs.writeFileSync(db, good)
    }
    expect((await Effect.runPromise(SelfHeal.probe({ binary: iso!.binary, confirmDelay: "300 millis" }))).health._tag).toBe("Healthy")
  }, 120_000)
})
