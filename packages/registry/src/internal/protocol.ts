/**
 * The wire format of the OCI Distribution spec: error codes with their statuses, the JSON error envelope,
 * name, tag and range grammars.
 *
 * @internal
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Stream from "effect/Stream"

/** Error codes of the spec (and the `UNKNOWN` of distribution for internal failures), with their status. */
export const codes = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  UNAVAILABLE: 503,
  UNKNOWN: 500
} as const

export type Code = keyof typeof codes

/** A failed request: answered with the envelope `{"errors":[{code,message,detail}]}`. */
export interface Failure {
  readonly _tag: "Failure"
  readonly code: Code
  readonly message: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly detail?: unknown
  /** What went wrong inside the registry (logged, never sent). */
  readonly cause?: unknown
}

export const failure = (
  code: Code,
  message: string,
  options?: {
    readonly status?: number
    readonly headers?: Readonly<Record<string, string>>
    readonly detail?: unknown
  }
): Failure => ({
  _tag: "Failure",
  code,
  message,
  status: options?.status ?? codes[code],
  headers: options?.headers ?? {},
  ...(options?.detail === undefined ? {} : { detail: options.detail })
})

export const isFailure = (u: unknown): u is Failure =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "Failure"

export const respond = (f: Failure): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(
    { errors: [{ code: f.code, message: f.message, ...(f.detail === undefined ? {} : { detail: f.detail }) }] },
    { status: f.status, headers: f.headers }
  )

/** Repository names (distribution-spec: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`). */
const component = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*"
const nameRegex = new RegExp(`^${component}(?:/${component})*$`)
export const isName = (name: string): boolean => name.length <= 255 && nameRegex.test(name)

/** Tags: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. */
export const isTag = (tag: string): boolean => /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(tag)

/** A `Range: bytes=…` header against a blob of `size` bytes: the inclusive range, `"unsatisfiable"`, or none. */
export const parseRange = (
  header: string | undefined,
  size: number
): { readonly start: number; readonly end: number } | "unsatisfiable" | undefined => {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return undefined // multiple or malformed ranges: the whole blob (RFC 9110 §14.2)
  const [, first, last] = match
  if (first === "" && last === "") return undefined
  if (size === 0) return "unsatisfiable" // an empty blob has no byte to range over (RFC 9110 §14.1.1)
  if (first === "") {
    const suffix = Number(last)
    if (suffix === 0) return "unsatisfiable"
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (start >= size) return "unsatisfiable"
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  if (end < start) return undefined
  return { start, end }
}

/** A `Content-Range` of a chunk upload: `<start>-<end>` (inclusive), with or without a `bytes ` prefix. */
export const parseContentRange = (
  header: string | undefined
): { readonly start: number; readonly end: number } | "invalid" | undefined => {
  if (header === undefined) return undefined
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim())
  if (match === null) return "invalid"
  const start = Number(match[1])
  const end = Number(match[2])
  return end < start ? "invalid" : { start, end }
}

/** `n` of a paginated list: absent, a number ≥ 0, or invalid. */
export const parseCount = (value: string | null): number | undefined | "invalid" => {
  if (value === null || value === "") return undefined
  return /^\d{1,9}$/.test(value) ? Number(value) : "invalid"
}

/** One page of a sorted list after `last`, at most `n` items, and whether more follow. */
export const page = <A extends string>(
  sorted: ReadonlyArray<A>,
  n: number | undefined,
  last: string | null
): { readonly items: ReadonlyArray<A>; readonly more: boolean } => {
  const after = last === null || last === "" ? sorted : sorted.filter((s) => s > last)
  if (n === undefined) return { items: after, more: false }
  return { items: after.slice(0, n), more: after.length > n && n > 0 }
}

/** `count` random bytes as hex (upload ids, tokens, redirect keys). */
export const randomHex = (count: number): string => {
  const bytes = new Uint8Array(count)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
}

/** The first `count` bytes of a stream (a `Range`, or what a fault lets through). */
export const takeBytes = <E>(stream: Stream.Stream<Uint8Array, E>, count: number): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let left = count
    return stream.pipe(
      Stream.takeWhile(() => left > 0),
      Stream.map((chunk) => {
        const part = chunk.length <= left ? chunk : chunk.subarray(0, left)
        left -= part.length
        return part
      })
    )
  })
