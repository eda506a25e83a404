/**
 * The command line checked against the command tree (spec.ts) before @effect/cli parses it, so that every
 * usage error is one line naming the offending word, with the closest command or flag suggested:
 *
 * - `unknown command "pul"; did you mean "pull"?`
 * - `unknown flag --frmat for "ocidist pull"; did you mean --format?`
 * - `--jobs: expected an integer, got "abc"`, `--format: expected one of oci, oci-archive, docker-archive, …`
 * - `--jobs needs a value (N)`, `missing argument <destination> for "ocidist pull"; see ocidist pull --help`
 *
 * It also finds what `--help` / `-h` / `ocidist help …` asks help for. It follows the parser's rules: the global
 * flags (the root's) anywhere (argv.ts moves them in front), a command's own flags anywhere after its name,
 * `--flag=value`, clusters of short boolean flags (`-qv`), a command's boolean flag followed by `true`/`false`,
 * and `--` ending the flags. What it lets through, @effect/cli parses (and a value it still rejects, such as
 * a `--timeout` that is not a duration, is reported by main.ts in one line too).
 */
import * as Spec from "./spec.js"

/** What to do with a command line. */
export type Outcome =
  | { readonly _tag: "Run" }
  | { readonly _tag: "Help"; readonly command: Spec.Command }
  | { readonly _tag: "Invalid"; readonly message: string }

const run: Outcome = { _tag: "Run" }
const invalid = (message: string): Outcome => ({ _tag: "Invalid", message })

/** The optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions). */
export const distance = (a: string, b: string): number => {
  const d: Array<Array<number>> = []
  for (let i = 0; i <= a.length; i++) d.push([i])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidate closest to `word` (leading dashes ignored): within a third of the length (at least 1), or
 * the only one `word` is a prefix of (3 characters at least).
 */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  const bare = (s: string) => s.replace(/^-+/, "").toLowerCase()
  const w = bare(word)
  if (w === "") return undefined
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const c = bare(candidate)
    const d = distance(w, c)
    if (d <= Math.max(1, Math.floor(Math.max(w.length, c.length) / 3)) && d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  if (best !== undefined) return best
  const prefixed = w.length >= 3 ? candidates.filter((c) => bare(c).startsWith(w)) : []
  return prefixed.length === 1 ? prefixed[0] : undefined
}

const isTrue = (s: string) => ["true", "1", "y", "yes", "on"].includes(s.toLowerCase())
const isFalse = (s: string) => ["false", "0", "n", "no", "off"].includes(s.toLowerCase())

/** `--jobs`, or `-j (--jobs)` when the alias was written. */
const named = (written: string, flag: Spec.Flag) => written === flag.name ? flag.name : `${written} (${flag.name})`

const quote = (s: string) => JSON.stringify(s)

const valueProblem = (written: string, flag: Spec.Flag, value: string): string | undefined => {
  switch (flag.kind) {
    case "integer":
      return value.trim() !== "" && Number.isInteger(Number(value))
        ? undefined
        : `${named(written, flag)}: expected an integer, got ${quote(value)}`
    case "float":
      return value.trim() !== "" && Number.isFinite(Number(value))
        ? undefined
        : `${named(written, flag)}: expected a number, got ${quote(value)}`
    case "choice": {
      if (flag.choices.includes(value)) return undefined
      const near = closest(value, flag.choices)
      return `${named(written, flag)}: expected one of ${flag.choices.join(", ")}, got ${quote(value)}` +
        (near === undefined ? "" : `; did you mean ${near}?`)
    }
    default:
      return undefined
  }
}

/** The flag name of a command-line word (`--format=oci` → `--format`), if it is one. */
const flagWord = (arg: string): string | undefined =>
  arg.startsWith("-") && arg !== "-" ?
    (arg.startsWith("--") && arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg)
    : undefined

/**
 * Checks `args` (the command line without node and the script) against the tree under `root`.
 */
export const check = (root: Spec.Command, args: ReadonlyArray<string>): Outcome => {
  const end = args.indexOf("--")
  const head = end === -1 ? args : args.slice(0, end)
  // answered by @effect/cli itself
  if (head.some((a) => ["--version", "--wizard", "--completions"].includes(flagWord(a) ?? ""))) return run
  const help = head.includes("--help") || head.includes("-h")
  const everyFlag = Spec.all(root).flatMap((c) => c.flags).concat(Spec.builtIns)

  let command = root
  let helpWord = false
  const positional: Array<string> = []
  let forced = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!forced && arg === "--") {
      forced = true
      continue
    }
    const name = forced ? undefined : flagWord(arg)
    if (name !== undefined) {
      const inline = name === arg ? undefined : arg.slice(name.length + 1)
      const scope = command === root
        ? [...root.flags, ...Spec.builtIns]
        : [...command.flags, ...root.flags, ...Spec.builtIns]
      const flag = Spec.flagNamed(scope, name)
      if (flag === undefined) {
        // a cluster of short boolean flags (-qv): @effect/cli takes one of the command's own flags, or of the
        // globals before the command name (argv.ts moves single flags only)
        const own = command === root ? root.flags : command.flags
        const letters = /^-[^-]{2,}$/.test(arg) ? [...arg.slice(1)].map((c) => `-${c}`) : []
        if (letters.length > 0 && letters.every((l) => Spec.flagNamed(own, l)?.kind === "boolean")) continue
        if (help) continue
        if (letters.length > 0 && letters.every((l) => Spec.flagNamed(scope, l)?.kind === "boolean")) {
          return invalid(`${arg}: after a command name, write these flags apart (${letters.join(" ")})`)
        }
        return invalid(unknownFlag(root, command, name, scope))
      }
      if (flag.kind === "boolean") {
        // `--json=true` after a command name is not moved in front (argv.ts moves `--json` alone)
        const global = command !== root && !command.flags.includes(flag)
        if (inline !== undefined && (global || (!isTrue(inline) && !isFalse(inline))) && !help) {
          return invalid(`${named(name, flag)} takes no value, got ${quote(inline)}`)
        }
        // as @effect/cli: a command's own boolean flag takes a following true/false (a global one is moved
        // in front of the command by argv.ts, without it)
        const next = args[i + 1]
        if (
          inline === undefined && command.flags.includes(flag) && next !== undefined && (isTrue(next) || isFalse(next))
        ) {
          i++
        }
        continue
      }
      let value = inline
      if (value === undefined) {
        const next = args[i + 1]
        const nextFlag = next === undefined ? undefined : flagWord(next)
        if (
          next === undefined || next === "--" ||
          (nextFlag !== undefined && Spec.flagNamed(everyFlag, nextFlag) !== undefined)
        ) {
          if (help) continue
          const what = flag.kind === "choice" ? `one of ${flag.choices.join(", ")}` : flag.placeholder
          return invalid(`${named(name, flag)} needs a value (${what}); see ${seeHelp(command)}`)
        }
        value = next
        i++
      }
      const problem = help ? undefined : valueProblem(name, flag, value)
      if (problem !== undefined) return invalid(problem)
      continue
    }
    // a word: a subcommand, or a positional argument
    if (!forced && positional.length === 0 && command.children.length > 0) {
      const child = command.children.find((c) => c.name === arg)
      if (child !== undefined) {
        command = child
        continue
      }
      if (command === root && arg === "help" && !helpWord) {
        helpWord = true
        continue
      }
      if (command.args.length === 0 || helpWord) return invalid(unknownCommand(root, command, arg))
    }
    positional.push(arg)
  }
  if (help || helpWord) return { _tag: "Help", command }
  const path = command.path.join(" ")
  if (command.children.length > 0 && command.args.length === 0) {
    return invalid(
      command === root
        ? `missing command; run "${path} --help" for the list of commands`
        : `missing command for "${path}" (${command.children.map((c) => c.name).join(", ")}); see ${seeHelp(command)}`
    )
  }
  const required = command.args.filter((a) => !a.optional).length
  if (positional.length < required) {
    const missing = command.args[positional.length]!
    return invalid(`missing argument <${missing.name}> for "${path}"; see ${seeHelp(command)}`)
  }
  const max = command.args.some((a) => a.variadic) ? Infinity : command.args.length
  if (positional.length > max) {
    const takes = command.args.length === 0
      ? "which takes no arguments"
      : `which takes ${command.args.map((a) => a.optional ? `[<${a.name}>]` : `<${a.name}>`).join(" ")}`
    return invalid(`unexpected argument ${quote(positional[max]!)} for "${path}", ${takes}; see ${seeHelp(command)}`)
  }
  for (const [i, arg] of command.args.entries()) {
    const value = positional[i]
    if (value === undefined || arg.choices.length === 0 || arg.choices.includes(value)) continue
    const near = closest(value, arg.choices)
    return invalid(
      `<${arg.name}>: expected one of ${arg.choices.join(", ")}, got ${quote(value)}` +
        (near === undefined ? "" : `; did you mean ${near}?`)
    )
  }
  return run
}

const seeHelp = (command: Spec.Command) => `${command.path.join(" ")} --help`

const unknownCommand = (root: Spec.Command, command: Spec.Command, word: string): string => {
  const names = command.children.map((c) => c.name)
  const near = closest(word, command === root ? [...names, "help"] : names)
  const where = command === root ? "" : ` for "${command.path.join(" ")}"`
  return `unknown command ${quote(word)}${where}; ` + (near !== undefined
    ? `did you mean ${quote(near)}?`
    : command === root
    ? `run "${root.name} --help" for the list of commands`
    : `its commands: ${names.join(", ")}`)
}

const unknownFlag = (
  root: Spec.Command,
  command: Spec.Command,
  name: string,
  scope: ReadonlyArray<Spec.Flag>
): string => {
  const path = command.path.join(" ")
  // long names only (one letter is too little to guess from); not the unadvertised built-ins
  const candidates = scope.filter((f) => f.description !== "").map((f) => f.name)
  const near = name.startsWith("--") ? closest(name, candidates) : undefined
  if (near !== undefined) return `unknown flag ${name} for "${path}"; did you mean ${near}?`
  // a flag of other commands
  const owners = Spec.all(root).filter((c) => c !== command && Spec.flagNamed(c.flags, name) !== undefined)
    .map((c) => c.path.slice(1).join(" "))
  const list = owners.slice(0, 3).join(", ") + (owners.length > 3 ? ", ..." : "")
  const of = owners.length === 0
    ? ""
    : command.children.length > 0
    ? ` (a flag of ${list}: write it after the command name)`
    : ` (a flag of ${list})`
  // `tag REF -x`: a value that starts with a dash
  const dashed = owners.length === 0 && !name.startsWith("--") && name.length > 2
    ? `; an argument that starts with "-" goes after --`
    : ""
  return `unknown flag ${name} for "${path}"${of}${dashed}; see ${seeHelp(command)}`
}
