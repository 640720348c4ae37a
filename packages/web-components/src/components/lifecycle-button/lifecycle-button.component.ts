/**
 * @since 0.1.0
 */
import { VisualState } from "@archipelago/orchestrator/domain"
import { html, LitElement, nothing } from "lit"
import type { TemplateResult } from "lit"
import { property } from "lit/decorators.js"
import type { LifecycleOp } from "../../client/Protocol.js"
import type { Theme } from "../../styles/theme.js"
import { styles } from "./lifecycle-button.styles.js"

/**
 * The detail of `archy-lifecycle-request`.
 *
 * @since 0.1.0
 * @category models
 */
export interface LifecycleRequestDetail {
  readonly appId: string
  readonly op: LifecycleOp
  /** A remove that deletes the app's data too (asked only by the card's confirmation). */
  readonly purge?: boolean
}

/**
 * The event a lifecycle button dispatches when the user asks for an operation.
 *
 * @since 0.1.0
 * @category models
 */
export type LifecycleRequestEvent = CustomEvent<LifecycleRequestDetail>

/**
 * The one primary button of an app (Install, Stop, Start, or a disabled "Stopping…" with a
 * spinner while an operation runs), plus a Restart button while the app runs. The labels come
 * from `VisualState.primaryButton`, the table the whole project shares. The element only
 * asks: it dispatches `archy-lifecycle-request`, and whoever owns the client performs it.
 * While transitional the button stays focusable (`aria-disabled`, not `disabled`) so keyboard
 * focus is not lost when it changes under the user.
 *
 * @event archy-lifecycle-request - `{ appId, op }`, bubbles and crosses shadow roots; only on a user's click or key press.
 * @csspart base - The wrapper of both buttons.
 * @csspart button - The primary button.
 * @csspart label - The primary button's text.
 * @csspart spinner - The spinner shown while transitional.
 * @csspart restart - The Restart button.
 * @cssproperty --archy-accent - Background of the primary button.
 * @cssproperty --archy-accent-text - Text colour of the primary button.
 * @cssproperty --archy-focus - Focus ring colour.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyLifecycleButton extends LitElement {
  static override styles = styles

  /** The app the buttons act on. */
  @property({ attribute: "app-id" })
  appId = ""

  /** The app's name, for screen-reader labels ("Stop LND"). */
  @property({ attribute: "app-name" })
  appName = ""

  /** The visual state that decides the buttons. */
  @property({ reflect: true })
  state: VisualState.VisualState = "not-installed"

  /** `auto` (the system's choice), `light` or `dark`. */
  @property({ reflect: true })
  theme: Theme = "auto"

  private request(op: LifecycleOp): void {
    this.dispatchEvent(
      new CustomEvent<LifecycleRequestDetail>("archy-lifecycle-request", {
        detail: { appId: this.appId, op },
        bubbles: true,
        composed: true,
        cancelable: true
      })
    )
  }

  private onPrimary(): void {
    const action = VisualState.primaryButton(this.state).action
    if (action === "install" || action === "start" || action === "stop") this.request(action)
  }

  private named(label: string): string {
    return this.appName === "" ? label : `${label} ${this.appName}`
  }

  protected override render(): TemplateResult {
    const b = VisualState.primaryButton(this.state)
    return html`<div part="base">
      <button
        part="button"
        type="button"
        data-action=${b.action ?? "none"}
        aria-busy=${b.spinner ? "true" : "false"}
        aria-disabled=${b.disabled ? "true" : "false"}
        aria-label=${this.named(b.label)}
        @click=${b.disabled ? undefined : this.onPrimary}
      >
        ${b.spinner ? html`<span part="spinner" aria-hidden="true"></span>` : nothing}<span part="label">${b.label}</span>
      </button>
      ${
      VisualState.showsRestart(this.state)
        ? html`<button part="restart" type="button" aria-label=${this.named("Restart")} @click=${this.onRestart}>
              Restart
            </button>`
        : nothing
    }
    </div>`
  }

  private onRestart(): void {
    this.request("restart")
  }
}
