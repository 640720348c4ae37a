/**
 * The `archipelago` help, rendered from the commands' own options and arguments (their
 * descriptions and usage come from `@effect/cli`), but laid out for an operator: the full command
 * path in USAGE, a `command  description` table, each option with its description only (not the
 * library's "A user-defined piece of text."), and plain text unless the output is a terminal.
 */
import { Args, CliConfig, HelpDoc, Options, Usage } from "@effect/cli"
import type { Span } from "@effect/cli/HelpDoc/Span"

/** One command (or group of commands) of the tree, by its path under the program. */
export interface Entry {
  readonly path: ReadonlyArray<string>
  readonly description: string
  /** What `Command.make` took: its `Options` and `Args`, by field. */
  readonly config: Readonly<Record<string, unknown>>
  /** The names of its subcommands, in help order. */
  readonly children: ReadonlyArray<string>
}

/** A term (`--port PORT`, `<APP>`) and its description. */
export interface Definition {
  readonly term: string
  readonly text: string
}

const width = 100

/** The plain text of a span. */
export const spanText = (span: Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
  }
}

const blocks = (doc: HelpDoc.HelpDoc): ReadonlyArray<HelpDoc.HelpDoc> =>
  doc._tag === "Sequence" ? [...blocks(doc.left), ...blocks(doc.right)] : doc._tag === "Empty" ? [] : [doc]

/** The plain text of a help document (an error's, from `@effect/cli`): one line per paragraph. */
export const docText = (doc: HelpDoc.HelpDoc): string =>
  blocks(doc).map((b) => {
    switch (b._tag) {
      case "Header":
      case "Paragraph":
        return spanText(b.value)
      case "DescriptionList":
        return b.definitions.map(([term, d]) => `${spanText(term)} ${docText(d)}`).join("\n")
      case "Enumeration":
        return b.elements.map(docText).join("\n")
      default:
        return ""
    }
  }).filter((s) => s !== "").join("\n")

// what the library adds to every description: the type (always the first paragraph) and these
const libraryNotes = /^This (setting|argument|option) (is optional|may be repeated|must be repeated)/

/** The definitions of an `Options.getHelp` or `Args.getHelp` document, each with its own description only. */
export const definitions = (doc: HelpDoc.HelpDoc): ReadonlyArray<Definition> =>
  blocks(doc).flatMap((b) =>
    b._tag === "DescriptionList"
      ? b.definitions.map(([term, d]): Definition => ({
        term: spanText(term),
        text: blocks(d).slice(1).flatMap((p) => p._tag === "Paragraph" ? [spanText(p.value)] : [])
          .filter((t) => !libraryNotes.test(t)).join(" ")
      }))
      : []
  )

// (`all` of an empty record throws)
const optionsOf = (e: Entry): Options.Options<unknown> => {
  const all = Object.values(e.config).filter((v): v is Options.Options<unknown> => Options.isOptions(v))
  return all.length === 0 ? Options.none : Options.all(all)
}
const argsOf = (e: Entry): Args.Args<unknown> => {
  const all = Object.values(e.config).filter((v): v is Args.Args<unknown> => Args.isArgs(v))
  return all.length === 0 ? Args.none : Args.all(all)
}

/** The options of a command, each with its description. */
export const optionDefinitions = (e: Entry): ReadonlyArray<Definition> => definitions(Options.getHelp(optionsOf(e)))

/** The arguments of a command (`<APP>`), each with its description. */
export const argumentDefinitions = (e: Entry): ReadonlyArray<Definition> => definitions(Args.getHelp(argsOf(e)))

const usageText = (usage: Usage.Usage) =>
  Usage.enumerate(usage, CliConfig.defaultConfig).map(spanText).join(" ").trim()

// the usage's units (`[--port PORT]`, `<APP>`), a repeatable option shown as optional too
const units = (usage: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let depth = 0
  let unit = ""
  for (const word of usage.split(" ").filter((w) => w !== "")) {
    unit = unit === "" ? word : `${unit} ${word}`
    depth += (word.match(/\[/g) ?? []).length - (word.match(/\]/g) ?? []).length
    if (depth === 0 && !(word.startsWith("--") && !unit.includes(" ") && !word.endsWith("]"))) {
      out.push(/^--\S+ \S+\.\.\.$/.test(unit) ? `[${unit.slice(0, -3)}]...` : unit)
      unit = ""
    }
  }
  if (unit !== "") out.push(unit)
  return out
}

/** The usage of a command, with the program and its full path, wrapped with a hanging indent. */
export const usage = (program: string, e: Entry): string => {
  const words = e.children.length > 0
    ? ["<command>", "[options]"]
    : [...units(usageText(Options.getUsage(optionsOf(e)))), ...units(usageText(Args.getUsage(argsOf(e))))]
  const lines: Array<string> = []
  let line = [program, ...e.path].join(" ")
  for (const w of words) {
    if (line.length + 1 + w.length > width - 2 && line.trim() !== "") {
      lines.push(line)
      line = `    ${w}`
    } else line = `${line} ${w}`
  }
  lines.push(line)
  return lines.map((l) => `  ${l}`).join("\n")
}

/** `text` wrapped at the help's width, every line indented by `indent`. */
export const wrap = (text: string, indent: number): string => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  lines.push(line)
  return lines.map((l) => " ".repeat(indent) + l).join("\n")
}

/** A `term  description` table: terms padded to one column, descriptions wrapped beside them. */
const table = (rows: ReadonlyArray<Definition>): string => {
  const col = Math.min(Math.max(...rows.map((r) => r.term.length)) + 2, 30)
  return rows.map((r) => {
    const body = wrap(r.text, 2 + col).slice(2 + col)
    return r.term.length + 2 > col ? `  ${r.term}\n${" ".repeat(2 + col)}${body}` : `  ${r.term.padEnd(col)}${body}`
  }).join("\n")
}

/** The options every command takes, handled by the program itself. */
export const globalOptions: ReadonlyArray<Definition> = [
  { term: "-h, --help", text: "show this help; `archipelago <command> --help` shows a command's" },
  { term: "-v, --version", text: "print the version and exit" },
  { term: "--completions SHELL", text: "print a completion script for sh, bash, fish or zsh" },
  {
    term: "--log-level LEVEL",
    text: "the least important log lines shown: all, trace, debug, info, warning, error, fatal or none (default: info); env ARCHIPELAGO_LOG_LEVEL, config file: logLevel"
  }
]

/** The entries under `e` that are commands to run, by their path below it (`service unit`). */
const leaves = (entries: ReadonlyArray<Entry>, e: Entry): ReadonlyArray<Entry> =>
  e.children.flatMap((name) => {
    const child = entries.find((c) => c.path.join(" ") === [...e.path, name].join(" "))
    return child === undefined ? [] : child.children.length > 0 ? [child, ...leaves(entries, child)] : [child]
  })

/**
 * The help of the command at `path`: `color` makes the headings bold (only for a terminal).
 */
export const render = (
  program: string,
  version: string,
  entries: ReadonlyArray<Entry>,
  e: Entry,
  color: boolean
): string => {
  const heading = (s: string) => color ? `\u001b[1m${s}\u001b[0m` : s
  const section = (title: string, body: string) => body === "" ? [] : [`${heading(title)}\n${body}`]
  const title = e.path.length === 0 ? `${program} ${version}` : [program, ...e.path].join(" ")
  const under = leaves(entries, e)
  const args = e.children.length > 0 ? [] : argumentDefinitions(e)
  const options = e.children.length > 0 ? [] : optionDefinitions(e)
  const out = [
    wrap(`${title}: ${e.description}`, 0),
    ...section("USAGE", usage(program, e)),
    ...section(
      "COMMANDS",
      under.length === 0 ? "" : table(under.map((c) => ({ term: c.path.slice(e.path.length).join(" "), text: c.description })))
    ),
    ...section("ARGUMENTS", args.length === 0 ? "" : table(args)),
    ...section("OPTIONS", options.map((o) => `  ${o.term}\n${wrap(o.text, 6)}`).join("\n")),
    ...section("GLOBAL OPTIONS", table(globalOptions)),
    ...(under.length === 0 ? [] : [`Run \`${[program, ...e.path].join(" ")} <command> --help\` for a command's options and arguments.`])
  ]
  return `${out.join("\n\n")}\n`
}
