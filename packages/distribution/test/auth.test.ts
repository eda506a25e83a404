/**
 * The auth middleware against a stand-in Authenticator (unit level; the real auth layers are exercised in
 * registry.test.ts against docker-registry in basic and token modes).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import { InsufficientScope } from "@ocidist/auth/AuthError"
import { Digest, Reference } from "@ocidist/reference"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as RegistryClient from "../src/RegistryClient.js"
import { fastRetry, serve } from "./support/server.js"

const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OCI_INDEX,
  manifests: []
})

interface Stub {
  readonly calls: Array<
    { readonly challenge: ReadonlyArray<string>; readonly rejected: string | undefined; readonly scopes: string }
  >
  invalidated: number
}

const stubAuthenticator = (answer: (call: number) => Effect.Effect<Option.Option<string>, InsufficientScope>) => {
  const stub: Stub = { calls: [], invalidated: 0 }
  let cached: Option.Option<Redacted.Redacted<string>> = Option.none()
  const service: Authenticator.Service = {
    cached: () => Effect.succeed(cached),
    authorize: (target, challenge, options) =>
      Effect.gen(function*() {
        stub.calls.push({
          challenge,
          rejected: options?.rejected === undefined ? undefined : Redacted.value(options.rejected),
          scopes: target.scopes.map((s) => `${s.type}:${s.name}:${s.actions.join(",")}`).join(" ")
        })
        const value = yield* answer(stub.calls.length)
        cached = Option.map(value, (v) => Redacted.make(v))
        return cached
      }),
    invalidate: () =>
      Effect.sync(() => {
        stub.invalidated++
        cached = Option.none()
      })
  }
  return { stub, layer: Layer.succeed(Authenticator.Authenticator, service) }
}

const build = (authLayer: Layer.Layer<Authenticator.Authenticator>) =>
  Layer.build(
    RegistryClient.layerWithoutDependencies({ retry: fastRetry }).pipe(
      Layer.provide(Layer.merge(authLayer, NodeHttpClient.layerUndici))
    )
  ).pipe(Effect.map(Context.get(RegistryClient.RegistryClient)))

const ref = (host: string, rest: string) => Either.getOrThrow(Reference.parse(`${host}/${rest}`))

const bearerServer = (good: string, insufficient = false) =>
  serve((req, res) => {
    if (req.headers.authorization === good) {
      res.writeHead(200, { "content-type": MediaType.OCI_INDEX })
      return res.end(manifest)
    }
    const error = insufficient && req.headers.authorization !== undefined ? ",error=\"insufficient_scope\"" : ""
    res.writeHead(401, {
      "www-authenticate": `Bearer realm="http://127.0.0.1:1/token",service="test",scope="repository:app:pull"${error}`
    })
    res.end()
  })

describe("layerConfig", () => {
  it.scopedLive("reads the options from Config", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": MediaType.OCI_INDEX })
        res.end(manifest)
      })
      // the default Authenticator and credentials, read from the same (empty but for the agent) provider
      const rc = yield* Layer.build(
        RegistryClient.layerConfig({ userAgent: Config.string("OCIDIST_USER_AGENT") }).pipe(
          Layer.provide(Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici))
        )
      ).pipe(
        Effect.map(Context.get(RegistryClient.RegistryClient)),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OCIDIST_USER_AGENT", "my-tool/1.2 ocidist"]])))
      )
      yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(server.requests[0]!.headers["user-agent"], "my-tool/1.2 ocidist")
    }))
})

describe("auth middleware", () => {
  it.scopedLive("on 401 asks the Authenticator, replays once, then sends the cached header up front", () =>
    Effect.gen(function*() {
      const server = yield* bearerServer("Bearer good")
      const { layer, stub } = stubAuthenticator(() => Effect.succeed(Option.some("Bearer good")))
      const rc = yield* build(layer)
      yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(server.requests.length, 2)
      assert.strictEqual(stub.calls.length, 1)
      assert.strictEqual(stub.calls[0]!.scopes, "repository:app:pull")
      assert.include(stub.calls[0]!.challenge[0]!, "Bearer realm=")
      assert.isUndefined(stub.calls[0]!.rejected)
      yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(server.requests.length, 3)
      assert.strictEqual(server.requests[2]!.headers.authorization, "Bearer good")
    }))

  it.scopedLive("a second 401 is Unauthorized and invalidates the token", () =>
    Effect.gen(function*() {
      const server = yield* bearerServer("Bearer good")
      const { layer, stub } = stubAuthenticator(() => Effect.succeed(Option.some("Bearer stale")))
      const rc = yield* build(layer)
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "Unauthorized")
      assert.strictEqual(stub.invalidated, 1)
      assert.strictEqual(server.requests.length, 2)
      assert.notInclude(JSON.stringify(error), "stale")
    }))

  it.scopedLive("a token that expires during a streamed upload: re-authorized, the upload restarted once", () =>
    Effect.gen(function*() {
      let accepted = "Bearer first"
      const server = yield* serve((req, res) => {
        if (req.headers.authorization !== accepted) {
          res.writeHead(401, { "www-authenticate": "Bearer realm=\"http://127.0.0.1:1/token\",service=\"test\"" })
          return res.end()
        }
        if (req.method === "POST") {
          res.writeHead(202, { location: `/upload/${req.headers.authorization === "Bearer first" ? 1 : 2}` })
          return res.end()
        }
        if (req.method === "PUT" && accepted === "Bearer first") {
          accepted = "Bearer second" // the first token "expires" while the body is being sent
          res.writeHead(401, { "www-authenticate": "Bearer realm=\"http://127.0.0.1:1/token\",service=\"test\"" })
          return res.end()
        }
        res.writeHead(201, { "docker-content-digest": new URL(req.url!, "http://x").searchParams.get("digest")! })
        res.end()
      })
      const { layer, stub } = stubAuthenticator((n) =>
        Effect.succeed(Option.some(n === 1 ? "Bearer first" : "Bearer second"))
      )
      const rc = yield* build(layer)
      const content = new TextEncoder().encode("streamed body")
      let runs = 0
      const result = yield* rc.blobs.upload(ref(server.host, "app"), {
        stream: Stream.suspend(() => {
          runs++
          return Stream.make(content)
        }),
        digest: Digest.ofBytes(content),
        size: content.length
      })
      assert.strictEqual(result.digest, Digest.ofBytes(content))
      assert.strictEqual(stub.calls.length, 2)
      assert.strictEqual(runs, 2)
      const puts = server.requests.filter((r) => r.method === "PUT")
      assert.deepStrictEqual(puts.map((r) => r.headers.authorization), ["Bearer first", "Bearer second"])
    }))

  it.scopedLive("insufficient_scope after authorizing is Denied", () =>
    Effect.gen(function*() {
      const server = yield* bearerServer("Bearer good", true)
      const { layer } = stubAuthenticator(() => Effect.succeed(Option.some("Bearer narrow")))
      const rc = yield* build(layer)
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "Denied")
    }))

  it.scopedLive("no credentials is Unauthorized with advice; an auth error maps to Denied", () =>
    Effect.gen(function*() {
      const server = yield* bearerServer("Bearer good")
      const none = stubAuthenticator(() => Effect.succeed(Option.none()))
      const rc = yield* build(none.layer)
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "Unauthorized")
      assert.include(error.message, "no credentials")
      assert.include(error.message, `ocidist login ${server.host}`)

      const scope = stubAuthenticator(() =>
        Effect.fail(new InsufficientScope({ registry: server.host, scopes: ["repository:app:pull"] }))
      )
      const rc2 = yield* build(scope.layer)
      const denied = yield* Effect.flip(rc2.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(denied._tag, "Denied")
    }))
})
