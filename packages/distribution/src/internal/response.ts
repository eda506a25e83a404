/**
 * Reading registry responses: headers, bounded bodies, the spec's error envelope, and the typed errors every
 * operation fails with (each carries the registry, repository and operation of its `Ctx`).
 *
 * @internal
 */
import type * as Cookies from "@effect/platform/Cookies"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as RegistryError from "../RegistryError.js"

/** Where a request belongs: the fields every registry error carries. @internal */
export interface Ctx {
  readonly registry: string
  readonly repository?: string | undefined
  readonly operation: string
}

/** @internal */
export const errorContext = (ctx: Ctx) => ({
  registry: ctx.registry,
  ...(ctx.repository === undefined ? {} : { repository: ctx.repository }),
  operation: ctx.operation
})

/** Error bodies are read up to this size. @internal */
export const ERROR_BODY_LIMIT = 64 * 1024

/** Registry messages in errors are cut to this length. @internal */
export const MESSAGE_LIMIT = 1000

/** @internal */
export const header = (response: HttpClientResponse.HttpClientResponse, name: string): string | undefined => {
  const value = response.headers[name.toLowerCase()]
  return value === undefined || value === "" ? undefined : value
}

/** @internal */
export const contentLength = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const value = header(response, "content-length")
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/**
 * Parses `Retry-After` (delta seconds or HTTP-date) into milliseconds from `now`.
 *
 * @internal
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

/** URL without query string and fragment (pre-signed URLs carry signatures there). @internal */
export const safeUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return url.split("?")[0] ?? url
  }
}

const describeCause = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code
      parts.push(typeof code === "string" ? `${current.message} (${code})` : current.message)
      current = (current as { cause?: unknown }).cause
    } else {
      parts.push(String(current))
      break
    }
  }
  const unique = parts.filter((p, i) => p !== "" && parts.indexOf(p) === i)
  return unique.length === 0 ? "connection failed" : unique.join(": ")
}

/**
 * A `TransportError` for a request that got no (complete) answer. `cause` is the underlying failure (socket,
 * TLS, timeout), never an `HttpClientError`: that holds the request, whose `authorization` header is a secret.
 *
 * @internal
 */
export const transportError = (ctx: Ctx, method: string, url: string, cause: unknown, reason?: string) =>
  new RegistryError.TransportError({
    ...errorContext(ctx),
    method,
    url: safeUrl(url),
    reason: reason ?? describeCause(cause),
    ...(cause === undefined ? {} : { cause })
  })

/** A `TransportError` from a failure of `@effect/platform`'s client: keeps only what lies below it. @internal */
export const fromHttpClientError = (
  ctx: Ctx,
  method: string,
  url: string,
  error: HttpClientError.HttpClientError
) => {
  const cause = error.cause
  const reason = cause === undefined
    ? error._tag === "RequestError"
      ? error.description ?? error.reason
      : `${error.reason} (HTTP ${error.response.status})`
    : undefined
  return transportError(ctx, method, url, cause, reason)
}

/** A `TransportError` for a timeout, with a `TimeoutException` as its cause. @internal */
export const timeoutError = (ctx: Ctx, method: string, url: string, message: string) =>
  transportError(ctx, method, url, new Cause.TimeoutException(message), message)

/** @internal */
export const invalidResponse = (ctx: Ctx, reason: string, cause?: unknown) =>
  new RegistryError.InvalidResponse({
    ...errorContext(ctx),
    reason,
    ...(cause === undefined ? {} : { cause })
  })

/** @internal */
export const invalidArgument = (ctx: Ctx, reason: string) =>
  new RegistryError.InvalidArgument({
    ...errorContext(ctx),
    reason
  })

/** @internal */
export const unexpectedStatus = (ctx: Ctx, response: HttpClientResponse.HttpClientResponse, expected: string) =>
  new RegistryError.UnexpectedStatus({
    ...errorContext(ctx),
    method: response.request.method,
    status: response.status,
    expected
  })

/** @internal */
export const sizeExceeded = (ctx: Ctx, what: string, limit: number, size?: number) =>
  new RegistryError.SizeExceeded({
    ...errorContext(ctx),
    what,
    limit,
    ...(size === undefined ? {} : { size })
  })

/** Concatenates buffers (plain `Uint8Array` copies, no `Buffer`). @internal */
export const concatBytes = (chunks: ReadonlyArray<Uint8Array>, total?: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/**
 * Reads a response body into memory, failing with `SizeExceeded` as soon as it goes over `limit` (without
 * reading the rest; the connection is aborted).
 *
 * @internal
 */
export const readBounded = (
  ctx: Ctx,
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  what: string
): Effect.Effect<Uint8Array, RegistryError.SizeExceeded | RegistryError.TransportError> =>
  Effect.suspend(() => {
    const declared = contentLength(response)
    if (declared !== undefined && declared > limit) {
      return Effect.zipRight(abort(response), Effect.fail(sizeExceeded(ctx, what, limit, declared)))
    }
    const chunks: Array<Uint8Array> = []
    let total = 0
    let failure: RegistryError.SizeExceeded | RegistryError.TransportError | undefined
    // The stream's run never fails: a failure (the body cut short, too large) is handed back as a value and
    // failed here. A failing run ends the fiber Effect runs a stream in with an error, which the runtime logs
    // as "Fiber terminated with an unhandled error" although the failure is handled.
    return response.stream.pipe(
      Stream.either,
      Stream.runForEachWhile((item) =>
        Effect.sync(() => {
          if (Either.isLeft(item)) {
            failure = fromHttpClientError(ctx, response.request.method, response.request.url, item.left)
            return false
          }
          total += item.right.length
          if (total > limit) {
            failure = sizeExceeded(ctx, what, limit)
            return false
          }
          chunks.push(item.right)
          return true
        })
      ),
      Effect.flatMap(() => failure === undefined ? Effect.succeed(concatBytes(chunks, total)) : Effect.fail(failure))
    )
  })

/** Stops reading a response body (the connection is closed if the body was not complete). @internal */
export const abort = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  Stream.runDrain(Stream.take(response.stream, 0)).pipe(Effect.ignore)

/** Reads and drops a small body (keeps the connection reusable), aborts a large one. @internal */
export const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> => {
  const declared = contentLength(response)
  if (declared === 0 || response.request.method === "HEAD") return abort(response)
  if (declared !== undefined && declared > ERROR_BODY_LIMIT) return abort(response)
  return Effect.ignore(readBounded({ registry: "", operation: "" }, response, ERROR_BODY_LIMIT, "body"))
}

/** Whether a JSON decoding failed on the JSON itself rather than on its shape. @internal */
export const isJsonSyntaxError = (error: ParseResult.ParseError): boolean =>
  error.issue._tag === "Transformation" && error.issue.kind === "Encoded"

/** A decoding failure, for an `InvalidResponse` reason. @internal */
export const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.TreeFormatter.formatErrorSync(error)

const cut = (text: string) => text.slice(0, MESSAGE_LIMIT)

/** One entry of the envelope as sent: `message` kept when a string, `detail` as sent or as JSON. */
const WireEntry = Schema.transform(
  Schema.Struct({
    code: Schema.String,
    message: Schema.optional(Schema.Unknown),
    detail: Schema.optional(Schema.Unknown)
  }),
  Schema.typeSchema(RegistryError.ErrorEntry),
  {
    strict: true,
    decode: ({ code, detail, message }) => ({
      code,
      ...(typeof message === "string" ? { message: cut(message) } : {}),
      ...(detail === undefined || detail === null
        ? {}
        : { detail: cut(typeof detail === "string" ? detail : JSON.stringify(detail)) })
    }),
    encode: (entry) => entry
  }
)

/** The spec's error envelope, `{"errors":[{"code","message","detail"}]}`. @internal */
export const ErrorEnvelope = Schema.parseJson(Schema.Struct({ errors: Schema.Array(Schema.Unknown) }))

const decodeEnvelope = Schema.decodeUnknownEither(ErrorEnvelope)
const decodeEntry = Schema.decodeUnknownOption(WireEntry)

/**
 * The entries of an error body; a body that is not the envelope has none, and entries without a string
 * `code` are skipped.
 *
 * @internal
 */
export const errorEntries = (bytes: Uint8Array): ReadonlyArray<RegistryError.ErrorEntry> =>
  bytes.length === 0 ? [] : Either.match(decodeEnvelope(new TextDecoder().decode(bytes)), {
    onLeft: () => [],
    onRight: ({ errors }) => errors.flatMap((entry) => Option.toArray(decodeEntry(entry)))
  })

const safePath = (url: string): string => {
  try {
    return new URL(url).pathname
  } catch {
    return url
  }
}

/**
 * Turns an error response into a typed error: reads at most 64 KiB of the body and decodes the spec's
 * error envelope.
 *
 * @internal
 */
export const fail = (
  ctx: Ctx,
  response: HttpClientResponse.HttpClientResponse,
  options?: { readonly target?: string | undefined; readonly retryAfterMillis?: number | undefined }
): Effect.Effect<never, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const bytes = response.request.method === "HEAD" ? new Uint8Array(0) : yield* readBounded(
      ctx,
      response,
      ERROR_BODY_LIMIT,
      "error body"
    ).pipe(Effect.orElseSucceed(() => new Uint8Array(0)))
    const errors = errorEntries(bytes)
    const codes = new Set(errors.map((e) => e.code))
    const base = {
      ...errorContext(ctx),
      method: response.request.method,
      status: response.status,
      errors
    }
    const status = response.status
    if (status === 401 || codes.has("UNAUTHORIZED")) {
      const challenge = header(response, "www-authenticate") ?? ""
      if (challenge.includes("insufficient_scope")) {
        return yield* new RegistryError.Denied({ ...base, reason: "the token does not grant the required scope" })
      }
      return yield* new RegistryError.Unauthorized(base)
    }
    if (status === 403 || codes.has("DENIED")) return yield* new RegistryError.Denied(base)
    if (status === 429 || codes.has("TOOMANYREQUESTS")) {
      const now = yield* Clock.currentTimeMillis
      const retryAfterMillis = options?.retryAfterMillis ?? parseRetryAfter(header(response, "retry-after"), now)
      return yield* new RegistryError.TooManyRequests(
        retryAfterMillis === undefined ? base : { ...base, retryAfterMillis }
      )
    }
    const unknown = [...codes].some((c) => c.endsWith("_UNKNOWN"))
    if (status === 404 || unknown) {
      return yield* new RegistryError.NotFound({ ...base, target: options?.target ?? safePath(response.request.url) })
    }
    return yield* new RegistryError.RegistryResponseError(base)
  })

/**
 * A response whose body has been read into memory (`readBounded`): status, headers and cookies are those of
 * the response it was read from (the status may be given), the body is served from `body` (`null`: none, as
 * `new Response(null)`). It stands where `HttpClientResponse.fromWeb(request, new Response(bytes, …))` did:
 * the first use of `globalThis.Response` loads Node's own fetch implementation (~30–50 ms), once per process,
 * which every pull paid for its first manifest. Text is decoded as `Response.text()` does (UTF-8, BOM removed,
 * invalid bytes replaced).
 *
 * @internal
 */
class BufferedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId

  constructor(
    private readonly source: HttpClientResponse.HttpClientResponse,
    readonly status: number,
    private readonly body: Uint8Array | null
  ) {
    super()
  }

  get request(): HttpClientRequest.HttpClientRequest {
    return this.source.request
  }

  get headers(): Headers.Headers {
    return this.source.headers
  }

  get cookies(): Cookies.Cookies {
    return this.source.cookies
  }

  get remoteAddress(): Option.Option<string> {
    return this.source.remoteAddress
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.body === null
      ? Stream.fail(
        new HttpClientError.ResponseError({
          request: this.request,
          response: this,
          reason: "EmptyBody",
          description: "can not create stream from empty body"
        })
      )
      : this.body.length === 0
      ? Stream.empty
      : Stream.succeed(this.body.slice())
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.sync(() => this.body === null ? "" : new TextDecoder().decode(this.body))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => text === "" ? null : JSON.parse(text) as unknown,
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () =>
        new globalThis.Response(this.body === null ? null : this.body.slice(), {
          headers: { "content-type": this.headers["content-type"] ?? "" }
        }).formData(),
      catch: (cause) => this.decodeError(cause)
    })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.sync(() => this.body === null ? new ArrayBuffer(0) : this.body.slice().buffer)
  }
}

/**
 * `response` with its body already read (`body`; `null` for none) and, if given, another status.
 *
 * @internal
 */
export const buffered = (
  response: HttpClientResponse.HttpClientResponse,
  body: Uint8Array | null,
  status: number = response.status
): HttpClientResponse.HttpClientResponse => new BufferedResponse(response, status, body)
