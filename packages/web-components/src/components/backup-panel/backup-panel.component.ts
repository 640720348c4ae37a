/**
 * @since 0.1.0
 */
import type { VisualState } from "@archipelago/orchestrator/domain"
import { html, LitElement, nothing } from "lit"
import type { PropertyValues, TemplateResult } from "lit"
import { property, state } from "lit/decorators.js"
import type { ArchyClient } from "../../client/ArchyClient.js"
import type { BackupList } from "../../client/Protocol.js"
import { styles } from "./backup-panel.styles.js"

/**
 * An age in words, from milliseconds: `just now`, `42 s`, `5 min`, `3 h`, `2 d`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatAge = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 5) return "just now"
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(1)} GiB`

type Summary = BackupList["apps"][number]

/**
 * A time to come in words, from milliseconds: `now`, `in 42 s`, `in 5 min`, `in 3 h`, `in 2 d`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatIn = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  if (s < 5) return "now"
  if (s < 60) return `in ${s} s`
  if (s < 3600) return `in ${Math.floor(s / 60)} min`
  if (s < 86400) return `in ${Math.floor(s / 3600)} h`
  return `in ${Math.floor(s / 86400)} d`
}

/**
 * An app's backups: the last archive's age and size, the next automatic backup, the age of the
 * newest copy of each watched file (LND's `channel.backup`) with a warning when it shrank
 * sharply (the earlier copies are kept), and Back up / Restore buttons that request the
 * operations through the client. When a restore would be a channel recovery (the server's
 * `recovery`), Restore first says in plain words what will happen and asks to confirm; only the
 * confirmation sends `closeChannels: true`. Reads `backup-list` when it appears, when the server pushes that the app's
 * backups changed (`backups.changed`, e.g. a new copy of LND's `channel.backup`), when the live
 * connection reopens and when an operation of the app ends; it never polls.
 *
 * @csspart panel - The row.
 * @csspart summary - The last backup and watched files, in words.
 * @csspart backup - The Back up button.
 * @csspart restore - The Restore button.
 * @csspart warning - A watched file that shrank sharply (an emptied channel backup).
 * @csspart confirm - The channel recovery's confirmation: what will happen, and its two buttons.
 * @csspart confirm-restore - The button that confirms the channel recovery.
 * @csspart cancel - The button that cancels it.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyBackupPanel extends LitElement {
  static override styles = styles

  @property({ attribute: "app-id" })
  appId = ""

  @property({ attribute: "app-name" })
  appName = ""

  /** The app's visual state: the buttons are offered only when it is installed and idle. */
  @property()
  state: VisualState.VisualState = "stopped"

  @property({ attribute: false })
  client: ArchyClient | undefined

  /** Seconds between updates of the ages shown ("3 min ago"); no request is made for them. */
  @property({ type: Number })
  refresh = 15

  @state()
  private summary: Summary | undefined

  @state()
  private now = Date.now()

  @state()
  private confirming = false

  private timer: ReturnType<typeof setInterval> | undefined
  private watching: { readonly client: ArchyClient; readonly appId: string; readonly stop: () => void } | undefined

  override connectedCallback(): void {
    super.connectedCallback()
    this.timer = setInterval(() => {
      this.now = Date.now()
    }, Math.max(1, this.refresh) * 1000)
    this.watch()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    clearInterval(this.timer)
    this.timer = undefined
    this.watching?.stop()
    this.watching = undefined
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const was = changed.get("state") as VisualState.VisualState | undefined
    if ((was === "backing-up" || was === "restoring") && this.state !== was) void this.load()
    if (this.isConnected) this.watch()
  }

  /** Follows the backups of the app on the client (once per client and app), reading them at once. */
  private watch(): void {
    const w = this.watching
    if (w !== undefined && w.client === this.client && w.appId === this.appId) return
    w?.stop()
    this.watching = undefined
    if (this.client === undefined || this.appId === "") return
    this.watching = { client: this.client, appId: this.appId, stop: this.client.watchBackups(this.appId, () => void this.load()) }
    void this.load()
  }

  private loads = 0

  private async load(): Promise<void> {
    if (this.client === undefined || this.appId === "") return
    // answers may come back out of order: only the latest request's is shown
    const n = ++this.loads
    try {
      const list = await this.client.backupList(this.appId)
      if (n !== this.loads) return
      this.summary = list.apps.find((a) => a.appId === this.appId)
      this.now = Date.now()
    } catch {
      // a server without a backup target: the panel shows nothing
      if (n === this.loads) this.summary = undefined
    }
  }

  private request(op: "backup" | "restore"): void {
    if (this.client === undefined) return
    if (op === "restore" && this.summary?.recovery != null) {
      this.confirming = true
      return
    }
    void this.client.request(op, this.appId)
  }

  private confirmRecovery(): void {
    this.confirming = false
    if (this.client === undefined) return
    void this.client.request("restore", this.appId, { closeChannels: true })
  }

  protected override render(): TemplateResult | typeof nothing {
    if (this.client === undefined || this.state === "not-installed") return nothing
    const s = this.summary
    const last = s?.archives.at(-1)
    const busy = this.state !== "running" && this.state !== "stopped"
    const lines: Array<string> = [
      this.state === "backing-up"
        ? "Backing up…"
        : this.state === "restoring"
        ? "Restoring…"
        : last === undefined
        ? "No backup yet"
        : `Last backup ${formatAge(this.now - last.createdAt)} (${formatBytes(last.bytes)})`
    ]
    const schedule = s?.schedule
    if (schedule != null) lines.push(`automatic every ${schedule.everyHours} h, next ${formatIn(schedule.nextAt - this.now)}`)
    const label = this.appName === "" ? this.appId : this.appName
    const warnings: Array<string> = []
    for (const w of s?.watched ?? []) {
      const name = w.path.split("/").at(-1) ?? w.path
      lines.push(w.lastCopyAt === null ? `${name}: no copy yet` : `${name} copied ${formatAge(this.now - w.lastCopyAt)}`)
      if (w.shrank != null) {
        const what = name === "channel.backup" ? "channel backup" : name
        warnings.push(`${label}'s ${what} shrank from ${w.shrank.from} to ${w.shrank.to} bytes; the earlier copies are kept`)
      }
    }
    const recovery = s?.recovery ?? null
    return html`<div part="panel">
      <p part="summary">${lines.join(" · ")}</p>
      ${warnings.map((w) => html`<p part="warning" role="alert">${w}</p>`)}
      ${this.confirming && recovery !== null
      ? html`<div part="confirm" role="alertdialog" aria-label=${`Restore ${label}: channels will be closed`}>
          <p>${recovery}</p>
          <button part="confirm-restore" type="button" ?disabled=${busy} @click=${() => this.confirmRecovery()}>
            Close channels and restore
          </button>
          <button part="cancel" type="button" @click=${() => {
        this.confirming = false
      }}>Cancel</button>
        </div>`
      : nothing}
      <button part="backup" type="button" ?disabled=${busy} aria-label=${`Back up ${label}`} @click=${() => this.request("backup")}>
        Back up
      </button>
      <button part="restore" type="button" ?disabled=${busy || last === undefined} aria-label=${`Restore ${label} from its last backup`}
        @click=${() => this.request("restore")}>
        Restore
      </button>
    </div>`
  }
}
