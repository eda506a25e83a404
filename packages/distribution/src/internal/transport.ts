/**
 * The request pipeline of the registry client: base URLs, auth middleware (cached header → 401 →
 * authorize → replay once), redirects without cross-origin credentials, retries with backoff and
 * `Retry-After`, bounded body reads and error-envelope decoding.
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Authenticator from "@ocidist/auth/Authenticator"
import type * as AuthScope from "@ocidist/auth/Scope"
import { Registry } from "@ocidist/reference"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as RegistryError from "../RegistryError.js"

/** @internal */
export interface Ctx {
  readonly registry: string
  readonly repository?: string | undefined
  readonly operation: string
}

/** The fields every registry error carries about where it happened. @internal */
export const errorContext = (ctx: Ctx) => ({
  registry: ctx.registry,
  ...(ctx.repository === undefined ? {} : { repository: ctx.repository }),
  operation: ctx.operation
})

/** @internal */
export interface HostOptions {
  readonly plainHttp: boolean
  readonly insecure: boolean
  readonly timeout: Duration.Duration | undefined
  readonly userAgent: string
}

/** @internal */
export interface RetryPolicy {
  readonly times: number
  readonly base: Duration.Duration
  readonly max: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
}

/** @internal */
export interface TransportOptions {
  readonly host: (registry: string) => HostOptions
  readonly retry: RetryPolicy
  readonly maxRedirects: number
}

/** @internal */
export interface SendOptions {
  readonly scopes: ReadonlyArray<AuthScope.Scope>
  /** retry transient failures in place (default: unless the body is a stream or the method is PATCH) */
  readonly retry?: boolean
  /** follow redirects for GET/HEAD (default true) */
  readonly redirects?: boolean
  /** skip the auth middleware (ping) */
  readonly anonymous?: boolean
}

/** @internal */
export const ERROR_BODY_LIMIT = 64 * 1024

/** Reason of the `Unauthorized` raised when a streamed body met a 401 (the operation is restarted). @internal */
export const STREAM_REAUTH = "the registry asked to re-authenticate during a streamed upload; retry the operation"

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504])

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

/** @internal */
export const isLoopbackHost = (host: string) => Registry.isLoopback(host)

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

/** URL without query string and fragment (pre-signed URLs carry signatures there). @internal */
export const safeUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return url.split("?")[0] ?? url
  }
}

/** @internal */
export const transportError = (ctx: Ctx, method: string, url: string, cause: unknown) =>
  new RegistryError.TransportError({
    ...errorContext(ctx),
    method,
    url: safeUrl(url),
    reason: describeCause(cause)
  })

/** @internal */
export const invalidResponse = (ctx: Ctx, reason: string) =>
  new RegistryError.InvalidResponse({
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

const mapBodyError = (ctx: Ctx, response: HttpClientResponse.HttpClientResponse) =>
(
  error: HttpClientError.ResponseError
) => transportError(ctx, response.request.method, response.request.url, error.cause ?? error)

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
    return response.stream.pipe(
      Stream.mapError(mapBodyError(ctx, response)),
      Stream.runForEach((chunk) => {
        total += chunk.length
        if (total > limit) return Effect.fail(sizeExceeded(ctx, what, limit))
        chunks.push(chunk)
        return Effect.void
      }),
      Effect.map(() => {
        if (chunks.length === 1) return chunks[0]!
        const out = new Uint8Array(total)
        let offset = 0
        for (const chunk of chunks) {
          out.set(chunk, offset)
          offset += chunk.length
        }
        return out
      })
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

const decodeEnvelope = (bytes: Uint8Array): ReadonlyArray<RegistryError.ErrorEntry> => {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as unknown
    const errors = typeof json === "object" && json !== null ? (json as { errors?: unknown }).errors : undefined
    if (!Array.isArray(errors)) return []
    return errors.flatMap((e: unknown): Array<RegistryError.ErrorEntry> => {
      if (typeof e !== "object" || e === null) return []
      const { code, detail, message } = e as { code?: unknown; message?: unknown; detail?: unknown }
      if (typeof code !== "string") return []
      const entry: { code: string; message?: string; detail?: string } = { code }
      if (typeof message === "string") entry.message = message.slice(0, 1000)
      if (detail !== undefined && detail !== null) {
        entry.detail = (typeof detail === "string" ? detail : JSON.stringify(detail)).slice(0, 1000)
      }
      return [entry]
    })
  } catch {
    return []
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
    const errors = decodeEnvelope(bytes)
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

const safePath = (url: string): string => {
  try {
    return new URL(url).pathname
  } catch {
    return url
  }
}

/** @internal */
export interface Transport {
  readonly origin: (registry: string) => string
  readonly hostOptions: (registry: string) => HostOptions
  readonly send: (
    ctx: Ctx,
    request: HttpClientRequest.HttpClientRequest,
    options: SendOptions
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError>
  readonly raw: (
    ctx: Ctx,
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.TransportError>
}

/** @internal */
export const makeTransport = (
  http: HttpClient.HttpClient,
  auth: Authenticator.Service,
  options: TransportOptions
): Transport => {
  const origin = (registry: string): string => {
    const host = Registry.apiHost(registry)
    return `${options.host(registry).plainHttp ? "http" : "https"}://${host}`
  }

  const raw = (ctx: Ctx, request: HttpClientRequest.HttpClientRequest) => {
    const host = options.host(ctx.registry)
    const req = HttpClientRequest.setHeader(request, "user-agent", host.userAgent)
    const exec = Effect.mapError(
      http.execute(req),
      (error) =>
        transportError(
          ctx,
          req.method,
          req.url,
          error._tag === "RequestError" ? error.cause ?? error.description ?? error.reason : error.cause ?? error
        )
    )
    // The headers timeout covers sending the body too: leave large and streamed uploads to the idle
    // detection of the connection instead.
    const body = req.body
    const large = body._tag === "Stream" || (body._tag === "Uint8Array" && body.body.length > 1024 * 1024)
    if (host.timeout === undefined || large) return exec
    const timeout = host.timeout
    return Effect.timeoutFail(exec, {
      duration: timeout,
      onTimeout: () => transportError(ctx, req.method, req.url, `no response within ${Duration.format(timeout)}`)
    })
  }

  const withAuthorization = (
    request: HttpClientRequest.HttpClientRequest,
    authorization: Option.Option<Redacted.Redacted<string>>
  ) =>
    Option.match(authorization, {
      onNone: () => request,
      onSome: (value) => HttpClientRequest.setHeader(request, "authorization", Redacted.value(value))
    })

  const authFailure = (
    ctx: Ctx,
    request: HttpClientRequest.HttpClientRequest,
    error: { readonly _tag: string; readonly message: string }
  ) => {
    const base = {
      ...errorContext(ctx),
      method: request.method,
      status: 401,
      errors: [],
      reason: error.message
    }
    return error._tag === "InsufficientScope"
      ? new RegistryError.Denied({ ...base, status: 403 })
      : new RegistryError.Unauthorized(base)
  }

  // One request, with the auth middleware: cached header → 401 → authorize → replay once.
  const authenticated = (
    ctx: Ctx,
    request: HttpClientRequest.HttpClientRequest,
    sendOptions: SendOptions
  ): Effect.Effect<
    {
      readonly response: HttpClientResponse.HttpClientResponse
      readonly authorization: Option.Option<Redacted.Redacted<string>>
    },
    RegistryError.RegistryClientError
  > =>
    Effect.gen(function*() {
      if (sendOptions.anonymous === true) {
        return { response: yield* raw(ctx, request), authorization: Option.none() }
      }
      const host = options.host(ctx.registry)
      const target: Authenticator.Target = {
        registry: ctx.registry,
        scopes: sendOptions.scopes,
        insecure: host.plainHttp || host.insecure
      }
      const cached = yield* auth.cached(target)
      const first = yield* raw(ctx, withAuthorization(request, cached))
      if (first.status !== 401) return { response: first, authorization: cached }
      const challenge = header(first, "www-authenticate")
      if (challenge === undefined) return { response: first, authorization: cached }
      yield* discard(first)
      const authorization = yield* auth.authorize(
        target,
        [challenge],
        Option.isSome(cached) ? { rejected: cached.value } : undefined
      ).pipe(
        Effect.mapError((error) => authFailure(ctx, request, error))
      )
      const unauthorized = (reason: string) =>
        new RegistryError.Unauthorized({
          ...errorContext(ctx),
          method: request.method,
          status: 401,
          errors: [],
          reason
        })
      if (Option.isNone(authorization)) {
        return yield* unauthorized("the registry requires authentication and no credentials are configured for it")
      }
      if (request.body._tag === "Stream") return yield* unauthorized(STREAM_REAUTH)
      const second = yield* raw(ctx, withAuthorization(request, authorization))
      if (second.status === 401) yield* auth.invalidate(target)
      return { response: second, authorization }
    })

  const followRedirects = (
    ctx: Ctx,
    response: HttpClientResponse.HttpClientResponse,
    authorization: Option.Option<Redacted.Redacted<string>>
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError> =>
    Effect.gen(function*() {
      const registryOrigin = origin(ctx.registry)
      let current = response
      for (let hop = 0; REDIRECTS.has(current.status); hop++) {
        const location = header(current, "location")
        if (location === undefined) return current
        if (hop >= options.maxRedirects) {
          yield* discard(current)
          return yield* invalidResponse(ctx, `more than ${options.maxRedirects} redirects`)
        }
        const from = new URL(current.request.url)
        let to: URL
        try {
          to = new URL(location, from)
        } catch {
          yield* discard(current)
          return yield* invalidResponse(ctx, `malformed redirect location "${safeUrl(location)}"`)
        }
        if (to.protocol !== "https:" && to.protocol !== "http:") {
          yield* discard(current)
          return yield* invalidResponse(ctx, `redirect to unsupported scheme ${to.protocol}`)
        }
        if (from.protocol === "https:" && to.protocol === "http:" && !Registry.isLoopback(to.host)) {
          yield* discard(current)
          return yield* invalidResponse(ctx, `refusing redirect from https to plain http (${safeUrl(to.href)})`)
        }
        yield* discard(current)
        const method = current.request.method
        const headers = to.origin === registryOrigin
          ? withAuthorization(current.request, authorization).headers
          : Headers.remove(current.request.headers, "authorization")
        const next = method === "HEAD"
          ? HttpClientRequest.head(to, { headers })
          : HttpClientRequest.get(to, { headers })
        current = yield* raw(ctx, next)
      }
      return current
    })

  const once = (ctx: Ctx, request: HttpClientRequest.HttpClientRequest, sendOptions: SendOptions) =>
    Effect.flatMap(authenticated(ctx, request, sendOptions), ({ authorization, response }) => {
      const follow = sendOptions.redirects !== false && (request.method === "GET" || request.method === "HEAD")
      return follow && REDIRECTS.has(response.status)
        ? followRedirects(ctx, response, authorization)
        : Effect.succeed(response)
    })

  const backoff = (attempt: number): Effect.Effect<number> =>
    Effect.map(Random.next, (r) => {
      const base = Duration.toMillis(options.retry.base) * 2 ** attempt
      const capped = Math.min(base, Duration.toMillis(options.retry.max))
      return Math.round(capped / 2 + (capped / 2) * r)
    })

  const send = (
    ctx: Ctx,
    request: HttpClientRequest.HttpClientRequest,
    sendOptions: SendOptions
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError> => {
    const retry = sendOptions.retry ?? (request.body._tag !== "Stream" && request.method !== "PATCH")
    if (!retry || options.retry.times <= 0) return once(ctx, request, sendOptions)
    const loop = (attempt: number): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError> =>
      once(ctx, request, sendOptions).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            error._tag === "TransportError" && attempt < options.retry.times
              ? Effect.flatMap(backoff(attempt), (ms) => Effect.zipRight(Effect.sleep(ms), loop(attempt + 1)))
              : Effect.fail(error),
          onSuccess: (response) => {
            if (!RETRY_STATUSES.has(response.status) || attempt >= options.retry.times) return Effect.succeed(response)
            return Effect.gen(function*() {
              const now = yield* Clock.currentTimeMillis
              const retryAfter = parseRetryAfter(header(response, "retry-after"), now)
              if (retryAfter !== undefined && retryAfter > Duration.toMillis(options.retry.maxRetryAfter)) {
                return yield* fail(ctx, response, { retryAfterMillis: retryAfter })
              }
              yield* discard(response)
              const delay = retryAfter ?? (yield* backoff(attempt))
              yield* Effect.logDebug(
                `${ctx.operation}: HTTP ${response.status} from ${ctx.registry}, retrying in ${delay} ms`
              )
              yield* Effect.sleep(delay)
              return yield* loop(attempt + 1)
            })
          }
        })
      )
    return loop(0)
  }

  return { origin, hostOptions: options.host, send, raw }
}
