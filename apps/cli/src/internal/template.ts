/**
 * `--format TEMPLATE`: a small subset of Go's `text/template`, as oras, regctl, skopeo and docker offer it.
 *
 * - text is copied as it is (a `\n` typed in the template is the two characters; a line feed is written with
 *   `{{println}}`, `{{"\n"}}` or a real line break in the template);
 * - `{{.Field}}`, `{{.A.B}}`, `{{.}}`, `{{$}}` / `{{$.Field}}` (the whole document); a JSON field `mediaType` is
 *   `.MediaType` (Go's exported name; the exact JSON name works too); other keys (annotations) with `index`;
 * - `{{if …}}…{{else if …}}…{{else}}…{{end}}`, `{{range …}}…{{else}}…{{end}}` (`.` the element; a map's
 *   values in key order), `{{with …}}…{{else}}…{{end}}`;
 * - pipelines `{{.Tags | json}}`, parentheses, constants (`"…"` with Go's escapes, `` `raw` ``, numbers,
 *   `true`, `false`, `nil`); functions `json`, `print`, `println`, `printf` (`%s %v %d %q %%`), `index`, `len`,
 *   `join`, `eq`, `ne`, `not`, `and`, `or`; comments `{{/* … *\/}}`; `{{-` and `-}}` trim white space.
 *
 * Values print as Go's `%v` does (lists `[a b]`, maps `map[k:v]`), except that a missing optional value
 * prints nothing (Go: `<no value>`). A field that the document does not have, and that is not one of its
 * optional fields, is an error naming the field and listing those it has.
 */
import * as Either from "effect/Either"

/** A parse or execution failure: the position (`line:column` in the template) and what went wrong. */
export interface TemplateError {
  readonly position: string
  readonly message: string
}

interface Pos {
  readonly offset: number
}

type Operand =
  | { readonly kind: "field"; readonly from: "dot" | "root"; readonly path: ReadonlyArray<string>; readonly pos: Pos }
  | { readonly kind: "constant"; readonly value: unknown; readonly pos: Pos }
  | { readonly kind: "function"; readonly name: string; readonly pos: Pos }
  | {
    readonly kind: "pipeline"
    readonly pipeline: Pipeline
    /** Fields of its value: `(index .Manifests 0).Digest`. */
    readonly path: ReadonlyArray<string>
    readonly pos: Pos
  }

interface Command {
  readonly operands: ReadonlyArray<Operand>
  readonly pos: Pos
}

interface Pipeline {
  readonly commands: ReadonlyArray<Command>
  readonly pos: Pos
}

type Node =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "action"; readonly pipeline: Pipeline }
  | {
    readonly kind: "if" | "with" | "range"
    readonly pipeline: Pipeline
    readonly body: ReadonlyArray<Node>
    readonly otherwise: ReadonlyArray<Node>
  }

/** A parsed template. */
export interface Template {
  readonly source: string
  readonly nodes: ReadonlyArray<Node>
}

class Failure {
  constructor(readonly offset: number, readonly message: string) {}
}

const positionOf = (source: string, offset: number): string => {
  const before = source.slice(0, offset)
  const line = before.split("\n").length
  return `${line}:${offset - (before.lastIndexOf("\n") + 1) + 1}`
}

const FUNCTIONS = new Set([
  "json",
  "print",
  "println",
  "printf",
  "index",
  "len",
  "join",
  "eq",
  "ne",
  "not",
  "and",
  "or"
])

// --- lexing and parsing ------------------------------------------------------------------------------------

type Token =
  | { readonly kind: "field"; readonly path: ReadonlyArray<string>; readonly offset: number }
  | { readonly kind: "root"; readonly path: ReadonlyArray<string>; readonly offset: number }
  | { readonly kind: "word"; readonly word: string; readonly offset: number }
  | { readonly kind: "constant"; readonly value: unknown; readonly offset: number }
  | { readonly kind: "|"; readonly offset: number }
  | { readonly kind: "("; readonly offset: number }
  | { readonly kind: ")"; readonly offset: number }

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n"
const isIdentStart = (c: string | undefined) => c !== undefined && /[A-Za-z_]/.test(c)
const isIdent = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c)

const ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  "\"": "\""
}

/** Reads a quoted string at `start` (on the `"`): its value and the offset after it. */
const readString = (source: string, start: number): [string, number] => {
  let value = ""
  let i = start + 1
  for (;;) {
    const c = source[i]
    if (c === undefined || c === "\n") throw new Failure(start, "unterminated quoted string")
    if (c === "\"") return [value, i + 1]
    if (c !== "\\") {
      value += c
      i++
      continue
    }
    const e = source[i + 1]
    if (e !== undefined && e in ESCAPES) {
      value += ESCAPES[e]
      i += 2
      continue
    }
    const hex = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0
    const digits = source.slice(i + 2, i + 2 + hex)
    if (hex === 0 || !new RegExp(`^[0-9A-Fa-f]{${hex}}$`).test(digits)) {
      throw new Failure(i, `unknown escape sequence \\${e ?? ""} in a quoted string`)
    }
    value += String.fromCodePoint(parseInt(digits, 16))
    i += 2 + hex
  }
}

const readPath = (source: string, start: number): [Array<string>, number] => {
  const path: Array<string> = []
  let i = start
  while (source[i] === "." && isIdentStart(source[i + 1])) {
    let j = i + 1
    while (isIdent(source[j])) j++
    path.push(source.slice(i + 1, j))
    i = j
  }
  return [path, i]
}

/** The tokens of one action, from `start` to `end` (exclusive). */
const lex = (source: string, start: number, end: number): Array<Token> => {
  const tokens: Array<Token> = []
  let i = start
  while (i < end) {
    const c = source[i]!
    if (isSpace(c)) {
      i++
    } else if (c === "|" || c === "(" || c === ")") {
      tokens.push({ kind: c, offset: i })
      i++
    } else if (c === "\"") {
      const [value, next] = readString(source, i)
      if (next > end) throw new Failure(i, "unterminated quoted string")
      tokens.push({ kind: "constant", value, offset: i })
      i = next
    } else if (c === "`") {
      const close = source.indexOf("`", i + 1)
      if (close === -1 || close >= end) throw new Failure(i, "unterminated raw string")
      tokens.push({ kind: "constant", value: source.slice(i + 1, close), offset: i })
      i = close + 1
    } else if (c === ".") {
      if (isIdentStart(source[i + 1])) {
        const [path, next] = readPath(source, i)
        tokens.push({ kind: "field", path, offset: i })
        i = next
      } else {
        tokens.push({ kind: "field", path: [], offset: i })
        i++
      }
      if (i < end && !isSpace(source[i]) && source[i] !== "|" && source[i] !== ")") {
        throw new Failure(i, `unexpected ${JSON.stringify(source[i])} in a field name`)
      }
    } else if (c === "$") {
      if (isIdent(source[i + 1])) throw new Failure(i, "variables other than $ are not supported")
      const [path, next] = readPath(source, i + 1)
      tokens.push({ kind: "root", path, offset: i })
      i = next
    } else if (/[-+0-9]/.test(c)) {
      const match = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/.exec(source.slice(i, end))
      if (match === null) throw new Failure(i, `unexpected ${JSON.stringify(c)}`)
      tokens.push({ kind: "constant", value: Number(match[0]), offset: i })
      i += match[0].length
    } else if (isIdentStart(c)) {
      let j = i
      while (isIdent(source[j])) j++
      const word = source.slice(i, j)
      if (word === "true" || word === "false") tokens.push({ kind: "constant", value: word === "true", offset: i })
      else if (word === "nil") tokens.push({ kind: "constant", value: null, offset: i })
      else tokens.push({ kind: "word", word, offset: i })
      i = j
    } else if (c === ":" || c === "=") {
      throw new Failure(i, "variable declarations are not supported")
    } else {
      throw new Failure(i, `unexpected ${JSON.stringify(c)} in an action`)
    }
  }
  return tokens
}

/** Parses a pipeline from `tokens` (all of them, or up to a `)`); returns it and the index after it. */
const parsePipeline = (tokens: ReadonlyArray<Token>, from: number, offset: number): [Pipeline, number] => {
  const commands: Array<Command> = []
  let operands: Array<Operand> = []
  let i = from
  const endCommand = (at: number) => {
    if (operands.length === 0) throw new Failure(at, "missing command in a pipeline")
    commands.push({ operands, pos: { offset: operands[0]!.pos.offset } })
    operands = []
  }
  for (; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t.kind === ")") break
    if (t.kind === "|") {
      endCommand(t.offset)
      continue
    }
    if (t.kind === "(") {
      const [inner, next] = parsePipeline(tokens, i + 1, t.offset)
      if (tokens[next]?.kind !== ")") throw new Failure(t.offset, "unclosed left parenthesis")
      const chained = tokens[next + 1]
      if (chained?.kind === "field" && chained.path.length > 0 && chained.offset === tokens[next]!.offset + 1) {
        operands.push({ kind: "pipeline", pipeline: inner, path: chained.path, pos: { offset: chained.offset } })
        i = next + 1
      } else {
        operands.push({ kind: "pipeline", pipeline: inner, path: [], pos: { offset: t.offset } })
        i = next
      }
    } else if (t.kind === "field" || t.kind === "root") {
      operands.push({
        kind: "field",
        from: t.kind === "field" ? "dot" : "root",
        path: t.path,
        pos: { offset: t.offset }
      })
    } else if (t.kind === "constant") {
      operands.push({ kind: "constant", value: t.value, pos: { offset: t.offset } })
    } else {
      if (!FUNCTIONS.has(t.word)) {
        throw new Failure(
          t.offset,
          ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"].includes(t.word)
            ? `unexpected ${t.word} in a pipeline`
            : `function "${t.word}" not defined (functions: ${[...FUNCTIONS].join(", ")})`
        )
      }
      operands.push({ kind: "function", name: t.word, pos: { offset: t.offset } })
    }
  }
  endCommand(tokens[i]?.offset ?? offset)
  for (const command of commands) {
    const [head, ...rest] = command.operands
    if (head!.kind !== "function" && rest.length > 0) {
      throw new Failure(rest[0]!.pos.offset, "only a function takes arguments")
    }
  }
  return [{ commands, pos: { offset } }, i]
}

interface Action {
  /** The offset of the `{{`. */
  readonly offset: number
  readonly keyword: string | undefined
  readonly tokens: ReadonlyArray<Token>
}

type Item = { readonly kind: "text"; readonly text: string } | { readonly kind: "action"; readonly action: Action }

/** Splits the source into text and actions (comments dropped, `{{-`/`-}}` applied). */
const scan = (source: string): Array<Item> => {
  const items: Array<Item> = []
  let i = 0
  let trimNext = false
  for (;;) {
    const open = source.indexOf("{{", i)
    let text = source.slice(i, open === -1 ? source.length : open)
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "")
    trimNext = false
    if (open === -1) {
      if (text !== "") items.push({ kind: "text", text })
      return items
    }
    let start = open + 2
    if (source[start] === "-" && isSpace(source[start + 1])) {
      text = text.replace(/[ \t\r\n]+$/, "")
      start += 2
    }
    if (text !== "") items.push({ kind: "text", text })
    // the end of the action: `}}` outside quoted and raw strings (and comments)
    let j = start
    while (isSpace(source[j])) j++
    let close: number
    if (source.startsWith("/*", j)) {
      const endComment = source.indexOf("*/", j + 2)
      if (endComment === -1) throw new Failure(open, "unclosed comment")
      close = endComment + 2
      while (isSpace(source[close])) close++
      if (source[close] === "-" && source.startsWith("}}", close + 1)) close++
      if (!source.startsWith("}}", close)) throw new Failure(open, "comment ends before the end of the action")
      trimNext = source[close - 1] === "-" && isSpace(source[close - 2])
      i = close + 2
      continue
    }
    for (close = j;;) {
      const c = source[close]
      if (c === undefined) throw new Failure(open, "unclosed action: no }}")
      if (c === "\"") close = readString(source, close)[1]
      else if (c === "`") {
        const endRaw = source.indexOf("`", close + 1)
        if (endRaw === -1) throw new Failure(close, "unterminated raw string")
        close = endRaw + 1
      } else if (source.startsWith("}}", close)) break
      else close++
    }
    let end = close
    if (source[close - 1] === "-" && isSpace(source[close - 2])) {
      end = close - 1
      trimNext = true
    }
    const tokens = lex(source, start, end)
    if (tokens.length === 0) throw new Failure(open, "missing value in an action")
    const first = tokens[0]!
    const keyword = first.kind === "word" &&
        ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"].includes(first.word)
      ? first.word
      : undefined
    items.push({
      kind: "action",
      action: { offset: open, keyword, tokens: keyword === undefined ? tokens : tokens.slice(1) }
    })
    i = close + 2
  }
}

/**
 * Parses a template. A failure names its position (`line:column`) and what was expected.
 *
 * @internal
 */
export const parse = (source: string): Either.Either<Template, TemplateError> => {
  try {
    const items = scan(source)
    let at = 0
    const pipelineOf = (action: Action): Pipeline => {
      if (action.tokens.length === 0) throw new Failure(action.offset, `missing value for ${action.keyword}`)
      const [pipeline, next] = parsePipeline(action.tokens, 0, action.offset)
      if (next < action.tokens.length) throw new Failure(action.tokens[next]!.offset, "unexpected ) in an action")
      return pipeline
    }
    /** Nodes until `{{end}}` or `{{else…}}` (returned, not consumed) or the end. */
    const list = (): Array<Node> => {
      const nodes: Array<Node> = []
      while (at < items.length) {
        const item = items[at]!
        if (item.kind === "text") {
          nodes.push(item)
          at++
          continue
        }
        const { action } = item
        if (action.keyword === "end" || action.keyword === "else") return nodes
        at++
        if (action.keyword === undefined) {
          nodes.push({ kind: "action", pipeline: pipelineOf(action) })
        } else if (action.keyword === "if" || action.keyword === "range" || action.keyword === "with") {
          nodes.push(control(action.keyword, action))
        } else {
          throw new Failure(action.offset, `{{${action.keyword}}} is not supported`)
        }
      }
      return nodes
    }
    const control = (kind: "if" | "range" | "with", action: Action): Node => {
      const pipeline = pipelineOf(action)
      const body = list()
      const next = items[at]
      if (next === undefined || next.kind !== "action") {
        throw new Failure(action.offset, `unclosed {{${kind}}}: no {{end}}`)
      }
      at++
      let otherwise: Array<Node> = []
      if (next.action.keyword === "else") {
        const rest = next.action.tokens
        if (rest.length > 0) {
          const chained = rest[0]!
          if (chained.kind !== "word" || (chained.word !== "if" && chained.word !== "with")) {
            throw new Failure(chained.offset, "expected end after else, or else if / else with")
          }
          // `{{else if …}}`: an if in the else branch, closed by the same {{end}}
          otherwise = [
            control(chained.word, { offset: next.action.offset, keyword: chained.word, tokens: rest.slice(1) })
          ]
          return { kind, pipeline, body, otherwise }
        }
        otherwise = list()
        const end = items[at]
        if (end === undefined || end.kind !== "action" || end.action.keyword !== "end") {
          throw new Failure(next.action.offset, `unclosed {{${kind}}}…{{else}}: no {{end}}`)
        }
        at++
      }
      if (next.action.keyword === "end" && next.action.tokens.length > 0) {
        throw new Failure(next.action.tokens[0]!.offset, "unexpected value after end")
      }
      return { kind, pipeline, body, otherwise }
    }
    const nodes = list()
    if (at < items.length) {
      const stray = items[at] as { readonly action: Action }
      throw new Failure(stray.action.offset, `unexpected {{${stray.action.keyword}}}`)
    }
    return Either.right({ source, nodes })
  } catch (e) {
    if (e instanceof Failure) return Either.left({ position: positionOf(source, e.offset), message: e.message })
    throw e
  }
}

// --- execution ---------------------------------------------------------------------------------------------

/** What a template runs on: a JSON document, and the fields that may be missing from it. */
export interface Options {
  /** JSON names of fields that are optional somewhere in the document: missing, they are empty, not errors. */
  readonly optional?: ReadonlySet<string>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const exported = (key: string) => key.charAt(0).toUpperCase() + key.slice(1)
const jsonName = (field: string) => field.charAt(0).toLowerCase() + field.slice(1)

const fieldsOf = (value: Record<string, unknown>): string => {
  const keys = Object.keys(value)
  const names = keys.filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)).map((k) => `.${exported(k)}`).sort()
  const others = keys.length - names.length
  return (names.length === 0 ? "no fields" : `fields: ${names.join(", ")}`) +
    (others > 0 ? ` (other keys with {{index . "key"}})` : "")
}

const typeName = (v: unknown): string =>
  Array.isArray(v)
    ? "a list"
    : v === null || v === undefined
    ? "nothing"
    : typeof v === "object"
    ? "a map"
    : `a ${typeof v}`

/** Go's `%v`. */
const show = (v: unknown): string => {
  if (v === undefined || v === null) return ""
  if (typeof v === "string") return v
  if (typeof v === "number" || typeof v === "boolean") return String(v)
  if (Array.isArray(v)) return `[${v.map(show).join(" ")}]`
  if (isObject(v)) {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${show(v[k])}`).join(" ")}]`
  }
  return String(v)
}

/** Go's notion of true: not false, 0, nil, nor an empty string, list or map. */
const truthy = (v: unknown): boolean => {
  if (v === undefined || v === null) return false
  if (typeof v === "boolean") return v
  if (typeof v === "number") return v !== 0
  if (typeof v === "string") return v !== ""
  if (Array.isArray(v)) return v.length > 0
  if (isObject(v)) return Object.keys(v).length > 0
  return true
}

const printf = (at: number, format: unknown, args: ReadonlyArray<unknown>): string => {
  if (typeof format !== "string") throw new Failure(at, "printf: the format must be a string")
  let n = 0
  const out = format.replace(/%([%svdqx])/g, (_, verb: string) => {
    if (verb === "%") return "%"
    if (n >= args.length) return `%!${verb}(MISSING)`
    const arg = args[n++]
    switch (verb) {
      case "q":
        return JSON.stringify(show(arg))
      case "d":
        return typeof arg === "number" ? String(Math.trunc(arg)) : `%!d(${show(arg)})`
      case "x":
        return typeof arg === "number" ? Math.trunc(arg).toString(16) : Buffer.from(show(arg)).toString("hex")
      default:
        return show(arg)
    }
  })
  return n < args.length ? `${out}%!(EXTRA ${args.slice(n).map(show).join(", ")})` : out
}

const call = (name: string, at: number, args: ReadonlyArray<unknown>): unknown => {
  const arity = (min: number, max = min) => {
    if (args.length < min || args.length > max) {
      throw new Failure(at, `${name} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`)
    }
  }
  switch (name) {
    case "json":
      arity(1)
      return JSON.stringify(args[0] ?? null)
    case "print":
      // Go's Sprint: a space between operands when neither is a string
      return args.map((a, i) =>
        (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string" ? " " : "") + show(a)
      ).join("")
    case "println":
      return args.map(show).join(" ") + "\n"
    case "printf":
      if (args.length === 0) throw new Failure(at, "printf needs a format")
      return printf(at, args[0], args.slice(1))
    case "len": {
      arity(1)
      const v = args[0]
      if (typeof v === "string" || Array.isArray(v)) return v.length
      if (isObject(v)) return Object.keys(v).length
      if (v === undefined || v === null) return 0
      throw new Failure(at, `len of ${typeName(v)}`)
    }
    case "index": {
      if (args.length === 0) throw new Failure(at, "index needs a value")
      let v = args[0]
      for (const key of args.slice(1)) {
        if (v === undefined || v === null) return undefined
        if (Array.isArray(v) && typeof key === "number") {
          if (!Number.isInteger(key) || key < 0 || key >= v.length) {
            throw new Failure(at, `index ${key} out of range (the list has ${v.length})`)
          }
          v = v[key]
        } else if (isObject(v) && typeof key === "string") v = v[key]
        else throw new Failure(at, `cannot index ${typeName(v)} with ${typeName(key)}`)
      }
      return v
    }
    case "join": {
      arity(2)
      const [list, separator] = args
      if (list !== undefined && list !== null && !Array.isArray(list)) {
        throw new Failure(at, `join needs a list, got ${typeName(list)}`)
      }
      return (list ?? []).map(show).join(show(separator))
    }
    case "eq":
      if (args.length < 2) throw new Failure(at, "eq needs at least 2 arguments")
      return args.slice(1).some((a) => a === args[0])
    case "ne":
      arity(2)
      return args[0] !== args[1]
    case "not":
      arity(1)
      return !truthy(args[0])
    case "and":
      if (args.length === 0) throw new Failure(at, "and needs arguments")
      return args.find((a) => !truthy(a)) ?? args[args.length - 1]
    case "or":
      if (args.length === 0) throw new Failure(at, "or needs arguments")
      return args.find(truthy) ?? args[args.length - 1]
  }
  throw new Failure(at, `function "${name}" not defined`)
}

/**
 * Runs a template on a document (plain JSON data: objects, lists, strings, numbers, booleans, null).
 *
 * @internal
 */
export const execute = (
  template: Template,
  data: unknown,
  options: Options = {}
): Either.Either<string, TemplateError> => {
  const optional = options.optional ?? new Set<string>()
  const field = (from: unknown, path: ReadonlyArray<string>, at: number): unknown => {
    let v = from
    for (const name of path) {
      if (v === undefined || v === null) return undefined
      if (!isObject(v)) throw new Failure(at, `cannot get .${name} of ${typeName(v)} (${JSON.stringify(show(v))})`)
      if (Object.hasOwn(v, name)) v = v[name]
      else if (Object.hasOwn(v, jsonName(name))) v = v[jsonName(name)]
      else if (optional.has(jsonName(name)) || optional.has(name)) v = undefined
      else throw new Failure(at, `no field .${name}; ${fieldsOf(v)}`)
    }
    return v
  }
  const pipeline = (p: Pipeline, dot: unknown): unknown => {
    let result: unknown
    p.commands.forEach((command, i) => {
      const [head, ...rest] = command.operands
      const piped = i > 0 ? [result] : []
      if (head!.kind === "function") {
        result = call(head!.name, head!.pos.offset, [...rest.map((o) => operand(o, dot)), ...piped])
      } else {
        if (piped.length > 0) throw new Failure(head!.pos.offset, "only a function can take a piped value")
        result = operand(head!, dot)
      }
    })
    return result
  }
  const operand = (o: Operand, dot: unknown): unknown => {
    switch (o.kind) {
      case "constant":
        return o.value
      case "field":
        return field(o.from === "dot" ? dot : data, o.path, o.pos.offset)
      case "pipeline":
        return field(pipeline(o.pipeline, dot), o.path, o.pos.offset)
      case "function":
        return call(o.name, o.pos.offset, [])
    }
  }
  const run = (nodes: ReadonlyArray<Node>, dot: unknown, out: Array<string>): void => {
    for (const node of nodes) {
      switch (node.kind) {
        case "text":
          out.push(node.text)
          break
        case "action":
          out.push(show(pipeline(node.pipeline, dot)))
          break
        case "if":
          run(truthy(pipeline(node.pipeline, dot)) ? node.body : node.otherwise, dot, out)
          break
        case "with": {
          const v = pipeline(node.pipeline, dot)
          if (truthy(v)) run(node.body, v, out)
          else run(node.otherwise, dot, out)
          break
        }
        case "range": {
          const v = pipeline(node.pipeline, dot)
          const elements = Array.isArray(v)
            ? v
            : isObject(v)
            ? Object.keys(v).sort().map((k) => v[k])
            : v === undefined || v === null
            ? []
            : undefined
          if (elements === undefined) {
            throw new Failure(node.pipeline.pos.offset, `range cannot iterate over ${typeName(v)}`)
          }
          if (elements.length === 0) run(node.otherwise, dot, out)
          for (const element of elements) run(node.body, element, out)
          break
        }
      }
    }
  }
  try {
    const out: Array<string> = []
    run(template.nodes, data, out)
    return Either.right(out.join(""))
  } catch (e) {
    if (e instanceof Failure) {
      return Either.left({ position: positionOf(template.source, e.offset), message: e.message })
    }
    throw e
  }
}
