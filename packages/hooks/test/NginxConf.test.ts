import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as fc from "fast-check"
import Mustache from "mustache"
import * as NginxConf from "../src/NginxConf.js"
import { RenderError } from "../src/RenderError.js"
import { freePort } from "../../../test-support/net.js"
import { prop } from "../../../test-support/prop.js"

const nginxBin = ["nginx", "/usr/sbin/nginx"].find((bin) => {
  try {
    execFileSync(bin, ["-v"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})
if (nginxBin === undefined) console.warn("NginxConf: nginx is not installed, skipping the `nginx -t` and live proxy proofs")

const canUnshare = spawnSync("unshare", ["--mount", "true"]).status === 0

const params: NginxConf.Params = { ...NginxConf.defaults, rpcPassword: "0123456789abcdef" }
const render = (p: NginxConf.Params) => Result.getOrThrow(NginxConf.render(p))

let root = ""
beforeAll(async () => {
  root = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "archy-hooks-nginx-"))
})
afterAll(async () => {
  await Fs.rm(root, { recursive: true, force: true })
})

/** Wraps a server block in the smallest main config nginx accepts, all paths in `dir`. */
const mainConfig = (dir: string, serverBlock: string, extra = "") => `${extra}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${serverBlock};
}
`

/** `nginx -t` of a server block; host.containers.internal resolves as it does inside a container. */
const nginxTest = async (name: string, serverBlock: string) => {
  const dir = NodePath.join(root, name)
  await Fs.mkdir(dir, { recursive: true })
  const block = NodePath.join(dir, "nginx.conf")
  await Fs.writeFile(block, serverBlock)
  await Fs.writeFile(NodePath.join(dir, "main.conf"), mainConfig(dir, block))
  await Fs.writeFile(NodePath.join(dir, "hosts"), "127.0.0.1 localhost\n10.88.0.1 host.containers.internal\n")
  const args = ["-t", "-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", `${dir}/main.conf`]
  // A private mount namespace gives nginx a hosts file naming podman's gateway without touching the host's.
  const result = canUnshare
    ? spawnSync("unshare", ["--mount", "sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`, NodePath.join(dir, "hosts"), nginxBin!, ...args])
    : spawnSync(nginxBin!, args)
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

const waitForPort = async (port: number, tries = 100): Promise<void> => {
  for (let i = 0; i < tries; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = Net.connect(port, "127.0.0.1")
      socket.once("connect", () => (socket.destroy(), resolve(true)))
      socket.once("error", () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on ${port}`)
}

describe("NginxConf", () => {
  it("renders the server block with the Basic auth header of user:password", () => {
    const text = render(params)
    const header = Buffer.from("archipelago:0123456789abcdef").toString("base64")
    expect(text).toContain(`proxy_set_header Authorization "Basic ${header}";`)
    expect(text).toContain("proxy_pass http://host.containers.internal:8332/;")
    expect(text).toContain("listen 80;")
    expect(NginxConf.basicAuth("archipelago", "0123456789abcdef")).toBe(header)
  })

  it("refuses values that could break out of a directive, naming the field only", () => {
    expect(NginxConf.render({ ...params, rpcHost: "evil; include /etc/shadow" })).toEqual(
      Result.fail(new RenderError({ field: "rpcHost", reason: "not a host name or IPv4 address" }))
    )
    expect(NginxConf.render({ ...params, rpcUser: "a:b" })).toEqual(
      Result.fail(new RenderError({ field: "rpcUser", reason: "use 1-64 letters, digits, '_', '.' or '-'" }))
    )
    expect(NginxConf.render({ ...params, listenPort: 0 })).toEqual(
      Result.fail(new RenderError({ field: "listenPort", reason: "not a TCP port" }))
    )
    expect(NginxConf.render({ ...params, rpcPort: 70000 })).toEqual(
      Result.fail(new RenderError({ field: "rpcPort", reason: "not a TCP port" }))
    )
    expect(NginxConf.render({ ...params, root: "/srv/../etc" })).toEqual(
      Result.fail(new RenderError({ field: "root", reason: "not a plain absolute path" }))
    )
    expect(NginxConf.render({ ...params, rpcPassword: "" })).toEqual(
      Result.fail(new RenderError({ field: "rpcPassword", reason: "empty" }))
    )
  })

  const arbHost = fc.oneof(
    fc.constant("host.containers.internal"),
    fc.ipV4(),
    fc.domain()
  )
  const arbParams = fc.record({
    listenPort: fc.integer({ min: 1, max: 65535 }),
    root: fc.constantFrom("/usr/share/nginx/html", "/var/www", "/srv/ui"),
    rpcHost: arbHost,
    rpcPort: fc.integer({ min: 1, max: 65535 }),
    rpcUser: fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
    rpcPassword: fc.string({ minLength: 1, maxLength: 100, unit: "binary" })
  })

  prop("deterministic, complete (no template marker left) and carrying exactly the credentials", [arbParams], ([p]) => {
    const first = render(p)
    expect(render({ ...p })).toBe(first)
    expect(first).not.toContain("{{")
    expect(first).not.toContain("}}")
    expect(first).toContain(`"Basic ${Buffer.from(`${p.rpcUser}:${p.rpcPassword}`).toString("base64")}"`)
    expect(first).not.toMatch(/\n\s*\n\s*\n/)
  })

  prop("arbitrary input is either refused or rendered without template markers", [
    fc.record({ rpcHost: fc.string(), rpcUser: fc.string(), root: fc.string(), rpcPassword: fc.string() })
  ], ([p]) => {
    const result = NginxConf.render({ ...params, ...p })
    if (Result.isSuccess(result)) expect(result.success).not.toContain("{{")
    else if (p.rpcPassword !== "") {
      // The refusal does not depend on the password: it cannot be carrying it.
      const other = NginxConf.render({ ...params, ...p, rpcPassword: "another" })
      expect(Result.isFailure(other) && other.failure.message).toBe(result.failure.message)
    }
  })

  describe.skipIf(nginxBin === undefined)("with Debian's nginx", () => {
    it("the rendered nginx.conf passes `nginx -t`", async () => {
      if (!canUnshare) console.warn("NginxConf: no unshare, host.containers.internal may not resolve for nginx -t")
      const result = await nginxTest("valid", render(params))
      expect(result.output).toContain("test is successful")
      expect(result.status).toBe(0)
    })

    it("`nginx -t` refuses the template rendered without validation (the proof can fail)", async () => {
      const unsafe = Mustache.render(NginxConf.template, { listenPort: "80", root: "/srv", rpcHost: "a b", rpcPort: "8332", basicAuth: "x" }, {}, {
        escape: String
      })
      const result = await nginxTest("invalid", unsafe)
      expect(result.status).not.toBe(0)
      expect(result.output).toContain("test failed")
    })

    it("a live nginx with the rendered config proxies /rpc with the auth header and serves the UI", async () => {
      const dir = NodePath.join(root, "live")
      const html = NodePath.join(dir, "html")
      await Fs.mkdir(html, { recursive: true })
      await Fs.writeFile(NodePath.join(html, "index.html"), "<h1>bitcoin ui</h1>\n")
      const seen: Array<{ method: string; url: string; authorization: string; body: string }> = []
      const rpc = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (c) => (body += c))
        req.on("end", () => {
          seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization ?? "", body })
          res.setHeader("content-type", "application/json")
          res.end(`{"result":"pong","error":null,"id":1}`)
        })
      })
      await new Promise<void>((r) => rpc.listen(0, "127.0.0.1", r))
      const rpcPort = (rpc.address() as Net.AddressInfo).port
      const listenPort = await freePort()
      const block = NodePath.join(dir, "nginx.conf")
      await Fs.writeFile(block, render({ ...params, listenPort, root: html, rpcHost: "127.0.0.1", rpcPort }))
      await Fs.writeFile(NodePath.join(dir, "main.conf"), mainConfig(dir, block, "user root;\ndaemon off;"))
      let nginx: ChildProcess | undefined
      try {
        nginx = spawn(nginxBin!, ["-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", `${dir}/main.conf`], { stdio: "ignore" })
        await waitForPort(listenPort)
        const base = `http://127.0.0.1:${listenPort}`
        const post = await fetch(`${base}/rpc`, { method: "POST", body: `{"method":"ping","id":1}` })
        expect(post.status).toBe(200)
        expect(await post.json()).toEqual({ result: "pong", error: null, id: 1 })
        expect(seen).toEqual([{
          method: "POST",
          url: "/",
          authorization: `Basic ${Buffer.from("archipelago:0123456789abcdef").toString("base64")}`,
          body: `{"method":"ping","id":1}`
        }])
        expect((await fetch(`${base}/rpc`)).status).toBe(403)
        const page = await fetch(`${base}/`)
        expect(await page.text()).toBe("<h1>bitcoin ui</h1>\n")
        expect(seen.length).toBe(1)
      } finally {
        nginx?.kill("SIGTERM")
        await new Promise<void>((r) => (nginx === undefined || nginx.exitCode !== null ? r() : nginx.once("exit", () => r())))
        await new Promise<void>((r) => rpc.close(() => r()))
      }
    })
  })
})
