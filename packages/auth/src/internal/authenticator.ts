/**
 * The implementation of the `Authenticator` service: token cache, exchanges, challenge answers.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Registry from "@ocidist/reference/Registry"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as EffectScope from "effect/Scope"
import type { AuthorizeOptions, Options, Service, Target } from "../Authenticator.js"
import { type AuthenticatorError, CredentialsRejected, InsufficientScope, TokenExchangeError } from "../AuthError.js"
import * as Challenge from "../Challenge.js"
import * as Credentials from "../Credentials.js"
import * as Scope from "../Scope.js"
import * as Exchange from "./exchange.js"

type RegistryState =
  | { readonly _tag: "Bearer"; readonly realm: URL; readonly service: string | undefined }
  | { readonly _tag: "Basic"; readonly header: Redacted.Redacted<string> }
  | { readonly _tag: "Static"; readonly header: Redacted.Redacted<string> }

interface Entry {
  readonly key: string
  readonly group: string
  readonly scopes: ReadonlyArray<Scope.Scope>
  readonly header: Redacted.Redacted<string>
  readonly expiresAt: number
  readonly usableUntil: number
  readonly refreshAt: number
  readonly request: Exchange.TokenRequest
  /** The retry schedule of the exchange that got it, for its background refresh. */
  readonly retry: Schedule.Schedule<unknown, TokenExchangeError> | undefined
}

type ExchangeError = TokenExchangeError | CredentialsRejected

const isTransient = (error: ExchangeError): boolean => error._tag === "TokenExchangeError" && error.transient === true

const groupKey = (registry: string, realm: URL, service: string | undefined) =>
  `${registry}\u0000${realm.href}\u0000${service ?? ""}`

/** @internal */
export const make = (
  options: Options = {}
): Effect.Effect<Service, never, HttpClient.HttpClient | Credentials.Credentials | EffectScope.Scope> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const credentials = yield* Credentials.Credentials
    const scope = yield* Effect.scope
    const oauth2 = options?.oauth2 ?? false
    const clientId = options?.clientId ?? "ocidist"
    const exchangeTimeout = options?.exchangeTimeout ?? Duration.seconds(30)

    const registries = new Map<string, RegistryState>()
    const tokens = new Map<string, Array<Entry>>()
    const inflight = new Map<string, Deferred.Deferred<Entry, ExchangeError>>()
    const exchanges = new Map<string, number>()
    const insufficientMarks = new Map<string, number>()

    const usable = (entry: Entry, now: number) => now < entry.usableUntil

    const find = (group: string, need: ReadonlyArray<Scope.Scope>, now: number): Entry | undefined => {
      let best: Entry | undefined
      for (const entry of tokens.get(group) ?? []) {
        if (usable(entry, now) && Scope.covers(entry.scopes, need) && (!best || entry.expiresAt > best.expiresAt)) {
          best = entry
        }
      }
      return best
    }

    const drop = (group: string, predicate: (entry: Entry) => boolean) => {
      const list = tokens.get(group)
      if (list === undefined) return
      const kept = list.filter((entry) => !predicate(entry))
      if (kept.length === 0) tokens.delete(group)
      else tokens.set(group, kept)
    }

    const store = (entry: Entry, now: number) => {
      const kept = (tokens.get(entry.group) ?? []).filter((e) => e.key !== entry.key && now < e.expiresAt)
      kept.push(entry)
      tokens.set(entry.group, kept)
      exchanges.set(entry.key, (exchanges.get(entry.key) ?? 0) + 1)
    }

    const toEntry = (
      key: string,
      group: string,
      request: Exchange.TokenRequest,
      response: Exchange.TokenResponse,
      now: number,
      retry: Schedule.Schedule<unknown, TokenExchangeError> | undefined
    ): Entry => {
      const base = response.issuedAtMillis === undefined ? now : Math.min(response.issuedAtMillis, now)
      const expiresAt = base + response.expiresInSeconds * 1000
      const lifetime = Math.max(0, expiresAt - now)
      return {
        key,
        group,
        scopes: request.scopes,
        header: Exchange.bearerHeader(response.token),
        expiresAt,
        usableUntil: expiresAt - Math.min(5_000, lifetime / 10),
        refreshAt: expiresAt - Math.min(30_000, lifetime / 5),
        request,
        retry
      }
    }

    /** One exchange per key at a time; the exchange runs in the layer's scope so an interrupted caller does not
     * fail the others waiting for it. */
    const fetchToken = (
      key: string,
      group: string,
      request: Exchange.TokenRequest,
      retry: Schedule.Schedule<unknown, TokenExchangeError> | undefined
    ) =>
      Effect.suspend(() => {
        const running = inflight.get(key)
        if (running !== undefined) return Deferred.await(running)
        const result = Deferred.unsafeMake<Entry, ExchangeError>(FiberId.none)
        inflight.set(key, result)
        const attempt = Exchange.exchange(http, request).pipe(
          Effect.timeoutFail({
            duration: exchangeTimeout,
            onTimeout: () =>
              new TokenExchangeError({
                realm: Exchange.displayRealm(request.realm),
                reason: `no answer within ${Duration.format(exchangeTimeout)}`,
                transient: true
              })
          })
        )
        // transient failures retried inside the shared exchange: the callers waiting for it wait for the retries
        const retried = retry === undefined ? attempt : attempt.pipe(
          Effect.map(Either.right),
          // only transient failures reach the schedule; the others end the exchange as they are
          Effect.catchIf((error) => !isTransient(error), (error) => Effect.succeed(Either.left(error))),
          Effect.mapError((error) => error as TokenExchangeError),
          Effect.retry(retry.pipe(
            Schedule.tapInput((error: TokenExchangeError) =>
              Effect.logDebug(`token exchange: ${error.message}; retrying`)
            )
          )),
          Effect.flatMap((either) => either)
        )
        const run = retried.pipe(
          Effect.flatMap((response) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              const entry = toEntry(key, group, request, response, now, retry)
              store(entry, now)
              return entry
            })
          ),
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.suspend(() => {
              inflight.delete(key)
              return Deferred.done(result, exit)
            })
          )
        )
        return Effect.zipRight(Effect.forkIn(run, scope), Deferred.await(result))
      })

    const refreshInBackground = (entry: Entry) =>
      inflight.has(entry.key) ? Effect.void : fetchToken(entry.key, entry.group, entry.request, entry.retry).pipe(
        Effect.catchAll((error) => Effect.logDebug(`background token refresh failed: ${error.message}`)),
        Effect.forkIn(scope),
        Effect.asVoid
      )

    const cached = (target: Target): Effect.Effect<Option.Option<Redacted.Redacted<string>>> =>
      Effect.gen(function*() {
        const registry = Registry.canonical(target.registry)
        const state = registries.get(registry)
        if (state === undefined) return Option.none()
        if (state._tag !== "Bearer") return Option.some(state.header)
        const now = yield* Clock.currentTimeMillis
        const entry = find(groupKey(registry, state.realm, state.service), target.scopes, now)
        if (entry === undefined) return Option.none()
        if (now >= entry.refreshAt) yield* refreshInBackground(entry)
        return Option.some(entry.header)
      })

    const sameSecret = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string> | undefined) =>
      b !== undefined && Redacted.value(a) === Redacted.value(b)

    /** Remembers a fixed header (Basic, pre-issued token) for the registry, unless it is the one just refused. */
    const useHeader = (
      registry: string,
      kind: "Basic" | "Static",
      header: Redacted.Redacted<string>,
      credential: Credentials.Credential,
      options: AuthorizeOptions | undefined,
      messages: { readonly rejected: string }
    ): Effect.Effect<Option.Option<Redacted.Redacted<string>>, CredentialsRejected> => {
      if (sameSecret(header, options?.rejected)) {
        registries.delete(registry)
        return Effect.fail(
          new CredentialsRejected({ registry, credential: credential._tag, reason: messages.rejected })
        )
      }
      registries.set(registry, { _tag: kind, header })
      return Effect.succeed(Option.some(header))
    }

    const answerBearer = (
      target: Target,
      registry: string,
      bearer: Challenge.Bearer,
      credential: Credentials.Credential,
      options: AuthorizeOptions | undefined
    ): Effect.Effect<Option.Option<Redacted.Redacted<string>>, AuthenticatorError> =>
      Effect.gen(function*() {
        if (credential._tag === "BearerToken") {
          return yield* useHeader(registry, "Static", Exchange.bearerHeader(credential.token), credential, options, {
            rejected: "the registry rejected the pre-issued token"
          })
        }
        const realmText = bearer.realm!
        let realm: URL
        try {
          realm = new URL(realmText)
        } catch {
          return yield* new TokenExchangeError({ realm: "(invalid realm)", reason: "the realm is not a URL" })
        }
        const refused = Exchange.refuseRealm(realm, target)
        if (refused !== undefined) {
          return yield* new TokenExchangeError({ realm: Exchange.displayRealm(realm), reason: refused })
        }
        registries.set(registry, { _tag: "Bearer", realm, service: bearer.service })
        const group = groupKey(registry, realm, bearer.service)
        const wanted = Scope.merge([...bearer.scopes, ...target.scopes])
        const key = `${group}\u0000${Scope.key(wanted)}`
        const now = yield* Clock.currentTimeMillis
        const rejected = options?.rejected
        if (bearer.error === "insufficient_scope") {
          // Refused with a token that was asked for these scopes: the credentials do not grant them, and another
          // exchange would not change that. Without `rejected`, judge by exchanges since the previous refusal.
          const covering = find(group, wanted, now)
          const count = exchanges.get(key) ?? 0
          const mark = insufficientMarks.get(key)
          insufficientMarks.set(key, count)
          const refused = rejected !== undefined
            ? covering !== undefined && sameSecret(covering.header, rejected)
            : covering !== undefined || (mark !== undefined && count > mark)
          if (refused) {
            const asked = bearer.scopes.length > 0 ? bearer.scopes : target.scopes
            return yield* new InsufficientScope({
              registry,
              scopes: asked.map(Scope.format),
              ...(bearer.errorDescription === undefined ? {} : { description: bearer.errorDescription })
            })
          }
        }
        if (rejected !== undefined) drop(group, (e) => sameSecret(e.header, rejected))
        else if (bearer.error === "invalid_token") drop(group, (e) => Scope.covers(e.scopes, wanted))
        const existing = find(group, wanted, now)
        if (existing !== undefined) return Option.some(existing.header)
        const entry = yield* fetchToken(key, group, {
          registry,
          realm,
          service: bearer.service,
          scopes: wanted,
          credential,
          oauth2,
          clientId
        }, options?.retry)
        return Option.some(entry.header)
      })

    const authorize = (
      target: Target,
      wwwAuthenticate: ReadonlyArray<string>,
      options?: AuthorizeOptions
    ): Effect.Effect<Option.Option<Redacted.Redacted<string>>, AuthenticatorError> =>
      Effect.gen(function*() {
        const challenges = yield* Challenge.parseAll(wwwAuthenticate)
        const registry = Registry.canonical(target.registry)
        const bearer = challenges.find((c): c is Challenge.Bearer => c._tag === "Bearer" && c.realm !== undefined)
        const basic = challenges.find((c): c is Challenge.Basic => c._tag === "Basic")
        if (bearer === undefined && basic === undefined) return Option.none()
        const credential = yield* credentials.get(target.registry)
        if (bearer !== undefined) return yield* answerBearer(target, registry, bearer, credential, options)
        if (credential._tag !== "Basic") return Option.none()
        return yield* useHeader(
          registry,
          "Basic",
          Exchange.basicHeader(credential.username, credential.password),
          credential,
          options,
          { rejected: "the registry rejected the user name or password" }
        )
      }).pipe(Effect.withSpan("Authenticator.authorize", { attributes: { registry: target.registry } }))

    const invalidate = (target: Target): Effect.Effect<void> =>
      Effect.sync(() => {
        const registry = Registry.canonical(target.registry)
        const state = registries.get(registry)
        if (state === undefined) return
        if (state._tag !== "Bearer") {
          registries.delete(registry)
          return
        }
        const group = groupKey(registry, state.realm, state.service)
        if (target.scopes.length === 0) tokens.delete(group)
        else drop(group, (entry) => Scope.covers(entry.scopes, target.scopes))
      })

    return { cached, authorize, invalidate }
  })
