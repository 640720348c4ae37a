/**
 * The code blocks of a README, sorted the way `ReadmeExamples.test.ts` runs them: the install
 * line, the examples (each with how it runs) and reference blocks that are only read.
 */

/** How an example runs: to its end, as a server until it prints a text, or as a page's code. */
export type Mode =
  | { readonly kind: "runs" }
  | { readonly kind: "serves"; readonly text: string }
  | { readonly kind: "browser" }
  /** a client: run with `ARCHY_URL`/`ARCHY_TOKEN` of a running server where `app` is installed, and `app` as its argument */
  | { readonly kind: "client"; readonly app: string }

/** A block to run: its language, its 1-based line in the README, its code and mode. */
export interface Example {
  readonly lang: "ts" | "js" | "html" | "sh"
  readonly line: number
  readonly code: string
  readonly mode: Mode
}

/** The README's `npm install …` line: its text, npm's arguments and the packages it names. */
export interface InstallLine {
  readonly text: string
  readonly args: ReadonlyArray<string>
  readonly packages: ReadonlyArray<string>
}

/** What `parse` finds. */
export interface Blocks {
  /** The first install line: what a user runs first. */
  readonly install: { readonly line: InstallLine; readonly at: number } | undefined
  /** Every `npm install` line of the README's shell blocks, in order (the first is `install`). */
  readonly installs: ReadonlyArray<{ readonly line: InstallLine; readonly at: number }>
  readonly examples: ReadonlyArray<Example>
  /** Blocks only read (command tables, a shell session for developers), by line. */
  readonly reference: ReadonlyArray<number>
}

const marker = /^<!--\s*readme-test:\s*(runs|browser|serves\s+"([^"]+)"|client\s+"([^"]+)")\s*-->$/

const modeOf = (comment: string | undefined): Mode | undefined => {
  const m = comment === undefined ? null : marker.exec(comment.trim())
  if (m === null) return undefined
  if (m[1] === "runs") return { kind: "runs" }
  if (m[1] === "browser") return { kind: "browser" }
  if (m[3] !== undefined) return { kind: "client", app: m[3] }
  return { kind: "serves", text: m[2]! }
}

/** Splits `npm install a b --flag # comment` into npm's arguments and the packages named. */
export const installLine = (text: string): InstallLine => {
  const words = text.replace(/\s#.*$/, "").trim().split(/\s+/).slice(1)
  return { text: text.trim(), args: words, packages: words.slice(1).filter((w) => !w.startsWith("-")) }
}

/**
 * Reads the fenced blocks of `readme`. The first ```sh block with an `npm install` line holds the
 * install line; its other commands are examples. A later block's `npm install` lines (a library
 * entry's peers, say) are install lines too, run in order. Other ```sh blocks are reference
 * unless a marker comment precedes them. ```html blocks, and ```js blocks importing from `/assets/`, are
 * a page's code; other ```ts/```js blocks are examples that run.
 */
export const parse = (readme: string): Blocks => {
  const lines = readme.split("\n")
  let install: Blocks["install"] = undefined
  const installs: Array<{ readonly line: InstallLine; readonly at: number }> = []
  const examples: Array<Example> = []
  const reference: Array<number> = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!)
    if (open === null) continue
    const lang = open[1]!
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++
    const body = lines.slice(start, end)
    const code = body.join("\n") + "\n"
    let before = i - 1
    while (before >= 0 && lines[before]!.trim() === "") before--
    const mode = modeOf(before >= 0 ? lines[before] : undefined)
    const at = start + 1 // 1-based line of the block's first line
    i = end
    if (lang === "sh" || lang === "bash") {
      body.forEach((l, k) => {
        if (/^npm install\s/.test(l.trim())) installs.push({ line: installLine(l), at: at + k })
      })
      const npmInstall = body.findIndex((l) => /^npm install\s/.test(l.trim()))
      if (install === undefined && npmInstall >= 0) {
        install = { line: installLine(body[npmInstall]!), at: at + npmInstall }
        body.forEach((l, k) => {
          const command = l.replace(/\s#.*$/, "").trim()
          if (k !== npmInstall && command !== "" && !command.startsWith("#")) {
            examples.push({ lang: "sh", line: at + k, code: command, mode: mode ?? { kind: "runs" } })
          }
        })
      } else if (mode !== undefined) {
        examples.push({ lang: "sh", line: at, code, mode })
      } else if (npmInstall < 0) {
        reference.push(at)
      }
    } else if (lang === "html" || (lang === "js" && /from\s+["']\/assets\//.test(code))) {
      examples.push({ lang: lang === "html" ? "html" : "js", line: at, code, mode: { kind: "browser" } })
    } else if (lang === "ts" || lang === "js" || lang === "typescript" || lang === "javascript") {
      examples.push({ lang: lang.startsWith("t") ? "ts" : "js", line: at, code, mode: mode ?? { kind: "runs" } })
    } else {
      reference.push(at)
    }
  }
  return { install, installs, examples, reference }
}

/** The names a page's code imports from the served bundle and the `archy-` elements it uses, that the bundle lacks. */
export const missingFromBundle = (code: string, bundle: string): Array<string> => {
  const exported = new Set<string>()
  for (const m of bundle.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(",")) {
      const name = part.trim().split(/\s+as\s+/).pop()
      if (name !== undefined && name !== "") exported.add(name)
    }
  }
  const missing: Array<string> = []
  for (const m of code.matchAll(/import\s*\{([^}]*)\}\s*from\s*["']\/assets\/[^"']+["']/g)) {
    for (const part of m[1]!.split(",")) {
      const name = part.trim().split(/\s+as\s+/)[0]!
      if (name !== "" && !exported.has(name)) missing.push(name)
    }
  }
  for (const m of code.matchAll(/<(archy-[a-z-]+)|querySelector\(["'](archy-[a-z-]+)/g)) {
    const tag = m[1] ?? m[2]!
    if (!bundle.includes(`"${tag}"`) && !missing.includes(tag)) missing.push(tag)
  }
  return missing
}
