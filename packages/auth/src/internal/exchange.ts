/**
 * Token exchange with a token server (Docker token spec GET, OAuth2 POST), bounded and redacted.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { CredentialsRejected, TokenExchangeError } from "../AuthError.js"
import type * as Credentials from "../Credentials.js"
import * as Scope from "../Scope.js"
import { collectText } from "./boundedText.js"

/** @internal */
export const MAX_TOKEN_RESPONSE = 128 * 1024

/** @internal */
export const DEFAULT_LIFETIME_SECONDS = 60

/** @internal */
export interface TokenRequest {
  readonly registry: string
  readonly realm: URL
  readonly service: string | undefined
  /** In the order to send them (the challenged scope first: some token servers read only the first). */
  readonly scopes: ReadonlyArray<Scope.Scope>
  readonly credential: Credentials.Anonymous | Credentials.Basic | Credentials.IdentityToken
  /** Use the OAuth2 password grant (POST) for Basic credentials instead of GET. */
  readonly oauth2: boolean
  readonly clientId: string
}

/** @internal */
export interface TokenResponse {
  readonly token: Redacted.Redacted<string>
  readonly expiresInSeconds: number
  readonly issuedAtMillis: number | undefined
  /** An OAuth2 refresh token, when the server issued one (kept, not used yet). */
  readonly refreshToken: Redacted.Redacted<string> | undefined
}

/**
 * The realm without query or credentials, safe for errors.
 *
 * @internal
 */
export const displayRealm = (realm: URL | string): string => {
  try {
    const url = new URL(realm.toString())
    return `${url.protocol}//${url.host}${url.pathname}`
  } catch {
    return "(invalid realm)"
  }
}

/**
 * Why a realm must not be sent credentials, or `undefined` when it may (see the realm policy in the
 * `Authenticator` module docs): a scheme other than `https`, `http` unless the registry itself is reached over
 * plain HTTP, user info in the URL.
 *
 * @internal
 */
export const refuseRealm = (
  realm: URL,
  target: { readonly insecure: boolean; readonly plainHttp?: boolean | undefined }
): string | undefined => {
  if (realm.protocol !== "https:" && realm.protocol !== "http:") {
    return `unsupported realm scheme ${realm.protocol}: the registry's WWW-Authenticate challenge must name an ` +
      "https token server"
  }
  if (realm.username !== "" || realm.password !== "") {
    return "the realm carries a user name or password in its URL (user:password@host): refused, credentials are " +
      "only sent in the Authorization header; the registry's WWW-Authenticate challenge must name the token " +
      "server without them (tell its operator)"
  }
  if (realm.protocol === "http:" && !(target.plainHttp ?? target.insecure)) {
    return "the registry is reached over HTTPS but names a plain-http token server, where credentials and tokens " +
      "would cross the network unencrypted: refused. The registry's operator must serve the realm over https; " +
      "an http realm is accepted only for a registry that is itself reached over plain HTTP"
  }
  return undefined
}

/** @internal */
export const basicHeader = (username: string, password: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`Basic ${Encoding.encodeBase64(`${username}:${Redacted.value(password)}`)}`)

/** @internal */
export const bearerHeader = (token: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`Bearer ${Redacted.value(token)}`)

/**
 * A field that decodes with `schema` when it can and is absent otherwise: token servers send `expires_in` as
 * a number or a string, `issued_at` in several forms, and extra fields; what cannot be used falls back to the
 * defaults instead of failing the exchange.
 */
const lenient = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownOption(schema)
  return Schema.optional(
    Schema.transform(Schema.Unknown, Schema.UndefinedOr(Schema.typeSchema(schema)), {
      strict: true,
      decode: (u) => Option.getOrUndefined(decode(u)),
      encode: (a) => a
    })
  )
}

const NonEmpty = Schema.String.pipe(Schema.minLength(1))
const Positive = Schema.Union(Schema.Number, Schema.NumberFromString).pipe(
  Schema.filter((n) => Number.isFinite(n) && n > 0)
)
const Timestamp = Schema.String.pipe(
  Schema.transform(Schema.Number, {
    strict: true,
    decode: (s) => Date.parse(s),
    encode: (n) => new Date(n).toISOString()
  }),
  Schema.filter((n) => Number.isFinite(n))
)

/**
 * A token server's answer (Docker token spec, OAuth2): `token` or `access_token`, `expires_in` (seconds),
 * `issued_at` (RFC 3339), `refresh_token`.
 *
 * @internal
 */
export const TokenBody = Schema.parseJson(Schema.Struct({
  token: lenient(NonEmpty),
  access_token: lenient(NonEmpty),
  expires_in: lenient(Positive),
  issued_at: lenient(Timestamp),
  refresh_token: lenient(NonEmpty)
}))

const decodeTokenBody = Schema.decodeUnknownEither(TokenBody)

/** Token server statuses that may pass on their own (retried). @internal */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

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
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

type Fail = (
  reason: string,
  status?: number,
  cause?: unknown,
  transient?: { readonly retryAfterMillis?: number | undefined }
) => TokenExchangeError

const readBounded = (
  response: HttpClientResponse.HttpClientResponse,
  fail: Fail
): Effect.Effect<string, TokenExchangeError> => {
  const length = Number(response.headers["content-length"])
  if (Number.isFinite(length) && length > MAX_TOKEN_RESPONSE) {
    return Effect.fail(fail(`the response is larger than ${MAX_TOKEN_RESPONSE} bytes`, response.status))
  }
  return collectText(
    response.stream,
    MAX_TOKEN_RESPONSE,
    () => fail(`the response is larger than ${MAX_TOKEN_RESPONSE} bytes`, response.status)
  ).pipe(
    // a body cut short: the server may well answer whole the next time
    Effect.catchTag(
      "ResponseError",
      (e) => Effect.fail(fail("reading the response failed", response.status, e.cause, {}))
    )
  )
}

/** Reads and discards at most 64 KiB of a body we do not use. */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response.stream.pipe(
    Stream.scan(0, (size, bytes) => size + bytes.length),
    Stream.takeWhile((size) => size < 64 * 1024),
    Stream.runDrain,
    Effect.ignore
  )

const credentialKind = (request: TokenRequest): string => request.credential._tag

/**
 * One token request: the OAuth2 POST for identity tokens (and Basic when `oauth2`), falling back to the
 * Docker GET on 404/405; otherwise GET with Basic credentials or anonymously.
 *
 * @internal
 */
export const exchange = (
  http: HttpClient.HttpClient,
  request: TokenRequest
): Effect.Effect<TokenResponse, TokenExchangeError | CredentialsRejected> => {
  const realm = displayRealm(request.realm)
  const fail: Fail = (reason, status, cause, transient) =>
    new TokenExchangeError({
      realm,
      reason,
      ...(status === undefined ? {} : { status }),
      ...(cause === undefined ? {} : { cause }),
      ...(transient === undefined ? {} : { transient: true }),
      ...(transient?.retryAfterMillis === undefined ? {} : { retryAfterMillis: transient.retryAfterMillis })
    })

  const send = (req: HttpClientRequest.HttpClientRequest) =>
    http.execute(req).pipe(
      // The socket or TLS error as `cause`, never the HttpClientError: its request carries the credentials.
      Effect.catchTag("RequestError", (e) =>
        Effect.fail(
          fail(
            `request failed (${e.reason}${e.cause instanceof Error ? `: ${e.cause.message}` : ""})`,
            undefined,
            e.cause,
            {}
          )
        )),
      Effect.catchTag("ResponseError", (e) =>
        Effect.fail(fail(`response failed (${e.reason})`, e.response.status, e.cause, {})))
    )

  const get = (): Effect.Effect<HttpClientResponse.HttpClientResponse, TokenExchangeError> => {
    let req = HttpClientRequest.get(request.realm, { acceptJson: true })
    if (request.service !== undefined) req = HttpClientRequest.appendUrlParam(req, "service", request.service)
    for (const scope of request.scopes) req = HttpClientRequest.appendUrlParam(req, "scope", Scope.format(scope))
    const credential = request.credential
    if (credential._tag === "Basic") {
      req = HttpClientRequest.setHeader(
        req,
        "authorization",
        Redacted.value(basicHeader(credential.username, credential.password))
      )
    } else if (credential._tag === "IdentityToken" && credential.username !== undefined) {
      req = HttpClientRequest.setHeader(
        req,
        "authorization",
        Redacted.value(basicHeader(credential.username, credential.token))
      )
    }
    return send(req)
  }

  const post = (form: Record<string, string>) => {
    const params: Record<string, string> = { ...form, client_id: request.clientId }
    if (request.service !== undefined) params["service"] = request.service
    if (request.scopes.length > 0) params["scope"] = request.scopes.map(Scope.format).join(" ")
    return send(
      HttpClientRequest.post(request.realm, { acceptJson: true }).pipe(HttpClientRequest.bodyUrlParams(params))
    )
  }

  const postOrGet = (form: Record<string, string>) =>
    Effect.flatMap(post(form), (response) =>
      response.status === 404 || response.status === 405
        ? Effect.zipRight(discard(response), get())
        : Effect.succeed(response))

  const credential = request.credential
  const respond = credential._tag === "IdentityToken"
    ? postOrGet({ grant_type: "refresh_token", refresh_token: Redacted.value(credential.token) })
    : credential._tag === "Basic" && request.oauth2
    ? postOrGet({
      grant_type: "password",
      username: credential.username,
      password: Redacted.value(credential.password)
    })
    : get()

  return Effect.gen(function*() {
    const response = yield* respond
    if (response.status === 401 || response.status === 403) {
      yield* discard(response)
      return yield* new CredentialsRejected({
        registry: request.registry,
        realm,
        credential: credentialKind(request),
        reason: `the token server answered ${response.status}`
      })
    }
    if (response.status < 200 || response.status >= 300) {
      yield* discard(response)
      if (TRANSIENT_STATUSES.has(response.status)) {
        const now = yield* Clock.currentTimeMillis
        return yield* fail(
          "unexpected status (the token server is unavailable or overloaded)",
          response.status,
          undefined,
          {
            retryAfterMillis: parseRetryAfter(response.headers["retry-after"], now)
          }
        )
      }
      return yield* fail("unexpected status", response.status)
    }
    const raw = yield* readBounded(response, fail)
    // No `cause` on these: a parse error quotes the body, and the body holds the token.
    const body = yield* Either.mapLeft(decodeTokenBody(raw), (error) =>
      fail(
        error.issue._tag === "Transformation" && error.issue.kind === "Encoded"
          ? "the response is not JSON"
          : "the response is not a JSON object",
        response.status
      ))
    const token = body.token ?? body.access_token
    if (token === undefined) {
      return yield* fail("the response has neither token nor access_token", response.status)
    }
    return {
      token: Redacted.make(token),
      expiresInSeconds: body.expires_in ?? DEFAULT_LIFETIME_SECONDS,
      issuedAtMillis: body.issued_at,
      refreshToken: body.refresh_token === undefined ? undefined : Redacted.make(body.refresh_token)
    }
  }).pipe(Effect.withSpan("Authenticator.exchange", {
    attributes: { realm, service: request.service, scopes: request.scopes.map(Scope.format).join(" ") }
  }))
}
