import { describe, expect, it } from "@effect/vitest"
import { AppState, VisualState } from "../src/domain/index.js"

// The table of docs/background.md ("The primary button"), verbatim: visual state | click | label | spinner | disabled.
const table = `
| not-installed | install | Install | no | no |
| running | stop | Stop | no | no |
| stopped | start | Start | no | no |
| starting | — | Starting… | yes | yes |
| stopping | — | Stopping… | yes | yes |
| restarting | — | Restarting… | yes | yes |
| installing | — | Installing… | yes | yes |
| updating | — | Updating… | yes | yes |
| removing | — | Removing… | yes | yes |
`
const rows = table
  .trim()
  .split("\n")
  .map((line) => line.split("|").slice(1, -1).map((c) => c.trim()))

describe("VisualState", () => {
  it.each(rows)("%s: click %s, label %s, spinner %s, disabled %s", (visual, click, label, spinner, disabled) => {
    const button = VisualState.primaryButton(visual as VisualState.VisualState)
    expect(button).toEqual({
      action: click === "—" ? undefined : click,
      label,
      spinner: spinner === "yes",
      disabled: disabled === "yes"
    })
    expect(VisualState.showsRestart(visual as VisualState.VisualState)).toBe(visual === "running")
  })

  it("maps raw exited, created, paused and installed states to stopped", () => {
    for (const s of ["exited", "installed", "stopped", "failed"] as const) {
      expect(VisualState.ofState(s)).toBe("stopped")
    }
  })

  it("maps every app state to a visual state with a button", () => {
    for (const s of AppState.all) {
      const visual = VisualState.ofState(s)
      const button = VisualState.primaryButton(visual)
      expect(button.label.length).toBeGreaterThan(0)
      expect(button.disabled).toBe(AppState.isTransitional(s))
      expect(button.spinner).toBe(AppState.isTransitional(s))
    }
  })

  it("maps every transitional state to its own busy label", () => {
    expect(VisualState.ofState("stopping")).toBe("stopping")
    expect(VisualState.statusLabel("stopping")).toBe("Stopping…")
    expect(VisualState.statusLabel("running")).toBe("Running")
    expect(VisualState.statusLabel("not-installed")).toBe("Not installed")
  })
})
