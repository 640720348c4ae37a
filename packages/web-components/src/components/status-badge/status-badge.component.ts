/**
 * @since 0.1.0
 */
import { VisualState } from "@archipelago/orchestrator/domain"
import { html, LitElement } from "lit"
import type { PropertyValues, TemplateResult } from "lit"
import { property } from "lit/decorators.js"
import type { Theme } from "../../styles/theme.js"
import { styles } from "./status-badge.styles.js"

/**
 * A pill naming an app's visual state ("Running", "Stopping…"), with a pulsing dot while an
 * operation runs.
 *
 * @csspart badge - The pill.
 * @csspart dot - The coloured dot.
 * @cssproperty --archy-success - Colour of the running state.
 * @cssproperty --archy-warning - Colour of transitional states.
 * @cssproperty --archy-badge-font-size - Font size of the pill.
 *
 * @since 0.1.0
 * @category components
 */
export class ArchyStatusBadge extends LitElement {
  static override styles = styles

  /** The visual state to show. */
  @property({ reflect: true })
  state: VisualState.VisualState = "not-installed"

  /** `auto` (the system's choice), `light` or `dark`. */
  @property({ reflect: true })
  theme: Theme = "auto"

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("state")) this.toggleAttribute("busy", VisualState.isBusy(this.state))
  }

  protected override render(): TemplateResult {
    return html`<span part="badge"><span part="dot" aria-hidden="true"></span>${VisualState.statusLabel(this.state)}</span>`
  }
}
