/**
 * Geometry checks of the dashboard in the page: every card's box against every other card's,
 * and every visible element inside a card (through nested shadow roots) against its card.
 */
import type { Page } from "playwright-core"

export interface LayoutProblem {
  readonly kind: "overlap" | "outside" | "page-scrolls"
  readonly what: string
}

/** The widths the layout must hold at, from the smallest phone up. */
export const widths = [320, 375, 768, 1024, 1280, 1920] as const

/** Returns every overlap of two cards, every element drawn outside its card, and horizontal page scroll. */
export const layoutProblems = (page: Page): Promise<ReadonlyArray<LayoutProblem>> =>
  page.evaluate(() => {
    const problems: Array<{ kind: "overlap" | "outside" | "page-scrolls"; what: string }> = []
    const tolerance = 0.5
    const dashboard = document.querySelector("archy-dashboard")!
    const cards = [...dashboard.shadowRoot!.querySelectorAll("archy-app-card")]
    const frame = (card: Element) => card.shadowRoot!.querySelector("[part=card]")!.getBoundingClientRect()
    const boxes = cards.map((c) => ({ id: c.getAttribute("app-id") ?? "?", box: frame(c) }))
    const fmt = (r: DOMRect) => `${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}x${Math.round(r.height)}`
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!.box
        const b = boxes[j]!.box
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left)
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)
        if (w > tolerance && h > tolerance) {
          problems.push({ kind: "overlap", what: `${boxes[i]!.id} (${fmt(a)}) overlaps ${boxes[j]!.id} (${fmt(b)})` })
        }
      }
    }
    const hidden = (el: Element): boolean => {
      for (let e: Element | null = el; e !== null; e = e.parentElement ?? ((e.getRootNode() as ShadowRoot).host ?? null)) {
        if (e.classList.contains("visually-hidden")) return true
      }
      return false
    }
    const walk = (root: ShadowRoot | Element, visit: (el: Element) => void) => {
      for (const el of root.querySelectorAll("*")) {
        visit(el)
        if (el.shadowRoot !== null) walk(el.shadowRoot, visit)
      }
    }
    for (const { id, box } of boxes) {
      const card = cards.find((c) => c.getAttribute("app-id") === id)!
      walk(card.shadowRoot!, (el) => {
        const r = el.getBoundingClientRect()
        if (r.width === 0 || r.height === 0 || hidden(el)) return
        // the element's box and its own text's boxes (text inside a child is checked with the child)
        const texts = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? "").trim() !== "")
        const textRects = texts.flatMap((t) => {
          const range = document.createRange()
          range.selectNodeContents(t)
          return [...range.getClientRects()]
        })
        for (const drawn of [r, ...textRects]) {
          if (drawn.width === 0 || drawn.height === 0) continue
          if (drawn.left < box.left - tolerance || drawn.right > box.right + tolerance ||
            drawn.top < box.top - tolerance || drawn.bottom > box.bottom + tolerance) {
            const name = `${el.tagName.toLowerCase()}${el.getAttribute("part") === null ? "" : `[part=${el.getAttribute("part")}]`}`
            problems.push({ kind: "outside", what: `${id}: ${name} at ${fmt(drawn)} leaves its card ${fmt(box)}` })
            break
          }
        }
      })
    }
    if (document.documentElement.scrollWidth > window.innerWidth + tolerance) {
      problems.push({ kind: "page-scrolls", what: `the page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window` })
    }
    return problems
  })
