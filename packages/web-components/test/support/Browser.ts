/**
 * Debian's Chromium driven by playwright-core, headless, with a fresh profile per launch.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"
import type { BrowserContext, Page } from "playwright-core"

export const chromiumPath = "/usr/bin/chromium"
export const hasChromium = existsSync(chromiumPath)
if (!hasChromium) console.warn(`browser tests skipped: ${chromiumPath} is missing (apt-get install chromium)`)

export const chromiumArgs = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

export interface Browser {
  readonly context: BrowserContext
  newPage(options?: { readonly colorScheme?: "light" | "dark" }): Promise<Page>
  close(): Promise<void>
}

export const launch = async (): Promise<Browser> => {
  const profile = mkdtempSync(join(tmpdir(), "archy-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    headless: true,
    viewport: { width: 1200, height: 800 }
  })
  return {
    context,
    newPage: async (options = {}) => {
      const page = await context.newPage()
      await page.emulateMedia({ colorScheme: options.colorScheme ?? "light", reducedMotion: "reduce" })
      page.on("pageerror", (e) => console.error("page error:", e.message))
      return page
    },
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}
