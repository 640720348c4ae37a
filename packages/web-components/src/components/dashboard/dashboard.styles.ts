/**
 * @since 0.1.0
 */
import { css } from "lit"
import { theme } from "../../styles/theme.js"

/**
 * @since 0.1.0
 * @category styles
 */
export const styles = [
  theme,
  css`
    :host {
      display: block;
      background: var(--_archy-bg);
      padding: var(--archy-dashboard-padding, 1.5rem);
      box-sizing: border-box;
    }
    [part="header"] {
      display: flex;
      align-items: baseline;
      justify-content: space-between;
      gap: 1rem;
      margin: 0 0 1rem;
    }
    [part="title"] {
      margin: 0;
      font-size: 1.375rem;
      font-weight: 700;
      letter-spacing: -0.01em;
    }
    [part="summary"] {
      margin: 0;
      color: var(--_archy-muted);
      font-size: 0.875rem;
    }
    [part="banner"] {
      display: flex;
      align-items: center;
      gap: 0.6rem;
      margin: 0 0 1rem;
      padding: 0.65rem 0.9rem;
      border-radius: var(--_archy-radius);
      background: var(--_archy-danger-bg);
      color: var(--_archy-danger);
      border: 1px solid color-mix(in srgb, var(--_archy-danger) 35%, transparent);
      font-size: 0.875rem;
      font-weight: 600;
    }
    [part="disk-banner"] {
      display: flex;
      align-items: center;
      gap: 0.6rem;
      margin: 0 0 1rem;
      padding: 0.65rem 0.9rem;
      border-radius: var(--_archy-radius);
      background: color-mix(in srgb, var(--_archy-warning) 14%, transparent);
      color: var(--_archy-text);
      border: 1px solid color-mix(in srgb, var(--_archy-warning) 45%, transparent);
      font-size: 0.875rem;
      font-weight: 600;
      overflow-wrap: anywhere;
    }
    [part="disk-banner"][data-level="critical"] {
      background: var(--_archy-danger-bg);
      color: var(--_archy-danger);
      border-color: color-mix(in srgb, var(--_archy-danger) 35%, transparent);
    }
    [part="grid"] {
      display: grid;
      /* min(100%, …): a narrow screen gets one full-width column instead of a scrolling page */
      grid-template-columns: repeat(auto-fill, minmax(min(100%, var(--archy-card-min-width, 17rem)), 1fr));
      gap: var(--archy-gap, 1rem);
      margin: 0;
      padding: 0;
      list-style: none;
    }
    [part="grid"] > li {
      display: grid;
      /* a grid item's automatic minimum is its content's width: a long word would push the
         card past its column into the next one */
      min-width: 0;
    }
    [part="empty"] {
      color: var(--_archy-muted);
    }
  `
]
