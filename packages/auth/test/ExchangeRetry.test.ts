// Token exchanges that fail transiently (5xx, 429, a response cut short) are retried with the caller's
// schedule, shared by concurrent callers; what is left is a `TokenExchangeError`, never `CredentialsRejected`.
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Authenticator, Credentials, Scope } from "@ocidist/auth"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as http from "node:http"
import { json, serve } from "./support/servers.js"

const REGISTRY = "127.0.0.1:5998"

const retry = Schedule.recurs(3).pipe(Schedule.addDelay(() => "5 millis"))

const makeAuth = (credentials: Credentials.Service = Credentials.none) =>
  Authenticator.make().pipe(Effect.provideService(Credentials.Credentials, credentials))

const withHttp = Effect.provide(NodeHttpClient.layerUndici)

const target: Authenticator.Target = { registry: REGISTRY, scopes: [Scope.pull("app")], insecure: true }
const challenge = (url: string) => [`Bearer realm="${url}/token",service="svc",scope="repository:app:pull"`]

/** A token server that answers `fail(n)` (when defined) to its n-th request (1-based), else a token. */
const tokenServer = (fail: (n: number, res: http.ServerResponse) => boolean) => {
  let n = 0
  return serve((_req, res) => {
    n++
    if (fail(n, res)) return
    json(res, 200, { token: `token-${n}`, expires_in: 300 })
  })
}

describe("token exchange retries", () => {
  it.scopedLive("503 twice, then a token: three requests, one token", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((n, res) => {
        if (n > 2) return false
        json(res, 503, { details: "busy" })
        return true
      })
      const auth = yield* makeAuth()
      const header = yield* auth.authorize(target, challenge(server.url), { retry })
      assert.strictEqual(Redacted.value(Option.getOrThrow(header)), "Bearer token-3")
      assert.strictEqual(server.hits(), 3)
    }).pipe(withHttp))

  it.scopedLive("a token response cut mid-body is fetched again", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((n, res) => {
        if (n > 1) return false
        res.writeHead(200, { "content-type": "application/json", "content-length": "200" })
        res.write("{\"token\":\"tok")
        setTimeout(() => res.socket?.destroy(), 20)
        return true
      })
      const auth = yield* makeAuth()
      const header = yield* auth.authorize(target, challenge(server.url), { retry })
      assert.strictEqual(Redacted.value(Option.getOrThrow(header)), "Bearer token-2")
      assert.strictEqual(server.hits(), 2)
    }).pipe(withHttp))

  it.scopedLive("429 with Retry-After is retried and the delay is reported", () =>
    Effect.gen(function*() {
      const seen: Array<number | undefined> = []
      const server = yield* tokenServer((n, res) => {
        if (n > 1) return false
        res.writeHead(429, { "retry-after": "0", "content-length": "0" })
        res.end()
        return true
      })
      const auth = yield* makeAuth()
      const spy = retry.pipe(Schedule.tapInput((e: { readonly retryAfterMillis?: number | undefined }) =>
        Effect.sync(() => seen.push(e.retryAfterMillis))
      ))
      yield* auth.authorize(target, challenge(server.url), { retry: spy })
      assert.strictEqual(server.hits(), 2)
      assert.deepStrictEqual(seen, [0])
    }).pipe(withHttp))

  it.scopedLive("concurrent callers share the one exchange, retries included", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((n, res) => {
        if (n > 1) return false
        json(res, 502, {})
        return true
      })
      const auth = yield* makeAuth()
      const headers = yield* Effect.all(
        Array.from({ length: 20 }, () => auth.authorize(target, challenge(server.url), { retry })),
        { concurrency: "unbounded" }
      )
      assert.isTrue(headers.every((h) => Redacted.value(Option.getOrThrow(h)) === "Bearer token-2"))
      assert.strictEqual(server.hits(), 2)
    }).pipe(withHttp))

  it.scopedLive("a token server that keeps failing: a transient TokenExchangeError after the retries", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((_n, res) => {
        json(res, 500, {})
        return true
      })
      const auth = yield* makeAuth()
      const error = yield* Effect.flip(auth.authorize(target, challenge(server.url), { retry }))
      assert.strictEqual(error._tag, "TokenExchangeError")
      assert.strictEqual(server.hits(), 4)
      if (error._tag === "TokenExchangeError") {
        assert.strictEqual(error.status, 500)
        assert.isTrue(error.transient)
      }
    }).pipe(withHttp))

  it.scopedLive("without a retry schedule a failure is not retried", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((_n, res) => {
        json(res, 503, {})
        return true
      })
      const auth = yield* makeAuth()
      const error = yield* Effect.flip(auth.authorize(target, challenge(server.url)))
      assert.strictEqual(error._tag, "TokenExchangeError")
      assert.strictEqual(server.hits(), 1)
    }).pipe(withHttp))

  it.scopedLive("401 from the token server with credentials: CredentialsRejected, not retried", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((_n, res) => {
        json(res, 401, {})
        return true
      })
      const auth = yield* makeAuth(
        Credentials.fromEntries([[REGISTRY, Credentials.basic("user", Redacted.make("wrong"))]])
      )
      const error = yield* Effect.flip(auth.authorize(target, challenge(server.url), { retry }))
      assert.strictEqual(error._tag, "CredentialsRejected")
      assert.strictEqual(server.hits(), 1)
    }).pipe(withHttp))

  it.scopedLive("a malformed token response is not retried", () =>
    Effect.gen(function*() {
      const server = yield* tokenServer((_n, res) => {
        json(res, 200, { nothing: true })
        return true
      })
      const auth = yield* makeAuth()
      const error = yield* Effect.flip(auth.authorize(target, challenge(server.url), { retry }))
      assert.strictEqual(error._tag, "TokenExchangeError")
      assert.strictEqual(server.hits(), 1)
    }).pipe(withHttp))
})
