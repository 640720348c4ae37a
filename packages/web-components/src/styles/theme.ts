/**
 * The design tokens every element shares: `--archy-*` custom properties with light and dark
 * defaults. A page themes the components by setting the public properties on any ancestor;
 * the private `--_archy-*` ones are internal.
 *
 * @since 0.1.0
 */
import { css } from "lit"

const light = css`
  --_archy-bg: var(--archy-bg, #f6f7f9);
  --_archy-surface: var(--archy-surface, #ffffff);
  --_archy-text: var(--archy-text, #16181d);
  --_archy-muted: var(--archy-muted, #5b6270);
  --_archy-border: var(--archy-border, #dfe2e8);
  --_archy-accent: var(--archy-accent, #c2410c);
  --_archy-accent-text: var(--archy-accent-text, #ffffff);
  --_archy-success: var(--archy-success, #166534);
  --_archy-warning: var(--archy-warning, #854d0e);
  --_archy-danger: var(--archy-danger, #b91c1c);
  --_archy-danger-bg: var(--archy-danger-bg, #fef2f2);
  --_archy-neutral-bg: var(--archy-neutral-bg, #eef0f3);
  --_archy-focus: var(--archy-focus, #2563eb);
`

const dark = css`
  --_archy-bg: var(--archy-bg, #0f1115);
  --_archy-surface: var(--archy-surface, #181b21);
  --_archy-text: var(--archy-text, #e8eaee);
  --_archy-muted: var(--archy-muted, #9aa3b2);
  --_archy-border: var(--archy-border, #2b303a);
  --_archy-accent: var(--archy-accent, #f97316);
  --_archy-accent-text: var(--archy-accent-text, #1a0d03);
  --_archy-success: var(--archy-success, #4ade80);
  --_archy-warning: var(--archy-warning, #facc15);
  --_archy-danger: var(--archy-danger, #f87171);
  --_archy-danger-bg: var(--archy-danger-bg, #2a1215);
  --_archy-neutral-bg: var(--archy-neutral-bg, #232731);
  --_archy-focus: var(--archy-focus, #60a5fa);
`

/**
 * The host rules every element starts its styles with: tokens for light and dark (the `theme`
 * attribute wins over `prefers-color-scheme`), the font, and a hidden attribute that hides.
 *
 * @since 0.1.0
 * @category styles
 */
export const theme = css`
  :host {
    ${light}
    --_archy-radius: var(--archy-radius, 10px);
    --_archy-font: var(--archy-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    color-scheme: light;
    font-family: var(--_archy-font);
    color: var(--_archy-text);
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme="light"])) {
      ${dark}
      color-scheme: dark;
    }
  }
  :host([theme="dark"]) {
    ${dark}
    color-scheme: dark;
  }
  :host([hidden]) {
    display: none !important;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0, 0, 0, 0);
    white-space: nowrap;
    border: 0;
  }
`

/**
 * The values of the `theme` attribute: `auto` follows the system.
 *
 * @since 0.1.0
 * @category models
 */
export type Theme = "auto" | "light" | "dark"
