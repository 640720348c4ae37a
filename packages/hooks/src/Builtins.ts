/**
 * The built-in pre-start hooks. Every derived credential is a pure function of the canonical
 * secret `bitcoin-rpc-password`, so rendering again after drift restores the right file. A
 * consumer's hook takes bitcoind's address from the installed provider of `bitcoin-node` (its
 * manifest's `provides` endpoints), never from a constant.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { Effect, Result, Option, Redacted } from "effect"
import * as Bcrypt from "./Bcrypt.js"
import * as BitcoinConf from "./BitcoinConf.js"
import * as DemoPage from "./DemoPage.js"
import * as ElectrumPage from "./ElectrumPage.js"
import * as ElectrumxEnv from "./ElectrumxEnv.js"
import * as LndConf from "./LndConf.js"
import * as NginxConf from "./NginxConf.js"
import type { HookContext, PreStartHook } from "./PreStartHook.js"
import { make } from "./PreStartHook.js"
import * as RpcAuth from "./RpcAuth.js"
import { bitcoinRpcPassword, lndUiPassword } from "./Secrets.js"
import * as ThunderHubConf from "./ThunderHubConf.js"

/**
 * The bitcoind RPC user every derived config uses.
 *
 * @since 0.1.0
 * @category constants
 */
export const rpcUser = "archipelago"

/**
 * The capability every bitcoind consumer depends on (`provides` of bitcoin-core and bitcoin-knots).
 *
 * @since 0.1.0
 * @category constants
 */
export const bitcoinNode = "bitcoin-node"

/**
 * The capability of an Electrum protocol server (`provides` of electrumx): endpoints `tcp`, `ssl`.
 *
 * @since 0.1.0
 * @category constants
 */
export const electrumServer = "electrum-server"

/**
 * The capability of a Lightning node (`provides` of lnd): endpoints `grpc`, `rest`, `p2p`.
 *
 * @since 0.1.0
 * @category constants
 */
export const lightningNode = "lightning-node"

/**
 * Where LND keeps what a client needs, relative to its data folder (LND's `~/.lnd`).
 *
 * @since 0.1.0
 * @category constants
 */
export const lndFiles = {
  tlsCert: "tls.cert",
  adminMacaroon: (network: string) => `data/chain/bitcoin/${network}/admin.macaroon`
} as const

const fromResult = <A>(ctx: HookContext, result: Result.Result<A, { readonly message: string }>) =>
  Result.match(result, {
    onFailure: (error) => Effect.fail(ctx.fail(error.message)),
    onSuccess: Effect.succeed
  })

/**
 * `bitcoin-ui-nginx`: `<appDataDir>/nginx.conf` (i.e. `<dataDir>/bitcoin-ui/nginx.conf`, 0600),
 * the server block of the bitcoin UI companion with the Basic auth header of RPC user
 * `archipelago`, proxying `/rpc` to the `rpc` endpoint of the installed `bitcoin-node` provider
 * (`host.containers.internal:8332` for the stock manifests). It listens on the manifest's
 * `ui.port` (80 when absent).
 *
 * @since 0.1.0
 * @category hooks
 */
export const bitcoinUiNginx: PreStartHook = make({
  name: "bitcoin-ui-nginx",
  secretConsumers: ["bitcoin-ui"],
  render: (ctx) =>
    Effect.gen(function*() {
      const rpc = yield* Effect.flatMap(ctx.provider(bitcoinNode), (node) => node.endpoint("rpc"))
      const password = yield* ctx.secret(bitcoinRpcPassword)
      const content = yield* fromResult(
        ctx,
        NginxConf.render({
          ...NginxConf.defaults,
          listenPort: ctx.manifest.ui?.port ?? NginxConf.defaults.listenPort,
          rpcHost: rpc.host,
          rpcPort: rpc.port,
          rpcUser,
          rpcPassword: Redacted.value(password)
        })
      )
      return [{ path: NodePath.join(ctx.appDataDir, "nginx.conf"), content, secret: true }]
    })
})

/**
 * `bitcoin-rpcauth`: the `rpcauth=archipelago:<salt>$<hmac>` line of `<appDataDir>/bitcoin.conf`
 * (bitcoin-core or bitcoin-knots), the rest of the file preserved. The salt on disk is kept while
 * it still verifies the canonical password, so a converged node renders the same bytes.
 *
 * @since 0.1.0
 * @category hooks
 */
export const bitcoinRpcAuth: PreStartHook = make({
  name: "bitcoin-rpcauth",
  secretConsumers: ["bitcoin-core", "bitcoin-knots"],
  render: (ctx) =>
    Effect.gen(function*() {
      const password = Redacted.value(yield* ctx.secret(bitcoinRpcPassword))
      const path = NodePath.join(ctx.appDataDir, "bitcoin.conf")
      const read = yield* ctx.read(path)
      const current = Option.getOrElse(read, () => "")
      const kept = BitcoinConf.findRpcAuth(current, rpcUser).pipe(
        Option.flatMap(RpcAuth.parse),
        Option.filter((auth) => auth.user === rpcUser && RpcAuth.verify(auth, password))
      )
      const auth = Option.isSome(kept) ? kept.value : RpcAuth.make(rpcUser, yield* RpcAuth.generateSalt, password)
      const content = BitcoinConf.setRpcAuth(current, rpcUser, RpcAuth.format(auth))
      return [{ path, content, secret: true, basedOn: Option.getOrNull(read) }]
    })
})

/**
 * `lnd-conf`: the `[Bitcoind]` section of `<appDataDir>/lnd.conf` (i.e. `<dataDir>/lnd/lnd.conf`,
 * 0600): RPC host, user and password, ZMQ block and tx endpoints, the addresses taken from the
 * `rpc`, `zmqpubrawblock` and `zmqpubrawtx` endpoints of the installed `bitcoin-node` provider;
 * the rest of the file preserved.
 *
 * @since 0.1.0
 * @category hooks
 */
export const lndConf: PreStartHook = make({
  name: "lnd-conf",
  secretConsumers: ["lnd"],
  render: (ctx) =>
    Effect.gen(function*() {
      const node = yield* ctx.provider(bitcoinNode)
      const rpc = yield* node.endpoint("rpc")
      const block = yield* node.endpoint("zmqpubrawblock")
      const tx = yield* node.endpoint("zmqpubrawtx")
      const password = Redacted.value(yield* ctx.secret(bitcoinRpcPassword))
      const path = NodePath.join(ctx.appDataDir, "lnd.conf")
      const read = yield* ctx.read(path)
      const current = Option.getOrElse(read, () => "")
      const content = yield* fromResult(
        ctx,
        LndConf.setBitcoind(current, {
          rpchost: `${rpc.host}:${rpc.port}`,
          rpcuser: rpcUser,
          rpcpass: password,
          zmqpubrawblock: `tcp://${block.host}:${block.port}`,
          zmqpubrawtx: `tcp://${tx.host}:${tx.port}`
        })
      )
      return [{ path, content, secret: true, basedOn: Option.getOrNull(read) }]
    })
})

/**
 * `electrumx-daemon`: `<appDataDir>/daemon.env` (i.e. `<dataDir>/electrumx/daemon.env`, 0600),
 * `export DAEMON_URL='http://archipelago:<password>@<host>:<port>/'` for the `rpc` endpoint of the
 * installed `bitcoin-node` provider. ElectrumX's manifest mounts it read-only and its command
 * sources it at every start, so a repaired file takes effect on the restart the registry asks for.
 *
 * @since 0.1.0
 * @category hooks
 */
export const electrumxDaemon: PreStartHook = make({
  name: "electrumx-daemon",
  secretConsumers: ["electrumx"],
  render: (ctx) =>
    Effect.gen(function*() {
      const rpc = yield* Effect.flatMap(ctx.provider(bitcoinNode), (node) => node.endpoint("rpc"))
      const password = Redacted.value(yield* ctx.secret(bitcoinRpcPassword))
      const content = yield* fromResult(
        ctx,
        ElectrumxEnv.render({ rpcUser, rpcPassword: password, rpcHost: rpc.host, rpcPort: rpc.port })
      )
      return [{ path: NodePath.join(ctx.appDataDir, "daemon.env"), content, secret: true }]
    })
})

/**
 * `electrs-ui-page`: `<appDataDir>/www/index.html` (i.e. `<dataDir>/electrs-ui/www/index.html`,
 * 0644 so nginx's workers can read it from the read-only bind mount): how a wallet connects, with
 * the host ports of the installed `electrum-server` provider's `tcp` and `ssl` endpoints. No secret.
 *
 * @since 0.1.0
 * @category hooks
 */
export const electrsUiPage: PreStartHook = make({
  name: "electrs-ui-page",
  render: (ctx) =>
    Effect.gen(function*() {
      const server = yield* ctx.provider(electrumServer)
      const tcp = server.endpoints["tcp"]
      const ssl = server.endpoints["ssl"]
      if (tcp === undefined && ssl === undefined) {
        return yield* ctx.fail(`${server.appId} provides ${JSON.stringify(electrumServer)} without a published endpoint "tcp" or "ssl"`)
      }
      return [{
        path: NodePath.join(ctx.appDataDir, "www", "index.html"),
        content: ElectrumPage.render({
          server: server.manifest.name,
          ...(tcp === undefined ? {} : { tcp: tcp.port }),
          ...(ssl === undefined ? {} : { ssl: ssl.port })
        }),
        mode: 0o644
      }]
    })
})

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

/**
 * A `lnd-ui-thunderhub` hook (see `lndUiThunderhub`) for the given network and bcrypt cost.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLndUiThunderhub = (options: { readonly network?: string; readonly cost?: number } = {}): PreStartHook => {
  const network = options.network ?? "mainnet"
  const verify = Bcrypt.verifier()
  return make({
    name: "lnd-ui-thunderhub",
    secretConsumers: ["lnd-ui"],
    render: (ctx) =>
      Effect.gen(function*() {
        const lnd = yield* ctx.provider(lightningNode)
        const grpc = yield* lnd.endpoint("grpc")
        const macaroon = yield* lnd.readFile(lndFiles.adminMacaroon(network), { maxBytes: 64 * 1024 })
        const certificate = yield* lnd.readFile(lndFiles.tlsCert, { maxBytes: 64 * 1024 })
        const password = Redacted.value(yield* ctx.secret(lndUiPassword))
        const params: ThunderHubConf.Params = {
          serverUrl: `${grpc.host}:${grpc.port}`,
          macaroon: hex(macaroon),
          certificate: hex(certificate),
          network
        }
        const path = NodePath.join(ctx.appDataDir, "data", "thubConfig.yaml")
        const read = yield* ctx.read(path)
        const current = Option.getOrElse(read, () => "")
        const verifies = (stored: string) =>
          stored.startsWith(ThunderHubConf.hashPrefix) && verify(password, stored.slice(ThunderHubConf.hashPrefix.length))
        // ThunderHub rewrites this file itself: when it still means the same, it is left as it is
        if (ThunderHubConf.inSync(current, params, verifies)) return [{ path, content: current, secret: true, basedOn: Option.getOrNull(read) }]
        const kept = Option.filter(ThunderHubConf.masterPassword(current), verifies)
        const masterPassword = Option.isSome(kept)
          ? kept.value
          : `${ThunderHubConf.hashPrefix}${Bcrypt.hash(password, yield* Bcrypt.generateSalt(options.cost ?? Bcrypt.defaultCost))}`
        const content = yield* fromResult(ctx, ThunderHubConf.render(current, { ...params, masterPassword }))
        return [{ path, content, secret: true, basedOn: Option.getOrNull(read) }]
      })
  })
}

/**
 * `lnd-ui-thunderhub`: `<appDataDir>/data/thubConfig.yaml` (i.e. `<dataDir>/lnd-ui/data/thubConfig.yaml`,
 * 0600), ThunderHub's account config: the account `LND` at the `grpc` endpoint of the installed
 * `lightning-node` provider, with its admin macaroon (`data/chain/bitcoin/mainnet/admin.macaroon`)
 * and TLS certificate (`tls.cert`) read from the provider's data folder and inlined as hex, and
 * `masterPassword` as `thunderhub-<bcrypt hash>` of the canonical secret `lnd-ui-password`. The
 * file counts as drifted only when its meaning differs (ThunderHub re-dumps it and adds keys of its
 * own); a hash that still verifies is kept. Fails naming the file while LND has not written its
 * macaroon yet (its wallet is not created), so ThunderHub starts on a later pass.
 *
 * @since 0.1.0
 * @category hooks
 */
export const lndUiThunderhub: PreStartHook = makeLndUiThunderhub()

/**
 * `demo-ui-page`: `<appDataDir>/www/index.html` (i.e. `<dataDir>/demo-ui/www/index.html`, 0644
 * so busybox httpd in the container can read it from its read-only bind mount at `/var/www`).
 *
 * @since 0.1.0
 * @category hooks
 */
export const demoUiPage: PreStartHook = make({
  name: "demo-ui-page",
  render: (ctx) =>
    Effect.succeed([
      {
        path: NodePath.join(ctx.appDataDir, "www", "index.html"),
        content: DemoPage.render({
          id: ctx.appId,
          name: ctx.manifest.name,
          version: ctx.manifest.version,
          ...(ctx.manifest.description !== undefined ? { description: ctx.manifest.description } : {})
        }),
        mode: 0o644
      }
    ])
})

/**
 * All built-in hooks, for `Hooks.layer(Builtins.builtins, { dataDir })`.
 *
 * @since 0.1.0
 * @category hooks
 */
export const builtins: ReadonlyArray<PreStartHook> = [
  bitcoinUiNginx,
  bitcoinRpcAuth,
  lndConf,
  electrumxDaemon,
  electrsUiPage,
  lndUiThunderhub,
  demoUiPage
]
