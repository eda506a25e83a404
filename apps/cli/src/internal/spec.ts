/**
 * The command tree as data, read from the @effect/cli command descriptors themselves (so help and the usage
 * checks cannot drift from what the parser accepts): per command its path, one-line summary, details,
 * examples, own flags and positional arguments, and its subcommands.
 *
 * @effect/cli does not export the shapes of its descriptors (`Standard`, `Subcommands`, `Map`; options
 * `Single`, `Both`, `WithDefault`, …; args likewise): they are read here with narrow guards on `_tag`, and an
 * unknown shape is a defect (test/spec.test.ts walks the real tree, so an @effect/cli update that changes them
 * fails loudly there).
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"

/** What a command's `--help` shows besides its flags and arguments. */
export interface Help {
  /** One line, no final period needed. */
  readonly summary: string
  /** A few sentences after the summary, if the summary does not say it all. */
  readonly details?: string | undefined
  /** 2–4 command lines. */
  readonly examples: ReadonlyArray<string>
  /** This command is another name of that one (`cp` of `copy`). */
  readonly aliasOf?: string | undefined
}

/** A flag of a command (`--format`, `-o/--output`). */
export interface Flag {
  /** `--format` */
  readonly name: string
  /** `-o` */
  readonly aliases: ReadonlyArray<string>
  readonly kind: "boolean" | "integer" | "float" | "choice" | "text" | "path" | "secret" | "date"
  /** The values of a choice flag. */
  readonly choices: ReadonlyArray<string>
  /** What its value is called in help (`N`, `FILE`, `FORMAT`); empty for a boolean. */
  readonly placeholder: string
  readonly description: string
  /** It may be given several times (`--auth`). */
  readonly repeatable: boolean
}

/** A positional argument. */
export interface Arg {
  /** `destination` (help shows `<destination>`) */
  readonly name: string
  readonly optional: boolean
  readonly variadic: boolean
  readonly choices: ReadonlyArray<string>
  readonly description: string
}

/** A command and its subcommands. */
export interface Command {
  readonly name: string
  /** `["ocidist", "manifest", "put"]` */
  readonly path: ReadonlyArray<string>
  readonly help: Help
  readonly flags: ReadonlyArray<Flag>
  readonly args: ReadonlyArray<Arg>
  readonly children: ReadonlyArray<Command>
}

// --- Help in a command's description ----------------------------------------------------------------------------

/**
 * A command's help as the HelpDoc given to `Command.withDescription`: a description list (`summary`,
 * `details`, `examples`, `alias-of`) that {@link helpOf} reads back.
 */
export const describe = (help: Help): HelpDoc.HelpDoc => {
  const [first, ...rest] = help.examples
  const entries: Array<[Span.Span, HelpDoc.HelpDoc]> = [[Span.text("summary"), HelpDoc.p(help.summary)]]
  if (help.details !== undefined) entries.push([Span.text("details"), HelpDoc.p(help.details)])
  if (first !== undefined) {
    entries.push([Span.text("examples"), HelpDoc.enumeration([HelpDoc.p(first), ...rest.map((e) => HelpDoc.p(e))])])
  }
  if (help.aliasOf !== undefined) entries.push([Span.text("alias-of"), HelpDoc.p(help.aliasOf)])
  const [head, ...tail] = entries
  return HelpDoc.descriptionList([head!, ...tail])
}

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

/** The text of a HelpDoc on one line (paragraphs joined by a space). */
export const plainText = (doc: HelpDoc.HelpDoc): string => {
  switch (doc._tag) {
    case "Empty":
      return ""
    case "Header":
    case "Paragraph":
      return spanText(doc.value).trim()
    case "Sequence":
      return [plainText(doc.left), plainText(doc.right)].filter((s) => s !== "").join(" ")
    case "Enumeration":
      return doc.elements.map(plainText).filter((s) => s !== "").join(" ")
    case "DescriptionList":
      return doc.definitions.map(([k, v]) => `${spanText(k)}: ${plainText(v)}`).join(" ")
  }
}

/** The {@link Help} in a command's description (a plain description: its text is the summary). */
export const helpOf = (doc: HelpDoc.HelpDoc): Help => {
  if (doc._tag !== "DescriptionList") return { summary: plainText(doc), examples: [] }
  const entry = (key: string) => doc.definitions.find(([k]) => spanText(k) === key)?.[1]
  const examples = entry("examples")
  const details = entry("details")
  const aliasOf = entry("alias-of")
  return {
    summary: plainText(entry("summary") ?? HelpDoc.empty),
    details: details === undefined ? undefined : plainText(details),
    examples: examples?._tag === "Enumeration" ? examples.elements.map(plainText) : [],
    aliasOf: aliasOf === undefined ? undefined : plainText(aliasOf)
  }
}

// --- Reading the descriptors ------------------------------------------------------------------------------------

type Node = { readonly _tag: string } & Readonly<Record<string, unknown>>

const isNode = (u: unknown): u is Node =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string"

const node = (u: unknown, what: string): Node => {
  if (!isNode(u)) throw new Error(`ocidist: cannot read the @effect/cli ${what} (not a tagged value)`)
  return u
}

const unexpected = (what: string, n: Node): never => {
  throw new Error(`ocidist: cannot read the @effect/cli ${what} "${n._tag}" (has @effect/cli changed?)`)
}

const str = (n: Node, key: string, what: string): string => {
  const value = n[key]
  if (typeof value !== "string") throw new Error(`ocidist: the @effect/cli ${what} has no string "${key}"`)
  return value
}

const list = (n: Node, key: string, what: string): ReadonlyArray<unknown> => {
  const value = n[key]
  if (!Array.isArray(value)) throw new Error(`ocidist: the @effect/cli ${what} has no array "${key}"`)
  return value
}

const isHelpDoc = (u: unknown): u is HelpDoc.HelpDoc =>
  isNode(u) && ["Empty", "Header", "Paragraph", "DescriptionList", "Enumeration", "Sequence"].includes(u._tag)

const docOf = (n: Node, what: string): HelpDoc.HelpDoc => {
  const value = n["description"]
  if (!isHelpDoc(value)) throw new Error(`ocidist: the @effect/cli ${what} has no description`)
  return value
}

/** `Some(x)` of effect's Option, as `x` or undefined. */
const someOf = (u: unknown): unknown => isNode(u) && u._tag === "Some" ? u["value"] : undefined

interface Primitive {
  readonly kind: Flag["kind"]
  readonly choices: ReadonlyArray<string>
}

const primitive = (u: unknown): Primitive => {
  const p = node(u, "primitive type")
  switch (p._tag) {
    case "Bool":
      return { kind: "boolean", choices: [] }
    case "Integer":
      return { kind: "integer", choices: [] }
    case "Float":
      return { kind: "float", choices: [] }
    case "DateTime":
      return { kind: "date", choices: [] }
    case "Path":
      return { kind: "path", choices: [] }
    case "Redacted":
    case "Secret":
      return { kind: "secret", choices: [] }
    case "Text":
      return { kind: "text", choices: [] }
    case "Choice":
      return {
        kind: "choice",
        choices: list(p, "alternatives", "choice").map((a) => Array.isArray(a) && typeof a[0] === "string" ? a[0] : "")
      }
    default:
      return unexpected("primitive type", p)
  }
}

const flagOf = (single: Node, repeatable: boolean): Flag => {
  const what = "option"
  const { choices, kind } = primitive(single["primitiveType"])
  const name = str(single, "name", what)
  const pseudo = someOf(single["pseudoName"])
  const placeholder = kind === "boolean"
    ? ""
    : typeof pseudo === "string"
    ? pseudo
    : kind === "integer"
    ? "N"
    : kind === "path"
    ? "FILE"
    : name.toUpperCase()
  return {
    name: `--${name}`,
    aliases: list(single, "aliases", what).map((a) =>
      typeof a === "string" ? `${a.length === 1 ? "-" : "--"}${a}` : ""
    ),
    kind,
    choices,
    placeholder,
    description: plainText(docOf(single, what)),
    repeatable
  }
}

const flagsOf = (u: unknown): Array<Flag> => {
  const o = node(u, "options")
  switch (o._tag) {
    case "Empty":
      return []
    case "Single":
      return [flagOf(o, false)]
    case "Variadic":
    case "KeyValueMap":
      return [flagOf(node(o["argumentOption"], "options"), true)]
    case "Both":
    case "OrElse":
      return [...flagsOf(o["left"]), ...flagsOf(o["right"])]
    case "Map":
    case "WithDefault":
    case "WithFallback":
      return flagsOf(o["options"])
    default:
      return unexpected("options", o)
  }
}

const argsOf = (u: unknown, optional: boolean, variadic: boolean): Array<Arg> => {
  const a = node(u, "args")
  switch (a._tag) {
    case "Empty":
      return []
    case "Single": {
      const name = str(a, "name", "argument") // `<destination>`
      return [{
        name: name.replace(/^<(.*)>$/, "$1"),
        optional,
        variadic,
        choices: primitive(a["primitiveType"]).choices,
        description: plainText(docOf(a, "argument"))
      }]
    }
    case "Both":
      return [...argsOf(a["left"], optional, variadic), ...argsOf(a["right"], optional, variadic)]
    case "Map":
      return argsOf(a["args"], optional, variadic)
    case "WithDefault":
    case "WithFallbackConfig":
      return argsOf(a["args"], true, variadic)
    case "Variadic": {
      const min = someOf(a["min"])
      return argsOf(a["args"], optional || typeof min !== "number" || min === 0, true)
    }
    default:
      return unexpected("args", a)
  }
}

const commandOf = (u: unknown, parent: ReadonlyArray<string>): Command => {
  const d = node(u, "command descriptor")
  switch (d._tag) {
    case "Map":
      return commandOf(d["command"], parent)
    case "Subcommands": {
      const self = commandOf(d["parent"], parent)
      return { ...self, children: list(d, "children", "subcommands").map((c) => commandOf(c, self.path)) }
    }
    case "Standard": {
      const name = str(d, "name", "command")
      return {
        name,
        path: [...parent, name],
        help: helpOf(docOf(d, "command")),
        flags: flagsOf(d["options"]),
        args: argsOf(d["args"], false, false),
        children: []
      }
    }
    default:
      return unexpected("command descriptor", d)
  }
}

/**
 * The tree of a command (`Command.Command`'s `descriptor`).
 */
export const fromDescriptor = (descriptor: unknown): Command => commandOf(descriptor, [])

/** The command at a path (`["manifest", "put"]`, below the root), if there is one. */
export const find = (root: Command, path: ReadonlyArray<string>): Command | undefined => {
  let at: Command | undefined = root
  for (const name of path) at = at?.children.find((c) => c.name === name)
  return at
}

/** Every command of the tree, depth first, the root first. */
export const all = (root: Command): ReadonlyArray<Command> => [root, ...root.children.flatMap(all)]

/** A flag of `flags` by its name or alias (`--format`, `-o`). */
export const flagNamed = (flags: ReadonlyArray<Flag>, name: string): Flag | undefined =>
  flags.find((f) => f.name === name || f.aliases.includes(name))

/**
 * The options @effect/cli adds to every command (`--help`/`-h` is answered before parsing, by help.ts).
 * `--wizard` and `--log-level` work but are not advertised.
 */
export const builtIns: ReadonlyArray<Flag> = [
  {
    name: "--help",
    aliases: ["-h"],
    kind: "boolean",
    choices: [],
    placeholder: "",
    description: "Show help",
    repeatable: false
  },
  {
    name: "--version",
    aliases: [],
    kind: "boolean",
    choices: [],
    placeholder: "",
    description: "Print the version",
    repeatable: false
  },
  {
    name: "--completions",
    aliases: [],
    kind: "choice",
    choices: ["sh", "bash", "fish", "zsh"],
    placeholder: "bash|zsh|fish",
    description: "Print a shell completion script",
    repeatable: false
  },
  {
    name: "--wizard",
    aliases: [],
    kind: "boolean",
    choices: [],
    placeholder: "",
    description: "",
    repeatable: false
  },
  {
    name: "--log-level",
    aliases: [],
    kind: "choice",
    choices: ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"],
    placeholder: "LEVEL",
    description: "",
    repeatable: false
  }
]
