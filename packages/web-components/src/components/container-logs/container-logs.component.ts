/**
 * @since 0.1.0
 */
import { html, LitElement, nothing } from "lit"
import type { PropertyValues, TemplateResult } from "lit"
import { property, state } from "lit/decorators.js"
import type { ArchyClient } from "../../client/ArchyClient.js"
import type { Theme } from "../../styles/theme.js"
import { styles } from "./container-logs.styles.js"

/**
 * Lines kept in the element; older ones are let go.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLines = 1000

/**
 * An app's container log, followed live over the client's socket while the element is in the
 * page: the last `tail` lines, then each new one. When the container stops the log says so, and
 * following starts again when `running` turns true. Removing the element stops the follow (and
 * the server's engine process behind it).
 *
 * @csspart log - The scrolling block of log lines (a log region).
 * @csspart status - What the follow is doing: following, ended, lines skipped.
 * @cssproperty --archy-log-max-height - Height before the log scrolls.
 * @cssproperty --archy-mono-font - Font of the log lines.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyContainerLogs extends LitElement {
  static override styles = styles

  /** The app whose container log to follow. */
  @property({ attribute: "app-id" })
  appId = ""

  /** The client whose socket carries the follow. */
  @property({ attribute: false })
  client: ArchyClient | undefined

  /** Lines of history to start with. */
  @property({ type: Number })
  tail = 200

  /** Whether the app runs; a log that ended is followed again when this turns true. */
  @property({ type: Boolean })
  running = true

  /** `auto` (the system's choice), `light` or `dark`. */
  @property({ reflect: true })
  theme: Theme = "auto"

  @state()
  private lines: ReadonlyArray<string> = []

  @state()
  private status: "following" | "ended" | "idle" = "idle"

  @state()
  private reason = ""

  @state()
  private dropped = 0

  private stopFollowing: (() => void) | undefined

  override connectedCallback(): void {
    super.connectedCallback()
    this.follow()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.unfollow()
  }

  protected override updated(changed: PropertyValues<this>): void {
    const following = this.followed
    if (following !== undefined && (following.client !== this.client || following.appId !== this.appId || following.tail !== this.tail)) {
      this.unfollow()
      this.follow()
    } else if (following === undefined && (changed.has("appId") || changed.has("client") || changed.has("tail"))) {
      this.follow()
    } else if (changed.has("running") && this.running && this.status === "ended") {
      this.follow()
    }
  }

  // what the live follow was started with: the first update after connecting sees every
  // property as "changed", and must not follow a second time what connecting already follows
  private followed: { readonly client: ArchyClient; readonly appId: string; readonly tail: number } | undefined

  private follow(): void {
    const client = this.client
    if (client === undefined || this.appId === "" || !this.isConnected || this.stopFollowing !== undefined) return
    this.followed = { client, appId: this.appId, tail: this.tail }
    this.lines = []
    this.dropped = 0
    this.reason = ""
    this.status = "following"
    this.stopFollowing = client.followLogs(this.appId, {
      onLines: (lines, dropped) => this.appendLines(lines, dropped),
      onEnd: (reason) => {
        this.stopFollowing = undefined
        this.followed = undefined
        this.status = "ended"
        this.reason = reason
      },
      onReset: () => {
        this.lines = []
        this.dropped = 0
      }
    }, this.tail)
  }

  private unfollow(): void {
    this.stopFollowing?.()
    this.stopFollowing = undefined
    this.followed = undefined
    this.status = "idle"
  }

  private appendLines(lines: ReadonlyArray<string>, dropped: number): void {
    const box = this.renderRoot.querySelector("[part=log]")
    const atBottom = box === null || box.scrollHeight - box.scrollTop - box.clientHeight < 8
    const next = [...this.lines, ...lines]
    this.lines = next.length > maxLines ? next.slice(next.length - maxLines) : next
    this.dropped += dropped
    if (atBottom) void this.updateComplete.then(() => {
      const b = this.renderRoot.querySelector("[part=log]")
      if (b !== null) b.scrollTop = b.scrollHeight
    })
  }

  private statusText(): string {
    const skipped = this.dropped > 0 ? ` ${this.dropped} lines skipped while this page fell behind.` : ""
    switch (this.status) {
      case "following":
        return `Following the log.${skipped}`
      case "ended":
        return `${this.reason === "stopped" ? "The container stopped; the log ends here." : `The log ended: ${this.reason}`}${skipped}`
      case "idle":
        return skipped.trim()
    }
  }

  protected override render(): TemplateResult {
    const text = this.statusText()
    return html`
      <pre part="log" class="log-panel" role="log" aria-label="Container log" tabindex="0">${
      this.lines.length === 0 ? html`<span class="empty">${this.status === "following" ? "Waiting for log lines…" : "No log lines."}</span>` : this.lines.join("\n")
    }</pre>
      ${text === "" ? nothing : html`<p part="status">${text}</p>`}
    `
  }
}
