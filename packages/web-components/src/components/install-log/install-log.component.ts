/**
 * @since 0.1.0
 */
import { html, LitElement, nothing } from "lit"
import type { PropertyValues, TemplateResult } from "lit"
import { property, state } from "lit/decorators.js"
import { ifDefined } from "lit/directives/if-defined.js"
import type { ArchyClient } from "../../client/ArchyClient.js"
import type { LogLine } from "../../client/Protocol.js"
import type { Theme } from "../../styles/theme.js"
import { styles } from "./install-log.styles.js"

/**
 * The progress a log shows: the last percentage any line mentions, or undefined (indeterminate).
 *
 * @since 0.1.0
 * @category getters
 */
export const progressOf = (lines: ReadonlyArray<LogLine>): number | undefined => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /(\d{1,3}(?:\.\d+)?)\s?%/.exec(lines[i]!.message)
    if (m !== null) return Math.min(100, Number(m[1]))
  }
  return undefined
}

const clock = (at: number): string => new Date(at).toLocaleTimeString([], { hour12: false })

/**
 * An app's install log (image pulls and builds, errors of operations), refreshed live while
 * `active`, with a progress bar.
 *
 * @csspart progress - The progress bar (shown while active).
 * @csspart lines - The list of log lines (a polite live log).
 * @csspart empty - The text shown when the log is empty.
 * @cssproperty --archy-log-max-height - Height before the log scrolls.
 * @cssproperty --archy-mono-font - Font of the log lines.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyInstallLog extends LitElement {
  static override styles = styles

  /** The app whose log to show. */
  @property({ attribute: "app-id" })
  appId = ""

  /** The client to read the log with. */
  @property({ attribute: false })
  client: ArchyClient | undefined

  /** While true the log refreshes every `interval` ms and shows a progress bar. */
  @property({ type: Boolean, reflect: true })
  active = false

  /** Refresh interval while active, in milliseconds. */
  @property({ type: Number })
  interval = 1000

  /** `auto` (the system's choice), `light` or `dark`. */
  @property({ reflect: true })
  theme: Theme = "auto"

  /** The lines shown; set by the element from the client, or by the page without one. */
  @property({ attribute: false })
  lines: ReadonlyArray<LogLine> = []

  @state()
  private error: string | null = null

  private timer: ReturnType<typeof setTimeout> | null = null

  override connectedCallback(): void {
    super.connectedCallback()
    this.schedule(0)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.cancel()
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("appId") || changed.has("client") || (changed.has("active") && this.active)) {
      this.cancel()
      this.schedule(0)
    }
    if (changed.has("lines")) {
      const list = this.renderRoot.querySelector("[part=lines]")
      if (list !== null) list.scrollTop = list.scrollHeight
    }
  }

  private schedule(delay: number): void {
    if (this.timer !== null || this.client === undefined || this.appId === "" || !this.isConnected) return
    this.timer = setTimeout(() => void this.load(), delay)
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private async load(): Promise<void> {
    const client = this.client
    const appId = this.appId
    if (client === undefined) return
    try {
      const lines = await client.installLog(appId)
      if (client === this.client && appId === this.appId) {
        this.lines = lines
        this.error = null
      }
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e)
    }
    this.timer = null
    if (this.active) this.schedule(this.interval)
  }

  protected override render(): TemplateResult {
    const progress = progressOf(this.lines)
    return html`
      ${
      this.active
        ? html`<progress part="progress" aria-label="Progress" max="100" value=${ifDefined(progress)}></progress>`
        : nothing
    }
      ${
      this.lines.length === 0
        ? html`<p part="empty">${this.error ?? "No log lines yet."}</p>`
        : html`<ol part="lines" class="log-panel" role="log" aria-live="polite" aria-label="Install log" tabindex="0">
            ${
          this.lines.map(
            (l) =>
              html`<li class=${l.level}><time datetime=${new Date(l.at).toISOString()}>${clock(l.at)}</time>${l.message}</li>`
          )
        }
          </ol>`
    }
    `
  }
}
