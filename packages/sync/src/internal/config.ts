/**
 * Internals of the sync configuration: locators (registry hosts, namespaces, repositories), durations,
 * regular expressions, and the mapping of Schema issues to positions of the YAML file.
 *
 * @internal
 */
import * as Reference from "@ocidist/reference/Reference"
import * as Registry from "@ocidist/reference/Registry"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type { Document, LineCounter, Node as YamlNode } from "yaml"
import { isMap, isPair, isScalar, isSeq } from "yaml"
import type { ConfigProblem } from "../SyncError.js"

// ---------------------------------------------------------------------------------------------------------
// Locators
// ---------------------------------------------------------------------------------------------------------

/** Whether the input is a registry host (`ghcr.io`, `mirror.local:5000`, `localhost`), not a repository. */
export const isHost = (input: string): boolean => {
  if (input.length === 0 || input.includes("/") || input.includes("@")) return false
  const probe = Reference.parse(`${input}/x`)
  return Either.isRight(probe) && probe.right.registry === Registry.canonical(input)
}

/** The message for a registries key that is not a host. */
export const notAHost = (key: string): string =>
  `"${key}" is not a registry host (expected host[:port], e.g. docker.io or mirror.local:5000)`

/**
 * Checks what may appear as `source` or `target` whatever the entry type: a registry host, or a repository
 * (or namespace) without tag and digest. Returns the problem, or `undefined`.
 */
export const checkLocator = (input: string): string | undefined => {
  if (input.trim().length === 0) return "must not be empty"
  if (input !== input.trim()) return `"${input}" has leading or trailing spaces`
  if (isHost(input)) return undefined
  const parsed = Reference.parse(input)
  if (Either.isLeft(parsed)) return parsed.left.message
  if (parsed.right.digest !== undefined) {
    return `"${input}" names a digest: give the repository alone (choose tags with "tags")`
  }
  if (parsed.right.tag !== undefined) {
    return `"${input}" names a tag (:${parsed.right.tag}): give the repository alone (choose tags with "tags")`
  }
  return undefined
}

/** Splits a `registry`-type locator into its registry host and namespace (none for the whole registry). */
export const splitNamespace = (
  input: string
): { readonly registry: string; readonly namespace: string | undefined } => {
  if (isHost(input)) return { registry: Registry.canonical(input), namespace: undefined }
  const slash = input.indexOf("/")
  const first = slash === -1 ? "" : input.slice(0, slash)
  return slash !== -1 && isHost(first)
    ? { registry: Registry.canonical(first), namespace: input.slice(slash + 1) }
    : { registry: Registry.DOCKER_HUB, namespace: input }
}

/** The normalized form of a `source`/`target` of an entry of the given type, or the problem. */
export const normalizeLocator = (
  input: string,
  type: "repository" | "registry"
): Either.Either<string, string> => {
  if (type === "registry") {
    const { namespace, registry } = splitNamespace(input)
    if (namespace === undefined) return Either.right(registry)
    const probe = Reference.parseRepository(`${registry}/${namespace}`)
    return Either.isLeft(probe) ? Either.left(probe.left.message) : Either.right(`${registry}/${namespace}`)
  }
  if (isHost(input)) {
    return Either.left(
      `"${input}" is a registry, not a repository: add the repository (${input}/name), or set type: registry`
    )
  }
  const parsed = Reference.parseRepository(input)
  return Either.isLeft(parsed) ? Either.left(parsed.left.message) : Either.right(parsed.right.name)
}

// ---------------------------------------------------------------------------------------------------------
// Durations, platforms, regular expressions
// ---------------------------------------------------------------------------------------------------------

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds of `90s`, `30m`, `6h`, `1d`, `1h30m`; `undefined` if malformed or zero. */
export const durationMillis = (input: string): number | undefined => {
  if (!/^(?:\d+[smhd])+$/.test(input)) return undefined
  let total = 0
  for (const [, amount, unit] of input.matchAll(/(\d+)([smhd])/g)) total += Number(amount) * units[unit!]!
  return total > 0 && Number.isSafeInteger(total) ? total : undefined
}

/** `os/arch[/variant]`, the form `Ocidist.CopyOptions` accepts. */
export const platformPattern = /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)?$/

/** The problem of a regular expression, or `undefined` if it compiles. */
export const regexProblem = (source: string): string | undefined => {
  try {
    new RegExp(source)
    return undefined
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    // V8: "Invalid regular expression: /^3\.2[/: Unterminated character class"
    const reason = text.slice(text.lastIndexOf(": ") + 2)
    return `invalid regular expression "${source}": ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`
  }
}

// ---------------------------------------------------------------------------------------------------------
// Problems: Schema issues at YAML positions
// ---------------------------------------------------------------------------------------------------------

type Segment = PropertyKey

/** `sync[0].tags.allow[1]`, `registries["mirror.local:5000"].tls` */
export const formatPath = (path: ReadonlyArray<Segment>): string =>
  path.reduce<string>((out, segment) => {
    if (typeof segment === "number") return `${out}[${segment}]`
    const key = String(segment)
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return out === "" ? key : `${out}.${key}`
    return `${out}[${JSON.stringify(key)}]`
  }, "")

const keyText = (node: unknown): string | undefined => isScalar(node) ? String(node.value) : undefined

/**
 * The range of the YAML node at a path: the value's (or, with `key`, the key's of the last segment); when
 * the path goes further than the document (a missing key), the deepest node that exists.
 */
const locate = (
  doc: Document.Parsed,
  path: ReadonlyArray<Segment>,
  key: boolean
): readonly [number, number] | undefined => {
  let node: unknown = doc.contents
  let range: readonly [number, number, number] | null | undefined = (node as YamlNode | null)?.range
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment))
      if (pair === undefined) break
      const keyRange = (pair.key as YamlNode | null)?.range
      if ((last && key) || pair.value === null) {
        range = keyRange ?? range
        if (last && key) break
      }
      node = pair.value
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
      node = node.items[segment]
    } else {
      break
    }
    range = (node as YamlNode | null)?.range ?? range
  }
  return range === undefined || range === null ? undefined : [range[0], range[1]]
}

/** Edit distance with transpositions (optimal string alignment): `tgas` is 1 from `tags`. */
const editDistance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))
  )
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

/** The closest known key, if close enough to be a typo. */
export const didYouMean = (key: string, known: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined
}

const expectedPattern = /^Expected (.+), actual (.+)$/s

/** Schema's description of a structure, as a person says it (`a mapping`, `a list`). */
const kind = (expected: string): string =>
  expected.startsWith("{ readonly ") || expected.startsWith("Struct")
    ? "a mapping"
    : expected.startsWith("ReadonlyArray<")
    ? "a list"
    : expected

const unexpected = (issue: ParseResult.ArrayFormatterIssue): string => {
  const key = String(issue.path[issue.path.length - 1])
  // Schema's message: `is unexpected, expected: "a" | "b"`
  const known = Array.from(issue.message.matchAll(/"((?:[^"\\]|\\.)*)"/g), (m) => JSON.parse(`"${m[1]}"`) as string)
  // a registries key that is not a host: the record's key schema refused it
  if (known.length === 0 && issue.path.length === 2 && issue.path[0] === "registries") return notAHost(key)
  const suggestion = didYouMean(key, known)
  const allowed = known.length === 0 ? "" : ` (known keys: ${known.join(", ")})`
  return suggestion === undefined
    ? `unknown key "${key}"${allowed}`
    : `unknown key "${key}" (did you mean "${suggestion}"?)`
}

/**
 * One message per problem: the issues of the members of a union (`boolean | "insecure"`) are merged into
 * one `expected … or …`; a union member that failed only on the kind of value is dropped when another
 * member got further (a deeper issue, or a refinement's own message, at the same place).
 */
const messages = (
  issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>
): ReadonlyArray<{ readonly path: ReadonlyArray<Segment>; readonly message: string; readonly key: boolean }> => {
  const id = (path: ReadonlyArray<Segment>) => JSON.stringify(path.map(String))
  const isKind = (issue: ParseResult.ArrayFormatterIssue) =>
    issue._tag === "Type" && expectedPattern.test(issue.message)
  const deeper = (issue: ParseResult.ArrayFormatterIssue) =>
    issues.some((other) =>
      other !== issue && (
        (other.path.length > issue.path.length && id(other.path.slice(0, issue.path.length)) === id(issue.path)) ||
        (id(other.path) === id(issue.path) && !isKind(other))
      )
    )
  const out: Array<{ path: ReadonlyArray<Segment>; message: string; key: boolean }> = []
  const kinds = new Map<string, { path: ReadonlyArray<Segment>; expected: Array<string>; actual: string }>()
  for (const issue of issues) {
    if (issue._tag === "Unexpected") {
      out.push({ path: issue.path, message: unexpected(issue), key: true })
    } else if (issue._tag === "Missing") {
      const key = String(issue.path[issue.path.length - 1])
      out.push({ path: issue.path, message: `missing required key "${key}"`, key: false })
    } else if (isKind(issue)) {
      if (deeper(issue)) continue
      const [, raw, actual] = expectedPattern.exec(issue.message)!
      const expected = kind(raw!)
      const entry = kinds.get(id(issue.path)) ?? { path: issue.path, expected: [], actual: actual! }
      if (expected !== "undefined" && !entry.expected.includes(expected)) entry.expected.push(expected)
      kinds.set(id(issue.path), entry)
    } else {
      const keyProblem = issue.path.length === 2 && issue.path[0] === "registries" &&
        issue.message === notAHost(String(issue.path[1]))
      out.push({ path: issue.path, message: issue.message, key: keyProblem })
    }
  }
  for (const { actual, expected, path } of kinds.values()) {
    const list = expected.length <= 2
      ? expected.join(" or ")
      : `${expected.slice(0, -1).join(", ")} or ${expected[expected.length - 1]}`
    out.push({ path, message: `expected ${list}, got ${actual}`, key: false })
  }
  return out
}

/** What YAML did to a plain scalar that the model wanted as another type (`3.20` is the number 3.2). */
const hint = (doc: Document.Parsed, path: ReadonlyArray<Segment>, message: string): string => {
  const node = doc.getIn(path as Array<unknown>, true)
  if (!isScalar(node) || node.type !== "PLAIN" || node.source === undefined) return ""
  if (message.startsWith("expected string") && typeof node.value !== "string") {
    return ` (YAML reads ${node.source} as a ${node.value === null ? "null" : typeof node.value}: put it in quotes)`
  }
  if (
    message.startsWith("expected boolean") && typeof node.value === "string" &&
    /^(?:y|yes|n|no|on|off)$/i.test(node.value)
  ) {
    return " (YAML 1.2 booleans are true and false)"
  }
  return ""
}

/** Problems of a decoded document, each at the line and column of its node. */
export const problems = (
  doc: Document.Parsed,
  lineCounter: LineCounter,
  error: ParseResult.ParseError
): ReadonlyArray<ConfigProblem> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const seen = new Set<string>()
  const out: Array<ConfigProblem> = []
  for (const { key, message, path } of messages(issues)) {
    const range = locate(doc, path, key)
    const { col, line } = range === undefined ? { line: 1, col: 1 } : lineCounter.linePos(range[0])
    const problem: ConfigProblem = {
      line,
      column: col,
      path: formatPath(path),
      message: message + hint(doc, path, message)
    }
    const dedupe = JSON.stringify(problem)
    if (seen.has(dedupe)) continue
    seen.add(dedupe)
    out.push(problem)
  }
  return sortProblems(out)
}

/** Problems in file order. */
export const sortProblems = (problems: ReadonlyArray<ConfigProblem>): ReadonlyArray<ConfigProblem> =>
  [...problems].sort((a, b) => a.line - b.line || a.column - b.column)
