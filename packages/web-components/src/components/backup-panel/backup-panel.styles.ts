/**
 * @since 0.1.0
 */
import { css } from "lit"

/**
 * @since 0.1.0
 * @category styles
 */
export const styles = css`
  :host {
    display: block;
    font-size: 0.9em;
  }
  [part="panel"] {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5em;
    margin: 0.5em 0 0;
  }
  [part="summary"] {
    flex: 1 1 12em;
    margin: 0;
  }
  button {
    font: inherit;
    padding: 0.25em 0.75em;
    border-radius: var(--archy-radius, 6px);
    border: 1px solid var(--archy-border, #ccc);
    background: var(--archy-surface, #fff);
    color: inherit;
    cursor: pointer;
  }
  [part="warning"],
  [part="confirm"] {
    flex: 1 1 100%;
    margin: 0;
    color: var(--archy-warning, #8a4b00);
  }
  button[disabled] {
    opacity: 0.6;
    cursor: default;
  }
`
