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
 * An app's backups: the last archive's age and size, the age of the newest copy of each watched
 * file (LND's `channel.backup`), and Back up / Restore buttons that request the operations
 * through the client. Reads `backup-list` when it appears, when the server pushes that the app's
 * backups changed (`backups.changed`, e.g. a new copy of LND's `channel.backup`), when the live
 * connection reopens and when an operation of the app ends; it never polls.
 *
 * @csspart panel - The row.
 * @csspart summary - The last backup and watched files, in words.
 * @csspart backup - The Back up button.
 * @csspart restore - The Restore button.
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
    void this.client.request(op, this.appId)
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
    for (const w of s?.watched ?? []) {
      const name = w.path.split("/").at(-1) ?? w.path
      lines.push(w.lastCopyAt === null ? `${name}: no copy yet` : `${name} copied ${formatAge(this.now - w.lastCopyAt)}`)
    }
    const label = this.appName === "" ? this.appId : this.appName
    return html`<div part="panel">
      <p part="summary">${lines.join(" · ")}</p>
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
