/**
 * Transient failures of token exchanges and of small bounded reads (manifests, tag pages), against loopback
 * servers that fail a given number of times: the operation succeeds after retries (counted at the server), a
 * token server that keeps failing is a `TokenServerError` (not `Unauthorized`), and its 401 stays
 * `Unauthorized`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Credentials from "@ocidist/auth/Credentials"
import { Digest, Reference } from "@ocidist/reference"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import { client, credentials, json, serve } from "./support/server.js"

const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
  layers: []
})

const ref = (host: string, rest: string) => Either.getOrThrow(Reference.parse(`${host}/${rest}`))

/** Sends the headers and part of the body (Content-Length promises the whole), then cuts the connection. */
const cut = (res: http.ServerResponse, body: string, contentType = "application/json") => {
  res.writeHead(200, { "content-type": contentType, "content-length": String(Buffer.byteLength(body)) })
  res.write(body.slice(0, Math.floor(body.length / 2)))
  setTimeout(() => res.socket?.destroy(), 20)
}

const serveManifest = (res: http.ServerResponse) => {
  res.writeHead(200, {
    "content-type": MediaType.OCI_MANIFEST,
    "content-length": String(Buffer.byteLength(manifest)),
    "docker-content-digest": Digest.ofBytes(manifest)
  })
  res.end(manifest)
}

/**
 * A registry behind a token server: `/token` answers `tokenFault(n)` first (n counts token requests, from 1)
 * and a token otherwise; the manifest needs `Bearer good`.
 */
const tokenRegistry = (tokenFault: (n: number, res: http.ServerResponse) => boolean) => {
  let tokens = 0
  return Effect.flatMap(
    serve((req, res) => {
      if (req.url!.startsWith("/token")) {
        tokens++
        if (tokenFault(tokens, res)) return
        return json(res, 200, { token: "good", expires_in: 300 })
      }
      if (req.headers.authorization !== "Bearer good") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="test"`,
          "content-length": "0"
        })
        return res.end()
      }
      serveManifest(res)
    }),
    (server) =>
      Effect.succeed({
        ...server,
        tokenRequests: () => server.requests.filter((r) => r.url.startsWith("/token")).length,
        manifestRequests: () => server.requests.filter((r) => r.url.includes("/manifests/")).length
      })
  )
}

/** Collects the log lines (Debug and up) of `effect`. */
const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ cause, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      lines.push(Cause.isEmpty(cause) ? text : `${text}: ${Cause.pretty(cause)}`)
    })
    const result = yield* effect.pipe(
      Effect.either,
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
    return { result, lines }
  })

describe("token exchange failures", () => {
  it.scopedLive("a token server answering 503 twice: the pull succeeds after three token requests", () =>
    Effect.gen(function*() {
      const server = yield* tokenRegistry((n, res) => {
        if (n > 2) return false
        json(res, 503, {})
        return true
      })
      const rc = yield* client()
      const got = yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(got.digest, Digest.ofBytes(manifest))
      assert.strictEqual(server.tokenRequests(), 3)
      assert.strictEqual(server.manifestRequests(), 2) // the 401, then the replay with the token
    }))

  it.scopedLive("a token response cut mid-body once: fetched again, the pull succeeds", () =>
    Effect.gen(function*() {
      const server = yield* tokenRegistry((n, res) => {
        if (n > 1) return false
        cut(res, JSON.stringify({ token: "good", expires_in: 300 }))
        return true
      })
      const rc = yield* client()
      const { lines, result } = yield* logged(rc.manifests.get(ref(server.host, "app:latest")))
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(server.tokenRequests(), 2)
      assert.isFalse(lines.some((l) => l.includes("Fiber terminated with an unhandled error")), lines.join("\n"))
    }))

  it.scopedLive("a token server that keeps failing: TokenServerError (transient), not Unauthorized", () =>
    Effect.gen(function*() {
      const server = yield* tokenRegistry((_n, res) => {
        json(res, 502, {})
        return true
      })
      const rc = yield* client() // fastRetry: 3 retries
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "TokenServerError")
      if (error._tag === "TokenServerError") {
        assert.strictEqual(error.status, 502)
        assert.isTrue(error.transient)
        assert.include(error.message, "token server")
        assert.notInclude(error.message, "ocidist login")
      }
      assert.strictEqual(server.tokenRequests(), 4)
      assert.strictEqual(server.manifestRequests(), 1)
    }))

  it.scopedLive("a 401 from the token server with credentials stays Unauthorized, not retried", () =>
    Effect.gen(function*() {
      const server = yield* tokenRegistry((_n, res) => {
        json(res, 401, {})
        return true
      })
      const rc = yield* client({}, credentials({ "127.0.0.1": Credentials.basic("user", "wrong") }))
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "Unauthorized")
      assert.strictEqual(server.tokenRequests(), 1)
    }))

  it.scopedLive("concurrent pulls while the token server fails once share one exchange", () =>
    Effect.gen(function*() {
      const server = yield* tokenRegistry((n, res) => {
        if (n > 1) return false
        json(res, 500, {})
        return true
      })
      const rc = yield* client()
      yield* Effect.all(
        Array.from({ length: 20 }, () => rc.manifests.get(ref(server.host, "app:latest"))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(server.tokenRequests(), 2)
    }))
})

describe("bounded reads cut after the headers", () => {
  it.scopedLive("a manifest body cut once: the GET is retried whole and succeeds, nothing left unobserved", () =>
    Effect.gen(function*() {
      let gets = 0
      const server = yield* serve((_req, res) => {
        gets++
        if (gets === 1) return cut(res, manifest, MediaType.OCI_MANIFEST)
        serveManifest(res)
      })
      const rc = yield* client()
      const { lines, result } = yield* logged(rc.manifests.get(ref(server.host, "app:latest")))
      assert.isTrue(Either.isRight(result), String(Either.isLeft(result) ? result.left : ""))
      assert.strictEqual(server.requests.length, 2)
      assert.isFalse(lines.some((l) => l.includes("Fiber terminated with an unhandled error")), lines.join("\n"))
    }))

  it.scopedLive("a manifest body cut every time: TransportError after the retries", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => cut(res, manifest, MediaType.OCI_MANIFEST))
      const rc = yield* client()
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual(server.requests.length, 4)
    }))

  it.scopedLive("a tags page cut once: retried, the listing is complete", () =>
    Effect.gen(function*() {
      let gets = 0
      const page = JSON.stringify({ name: "app", tags: ["a", "b", "c"] })
      const server = yield* serve((_req, res) => {
        gets++
        if (gets === 1) return cut(res, page)
        res.writeHead(200, { "content-type": "application/json", "content-length": String(page.length) })
        res.end(page)
      })
      const rc = yield* client()
      const tags = yield* Stream.runCollect(rc.tags(ref(server.host, "app")))
      assert.deepStrictEqual(Chunk.toReadonlyArray(tags), ["a", "b", "c"])
      assert.strictEqual(server.requests.length, 2)
    }))
})
