import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { Authenticator, AuthError, Credentials, Scope } from "@ocidist/auth"
import { TokenServer } from "@ocidist/testing"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { eventually, json, serve } from "./support/servers.js"

const REGISTRY = "127.0.0.1:5999"

const makeAuth = (credentials: Credentials.Service, options?: Authenticator.Options) =>
  Authenticator.make(options).pipe(
    Effect.provideService(Credentials.Credentials, credentials)
  )

const withHttp = Effect.provide(NodeHttpClient.layerUndici)

const withCredential = (credential: Credentials.Credential) => Credentials.fromEntries([[REGISTRY, credential]])

const challenge = (server: { readonly url: string; readonly service?: string }, scope?: string, extra = "") =>
  `Bearer realm="${server.url}",service="${server.service ?? "svc"}"${
    scope === undefined ? "" : `,scope="${scope}"`
  }${extra}`

const target = (scopes: ReadonlyArray<Scope.Scope>, insecure = true): Authenticator.Target => ({
  registry: REGISTRY,
  scopes,
  insecure
})

const value = (header: Option.Option<Redacted.Redacted<string>>) => Redacted.value(Option.getOrThrow(header))

describe("Authenticator: token flows against a real token server", () => {
  it.scopedLive("anonymous GET, cached and reused", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(Credentials.none)
      const t = target([Scope.pull("public/small")])
      assert.isTrue(Option.isNone(yield* auth.cached(t)))
      const header = yield* auth.authorize(t, [challenge(server, "repository:public/small:pull")])
      assert.match(value(header), /^Bearer ey/)
      const [request] = yield* server.requests
      expect(request).toMatchObject({ method: "GET", hadBasicAuth: false, scopes: ["repository:public/small:pull"] })
      assert.strictEqual(request?.service, server.service)
      assert.strictEqual(value(yield* auth.cached(t)), value(header))
      assert.strictEqual(
        value(yield* auth.authorize(t, [challenge(server, "repository:public/small:pull")])),
        value(header)
      )
      assert.strictEqual((yield* server.stats).issued, 1)
    }).pipe(withHttp))

  it.scopedLive("Basic credentials on GET; challenged scope first, merged with the target's", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(withCredential(Credentials.basic("testuser", "testpassword")))
      const t = target([Scope.push("app"), Scope.pull("base")])
      yield* auth.authorize(t, [challenge(server, "repository:app:pull")])
      const [request] = yield* server.requests
      expect(request).toMatchObject({ method: "GET", hadBasicAuth: true, username: "testuser" })
      assert.deepStrictEqual(request?.scopes, ["repository:app:pull,push", "repository:base:pull"])
      assert.deepStrictEqual(request?.granted, [
        { type: "repository", name: "app", actions: ["pull", "push"] },
        { type: "repository", name: "base", actions: ["pull"] }
      ])
      assert.isTrue(Option.isSome(yield* auth.cached(target([Scope.pull("app")]))))
      assert.isTrue(Option.isNone(yield* auth.cached(target([Scope.pull("other")]))))
    }).pipe(withHttp))

  it.scopedLive("rejected credentials fail with CredentialsRejected, without the password", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(withCredential(Credentials.basic("testuser", "s3cret-wrong")))
      const error = yield* Effect.flip(auth.authorize(target([]), [challenge(server)]))
      assert.instanceOf(error, AuthError.CredentialsRejected)
      assert.isTrue(AuthError.isAuthError(error))
      assert.isFalse(AuthError.isAuthError({ _tag: "CredentialsRejected" }))
      expect(error).toMatchObject({ _tag: "CredentialsRejected", registry: REGISTRY, credential: "Basic" })
      assert.notInclude(error.message, "s3cret-wrong")
      assert.notInclude(JSON.stringify(error), "s3cret-wrong")
      assert.notInclude(String(error), "s3cret-wrong")
    }).pipe(withHttp))

  it.scopedLive("anonymous token requests refused: CredentialsRejected with a hint", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ anonymousTokens: false })
      const auth = yield* makeAuth(Credentials.none)
      const error = yield* Effect.flip(
        auth.authorize(target([Scope.pull("x")]), [challenge(server, "repository:x:pull")])
      )
      expect(error).toMatchObject({ _tag: "CredentialsRejected", credential: "Anonymous" })
      assert.include(error.message, "OCIDIST_USERNAME")
    }).pipe(withHttp))

  it.scopedLive("OAuth2 password grant with oauth2: true, then refresh-token POST with an identity token", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const password = yield* makeAuth(withCredential(Credentials.basic("testuser", "testpassword")), { oauth2: true })
      yield* password.authorize(target([Scope.pull("a")]), [challenge(server, "repository:a:pull")])
      const [first] = yield* server.requests
      expect(first).toMatchObject({ method: "POST", grantType: "password", clientId: "ocidist", username: "testuser" })
      // A refresh token, as `docker login` against an OAuth2 server would store it.
      const response = yield* Effect.promise(() =>
        fetch(server.url, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "password",
            username: "testuser",
            password: "testpassword",
            client_id: "test",
            service: server.service
          })
        }).then((r) => r.json() as Promise<{ refresh_token: string }>)
      )
      yield* server.resetStats
      const identity = yield* makeAuth(withCredential(Credentials.identityToken(response.refresh_token)))
      const header = yield* identity.authorize(target([Scope.push("b")]), [challenge(server, "repository:b:push")])
      assert.match(value(header), /^Bearer /)
      const stats = yield* server.stats
      assert.strictEqual(stats.post, 1)
      assert.strictEqual(stats.refreshIssued, 1)
      const [request] = yield* server.requests
      expect(request).toMatchObject({ grantType: "refresh_token", username: "testuser" })
      assert.deepStrictEqual(request?.granted, [{ type: "repository", name: "b", actions: ["pull", "push"] }])
    }).pipe(withHttp))

  it.scopedLive("an invalid identity token is CredentialsRejected", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(withCredential(Credentials.identityToken("not-a-refresh-token")))
      const error = yield* Effect.flip(auth.authorize(target([]), [challenge(server)]))
      expect(error).toMatchObject({ _tag: "CredentialsRejected", credential: "IdentityToken" })
      assert.notInclude(JSON.stringify(error), "not-a-refresh-token")
    }).pipe(withHttp))

  for (const postMode of ["not-found", "method-not-allowed"] as const) {
    it.scopedLive(`POST answered ${postMode}: falls back to GET`, () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.start({ postMode })
        const auth = yield* makeAuth(withCredential(Credentials.basic("testuser", "testpassword")), { oauth2: true })
        const header = yield* auth.authorize(target([Scope.pull("a")]), [challenge(server, "repository:a:pull")])
        assert.match(value(header), /^Bearer /)
        const requests = yield* server.requests
        assert.deepStrictEqual(requests.map((r) => [r.method, r.status]), [[
          "POST",
          postMode === "not-found" ? 404 : 405
        ], [
          "GET",
          200
        ]])
        assert.isTrue(requests[1]?.hadBasicAuth)
      }).pipe(withHttp))
  }

  it.scopedLive("identity token: POST 404 falls back to GET with Basic user:token", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ postMode: "not-found" })
      // The token server checks Basic passwords: this stands for a registry accepting the token as a password.
      const auth = yield* makeAuth(withCredential(Credentials.identityToken("testpassword", "testuser")))
      assert.match(value(yield* auth.authorize(target([]), [challenge(server)])), /^Bearer /)
      const requests = yield* server.requests
      expect(requests.map((r) => [r.method, r.status, r.username])).toEqual([["POST", 404, undefined], [
        "GET",
        200,
        "testuser"
      ]])
    }).pipe(withHttp))

  for (const responseField of ["token", "access_token"] as const) {
    it.scopedLive(`accepts a response with only ${responseField}`, () =>
      Effect.gen(function*() {
        const server = yield* TokenServer.start({ responseField })
        const auth = yield* makeAuth(Credentials.none)
        assert.match(value(yield* auth.authorize(target([]), [challenge(server)])), /^Bearer ey/)
      }).pipe(withHttp))
  }

  it.scopedLive("N parallel authorize calls for one token cause one exchange", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ delayMs: 150 })
      const auth = yield* makeAuth(withCredential(Credentials.basic("testuser", "testpassword")))
      const t = target([Scope.pull("app")])
      const headers = yield* Effect.all(
        Array.from({ length: 25 }, () => auth.authorize(t, [challenge(server, "repository:app:pull")])),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(new Set(headers.map(value)).size, 1)
      const stats = yield* server.stats
      assert.strictEqual(stats.requests, 1)
      assert.strictEqual(stats.issued, 1)
    }).pipe(withHttp))

  it.scopedLive("an interrupted caller does not break the shared exchange", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ delayMs: 200 })
      const auth = yield* makeAuth(Credentials.none)
      const t = target([])
      const first = yield* Effect.fork(auth.authorize(t, [challenge(server)]))
      const second = yield* Effect.fork(auth.authorize(t, [challenge(server)]))
      yield* eventually(server.stats, (s) => s.requests === 1)
      yield* Fiber.interrupt(first)
      const header = yield* Fiber.join(second)
      assert.match(value(header), /^Bearer /)
      assert.strictEqual((yield* server.stats).issued, 1)
    }).pipe(withHttp))

  it.scopedLive("insufficient_scope: one more exchange, then InsufficientScope naming the scope", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(withCredential(Credentials.basic("reader", "readerpass")))
      const t = target([Scope.push("app")])
      const insufficient = challenge(server, "repository:app:pull,push", ",error=\"insufficient_scope\"")
      const header = yield* auth.authorize(t, [insufficient])
      assert.match(value(header), /^Bearer /)
      const error = yield* Effect.flip(auth.authorize(t, [insufficient]))
      assert.instanceOf(error, AuthError.InsufficientScope)
      expect(error).toMatchObject({ registry: REGISTRY, scopes: ["repository:app:pull,push"] })
      assert.include(error.message, "repository:app:pull,push")
      assert.strictEqual((yield* server.stats).issued, 1)
    }).pipe(withHttp))

  it.scopedLive("insufficient_scope with rejected: concurrent refusals of a narrower token share one new token", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ delayMs: 50 })
      const auth = yield* makeAuth(withCredential(Credentials.basic("testuser", "testpassword")))
      const pull = Option.getOrThrow(
        yield* auth.authorize(target([Scope.pull("app")]), [challenge(server, "repository:app:pull")])
      )
      const insufficient = challenge(server, "repository:app:pull,push", ",error=\"insufficient_scope\"")
      const pushTarget = target([Scope.push("app")])
      const first = yield* Effect.all(
        Array.from({ length: 10 }, () => auth.authorize(pushTarget, [insufficient], { rejected: pull })),
        { concurrency: "unbounded" }
      )
      // Later refusals of the old token, after the new one is cached, get the new one too.
      const late = yield* auth.authorize(pushTarget, [insufficient], { rejected: pull })
      assert.strictEqual(new Set([...first, late].map(value)).size, 1)
      assert.strictEqual((yield* server.stats).issued, 2)
      // The new token refused for the same scopes: the credentials lack them.
      const error = yield* Effect.flip(
        auth.authorize(pushTarget, [insufficient], { rejected: Option.getOrThrow(late) })
      )
      assert.strictEqual(error._tag, "InsufficientScope")
    }).pipe(withHttp))

  it.scopedLive("insufficient_scope after a narrower token: exchanges for the merged scopes", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(withCredential(Credentials.basic("testuser", "testpassword")))
      const pull = yield* auth.authorize(target([Scope.pull("app")]), [challenge(server, "repository:app:pull")])
      const push = yield* auth.authorize(target([Scope.push("app")]), [
        challenge(server, "repository:app:push", ",error=\"insufficient_scope\"")
      ], { rejected: Option.getOrThrow(pull) })
      assert.notStrictEqual(value(push), value(pull))
      const requests = yield* server.requests
      assert.deepStrictEqual(requests.map((r) => r.scopes), [["repository:app:pull"], ["repository:app:pull,push"]])
      assert.strictEqual(value(yield* auth.cached(target([Scope.push("app")]))), value(push))
    }).pipe(withHttp))

  it.scopedLive("invalidate forgets the token; rejected drops exactly that token", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(Credentials.none)
      const t = target([Scope.pull("public/a")])
      const first = yield* auth.authorize(t, [challenge(server, "repository:public/a:pull")])
      yield* auth.invalidate(t)
      assert.isTrue(Option.isNone(yield* auth.cached(t)))
      const second = yield* auth.authorize(t, [challenge(server, "repository:public/a:pull")])
      const third = yield* auth.authorize(t, [challenge(server, "repository:public/a:pull")], {
        rejected: Option.getOrThrow(second)
      })
      assert.strictEqual((yield* server.stats).issued, 3)
      assert.notStrictEqual(value(first), value(third))
      assert.strictEqual(value(yield* auth.cached(t)), value(third))
    }).pipe(withHttp))
})

describe("Authenticator: expiry and refresh (test clock)", () => {
  it.scoped("refreshes in the background before expiry, forgets after", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ ttlSeconds: 100 })
      const auth = yield* makeAuth(Credentials.none)
      const t = target([Scope.pull("public/a")])
      const first = yield* auth.authorize(t, [challenge(server, "repository:public/a:pull")])
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(value(yield* auth.cached(t)), value(first))
      assert.strictEqual((yield* server.stats).issued, 1)
      // Last fifth of the lifetime: still served, refreshed in the background.
      yield* TestClock.adjust("21 seconds")
      assert.strictEqual(value(yield* auth.cached(t)), value(first))
      yield* eventually(server.stats, (s) => s.issued === 2)
      const refreshed = yield* eventually(auth.cached(t), (h) => Option.isSome(h) && value(h) !== value(first))
      // The refreshed token lives 100 s from its exchange; well past it nothing is cached.
      yield* TestClock.adjust("200 seconds")
      assert.isTrue(Option.isNone(yield* auth.cached(t)))
      assert.isTrue(Option.isSome(refreshed))
    }).pipe(withHttp))

  it.scoped("honours issued_at and defaults to 60 s without expires_in", () =>
    Effect.gen(function*() {
      const now = Date.parse("2026-01-01T00:00:00Z")
      yield* TestClock.setTime(now)
      const withIssuedAt = yield* serve((_req, res) =>
        json(res, 200, { token: "t1", expires_in: 60, issued_at: new Date(now - 30_000).toISOString() })
      )
      const bare = yield* serve((_req, res) => json(res, 200, { access_token: "t2" }))
      const auth = yield* makeAuth(Credentials.none)
      const a = { ...target([]), registry: "a.test:1" }
      const b = { ...target([]), registry: "b.test:1" }
      yield* auth.authorize(a, [challenge({ url: `${withIssuedAt.url}/token` })])
      yield* auth.authorize(b, [challenge({ url: `${bare.url}/token` })])
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(value(yield* auth.cached(a)), "Bearer t1")
      assert.strictEqual(value(yield* auth.cached(b)), "Bearer t2")
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Option.isNone(yield* auth.cached(a)), "issued 30 s before: gone after 30 s")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(value(yield* auth.cached(b)), "Bearer t2")
      yield* TestClock.adjust("20 seconds")
      assert.isTrue(Option.isNone(yield* auth.cached(b)), "60 s default lifetime")
    }).pipe(withHttp))
})

describe("Authenticator: security and faults", () => {
  it.scopedLive("an http realm is refused unless the target is insecure", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(Credentials.none)
      const error = yield* Effect.flip(auth.authorize(target([], false), [challenge(server)]))
      expect(error).toMatchObject({ _tag: "TokenExchangeError" })
      assert.include(error.message, "plain-http token server")
      assert.strictEqual((yield* server.stats).requests, 0)
      const odd = yield* Effect.flip(auth.authorize(target([], true), ["Bearer realm=\"ftp://x/token\""]))
      assert.include(odd.message, "unsupported realm scheme")
    }).pipe(withHttp))

  it.scopedLive("an HTTPS registry never sends credentials to an http realm, loopback or TLS-unverified alike", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({ users: [{ username: "alice", password: "s3cret" }] })
      const auth = yield* makeAuth(withCredential(Credentials.basic("alice", "s3cret")))
      // `insecure` (TLS verification off) but `plainHttp: false`: the registry is HTTPS
      const https: Authenticator.Target = { registry: REGISTRY, scopes: [], insecure: true, plainHttp: false }
      const error = yield* Effect.flip(auth.authorize(https, [challenge(server)]))
      expect(error).toMatchObject({ _tag: "TokenExchangeError", realm: server.url })
      assert.include(error.message, "reached over HTTPS but names a plain-http token server")
      assert.include(error.message, "serve the realm over https")
      assert.notInclude(error.message, "s3cret")
      assert.strictEqual((yield* server.stats).requests, 0, "nothing was sent to the realm")
      // the same realm for a registry reached over plain HTTP: accepted
      const plain: Authenticator.Target = { registry: REGISTRY, scopes: [], insecure: false, plainHttp: true }
      assert.match(value(yield* auth.authorize(plain, [challenge(server)])), /^Bearer /)
      assert.strictEqual((yield* server.stats).issued, 1)
    }).pipe(withHttp))

  it.scopedLive("without plainHttp, insecure decides (callers before 0.4.0)", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(Credentials.none)
      assert.isTrue(Option.isSome(yield* auth.authorize(target([], true), [challenge(server)])))
      const refused = yield* Effect.flip(auth.authorize(target([], false), [challenge(server)]))
      expect(refused).toMatchObject({ _tag: "TokenExchangeError" })
      assert.strictEqual((yield* server.stats).requests, 1)
    }).pipe(withHttp))

  it.scopedLive("a realm with user info is refused before any request, the password never shown", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* makeAuth(withCredential(Credentials.basic("alice", "s3cret")))
      const plain: Authenticator.Target = { registry: REGISTRY, scopes: [], insecure: true, plainHttp: true }
      const withUser = server.url.replace("http://", "http://mallory:hunter2@")
      const error = yield* Effect.flip(auth.authorize(plain, [challenge({ url: withUser })]))
      expect(error).toMatchObject({ _tag: "TokenExchangeError", realm: server.url })
      assert.include(error.message, "user name or password in its URL")
      assert.notInclude(error.message, "hunter2")
      assert.notInclude(error.message, "mallory")
      const https = yield* Effect.flip(
        auth.authorize(plain, ["Bearer realm=\"https://token:abc@127.0.0.1:1/token\",service=\"svc\""])
      )
      assert.include(https.message, "user name or password in its URL")
      assert.notInclude(https.message, "abc@")
      assert.strictEqual((yield* server.stats).requests, 0)
    }).pipe(withHttp))

  it.scopedLive("token responses over 128 KiB are rejected", () =>
    Effect.gen(function*() {
      const chunked = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write(`{"token":"${"a".repeat(100 * 1024)}`)
        res.end(`${"a".repeat(100 * 1024)}"}`)
      })
      const declared = yield* serve((_req, res) => json(res, 200, { token: "b".repeat(200 * 1024) }))
      const auth = yield* makeAuth(Credentials.none)
      for (const server of [chunked, declared]) {
        const error = yield* Effect.flip(auth.authorize(target([]), [challenge({ url: `${server.url}/token` })]))
        expect(error).toMatchObject({ _tag: "TokenExchangeError", status: 200 })
        assert.include(error.message, "larger than 131072 bytes")
      }
    }).pipe(withHttp))

  it.scopedLive("malformed token responses and statuses are TokenExchangeErrors without secrets", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => {
        if (req.url?.startsWith("/notjson")) {
          res.writeHead(200)
          return res.end("<html>")
        }
        if (req.url?.startsWith("/empty")) return json(res, 200, { expires_in: 10, token: "" })
        if (req.url?.startsWith("/array")) return json(res, 200, ["token"])
        if (req.url?.startsWith("/lenient")) return json(res, 200, { token: "ok", expires_in: "120", issued_at: 7 })
        return json(res, 500, { errors: [] })
      })
      const auth = yield* makeAuth(withCredential(Credentials.basic("u", "pw-secret")))
      const cases = [
        ["/notjson", "not JSON"],
        ["/empty", "neither token nor access_token"],
        ["/array", "not a JSON object"],
        ["/500", "unexpected status"]
      ]
      for (const [path, reason] of cases) {
        const error = yield* Effect.flip(
          auth.authorize(target([]), [challenge({ url: `${server.url}${path}?secret=query` })])
        )
        assert.strictEqual(error._tag, "TokenExchangeError")
        assert.include(error.message, reason!)
        assert.include(error.message, `${server.url}${path}`)
        assert.notInclude(error.message, "secret=query")
        assert.notInclude(JSON.stringify(error), "pw-secret")
      }
      const lenient = yield* auth.authorize(target([]), [challenge({ url: `${server.url}/lenient` })])
      assert.strictEqual(value(lenient), "Bearer ok")
      const down = yield* Effect.flip(auth.authorize(target([]), [challenge({ url: "http://127.0.0.1:1/token" })]))
      expect(down).toMatchObject({ _tag: "TokenExchangeError" })
      assert.include(down.message, "request failed")
    }).pipe(withHttp))

  it.scopedLive("a token server that never answers is timed out", () =>
    Effect.gen(function*() {
      const server = yield* serve(() => {})
      const auth = yield* makeAuth(Credentials.none, { exchangeTimeout: "300 millis" })
      const error = yield* Effect.flip(auth.authorize(target([]), [challenge({ url: `${server.url}/token` })]))
      expect(error).toMatchObject({ _tag: "TokenExchangeError" })
      assert.include(error.message, "no answer within")
    }).pipe(withHttp))

  it.scoped("Basic challenges: Basic credentials answered and remembered, anonymous not", () =>
    Effect.gen(function*() {
      const basicAuth = yield* makeAuth(withCredential(Credentials.basic("user", "pä:ss")))
      const t = target([Scope.pull("x")])
      const header = yield* basicAuth.authorize(t, ["Basic realm=\"basic-realm\""])
      assert.strictEqual(value(header), `Basic ${Buffer.from("user:pä:ss").toString("base64")}`)
      assert.strictEqual(value(yield* basicAuth.cached(target([]))), value(header))
      const rejected = yield* Effect.flip(
        basicAuth.authorize(t, ["Basic realm=\"r\""], { rejected: Option.getOrThrow(header) })
      )
      expect(rejected).toMatchObject({ _tag: "CredentialsRejected", credential: "Basic" })
      assert.isTrue(Option.isNone(yield* basicAuth.cached(t)))

      const anonymous = yield* makeAuth(Credentials.none)
      assert.isTrue(Option.isNone(yield* anonymous.authorize(t, ["Basic realm=\"r\""])))
      assert.isTrue(Option.isNone(yield* anonymous.authorize(t, ["Negotiate abc==", "Digest realm=\"x\""])))
      const parse = yield* Effect.flip(anonymous.authorize(t, ["Bearer realm=\"unterminated"]))
      expect(parse).toMatchObject({ _tag: "ChallengeParseError" })
    }).pipe(withHttp))

  it.scoped("a pre-issued bearer token is sent as is", () =>
    Effect.gen(function*() {
      const auth = yield* makeAuth(withCredential(Credentials.bearerToken("pre-issued")))
      const header = yield* auth.authorize(target([]), ["Bearer realm=\"https://unused.invalid/token\""])
      assert.strictEqual(value(header), "Bearer pre-issued")
      assert.strictEqual(value(yield* auth.cached(target([Scope.push("any")]))), "Bearer pre-issued")
    }).pipe(withHttp))

  it("credentials never show their secrets", () => {
    const credentials = [
      Credentials.basic("user", "hunter2"),
      Credentials.identityToken("hunter2", "user"),
      Credentials.bearerToken("hunter2")
    ]
    for (const credential of credentials) {
      assert.notInclude(String(credential), "hunter2")
      assert.notInclude(JSON.stringify(credential), "hunter2")
    }
  })
})

/** Builds a layer in the test's scope (background exchanges run in it) and returns its Authenticator. */
const build = <E>(layer: Layer.Layer<Authenticator.Authenticator, E>) =>
  Effect.map(Layer.build(layer), Context.get(Authenticator.Authenticator))

describe("Authenticator: layers", () => {
  it.scopedLive("layer() answers with the default credentials (the environment here)", () =>
    Effect.gen(function*() {
      const server = yield* TokenServer.start({})
      const auth = yield* build(
        Authenticator.layer().pipe(Layer.provide(Layer.merge(NodeHttpClient.layerUndici, NodeContext.layer)))
      ).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["OCIDIST_USERNAME", "testuser"],
            ["OCIDIST_PASSWORD", "testpassword"],
            ["OCIDIST_REGISTRY", REGISTRY],
            ["HOME", "/nonexistent"]
          ])
        ))
      )
      assert.match(value(yield* auth.authorize(target([]), [challenge(server)])), /^Bearer ey/)
      const requests = yield* server.requests
      assert.deepStrictEqual(requests.map((r) => r.username), ["testuser"])
    }))

  it.scopedLive("layerWithoutDependencies takes the given credentials; layerConfig reads the options", () =>
    Effect.gen(function*() {
      const hanging = yield* serve(() => {})
      const layer = Authenticator.layerConfig({ exchangeTimeout: Config.duration("EXCHANGE_TIMEOUT") })
      const configured = yield* build(
        layer.pipe(Layer.provide(Layer.merge(NodeHttpClient.layerUndici, NodeContext.layer)))
      ).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["EXCHANGE_TIMEOUT", "200 millis"], ["HOME", "/x"]])))
      )
      const start = Date.now()
      const timedOut = yield* Effect.flip(configured.authorize(target([]), [challenge({ url: hanging.url })]))
      assert.include(timedOut.message, "no answer within 200ms")
      assert.isBelow(Date.now() - start, 5_000)

      const server = yield* TokenServer.start({})
      const explicit = yield* build(
        Authenticator.layerWithoutDependencies({ oauth2: true }).pipe(
          Layer.provide(Credentials.layer({
            explicit: { [REGISTRY]: Credentials.basic("testuser", "testpassword") },
            sources: []
          })),
          Layer.provide(NodeHttpClient.layerUndici)
        )
      )
      yield* explicit.authorize(target([]), [challenge(server)])
      const requests = yield* server.requests
      assert.deepStrictEqual(requests.map((r) => [r.method, r.username]), [["POST", "testuser"]])
    }))
})

describe("Authenticator: causes", () => {
  it.scopedLive("a TokenExchangeError keeps the socket error as its cause, never the request", () =>
    Effect.gen(function*() {
      const auth = yield* makeAuth(withCredential(Credentials.basic("u", "cause-secret")))
      const down = yield* Effect.flip(auth.authorize(target([]), [challenge({ url: "http://127.0.0.1:1/token" })]))
      assert.strictEqual(down._tag, "TokenExchangeError")
      if (down._tag !== "TokenExchangeError") return
      assert.instanceOf(down.cause, Error)
      assert.match(String((down.cause as Error & { code?: string }).code ?? down.cause), /ECONNREFUSED/)
      assert.notInclude(JSON.stringify(down), "cause-secret")
      assert.notProperty(down.cause as object, "request")
    }).pipe(withHttp))
})
