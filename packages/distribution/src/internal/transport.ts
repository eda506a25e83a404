/**
 * The request pipeline of the registry client: base URLs, auth middleware (cached header → 401 →
 * authorize → replay once), redirects without cross-origin credentials, and per-request retries with the
 * client's one retry policy (`Retry-After` honoured; stream bodies never replayed).
 *
 * @internal
 */
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Authenticator from "@ocidist/auth/Authenticator"
import type * as AuthError from "@ocidist/auth/AuthError"
import type * as AuthScope from "@ocidist/auth/Scope"
import { Registry } from "@ocidist/reference"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as RegistryError from "../RegistryError.js"
import * as Response from "./response.js"
import * as Retry from "./retry.js"

/** @internal */
export interface HostOptions {
  readonly plainHttp: boolean
  /**
   * The scheme was not chosen (a loopback registry without `plainHttp`): HTTPS first, plain HTTP from the
   * first TLS handshake the server answers in plain HTTP on, for the client's lifetime.
   */
  readonly probe: boolean
  readonly insecure: boolean
  readonly timeout: Duration.Duration | undefined
  readonly userAgent: string
}

/** @internal */
export interface TransportOptions {
  readonly host: (registry: string) => HostOptions
  readonly retry: Retry.Policy
  readonly maxRedirects: number
  /** The schemes learnt for the registries of `HostOptions.probe`, shared by the transports of one client. */
  readonly schemes: Schemes
}

/**
 * The scheme learnt for each registry of `HostOptions.probe`, and the lock its first requests take, so that
 * one of them finds the scheme while the others wait for it.
 *
 * @internal
 */
export interface Schemes {
  readonly learnt: Map<string, "http" | "https">
  readonly lock: (registry: string) => Effect.Semaphore
}

/** @internal */
export const makeSchemes = (): Schemes => {
  const locks = new Map<string, Effect.Semaphore>()
  return {
    learnt: new Map(),
    lock: (registry) => {
      let lock = locks.get(registry)
      if (lock === undefined) {
        lock = Effect.unsafeMakeSemaphore(1)
        locks.set(registry, lock)
      }
      return lock
    }
  }
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
  /**
   * A small bounded body (a manifest, a page of tags, referrers or the catalog): the body of a `200` is read,
   * up to `limit` bytes, inside the retried attempt, so a body cut short is retried with its request, as a
   * whole. The response returned holds the body in memory.
   */
  readonly read?: { readonly limit: number; readonly what: string }
}

/** Reason of the `Unauthorized` raised when a streamed body met a 401 (the operation is restarted). @internal */
export const STREAM_REAUTH = "the registry asked to re-authenticate during a streamed upload; retry the operation"

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** Statuses retried in place: 408, 429, 500, 502, 503, 504. @internal */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** A body that is read as it is sent (a stream, or an iterable the Node transport streams): never replayed. */
const isStreamed = (body: HttpBody.HttpBody): boolean => body._tag === "Stream" || body._tag === "Raw"

/** @internal */
export const isLoopbackHost = (host: string) => Registry.isLoopback(host)

/**
 * A TLS handshake answered in plain HTTP (an HTTP server sends `400 Bad Request` and closes: OpenSSL reads
 * it as a record of a wrong version or length) or closed before it completed.
 *
 * @internal
 */
export const speaksPlainHttp = (error: RegistryError.RegistryClientError): boolean =>
  error._tag === "TransportError" && Registry.speaksPlainHttp(error.reason)

const onHost = (url: string, registry: string): boolean => {
  try {
    return new URL(url).host.toLowerCase() === Registry.apiHost(registry).toLowerCase()
  } catch {
    return false
  }
}

/**
 * Completes on a later turn of the event loop (a macrotask, after the I/O callbacks pending now). An HTTP
 * client frees the connection of a response whose body just ended in the callbacks that follow the end: a
 * request sent after this turn finds it free instead of opening another connection.
 *
 * @internal
 */
export const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(timer))
})

/**
 * A response with a retryable status, its (small) body read so the connection is free while waiting. Fed to
 * the retry schedule; `retryAfterMillis` is its `Retry-After`.
 */
class Retryable extends Data.TaggedError("Retryable")<{
  readonly response: HttpClientResponse.HttpClientResponse
  readonly retryAfterMillis: number | undefined
}> {}

/** @internal */
export interface Transport<R = never> {
  readonly origin: (registry: string) => string
  /** Whether requests to the registry go over `http://` (for a probed one: as learnt so far). */
  readonly plainHttp: (registry: string) => boolean
  readonly hostOptions: (registry: string) => HostOptions
  readonly send: (
    ctx: Response.Ctx,
    request: HttpClientRequest.HttpClientRequest,
    options: SendOptions
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError, R>
}

/**
 * The pipeline over `http`. Over `HttpClient.withScope(http)` (`R` = `Scope`) every request is aborted when
 * the scope closes, answered or not.
 *
 * @internal
 */
export const makeTransport = <R>(
  http: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>,
  auth: Authenticator.Service,
  options: TransportOptions
): Transport<R> => {
  const schemes = options.schemes.learnt
  const plainHttp = (registry: string): boolean => {
    const host = options.host(registry)
    return host.probe ? schemes.get(registry) === "http" : host.plainHttp
  }

  const origin = (registry: string): string => {
    const host = Registry.apiHost(registry)
    return `${plainHttp(registry) ? "http" : "https"}://${host}`
  }

  const toHttp = (request: HttpClientRequest.HttpClientRequest) =>
    HttpClientRequest.setUrl(request, `http:${request.url.slice("https:".length)}`)

  const raw = (ctx: Response.Ctx, request: HttpClientRequest.HttpClientRequest) => {
    const host = options.host(ctx.registry)
    const req = HttpClientRequest.setHeader(request, "user-agent", host.userAgent)
    if (!host.probe || !req.url.startsWith("https:") || !onHost(req.url, ctx.registry)) return execute(ctx, host, req)
    const learnt = () => {
      const scheme = schemes.get(ctx.registry)
      return scheme === "http"
        ? execute(ctx, host, toHttp(req))
        : scheme === "https"
        ? execute(ctx, host, req)
        : undefined
    }
    // the first requests: one tries HTTPS (the others wait for its answer)
    const probe = Effect.suspend(() => learnt() ?? execute(ctx, host, req)).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          if (!schemes.has(ctx.registry)) schemes.set(ctx.registry, "https")
        })
      ),
      Effect.catchAll((error) => {
        if (!speaksPlainHttp(error) || schemes.has(ctx.registry)) return Effect.fail(error)
        schemes.set(ctx.registry, "http")
        return Effect.zipRight(
          Effect.logDebug(`${ctx.registry} speaks plain HTTP (${error.message}): using http://`),
          // a streamed body may have been read: the operation is restarted (over http) instead
          isStreamed(req.body) ? Effect.fail(error) : execute(ctx, host, toHttp(req))
        )
      })
    )
    return learnt() ?? options.schemes.lock(ctx.registry).withPermits(1)(probe)
  }

  // A plain-HTTP request to a TLS port: a Go server answers 400 "Client sent an HTTP request to an HTTPS
  // server" (its small body is read to tell; any other 400 is returned as it was).
  const tlsPort = (
    ctx: Response.Ctx,
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError> =>
    Effect.gen(function*() {
      const bytes = yield* Response.readBounded(ctx, response, Response.ERROR_BODY_LIMIT, "error body").pipe(
        Effect.orElseSucceed(() => new Uint8Array(0))
      )
      if (/HTTP request to an HTTPS server/i.test(new TextDecoder().decode(bytes))) {
        return yield* Response.invalidResponse(
          ctx,
          `${response.request.method} ${
            Response.safeUrl(response.request.url)
          } answered "HTTP 400: Client sent an HTTP request to an HTTPS server"`
        )
      }
      return Response.buffered(response, bytes.length === 0 ? null : bytes, 400)
    })

  // The answer to a plain-HTTP HEAD on a TLS port has no body to tell: a Go server writes its 400 without a
  // single header (no Date, no Content-Length), which no registry's own 400 lacks. Only then is the request
  // sent again as a GET, whose body tells (a genuine 400 is returned as it was).
  const tlsPortHead = (
    ctx: Response.Ctx,
    req: HttpClientRequest.HttpClientRequest,
    response: HttpClientResponse.HttpClientResponse
  ) => {
    if (Object.keys(response.headers).length > 0) return Effect.succeed(response)
    return http.execute(HttpClientRequest.setMethod(req, "GET")).pipe(
      Effect.flatMap((answer) =>
        answer.status === 400 ? Effect.asVoid(tlsPort(ctx, answer)) : Response.discard(answer)
      ),
      Effect.catchAll((error) =>
        error._tag === "InvalidResponse"
          ? Effect.fail(Response.invalidResponse(
            ctx,
            `HEAD ${Response.safeUrl(req.url)} answered "HTTP 400" without headers, and a GET of it ` +
              `"HTTP 400: Client sent an HTTP request to an HTTPS server"`
          ))
          : Effect.void
      ),
      Effect.as(response)
    )
  }

  const execute = (ctx: Response.Ctx, host: HostOptions, req: HttpClientRequest.HttpClientRequest) => {
    const exec = Effect.mapError(
      http.execute(req),
      (error) => Response.fromHttpClientError(ctx, req.method, req.url, error)
    ).pipe(
      Effect.flatMap((response) =>
        response.status !== 400 || !req.url.startsWith("http:")
          ? Effect.succeed(response)
          : req.method === "HEAD"
          ? tlsPortHead(ctx, req, response)
          : tlsPort(ctx, response)
      )
    )
    // The headers timeout covers sending the body too: leave large and streamed uploads to the idle
    // detection of the connection instead.
    const body = req.body
    const large = isStreamed(body) || (body._tag === "Uint8Array" && body.body.length > 1024 * 1024)
    if (host.timeout === undefined || large) return exec
    const timeout = host.timeout
    return Effect.timeoutFail(exec, {
      duration: timeout,
      onTimeout: () => Response.timeoutError(ctx, req.method, req.url, `no response within ${Duration.format(timeout)}`)
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
    ctx: Response.Ctx,
    request: HttpClientRequest.HttpClientRequest,
    error: AuthError.AuthenticatorError
  ) => {
    // the token server failing is not a credentials problem: only its 401/403 (CredentialsRejected) is
    if (error._tag === "TokenExchangeError") {
      return new RegistryError.TokenServerError({
        ...Response.errorContext(ctx),
        realm: error.realm,
        ...(error.status === undefined ? {} : { status: error.status }),
        reason: error.reason,
        transient: error.transient === true,
        cause: error
      })
    }
    const base = {
      ...Response.errorContext(ctx),
      method: request.method,
      status: 401,
      errors: [],
      reason: error.message
    }
    return error._tag === "InsufficientScope"
      ? new RegistryError.Denied({ ...base, status: 403 })
      : new RegistryError.Unauthorized(base)
  }

  // Token exchanges that fail transiently are retried with the same policy (inside the Authenticator, so
  // concurrent callers keep sharing one exchange).
  const tokenRetry = Retry.schedule<AuthError.TokenExchangeError>(options.retry)

  // One request, with the auth middleware: cached header → 401 → authorize → replay once.
  const authenticated = (
    ctx: Response.Ctx,
    request: HttpClientRequest.HttpClientRequest,
    sendOptions: SendOptions
  ): Effect.Effect<
    {
      readonly response: HttpClientResponse.HttpClientResponse
      readonly authorization: Option.Option<Redacted.Redacted<string>>
    },
    RegistryError.RegistryClientError,
    R
  > =>
    Effect.gen(function*() {
      if (sendOptions.anonymous === true) {
        return { response: yield* raw(ctx, request), authorization: Option.none() }
      }
      const host = options.host(ctx.registry)
      // after the first request: the scheme of a probed registry may have been learnt by it
      const targetOf = (): Authenticator.Target => {
        const plain = plainHttp(ctx.registry)
        return {
          registry: ctx.registry,
          scopes: sendOptions.scopes,
          insecure: plain || host.insecure,
          // a plain-HTTP registry may use a plain-HTTP realm; an HTTPS one never sends credentials over HTTP
          plainHttp: plain
        }
      }
      const cached = yield* auth.cached(targetOf())
      const first = yield* raw(ctx, withAuthorization(request, cached))
      const target = targetOf()
      if (first.status !== 401) return { response: first, authorization: cached }
      const challenge = Response.header(first, "www-authenticate")
      if (challenge === undefined) return { response: first, authorization: cached }
      // the replay reuses the connection of the 401 once the client has freed it
      yield* Effect.zipRight(Response.discard(first), nextTurn)
      const authorization = yield* auth.authorize(
        target,
        [challenge],
        Option.isSome(cached) ? { rejected: cached.value, retry: tokenRetry } : { retry: tokenRetry }
      ).pipe(
        Effect.mapError((error) => authFailure(ctx, request, error))
      )
      const unauthorized = (reason: string) =>
        new RegistryError.Unauthorized({
          ...Response.errorContext(ctx),
          method: request.method,
          status: 401,
          errors: [],
          reason
        })
      if (Option.isNone(authorization)) {
        return yield* unauthorized("the registry requires authentication and no credentials are configured for it")
      }
      if (isStreamed(request.body)) return yield* unauthorized(STREAM_REAUTH)
      const second = yield* raw(ctx, withAuthorization(request, authorization))
      if (second.status === 401) yield* auth.invalidate(target)
      return { response: second, authorization }
    })

  const followRedirects = (
    ctx: Response.Ctx,
    response: HttpClientResponse.HttpClientResponse,
    authorization: Option.Option<Redacted.Redacted<string>>
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError, R> =>
    Effect.gen(function*() {
      const registryOrigin = origin(ctx.registry)
      let current = response
      for (let hop = 0; REDIRECTS.has(current.status); hop++) {
        const location = Response.header(current, "location")
        if (location === undefined) return current
        if (hop >= options.maxRedirects) {
          yield* Response.discard(current)
          return yield* Response.invalidResponse(ctx, `more than ${options.maxRedirects} redirects`)
        }
        const from = new URL(current.request.url)
        let to: URL
        try {
          to = new URL(location, from)
        } catch {
          yield* Response.discard(current)
          return yield* Response.invalidResponse(ctx, `malformed redirect location "${Response.safeUrl(location)}"`)
        }
        if (to.protocol !== "https:" && to.protocol !== "http:") {
          yield* Response.discard(current)
          return yield* Response.invalidResponse(ctx, `redirect to unsupported scheme ${to.protocol}`)
        }
        if (from.protocol === "https:" && to.protocol === "http:" && !Registry.isLoopback(to.host)) {
          yield* Response.discard(current)
          return yield* Response.invalidResponse(
            ctx,
            `refusing redirect from https to plain http (${Response.safeUrl(to.href)})`
          )
        }
        yield* Response.discard(current)
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

  const once = (ctx: Response.Ctx, request: HttpClientRequest.HttpClientRequest, sendOptions: SendOptions) =>
    Effect.flatMap(authenticated(ctx, request, sendOptions), ({ authorization, response }) => {
      const follow = sendOptions.redirects !== false && (request.method === "GET" || request.method === "HEAD")
      return follow && REDIRECTS.has(response.status)
        ? followRedirects(ctx, response, authorization)
        : Effect.succeed(response)
    })

  // The body of a retryable response (at most 64 KiB, else none) is read at once: the connection is not
  // held while waiting, and the last one can still be returned (or decoded into an error) whole.
  const retryable = (ctx: Response.Ctx, response: HttpClientResponse.HttpClientResponse) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const retryAfterMillis = Response.parseRetryAfter(Response.header(response, "retry-after"), now)
      const bytes = response.request.method === "HEAD" ?
        yield* Effect.as(Response.abort(response), new Uint8Array(0)) :
        yield* Response.readBounded(
          ctx,
          response,
          Response.ERROR_BODY_LIMIT,
          "error body"
        ).pipe(Effect.orElseSucceed(() => new Uint8Array(0)))
      const copy = Response.buffered(response, bytes.length === 0 ? null : bytes)
      return yield* new Retryable({ response: copy, retryAfterMillis })
    })

  // The body of a 200 read whole (see `SendOptions.read`); a `TransportError` while reading it is retried.
  const buffered = (
    ctx: Response.Ctx,
    response: HttpClientResponse.HttpClientResponse,
    read: NonNullable<SendOptions["read"]>
  ) =>
    Effect.map(
      Response.readBounded(ctx, response, read.limit, read.what),
      (bytes) => Response.buffered(response, bytes)
    )

  const schedule = Retry.schedule<RegistryError.RegistryClientError | Retryable>(options.retry).pipe(
    Schedule.whileInput((error) => error._tag === "TransportError" || error._tag === "Retryable")
  )

  const send = (
    ctx: Response.Ctx,
    request: HttpClientRequest.HttpClientRequest,
    sendOptions: SendOptions
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError, R> => {
    const retry = sendOptions.retry ?? (!isStreamed(request.body) && request.method !== "PATCH")
    const read = sendOptions.read
    const withBody = (
      response: HttpClientResponse.HttpClientResponse
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError> =>
      read !== undefined && response.status === 200 && request.method !== "HEAD"
        ? buffered(ctx, response, read)
        : Effect.succeed(response)
    if (!retry) return Effect.flatMap(once(ctx, request, sendOptions), withBody)
    const attempt = Effect.flatMap(
      once(ctx, request, sendOptions),
      (response): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError | Retryable> =>
        RETRY_STATUSES.has(response.status) ? retryable(ctx, response) : withBody(response)
    )
    return Effect.retryOrElse(
      attempt,
      schedule.pipe(
        Schedule.tapInput((error: RegistryError.RegistryClientError | Retryable) =>
          error._tag === "Retryable" || error._tag === "TransportError"
            ? Effect.logDebug(
              `${ctx.operation}: ${
                error._tag === "Retryable" ? `HTTP ${error.response.status}` : error.reason
              } from ${ctx.registry}`
            )
            : Effect.void
        )
      ),
      (error) => {
        if (error._tag !== "Retryable") return Effect.fail(error)
        return Retry.tooLong(options.retry, error)
          ? Response.fail(ctx, error.response, { retryAfterMillis: error.retryAfterMillis })
          : Effect.succeed(error.response)
      }
    )
  }

  return { origin, plainHttp, hostOptions: options.host, send }
}
