// The Authenticator against the real Debian docker-registry (distribution 2.8), in token and htpasswd mode,
// driven the way @ocidist/distribution uses it: send `cached`, on 401 `authorize` and retry once.
import { NodeHttpClient } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, expect, it } from "@effect/vitest"
import { Authenticator, Credentials, Scope } from "@ocidist/auth"
import { DockerRegistry } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

const send = (
  auth: Authenticator.Service,
  target: Authenticator.Target,
  method: "GET" | "POST",
  url: string
) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const attempt = (header: Option.Option<Redacted.Redacted<string>>) => {
      const base = method === "GET" ? HttpClientRequest.get(url) : HttpClientRequest.post(url)
      return http.execute(
        Option.isSome(header) ? HttpClientRequest.setHeader(base, "authorization", Redacted.value(header.value)) : base
      ).pipe(Effect.tap((r) => r.text.pipe(Effect.ignore)))
    }
    const sent = yield* auth.cached(target)
    const first = yield* attempt(sent)
    if (first.status !== 401) return { status: first.status, retried: false }
    const header = yield* auth.authorize(
      target,
      [first.headers["www-authenticate"] ?? ""],
      Option.isSome(sent) ? { rejected: sent.value } : {}
    )
    if (Option.isNone(header)) return { status: first.status, retried: false }
    const second = yield* attempt(header)
    return { status: second.status, retried: true, www: second.headers["www-authenticate"], header: header.value }
  })

const makeAuth = (credentials: Credentials.Service) =>
  Authenticator.make().pipe(Effect.provideService(Credentials.Credentials, credentials))

describe("Authenticator against docker-registry", () => {
  it.scopedLive("token mode: anonymous pull, authenticated push, cached token reused", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const tokenServer = registry.tokenServer!
      const anonymous = yield* makeAuth(Credentials.none)
      const pull = { registry: registry.host, scopes: [Scope.pull("public/none")], insecure: true }
      const listed = yield* send(anonymous, pull, "GET", `${registry.url}/v2/public/none/tags/list`)
      expect(listed).toMatchObject({ status: 404, retried: true })
      const again = yield* send(anonymous, pull, "GET", `${registry.url}/v2/public/none/tags/list`)
      expect(again).toMatchObject({ status: 404, retried: false })
      assert.strictEqual((yield* tokenServer.stats).issued, 1)

      const writer = registry.writer!
      const auth = yield* makeAuth(
        Credentials.fromEntries([[registry.host, Credentials.basic(writer.username, writer.password)]])
      )
      const push = { registry: registry.host, scopes: [Scope.push("app")], insecure: true }
      const upload = yield* send(auth, push, "POST", `${registry.url}/v2/app/blobs/uploads/`)
      expect(upload).toMatchObject({ status: 202, retried: true })
      const upload2 = yield* send(auth, push, "POST", `${registry.url}/v2/app/blobs/uploads/`)
      expect(upload2).toMatchObject({ status: 202, retried: false })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("token mode: a read-only user pushing gets InsufficientScope after one more exchange", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const reader = registry.users.find((u) => u.readOnly === true)!
      const auth = yield* makeAuth(
        Credentials.fromEntries([[registry.host, Credentials.basic(reader.username, reader.password)]])
      )
      const push = { registry: registry.host, scopes: [Scope.push("app")], insecure: true }
      const first = yield* send(auth, push, "POST", `${registry.url}/v2/app/blobs/uploads/`)
      expect(first).toMatchObject({ status: 401, retried: true })
      assert.include(first.www, "insufficient_scope")
      const error = yield* Effect.flip(auth.authorize(push, [first.www!], { rejected: first.header! }))
      expect(error).toMatchObject({ _tag: "InsufficientScope", scopes: ["repository:app:pull,push"] })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("token mode: wrong password is CredentialsRejected from the token server", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const auth = yield* makeAuth(Credentials.fromEntries([[registry.host, Credentials.basic("testuser", "wrong")]]))
      const error = yield* Effect.flip(
        send(auth, { registry: registry.host, scopes: [], insecure: true }, "GET", `${registry.url}/v2/`)
      )
      expect(error).toMatchObject({ _tag: "CredentialsRejected", credential: "Basic" })
      assert.include(error.message, registry.tokenServer!.url)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("htpasswd mode: Basic answered, then sent up front", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const writer = registry.writer!
      const auth = yield* makeAuth(
        Credentials.fromEntries([[registry.host, Credentials.basic(writer.username, writer.password)]])
      )
      const target = { registry: registry.host, scopes: [Scope.pull("x")], insecure: true }
      expect(yield* send(auth, target, "GET", `${registry.url}/v2/`)).toMatchObject({ status: 200, retried: true })
      expect(yield* send(auth, target, "GET", `${registry.url}/v2/x/tags/list`)).toMatchObject({
        status: 404,
        retried: false
      })
      const wrong = yield* makeAuth(Credentials.fromEntries([[registry.host, Credentials.basic("testuser", "bad")]]))
      const first = yield* send(wrong, target, "GET", `${registry.url}/v2/`)
      expect(first).toMatchObject({ status: 401, retried: true })
      const error = yield* Effect.flip(send(wrong, target, "GET", `${registry.url}/v2/`))
      expect(error).toMatchObject({ _tag: "CredentialsRejected", credential: "Basic" })
      const anonymous = yield* makeAuth(Credentials.none)
      expect(yield* send(anonymous, target, "GET", `${registry.url}/v2/`)).toMatchObject({
        status: 401,
        retried: false
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
