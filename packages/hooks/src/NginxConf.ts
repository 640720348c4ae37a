/**
 * The nginx server block of the `bitcoin-ui` companion: serves the UI's static files and proxies
 * `/rpc` to bitcoind with the Basic auth header of the RPC user, so the browser never holds the
 * password. Pure: a mustache template embedded in the package and a render function.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import Mustache from "mustache"
import { RenderError } from "./RenderError.js"

/**
 * The template. Values are inserted verbatim (no HTML escaping), so every one is validated first.
 *
 * @since 0.1.0
 * @category constants
 */
export const template = `# Written by @archipelago/hooks (bitcoin-ui-nginx) before every start and reconcile.
# Edits are overwritten. It carries the bitcoind RPC credentials: keep it 0600.
server {
    listen {{listenPort}};
    server_name _;
    root {{root}};
    index index.html;
    client_max_body_size 1m;

    location = /rpc {
        limit_except POST {
            deny all;
        }
        proxy_pass http://{{rpcHost}}:{{rpcPort}}/;
        proxy_http_version 1.1;
        proxy_set_header Host {{rpcHost}};
        proxy_set_header Authorization "Basic {{basicAuth}}";
        proxy_set_header Content-Type "application/json";
        proxy_connect_timeout 5s;
        proxy_read_timeout 300s;
    }

    location / {
        try_files $uri $uri/ /index.html;
    }
}
`

/**
 * @since 0.1.0
 * @category models
 */
export interface Params {
  readonly listenPort: number
  readonly root: string
  readonly rpcHost: string
  readonly rpcPort: number
  readonly rpcUser: string
  readonly rpcPassword: string
}

/**
 * The defaults of the bitcoin UI companion: bitcoind on the host through podman's gateway name.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  listenPort: 80,
  root: "/usr/share/nginx/html",
  rpcHost: "host.containers.internal",
  rpcPort: 8332,
  rpcUser: "archipelago"
} as const

const hostPattern = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const userPattern = /^[A-Za-z0-9_.-]{1,64}$/
const rootPattern = /^\/[A-Za-z0-9_./-]*$/

const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535

/**
 * The value of the `Authorization: Basic` header for a user and password.
 *
 * @since 0.1.0
 * @category utils
 */
export const basicAuth = (user: string, password: string): string => Buffer.from(`${user}:${password}`, "utf8").toString("base64")

/**
 * Renders the server block, refusing any value that could break out of its nginx directive.
 * Deterministic: the same params always give the same bytes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (params: Params): Result.Result<string, RenderError> => {
  if (!isPort(params.listenPort)) return Result.fail(new RenderError({ field: "listenPort", reason: "not a TCP port" }))
  if (!isPort(params.rpcPort)) return Result.fail(new RenderError({ field: "rpcPort", reason: "not a TCP port" }))
  if (!hostPattern.test(params.rpcHost)) {
    return Result.fail(new RenderError({ field: "rpcHost", reason: "not a host name or IPv4 address" }))
  }
  if (!rootPattern.test(params.root) || params.root.includes("..")) {
    return Result.fail(new RenderError({ field: "root", reason: "not a plain absolute path" }))
  }
  if (!userPattern.test(params.rpcUser)) {
    return Result.fail(new RenderError({ field: "rpcUser", reason: "use 1-64 letters, digits, '_', '.' or '-'" }))
  }
  if (params.rpcPassword.length === 0) {
    return Result.fail(new RenderError({ field: "rpcPassword", reason: "empty" }))
  }
  return Result.succeed(
    Mustache.render(
      template,
      {
        listenPort: String(params.listenPort),
        root: params.root,
        rpcHost: params.rpcHost,
        rpcPort: String(params.rpcPort),
        basicAuth: basicAuth(params.rpcUser, params.rpcPassword)
      },
      {},
      { escape: (value: unknown) => String(value) }
    )
  )
}
