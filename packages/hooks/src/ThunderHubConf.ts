/**
 * ThunderHub's account config (`thubConfig.yaml`, read from `ACCOUNT_CONFIG_PATH`) for the LND
 * UI companion: one account on the node's LND with its admin macaroon and TLS certificate inline
 * (hex, as ThunderHub reads them from files), and `masterPassword` as ThunderHub keeps it after
 * its first start: `thunderhub-` followed by a bcrypt hash.
 *
 * ThunderHub rewrites the file itself (it hashes a plain password and dumps the YAML again, it
 * adds `twofaSecret` when 2FA is set up), so drift is judged on meaning, not bytes: `inSync`
 * parses the file and accepts it when the owned keys hold the wanted values and the stored hash
 * verifies the canonical password. `render` edits only the owned keys (the rest of the file,
 * comments included, stays) and is deterministic; randomness (a bcrypt salt) comes from the caller.
 *
 * @since 0.1.0
 */
import { Result, Option } from "effect"
import * as Yaml from "yaml"
import { RenderError } from "./RenderError.js"

/**
 * The prefix ThunderHub puts before a password it has hashed (it leaves such a value alone).
 *
 * @since 0.1.0
 * @category constants
 */
export const hashPrefix = "thunderhub-"

/**
 * The name of the account this config owns.
 *
 * @since 0.1.0
 * @category constants
 */
export const accountName = "LND"

/**
 * @since 0.1.0
 * @category models
 */
export interface Params {
  /** `host:port` of LND's gRPC endpoint. */
  readonly serverUrl: string
  /** The admin macaroon, hex. */
  readonly macaroon: string
  /** The TLS certificate, hex. */
  readonly certificate: string
  /** `mainnet`, `testnet`, `signet` or `regtest`. */
  readonly network: string
}

/**
 * Whether a stored `masterPassword` (`thunderhub-<bcrypt hash>`) verifies the canonical password.
 *
 * @since 0.1.0
 * @category models
 */
export type Verifies = (stored: string) => boolean

const header = [
  " Written by @archipelago/hooks (lnd-ui-thunderhub) before every start and reconcile: the account",
  " \"LND\" and masterPassword are kept in step with LND's admin macaroon, TLS certificate and the",
  " canonical password (secrets/lnd-ui-password). Other keys and accounts are yours. Keep it 0600."
].join("\n")

const serverUrlPattern = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?:(\d{1,5})$/
const hexPattern = /^(?:[0-9a-f]{2})+$/
const networks = new Set(["mainnet", "testnet", "testnet4", "signet", "regtest"])

/** Keys of the owned account that would override what this config sets (a per-account password, an encrypted macaroon). */
const overriding = ["password", "encrypted", "macaroonPath", "lndDir"] as const

/**
 * Checks the inputs: a `host:port` server, hex credentials, a known network.
 *
 * @since 0.1.0
 * @category utils
 */
export const check = (p: Params): Result.Result<Params, RenderError> => {
  const url = serverUrlPattern.exec(p.serverUrl)
  if (url === null || Number(url[1]) < 1 || Number(url[1]) > 65535) {
    return Result.fail(new RenderError({ field: "serverUrl", reason: "not host:port" }))
  }
  if (!hexPattern.test(p.macaroon)) return Result.fail(new RenderError({ field: "macaroon", reason: "not non-empty lowercase hex" }))
  if (!hexPattern.test(p.certificate)) return Result.fail(new RenderError({ field: "certificate", reason: "not non-empty lowercase hex" }))
  if (!networks.has(p.network)) return Result.fail(new RenderError({ field: "network", reason: "not a bitcoin network" }))
  return Result.succeed(p)
}

const parse = (text: string): Option.Option<Yaml.Document.Parsed> => {
  if (text.trim().length === 0) return Option.none()
  const doc = Yaml.parseDocument(text, { uniqueKeys: true })
  return doc.errors.length === 0 && Yaml.isMap(doc.contents) ? Option.some(doc) : Option.none()
}

const ownAccount = (doc: Yaml.Document): Option.Option<Yaml.YAMLMap> => {
  const accounts = doc.get("accounts")
  if (!Yaml.isSeq(accounts)) return Option.none()
  const own = accounts.items.filter((item): item is Yaml.YAMLMap => Yaml.isMap(item) && item.get("name") === accountName)
  return own.length === 1 ? Option.some(own[0]!) : Option.none()
}

/**
 * The stored `masterPassword` of a config, if it is a string.
 *
 * @since 0.1.0
 * @category getters
 */
export const masterPassword = (text: string): Option.Option<string> =>
  Option.flatMap(parse(text), (doc) => {
    const value = doc.get("masterPassword")
    return typeof value === "string" ? Option.some(value) : Option.none()
  })

/**
 * True when the config means what `render` would write: the owned account (exactly one, named
 * `LND`) has the wanted server, macaroon and certificate and nothing overriding them, the default
 * network matches, and `masterPassword` is a `thunderhub-` hash that `verifies` accepts. Layout,
 * quoting, comments, key order and other keys do not matter.
 *
 * @since 0.1.0
 * @category utils
 */
export const inSync = (text: string, p: Params, verifies: Verifies): boolean =>
  Option.match(parse(text), {
    onNone: () => false,
    onSome: (doc) => {
      const stored = doc.get("masterPassword")
      if (typeof stored !== "string" || !stored.startsWith(hashPrefix)) return false
      if (doc.get("defaultNetwork") !== p.network) return false
      const own = ownAccount(doc)
      if (Option.isNone(own)) return false
      const account = own.value
      if (account.get("serverUrl") !== p.serverUrl) return false
      if (account.get("macaroon") !== p.macaroon || account.get("certificate") !== p.certificate) return false
      if (overriding.some((key) => account.has(key))) return false
      return verifies(stored)
    }
  })

/**
 * The config with the owned keys set: `masterPassword` (already hashed, `thunderhub-$2b$...`),
 * `defaultNetwork`, and the account `LND` (`serverUrl`, `macaroon`, `certificate`; keys that
 * would override them removed). Everything else in `current` is kept, comments included; an
 * unparsable or empty `current` is replaced by a fresh file. Deterministic.
 *
 * @since 0.1.0
 * @category constructors
 */
export const render = (current: string, p: Params & { readonly masterPassword: string }): Result.Result<string, RenderError> =>
  Result.map(check(p), () => {
    const doc = Option.getOrElse(parse(current), () => {
      const fresh = new Yaml.Document({})
      fresh.commentBefore = header
      return fresh
    })
    doc.set("masterPassword", p.masterPassword)
    doc.set("defaultNetwork", p.network)
    let accounts = doc.get("accounts")
    if (!Yaml.isSeq(accounts)) {
      accounts = doc.createNode([])
      doc.set("accounts", accounts)
    }
    const seq = accounts as Yaml.YAMLSeq
    // exactly one owned account: the first one named LND is kept (with its other keys), the rest dropped
    const owned = seq.items.filter((item) => Yaml.isMap(item) && item.get("name") === accountName) as Array<Yaml.YAMLMap>
    for (const extra of owned.slice(1)) seq.items.splice(seq.items.indexOf(extra), 1)
    const account = owned[0] ?? (() => {
      const created = doc.createNode({ name: accountName }) as Yaml.YAMLMap
      seq.items.push(created)
      return created
    })()
    account.set("serverUrl", p.serverUrl)
    account.set("macaroon", p.macaroon)
    account.set("certificate", p.certificate)
    for (const key of overriding) account.delete(key)
    return doc.toString({ lineWidth: 0 })
  })
