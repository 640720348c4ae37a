/**
 * The `archipelago` help, rendered from the commands' own flags and arguments (each one's name,
 * metavar, choices, description and whether it is optional or repeated, as `effect/cli` stores
 * them), but laid out for an operator: the full command path in USAGE, a `command  description`
 * table, each option with its description only, plain text unless the output is a terminal, and
 * none of `effect/cli`'s own global flags (`--wizard`) or sections.
 */
import { Option } from "effect"
import { Param, Primitive } from "effect/cli"

/** One command (or group of commands) of the tree, by its path under the program. */
export interface Entry {
  readonly path: ReadonlyArray<string>
  readonly description: string
  /** What `Command.make` took: its flags and arguments, by field. */
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

/** A flag or an argument as the help shows it: the parameter under its combinators, and how it may be given. */
interface Shape {
  readonly single: Param.Single<Param.ParamKind, unknown>
  /** May be left out (`Flag.optional`, `Flag.withDefault`, a boolean flag, or a repeatable one). */
  readonly optional: boolean
  /** May be given more than once (`Flag.atLeast`, `Flag.between`, …). */
  readonly repeated: boolean
}

// the parameter a combinator (`optional`, `withDefault`, `map`, `atLeast`) wraps
const inner = (p: Param.Any): Param.Any | undefined => "param" in p && Param.isParam(p.param) ? p.param : undefined

const shapeOf = (p: Param.Any): Shape | undefined => {
  if (Param.isSingle(p)) return { single: p, optional: false, repeated: false }
  const under = inner(p)
  const shape = under === undefined ? undefined : shapeOf(under)
  if (shape === undefined) return undefined
  switch (p._tag) {
    case "Optional":
      return { ...shape, optional: true }
    case "Variadic": {
      const min = "min" in p && Option.isOption(p.min) ? p.min : Option.none()
      return { ...shape, optional: shape.optional || Option.getOrElse(min, () => 0) === 0, repeated: true }
    }
    default:
      return shape
  }
}

const shapes = (e: Entry, kind: Param.ParamKind): ReadonlyArray<Shape> =>
  Object.values(e.config).flatMap((v) => {
    if (!Param.isParam(v) || v.kind !== kind) return []
    const shape = shapeOf(v)
    return shape === undefined || shape.single.hidden ? [] : [shape]
  })

const isBoolean = (s: Shape) => s.single.primitiveType._tag === "Boolean"

/** The values a choice flag takes (`Flag.Literals`), in order. */
const choicesOf = (primitive: Primitive.Primitive<unknown>): ReadonlyArray<string> | undefined =>
  primitive._tag === "Choice" && "choiceKeys" in primitive && Array.isArray(primitive.choiceKeys)
    ? primitive.choiceKeys.filter((k): k is string => typeof k === "string")
    : undefined

// what follows a flag's name: its metavar (`DIR`), or its choices (`pretty | json`)
const valueOf = (s: Shape): string =>
  choicesOf(s.single.primitiveType)?.join(" | ") ?? s.single.typeName ?? Primitive.getTypeName(s.single.primitiveType)

const flagTerm = (s: Shape) => `--${s.single.name}${isBoolean(s) ? "" : ` ${valueOf(s)}`}`
const argumentTerm = (s: Shape) => `<${s.single.name}>${s.repeated ? "..." : ""}`
const description = (s: Shape) => Option.getOrElse(s.single.description, () => "")

/** The options of a command, each with its description. */
export const optionDefinitions = (e: Entry): ReadonlyArray<Definition> =>
  shapes(e, "flag").map((s) => ({ term: `${flagTerm(s)}${s.repeated ? "..." : ""}`, text: description(s) }))

/** The arguments of a command (`<APP>`), each with its description. */
export const argumentDefinitions = (e: Entry): ReadonlyArray<Definition> =>
  shapes(e, "argument").map((s) => ({ term: argumentTerm(s), text: description(s) }))

/**
 * What the value of the flag `name` of `e` must be, in an operator's words (`a whole number`,
 * `one of pretty, json`), or `undefined` for free text.
 */
export const expected = (e: Entry, name: string): string | undefined => {
  const s = shapes(e, "flag").find((x) => x.single.name === name)
  if (s === undefined) return undefined
  const choices = choicesOf(s.single.primitiveType)
  if (choices !== undefined) return `one of ${choices.join(", ")}`
  switch (s.single.primitiveType._tag) {
    case "Int":
      return "a whole number"
    case "Finite":
      return "a number"
    case "Boolean":
      return "true or false"
    default:
      return undefined
  }
}

// the usage's units (`[--port PORT]`, `[--install ID]...`, `<APP>`): options first, then arguments
const units = (e: Entry): ReadonlyArray<string> => [
  ...shapes(e, "flag").map((s) => {
    const term = flagTerm(s)
    return s.repeated ? `[${term}]...` : s.optional || isBoolean(s) ? `[${term}]` : term
  }),
  ...shapes(e, "argument").map((s) => s.optional ? `[${argumentTerm(s)}]` : argumentTerm(s))
]

/** The usage of a command, with the program and its full path, wrapped with a hanging indent. */
export const usage = (program: string, e: Entry): string => {
  const words = e.children.length > 0 ? ["<command>", "[options]"] : units(e)
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
