/**
 * `--help`, crane-like and short: a one-line summary, usage, the command's own flags, a few examples; the
 * global flags only in the root help. Plain text (no colour, no escape sequences), wrapped at 80 columns.
 */
import * as Spec from "./spec.js"

const width = 80

/** `text` in lines of at most `columns` characters (longer words stay whole). */
const wrap = (text: string, columns: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > columns) {
      lines.push(line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  if (line !== "") lines.push(line)
  return lines
}

/**
 * Two columns: each left text padded to the longest (up to 24), its description wrapped beside it; a longer
 * left text has its description on the lines below.
 */
const table = (rows: ReadonlyArray<readonly [string, string]>): Array<string> => {
  const indent = 2
  const gap = 3
  const column = Math.max(0, ...rows.map(([left]) => left.length).filter((n) => n <= 24))
  const out: Array<string> = []
  for (const [left, description] of rows) {
    const fits = left.length <= column
    const at = indent + column + gap
    const lines = wrap(description, Math.max(30, width - at))
    if (!fits) out.push(" ".repeat(indent) + left)
    lines.forEach((line, i) =>
      out.push(i === 0 && fits ? " ".repeat(indent) + left.padEnd(column + gap) + line : " ".repeat(at) + line)
    )
    if (lines.length === 0 && fits) out.push(" ".repeat(indent) + left)
  }
  return out
}

const section = (title: string, lines: ReadonlyArray<string>): Array<string> =>
  lines.length === 0 ? [] : ["", `${title}:`, ...lines]

const flagLeft = (flag: Spec.Flag): string => {
  const short = flag.aliases.find((a) => /^-[^-]$/.test(a))
  const names = short === undefined ? `    ${flag.name}` : `${short}, ${flag.name}`
  return flag.placeholder === "" ? names : `${names} ${flag.placeholder}`
}

const flagRows = (flags: ReadonlyArray<Spec.Flag>): Array<string> =>
  table(
    flags.map((f) => [flagLeft(f), f.kind === "choice" ? `${f.description} (${f.choices.join(", ")})` : f.description])
  )

const argUsage = (arg: Spec.Arg): string => {
  const name = `<${arg.name}>${arg.variadic ? "..." : ""}`
  return arg.optional ? `[${name}]` : name
}

/** `ocidist pull [flags] <reference> <destination>` */
export const usageLine = (command: Spec.Command): string =>
  [...command.path, "[flags]", ...command.args.map(argUsage)].join(" ")

/** The commands under `command` with their summaries (aliases beside their command: `copy, cp`). */
const commandRows = (command: Spec.Command, nested: boolean): Array<readonly [string, string]> =>
  command.children.flatMap((child): Array<readonly [string, string]> => {
    if (child.help.aliasOf !== undefined) return []
    const aliases = command.children.filter((c) => c.help.aliasOf === child.name).map((c) => c.name)
    const self: Array<readonly [string, string]> = [[[child.name, ...aliases].join(", "), child.help.summary]]
    if (!nested || child.children.length === 0) return self
    // a group of its own (auth, registry, cache) is listed by its subcommands
    const below = commandRows(child, true).map(([left, summary]) => [`${child.name} ${left}`, summary] as const)
    return child.args.length === 0 && child.flags.length === 0 ? below : [...self, ...below]
  })

const aliasesOf = (root: Spec.Command, command: Spec.Command): Array<string> => {
  const parent = Spec.find(root, command.path.slice(1, -1))
  const target = command.help.aliasOf ?? command.name
  const names = parent?.children.filter((c) => c.help.aliasOf === target).map((c) => c.name) ?? []
  return names.length === 0 ? [] : [target, ...names]
}

/**
 * The help of `command` (the root or any command below it), ending with a line feed.
 */
export const render = (root: Spec.Command, command: Spec.Command): string => {
  const isRoot = command === root
  const help = command.help
  const name = command.path.join(" ")
  const lines: Array<string> = [...wrap(help.summary, width)]
  // the root's details (exit codes) go at the end
  if (help.details !== undefined && !isRoot) lines.push("", ...wrap(help.details, width))
  const usage = command.children.length === 0
    ? [usageLine(command)]
    : command.args.length === 0 && !isRoot
    ? [`${name} <command> [flags]`]
    : isRoot
    ? [`${name} <command> [flags] [arguments]`]
    : [usageLine(command), `${name} <command> [flags]`]
  lines.push(...section("Usage", usage.map((u) => `  ${u}`)))
  const aliases = aliasesOf(root, command)
  if (aliases.length > 0) lines.push("", `Aliases: ${aliases.join(", ")}`)
  if (command.children.length > 0) lines.push(...section("Commands", table(commandRows(command, isRoot))))
  lines.push(
    ...section("Arguments", table(command.args.map((a) => [argUsage(a), a.description]))),
    ...section(isRoot ? "Global flags (before or after the command)" : "Flags", flagRows(command.flags)),
    ...section("Examples", help.examples.map((e) => `  ${e}`)),
    ""
  )
  if (isRoot) {
    if (help.details !== undefined) lines.push(...wrap(help.details, width))
    lines.push(
      ...wrap(`Run "${name} <command> --help" or "${name} help <command>" for a command's flags and examples.`, width),
      `Also: -h/--help, --version, --completions bash|zsh|fish.`
    )
  } else {
    const globals = root.flags.map((f) => f.name).join(", ")
    lines.push(...wrap(`Global flags (${globals}): see "${root.name} --help".`, width))
  }
  return lines.join("\n") + "\n"
}
