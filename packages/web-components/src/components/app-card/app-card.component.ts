/**
 * @since 0.1.0
 */
import { VisualState } from "@archipelago/orchestrator/domain"
import { html, LitElement, nothing } from "lit"
import type { PropertyValues, TemplateResult } from "lit"
import { property, state } from "lit/decorators.js"
import type { ArchyClient } from "../../client/ArchyClient.js"
import { ArchyController } from "../../client/ArchyController.js"
import type { DisplayApp } from "../../client/AppStore.js"
import type { Theme } from "../../styles/theme.js"
import "../backup-panel/backup-panel.js"
import "../container-logs/container-logs.js"
import "../install-log/install-log.js"
import type { LifecycleRequestEvent } from "../lifecycle-button/lifecycle-button.component.js"
import "../lifecycle-button/lifecycle-button.js"
import "../status-badge/status-badge.js"
import { styles } from "./app-card.styles.js"

const opVerb: Readonly<Record<string, string>> = {
  install: "install",
  start: "start",
  stop: "stop",
  restart: "restart",
  update: "update",
  remove: "remove",
  backup: "back up",
  restore: "restore"
}

/**
 * Bytes in binary units, one decimal below 10: `64 MiB`, `3.2 GiB`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatBytes = (bytes: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let n = Math.max(0, bytes)
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  const digits = i === 0 || n >= 10 ? 0 : 1
  return `${n.toFixed(digits)} ${units[i]}`
}

/**
 * Splits an error message the server wrote as "the operator's words, a blank line, then the
 * engine's output": the first paragraph to show, and the rest (empty when there is none).
 *
 * @since 0.1.0
 * @category utils
 */
export const splitError = (message: string): { readonly head: string; readonly details: string } => {
  const text = message.replace(/\r\n/g, "\n").trim()
  const at = text.search(/\n[ \t]*\n/)
  if (at < 0) return { head: text, details: "" }
  return { head: text.slice(0, at).trim(), details: text.slice(at).replace(/^\s*\n/, "").trimEnd() }
}

/** What the engine publishes; before the app has a container, what its manifest will publish. */
const shownPorts = (d: DisplayApp) =>
  d.view.ports.length === 0 && d.visualState === "not-installed" ? (d.view.manifestPorts ?? []) : d.view.ports

const logShown = (d: DisplayApp): boolean =>
  d.visualState === "installing" || d.visualState === "updating" ||
  d.view.lastError?.op === "install" || d.view.lastError?.op === "update"

/**
 * One app: name, status badge, health, ports and a link to its web UI, a notice when a
 * dependency is not running, the last error, and its lifecycle buttons. With a `client` it
 * performs the buttons' requests itself (and reads its app from the client when `app` is not
 * set); state changes are announced politely to screen readers.
 *
 * @csspart card - The card's frame.
 * @csspart header - Name, version and badge.
 * @csspart name - The app's name (a heading).
 * @csspart meta - The running version (the catalog's before the first start) and container name.
 * @csspart details - Health, ports, links and resource use.
 * @csspart memory-bar - The memory in use against the app's limit (a `<meter>`).
 * @csspart logs - The disclosure holding the live container log.
 * @csspart notice - The dependency notice.
 * @csspart error - The last error or a refused request: its first paragraph, then the rest in a closed disclosure.
 * @csspart error-details - The disclosure ("podman said") holding the engine's own words of the last error.
 * @csspart data - The bytes the app's folder takes on the data disk.
 * @csspart actions - The lifecycle buttons.
 * @csspart remove - "Remove…", on an installed app that is not busy: opens the confirmation.
 * @csspart remove-confirm - The confirmation: what Remove does, the "also delete its data" box, Remove and Cancel.
 * @csspart purge - The "also delete its data" checkbox (destructive, unticked by default).
 * @csspart update - "Update to <version>" ("Downgrade to <version>" for an older one), while the catalog offers an update.
 * @csspart backups - The disclosure holding the backup panel (last backup, watched files, Back up and Restore).
 * @cssproperty --archy-surface - Card background.
 * @cssproperty --archy-border - Card border.
 * @cssproperty --archy-radius - Corner radius.
 * @cssproperty --archy-card-shadow - Card shadow.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyAppCard extends LitElement {
  static override styles = styles

  /** The app to show when `app` is not given: read from `client`. */
  @property({ attribute: "app-id" })
  appId = ""

  /** What to render; when unset the card reads `appId` from `client`. */
  @property({ attribute: false })
  app: DisplayApp | undefined

  /** The client that performs requests and supplies dependency states. */
  @property({ attribute: false })
  client: ArchyClient | undefined

  /** The host name web UI links point at; defaults to the page's. */
  @property({ attribute: "link-host" })
  linkHost = ""

  /** `auto` (the system's choice), `light` or `dark`. */
  @property({ reflect: true })
  theme: Theme = "auto"

  /** The heading level of the app's name (1-6). */
  @property({ type: Number, attribute: "heading-level" })
  headingLevel = 3

  @state()
  private announcement = ""

  @state()
  private logsOpen = false

  @state()
  private backupsOpen = false

  @state()
  private confirmingRemove = false

  @state()
  private purge = false

  private stopWatching: (() => void) | undefined
  private stopWatchingDisk: (() => void) | undefined

  private readonly archy = new ArchyController(this)
  private shownState: VisualState.VisualState | undefined

  constructor() {
    super()
    this.addEventListener("archy-lifecycle-request", (e) => this.onRequest(e))
  }

  private get current(): DisplayApp | undefined {
    return this.app ?? (this.appId === "" ? undefined : this.client?.app(this.appId))
  }

  override connectedCallback(): void {
    super.connectedCallback()
    this.watch()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.stopWatching?.()
    this.stopWatching = undefined
    this.stopWatchingDisk?.()
    this.stopWatchingDisk = undefined
  }

  /** Resource samples are asked for only while a card with a client is in the page. */
  private watch(): void {
    this.stopWatching?.()
    this.stopWatching = this.isConnected ? this.client?.watchResources() : undefined
    this.stopWatchingDisk?.()
    this.stopWatchingDisk = this.isConnected ? this.client?.watchDisk() : undefined
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("client")) {
      this.archy.client = this.client
      this.watch()
    }
    const d = this.current
    if (d === undefined) return
    if (this.shownState !== undefined && this.shownState !== d.visualState) {
      this.announcement = `${d.view.name}: ${VisualState.statusLabel(d.visualState)}`
    }
    this.shownState = d.visualState
  }

  private onRequest(e: LifecycleRequestEvent): void {
    const client = this.client
    if (client === undefined || e.defaultPrevented) return
    void client.request(e.detail.op, e.detail.appId, e.detail.purge === true ? { purge: true } : {})
  }

  /** "Remove…" on an installed app that is not busy; the request waits for the confirmation. */
  private removeControls(d: DisplayApp): TemplateResult | typeof nothing {
    if (d.visualState === "not-installed" || VisualState.isBusy(d.visualState)) return nothing
    if (!this.confirmingRemove) {
      return html`<button part="remove" type="button" aria-haspopup="true" @click=${() => {
        this.purge = false
        this.confirmingRemove = true
      }}>Remove…</button>`
    }
    return nothing
  }

  private removeConfirmation(d: DisplayApp): TemplateResult | typeof nothing {
    if (!this.confirmingRemove || d.visualState === "not-installed" || VisualState.isBusy(d.visualState)) return nothing
    const confirm = () => {
      const purge = this.purge
      this.confirmingRemove = false
      this.purge = false
      this.dispatchEvent(
        new CustomEvent("archy-lifecycle-request", {
          detail: { appId: d.view.id, op: "remove", ...(purge ? { purge: true } : {}) },
          bubbles: true,
          composed: true,
          cancelable: true
        })
      )
    }
    return html`<div part="remove-confirm" role="group" aria-label=${`Remove ${d.view.name}`}>
      <p>Remove ${d.view.name}? Its container is removed; its data stays on the disk for a later install.</p>
      <label class=${this.purge ? "purge checked" : "purge"}>
        <input part="purge" type="checkbox" .checked=${this.purge} @change=${(e: Event) => (this.purge = (e.target as HTMLInputElement).checked)} />
        <span>Also delete its data folder (destructive: cannot be undone)</span>
      </label>
      <div class="confirm-actions">
        <button type="button" class=${this.purge ? "danger" : ""} part="remove-confirm-button" @click=${confirm}>${
      this.purge ? "Remove and delete data" : "Remove"
    }</button>
        <button type="button" part="remove-cancel" @click=${() => (this.confirmingRemove = false)}>Cancel</button>
      </div>
    </div>`
  }

  /** "Update to <version>" beside the primary button while an update is on offer and nothing runs. */
  private updateButton(d: DisplayApp): TemplateResult | typeof nothing {
    const offer = d.view.updateAvailable
    if (offer === null || offer === undefined || VisualState.isBusy(d.visualState) || d.visualState === "not-installed") {
      return nothing
    }
    const request = () =>
      this.dispatchEvent(
        new CustomEvent("archy-lifecycle-request", {
          detail: { appId: d.view.id, op: "update" },
          bubbles: true,
          composed: true,
          cancelable: true
        })
      )
    // a downgrade says so: an app's database may not go back to an older version
    const label = offer.direction === "downgrade" ? `Downgrade to ${offer.to}` : `Update to ${offer.to}`
    return html`<button part="update" type="button" title=${`${offer.from} → ${offer.to}${offer.direction === "downgrade" ? " (an older version)" : ""}`} @click=${request}>${label}</button>`
  }

  private dismiss(): void {
    const d = this.current
    if (d !== undefined) this.client?.dismiss(d.view.id)
  }

  private dependencyNotice(d: DisplayApp): TemplateResult | typeof nothing {
    if (d.view.dependsOn.length === 0 || d.visualState === "not-installed") return nothing
    const client = this.client
    if (client === undefined) return nothing
    const waiting = d.view.dependsOn.flatMap((id) => {
      const dep = client.app(id)
      if (dep === undefined) return [`${id} (no provider installed)`]
      return dep.visualState === "running" ? [] : [`${dep.view.name} (${VisualState.statusLabel(dep.visualState).toLowerCase()})`]
    })
    if (waiting.length === 0) return nothing
    return html`<p part="notice">Needs ${waiting.join(", ")}.</p>`
  }

  private links(d: DisplayApp): TemplateResult | typeof nothing {
    const host = this.linkHost !== "" ? this.linkHost : (globalThis.location?.hostname ?? "localhost")
    const ports = shownPorts(d)
    if (ports.length === 0 && d.view.uiPort === null) return nothing
    const open = d.view.uiPort !== null && d.visualState === "running"
      ? html`<a part="link" href=${`http://${host}:${d.view.uiPort}/`} target="_blank" rel="noopener noreferrer"
          >Open ${d.view.name}<span class="visually-hidden"> (new tab)</span></a
        >`
      : nothing
    return html`<dt>Ports</dt>
      <dd>
        ${ports.length === 0 ? "none" : ports.map((p) => `${p.host}→${p.container}/${p.protocol}`).join(", ")}
        ${open === nothing ? nothing : html`<br />${open}`}
      </dd>`
  }

  private dataSize(d: DisplayApp): TemplateResult | typeof nothing {
    const usage = this.client?.disk?.apps.find((a) => a.appId === d.view.id)
    if (usage === undefined || d.visualState === "not-installed") return nothing
    return html`<dt>Data</dt>
      <dd part="data">${usage.partial ? "over " : ""}${formatBytes(usage.bytes)}</dd>`
  }

  private resources(d: DisplayApp): TemplateResult | typeof nothing {
    const r = d.visualState === "running" ? this.client?.resources(d.view.id) : undefined
    if (r === undefined) return nothing
    const limit = r.memoryLimitBytes
    return html`<dt>CPU</dt>
      <dd part="cpu">${r.cpuPercent.toFixed(1)} %</dd>
      <dt>Memory</dt>
      <dd>
        ${
      limit === null
        ? nothing
        : html`<meter part="memory-bar" min="0" max=${limit} value=${Math.min(r.memoryBytes, limit)} low=${limit * 0.7}
            high=${limit * 0.9} optimum="0" aria-label=${`Memory of ${d.view.name}`}></meter>`
    }
        <span part="memory">${formatBytes(r.memoryBytes)}${limit === null ? "" : ` of ${formatBytes(limit)}`}</span>
      </dd>`
  }

  private logs(d: DisplayApp): TemplateResult | typeof nothing {
    if (this.client === undefined || d.visualState === "not-installed") return nothing
    return html`<details part="logs" @toggle=${(e: Event) => (this.logsOpen = (e.target as HTMLDetailsElement).open)}>
      <summary>Logs</summary>
      ${
      this.logsOpen
        ? html`<archy-container-logs
            app-id=${d.view.id}
            .client=${this.client}
            .running=${d.visualState === "running"}
            theme=${this.theme}
          ></archy-container-logs>`
        : nothing
    }
    </details>`
  }

  private backups(d: DisplayApp): TemplateResult | typeof nothing {
    if (this.client === undefined || d.visualState === "not-installed") return nothing
    return html`<details part="backups" @toggle=${(e: Event) => (this.backupsOpen = (e.target as HTMLDetailsElement).open)}>
      <summary>Backups</summary>
      ${
      this.backupsOpen
        ? html`<archy-backup-panel app-id=${d.view.id} app-name=${d.view.name} state=${d.visualState} .client=${this.client}></archy-backup-panel>`
        : nothing
    }
    </details>`
  }

  private errors(d: DisplayApp): TemplateResult | typeof nothing {
    if (d.refusal !== null) {
      return html`<p part="error" role="alert">
        <span>Could not ${opVerb[d.refusal.op] ?? d.refusal.op} ${d.view.name}: ${d.refusal.message}</span>
        ${this.client === undefined ? nothing : html`<button type="button" @click=${this.dismiss}>Dismiss</button>`}
      </p>`
    }
    const e = d.view.lastError
    if (e === null) return nothing
    const what = e.op === "reconcile" ? "Automatic repair failed" : `Last ${opVerb[e.op] ?? e.op} failed`
    const { head, details } = splitError(e.message)
    return html`<div part="error">
      <p class="error-head"><span>${what}: ${head}</span></p>
      ${
      details === ""
        ? nothing
        : html`<details part="error-details"><summary>podman said</summary><pre>${details}</pre></details>`
    }
    </div>`
  }

  private heading(name: string): TemplateResult {
    const level = Math.min(6, Math.max(1, Math.trunc(this.headingLevel)))
    return html`<div part="name" role="heading" aria-level=${level}>${name}</div>`
  }

  protected override render(): TemplateResult {
    const d = this.current
    if (d === undefined) {
      const loaded = (this.client?.store.order.length ?? 0) > 0
      return loaded
        ? html`<article part="card"><p part="meta">No app “${this.appId}” on this node.</p></article>`
        : html`<article part="card" aria-busy="true"><p part="meta">Loading ${this.appId}…</p></article>`
    }
    const v = d.view
    if (v.catalogError !== undefined) {
      // left out of the catalog: nothing can be asked of it until its manifest is fixed
      return html`<article part="card" aria-label=${v.name}>
        <div part="header">
          <div class="title">${this.heading(v.name)}<p part="meta">${v.containerName}</p></div>
        </div>
        <p part="error" role="alert"><span>Manifest error, the app is left as it is until it is fixed:\n${v.catalogError}</span></p>
      </article>`
    }
    const health = v.health !== "none" && d.visualState === "running"
      ? html`<dt>Health</dt><dd class=${`health-${v.health}`}>${v.health}</dd>`
      : nothing
    const resources = this.resources(d)
    const data = this.dataSize(d)
    // a container that never ran (a port taken, a missing mount) did not crash
    const crash = v.crashLoop !== null
      ? html`<p part="notice">${v.crashLoop.neverRan === true ? "Could not start" : "Crashed"} ${v.crashLoop.restarts} times; next attempt at ${
        new Date(v.crashLoop.nextAttemptAt).toLocaleTimeString([], { hour12: false })
      }.</p>`
      : nothing
    return html`<article part="card" aria-label=${v.name} aria-busy=${VisualState.isBusy(d.visualState) ? "true" : "false"}>
      <div part="header">
        <div class="title">
          ${this.heading(v.name)}
          <p part="meta">v${v.runningVersion ?? v.version} · ${v.containerName}</p>
        </div>
        <archy-status-badge state=${d.visualState} theme=${this.theme}></archy-status-badge>
      </div>
      ${
      health === nothing && resources === nothing && data === nothing && shownPorts(d).length === 0 && v.uiPort === null
        ? nothing
        : html`<dl part="details">${health}${this.links(d)}${data}${resources}</dl>`
    }
      ${this.dependencyNotice(d)} ${crash} ${this.errors(d)}
      ${
      logShown(d)
        ? html`<archy-install-log
            app-id=${v.id}
            .client=${this.client}
            ?active=${d.visualState === "installing" || d.visualState === "updating"}
            theme=${this.theme}
          ></archy-install-log>`
        : nothing
    }
      ${this.logs(d)}
      ${this.backups(d)}
      <div part="actions">
        <archy-lifecycle-button app-id=${v.id} app-name=${v.name} state=${d.visualState} theme=${this.theme}></archy-lifecycle-button>
        ${this.updateButton(d)} ${this.removeControls(d)}
      </div>
      ${this.removeConfirmation(d)}
      <div class="visually-hidden" role="status" aria-live="polite">${this.announcement}</div>
    </article>`
  }
}
