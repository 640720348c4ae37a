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
      display: inline-flex;
      vertical-align: middle;
    }
    [part="badge"] {
      display: inline-flex;
      align-items: center;
      gap: 0.4em;
      padding: 0.2em 0.65em;
      border-radius: 999px;
      font-size: var(--archy-badge-font-size, 0.8125rem);
      font-weight: 600;
      line-height: 1.4;
      background: var(--_archy-neutral-bg);
      color: var(--_archy-muted);
      white-space: nowrap;
    }
    [part="dot"] {
      width: 0.55em;
      height: 0.55em;
      border-radius: 50%;
      background: currentColor;
      flex: none;
    }
    :host([state="running"]) [part="badge"] {
      color: var(--_archy-success);
      background: color-mix(in srgb, var(--_archy-success) 14%, transparent);
    }
    :host([busy]) [part="badge"] {
      color: var(--_archy-warning);
      background: color-mix(in srgb, var(--_archy-warning) 16%, transparent);
    }
    :host([busy]) [part="dot"] {
      animation: archy-pulse 1.2s ease-in-out infinite;
    }
    @keyframes archy-pulse {
      50% {
        opacity: 0.3;
      }
    }
    @media (prefers-reduced-motion: reduce) {
      :host([busy]) [part="dot"] {
        animation: none;
      }
    }
  `
]
