/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1): parse several challenges per header, case-insensitive
 * scheme and parameter names, quoted strings with `\` escapes, token68 and optional whitespace. `Bearer`
 * (Docker token auth) and `Basic` are modelled; any other scheme is kept as `Unknown`.
 *
 * Parsing never throws: malformed input gives a `ChallengeParseError`. One leniency over the RFC grammar:
 * an unquoted parameter value may hold any visible character except `,` and `"` (some registries send
 * `realm=https://host/token` unquoted).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { ChallengeParseError } from "./AuthError.js"
import * as Scope from "./Scope.js"

/**
 * A `Bearer` challenge: get a token from `realm` for `service` and `scope`, then retry.
 *
 * @since 0.1.0
 * @category models
 */
export class Bearer extends Data.TaggedClass("Bearer")<{
  readonly realm?: string
  readonly service?: string
  /** The raw `scope` parameter (space-separated scopes). */
  readonly scope?: string
  /** `scope`, parsed. */
  readonly scopes: ReadonlyArray<Scope.Scope>
  /** `invalid_token`, `insufficient_scope`, ... */
  readonly error?: string
  readonly errorDescription?: string
  /** Every parameter, names lower-cased. */
  readonly params: Readonly<Record<string, string>>
}> {}

/**
 * A `Basic` challenge: retry with `Authorization: Basic base64(user:password)`.
 *
 * @since 0.1.0
 * @category models
 */
export class Basic extends Data.TaggedClass("Basic")<{
  readonly realm?: string
  readonly params: Readonly<Record<string, string>>
}> {}

/**
 * A challenge of any other scheme (or a `Bearer`/`Basic` challenge carrying a token68 instead of
 * parameters), kept as parsed.
 *
 * @since 0.1.0
 * @category models
 */
export class Unknown extends Data.TaggedClass("Unknown")<{
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
  readonly token68?: string
}> {}

/**
 * @since 0.1.0
 * @category models
 */
export type Challenge = Bearer | Basic | Unknown

const TCHAR_TABLE: ReadonlyArray<boolean> = Array.from(
  { length: 128 },
  (_, code) => /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(code))
)
const isTchar = (code: number): boolean => code < 128 && TCHAR_TABLE[code] === true
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y

const isOws = (c: string | undefined): boolean => c === " " || c === "\t"
const isCtl = (code: number): boolean => (code < 0x20 && code !== 0x09) || code === 0x7f

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const build = (scheme: string, params: Record<string, string>, token68: string | undefined): Challenge => {
  const lower = scheme.toLowerCase()
  if (token68 === undefined && lower === "bearer") {
    const scope = params["scope"]
    const fields: Mutable<ConstructorParameters<typeof Bearer>[0]> = {
      scopes: scope === undefined ? [] : Scope.parseList(scope),
      params
    }
    if (params["realm"] !== undefined) fields.realm = params["realm"]
    if (params["service"] !== undefined) fields.service = params["service"]
    if (scope !== undefined) fields.scope = scope
    if (params["error"] !== undefined) fields.error = params["error"]
    if (params["error_description"] !== undefined) fields.errorDescription = params["error_description"]
    return new Bearer(fields)
  }
  if (token68 === undefined && lower === "basic") {
    return params["realm"] === undefined ? new Basic({ params }) : new Basic({ realm: params["realm"], params })
  }
  return token68 === undefined ? new Unknown({ scheme, params }) : new Unknown({ scheme, params, token68 })
}

/**
 * Parses one `WWW-Authenticate` header value into its challenges, in order.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<ReadonlyArray<Challenge>, ChallengeParseError> => {
  const n = input.length
  let i = 0
  const fail = (reason: string) =>
    Either.left(new ChallengeParseError({ input: input.slice(0, 256), position: Math.min(i, n), reason }))
  const skipOws = () => {
    while (i < n && isOws(input[i])) i++
  }
  const readToken = (): string => {
    const start = i
    while (i < n && isTchar(input.charCodeAt(i))) i++
    return input.slice(start, i)
  }
  const challenges: Array<Challenge> = []

  outer: while (true) {
    skipOws()
    while (i < n && input[i] === ",") {
      i++
      skipOws()
    }
    if (i >= n) break
    const scheme = readToken()
    if (scheme.length === 0) return fail(`expected an authentication scheme, found ${JSON.stringify(input[i])}`)
    const params: Record<string, string> = {}
    const afterScheme = i
    skipOws()
    if (i >= n || input[i] === ",") {
      challenges.push(build(scheme, params, undefined))
      continue
    }
    if (i === afterScheme) return fail(`expected a space after the scheme ${JSON.stringify(scheme)}`)

    TOKEN68.lastIndex = i
    const t68 = TOKEN68.exec(input)
    if (t68 !== null) {
      let k = i + t68[0].length
      while (k < n && isOws(input[k])) k++
      if (k >= n || input[k] === ",") {
        i = k
        challenges.push(build(scheme, params, t68[0]))
        continue
      }
    }

    while (true) {
      const name = readToken()
      if (name.length === 0) return fail("expected a parameter name")
      skipOws()
      if (input[i] !== "=") return fail(`expected '=' after parameter ${JSON.stringify(name)}`)
      i++
      skipOws()
      let value = ""
      if (input[i] === "\"") {
        i++
        let closed = false
        let run = i
        while (i < n) {
          const code = input.charCodeAt(i)
          if (code === 0x22) {
            value += input.slice(run, i)
            i++
            closed = true
            break
          }
          if (code === 0x5c) {
            value += input.slice(run, i)
            i++
            if (i >= n) break
            if (isCtl(input.charCodeAt(i))) return fail("control character in a quoted string")
            run = i
            i++
            continue
          }
          if (isCtl(code)) return fail("control character in a quoted string")
          i++
        }
        if (!closed) return fail("unterminated quoted string")
      } else {
        const start = i
        while (i < n && input[i] !== "," && !isOws(input[i])) {
          if (input[i] === "\"" || isCtl(input.charCodeAt(i))) {
            return fail(`unexpected ${JSON.stringify(input[i])} in the value of ${JSON.stringify(name)}`)
          }
          i++
        }
        value = input.slice(start, i)
        if (value.length === 0) return fail(`expected a value for parameter ${JSON.stringify(name)}`)
      }
      const lower = name.toLowerCase()
      if (!(lower in params)) params[lower] = value
      skipOws()
      if (i >= n) {
        challenges.push(build(scheme, params, undefined))
        break outer
      }
      if (input[i] !== ",") return fail(`expected ',' after the value of ${JSON.stringify(name)}`)
      // After a comma comes either another parameter of this challenge (`token =`) or a new challenge.
      const afterComma = i + 1
      i = afterComma
      while (i < n && (isOws(input[i]) || input[i] === ",")) i++
      const nextStart = i
      const next = readToken()
      skipOws()
      if (next.length > 0 && input[i] === "=") {
        i = nextStart
        continue
      }
      i = afterComma
      challenges.push(build(scheme, params, undefined))
      continue outer
    }
  }
  return Either.right(challenges)
}

/**
 * Parses every `WWW-Authenticate` value of a response (a response may repeat the header).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAll = (
  headers: ReadonlyArray<string>
): Either.Either<ReadonlyArray<Challenge>, ChallengeParseError> => {
  const all: Array<Challenge> = []
  for (const header of headers) {
    const parsed = parse(header)
    if (Either.isLeft(parsed)) return parsed
    all.push(...parsed.right)
  }
  return Either.right(all)
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`

/**
 * Formats a challenge back into header syntax (parameters quoted).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (challenge: Challenge): string => {
  const scheme = challenge._tag === "Unknown" ? challenge.scheme : challenge._tag
  if (challenge._tag === "Unknown" && challenge.token68 !== undefined) return `${scheme} ${challenge.token68}`
  const params = Object.entries(challenge.params).map(([k, v]) => `${k}=${quote(v)}`)
  return params.length === 0 ? scheme : `${scheme} ${params.join(", ")}`
}

/**
 * The scheme of a challenge as sent (`Bearer`, `Basic`, or the unknown scheme).
 *
 * @since 0.1.0
 * @category getters
 */
export const scheme = (challenge: Challenge): string => challenge._tag === "Unknown" ? challenge.scheme : challenge._tag
