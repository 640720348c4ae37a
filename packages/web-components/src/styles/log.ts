/**
 * What both log views share (`archy-container-logs`, `archy-install-log`): the theme, a block
 * host, and the panel their lines scroll in: monospace on the page's background, bounded by
 * `--archy-log-max-height`, with a focus ring (it takes focus so a keyboard can scroll it). Each
 * view gives its element the `log-panel` class and sets its own font size, line height, wrapping
 * and default height (`--_archy-log-default-height` on its host).
 *
 * @since 0.1.0
 */
import { css } from "lit"
import { theme } from "./theme.js"

/**
 * @since 0.1.0
 * @category styles
 */
export const logView = [
  theme,
  css`
    :host {
      display: block;
    }
    .log-panel {
      margin: 0;
      padding: 0.5rem 0.65rem;
      max-height: var(--archy-log-max-height, var(--_archy-log-default-height));
      overflow: auto;
      border-radius: calc(var(--_archy-radius) * 0.6);
      background: var(--_archy-bg);
      border: 1px solid var(--_archy-border);
      font-family: var(--archy-mono-font, ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace);
    }
    .log-panel:focus-visible {
      outline: 3px solid var(--_archy-focus);
      outline-offset: 2px;
    }
  `
]
