/**
 * @since 0.1.0
 */
import { html, LitElement, nothing } from "lit"
import type { PropertyValues, TemplateResult } from "lit"
import { property } from "lit/decorators.js"
import { repeat } from "lit/directives/repeat.js"
import { ArchyClient } from "../../client/ArchyClient.js"
import { ArchyController } from "../../client/ArchyController.js"
import { formatBytes } from "../app-card/app-card.component.js"
import type { Theme } from "../../styles/theme.js"
import "../app-card/app-card.js"
import { styles } from "./dashboard.styles.js"

/**
 * Every app of the node as a grid of cards, live from the server, with a banner while the
 * connection is lost and one while the data disk runs out of free space. Give it a `client`, or let it make one from `url` and `token` (without a
 * token it relies on the same-origin session cookie).
 *
 * @csspart header - The title row.
 * @csspart title - The heading.
 * @csspart summary - "3 of 5 running".
 * @csspart banner - The connection-lost banner.
 * @csspart disk-banner - The data disk's warning (`data-level` is `warn` or `critical`), shown while its free space is below the server's thresholds.
 * @csspart grid - The list of cards.
 * @csspart empty - Text shown before any app arrives.
 * @cssproperty --archy-bg - Page background.
 * @cssproperty --archy-text - Text colour.
 * @cssproperty --archy-muted - Secondary text colour.
 * @cssproperty --archy-danger - Colour of errors and the banner.
 * @cssproperty --archy-card-min-width - Minimum card width of the grid.
 * @cssproperty --archy-gap - Gap between cards.
 * @cssproperty --archy-dashboard-padding - Padding around the dashboard.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyDashboard extends LitElement {
  static override styles = styles

  /** The server's base URL; defaults to the page's origin. Ignored when `client` is set. */
  @property()
  url = ""

  /** A bearer token. Ignored when `client` is set. */
  @property()
  token = ""

  /** The heading above the grid. */
  @property()
  heading = "Apps"

  /** `auto` (the system's choice), `light` or `dark`. */
  @property({ reflect: true })
  theme: Theme = "auto"

  /** The client to follow; made from `url` and `token` when not given. */
  @property({ attribute: false })
  client: ArchyClient | undefined

  private readonly archy = new ArchyController(this)
  private owned: ArchyClient | undefined
  private stopWatchingDisk: (() => void) | undefined
  private diskClient: ArchyClient | undefined

  override connectedCallback(): void {
    super.connectedCallback()
    this.watchDisk()
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    this.stopWatchingDisk?.()
    this.stopWatchingDisk = undefined
    this.diskClient = undefined
  }

  /** The disk report is asked for while the dashboard is in the page. */
  private watchDisk(): void {
    const client = this.isConnected ? this.archy.client : undefined
    if (client === this.diskClient) return
    this.stopWatchingDisk?.()
    this.diskClient = client
    this.stopWatchingDisk = client?.watchDisk()
  }

  private diskBanner(client: ArchyClient | undefined): TemplateResult | typeof nothing {
    const disk = client?.disk
    if (disk === undefined || disk.level === "ok") return nothing
    const pct = disk.totalBytes <= 0 ? 0 : (disk.freeBytes / disk.totalBytes) * 100
    return html`<div part="disk-banner" data-level=${disk.level} role="alert">
      <span aria-hidden="true">⚠</span>
      <span>Data disk: ${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)} % free (${formatBytes(disk.freeBytes)} of ${
      formatBytes(disk.totalBytes)
    }) — Bitcoin Core stops when the disk fills.</span>
    </div>`
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("client") || changed.has("url") || changed.has("token") || this.archy.client === undefined) {
      this.archy.client = this.effectiveClient()
    }
    this.watchDisk()
  }

  private effectiveClient(): ArchyClient {
    if (this.client !== undefined) return this.client
    const same = this.owned !== undefined &&
      this.owned.token === (this.token === "" ? undefined : this.token) &&
      (this.url === "" || this.owned.baseUrl === this.url.replace(/\/+$/, ""))
    if (!same) {
      this.owned = new ArchyClient({
        ...(this.url === "" ? {} : { url: this.url }),
        ...(this.token === "" ? {} : { token: this.token })
      })
    }
    return this.owned!
  }

  protected override render(): TemplateResult {
    const client = this.archy.client
    const apps = client?.apps ?? []
    const running = apps.filter((a) => a.visualState === "running").length
    const lost = client?.connection === "lost"
    return html`
      <div part="header">
        <h2 part="title">${this.heading}</h2>
        ${apps.length === 0 ? nothing : html`<p part="summary">${running} of ${apps.length} running</p>`}
      </div>
      <div role="status" aria-live="polite">
        ${
      lost
        ? html`<div part="banner">
            <span aria-hidden="true">⚠</span>
            <span>Connection to the server lost: reconnecting. Showing the last known state.</span>
          </div>`
        : nothing
    }
      </div>
      ${this.diskBanner(client)}
      ${
      apps.length === 0
        ? html`<p part="empty">${
          client?.connection === "lost"
            ? "Cannot reach the server."
            : client?.store.loaded === true
            ? "No apps in the catalog: add an app's folder with its manifest.yml to the apps folder."
            : "Loading apps…"
        }</p>`
        : html`<ul part="grid" aria-label=${this.heading}>
            ${
          repeat(
            apps,
            (a) => a.view.id,
            (a) =>
              html`<li>
                <archy-app-card app-id=${a.view.id} .client=${client} theme=${this.theme}></archy-app-card>
              </li>`
          )
        }
          </ul>`
    }
    `
  }
}
