import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Credentials from "@ocidist/auth/Credentials"
import { type Digest, Reference } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import type * as http from "node:http"
import { nodeBody } from "../src/internal/bodyPump.js"
import { parseRetryAfter } from "../src/internal/response.js"
import type * as RegistryClient from "../src/RegistryClient.js"
import { anonymous, client, credentials, type Http, httpLayer, ociError, serve } from "./support/server.js"

const sha256 = (bytes: Uint8Array | string) =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

const ref = (host: string, rest: string) => Either.getOrThrow(Reference.parse(`${host}/${rest}`))

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat([...chunks]))

/** A blob read through its pump, every buffer copied (the pump hands them over). */
const pumped = (blob: RegistryClient.BlobResponse) =>
  Effect.suspend(() => {
    const parts: Array<Buffer> = []
    return Effect.as(
      blob.pump((chunk) => {
        parts.push(Buffer.from(chunk))
        return true
      }),
      parts
    )
  }).pipe(Effect.map((parts) => Buffer.concat(parts)))

const basicChallenge = (res: http.ServerResponse) => {
  res.writeHead(401, { "www-authenticate": "Basic realm=\"test\"", "content-type": "application/json" })
  res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }))
}

const basicHeader = `Basic ${Buffer.from("alice:secret").toString("base64")}`

const manifestBytes = new TextEncoder().encode(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: { mediaType: MediaType.OCI_EMPTY, digest: sha256("{}"), size: 2 },
  layers: []
}))

describe("redirects", () => {
  it.scopedLive("drops Authorization on a redirect to another origin, keeps it on the same origin", () =>
    Effect.gen(function*() {
      const blob = Buffer.from("blob content from the CDN")
      const digest = sha256(blob)
      const cdn = yield* serve((_req, res) => {
        res.writeHead(200, { "content-length": blob.length })
        res.end(blob)
      })
      const registry = yield* serve((req, res) => {
        if (req.headers.authorization !== basicHeader) return basicChallenge(res)
        if (req.url === `/v2/app/blobs/${digest}`) {
          res.writeHead(307, { location: `${cdn.url}/signed/${digest}?sig=abc` })
          return res.end()
        }
        if (req.url === `/v2/same/blobs/${digest}`) {
          res.writeHead(302, { location: `/storage/${digest}` })
          return res.end()
        }
        if (req.url === `/storage/${digest}`) {
          res.writeHead(200, { "content-length": blob.length })
          return res.end(blob)
        }
        res.writeHead(404)
        res.end()
      })
      const rc = yield* client({}, credentials({ [registry.host]: Credentials.basic("alice", "secret") }))

      const cross = yield* rc.blobs.get(ref(registry.host, "app"), digest)
      assert.deepStrictEqual(yield* collect(cross.stream), blob)
      assert.strictEqual(cdn.requests.length, 1)
      assert.isUndefined(cdn.requests[0]!.headers.authorization)
      assert.strictEqual(cdn.requests[0]!.url, `/signed/${digest}?sig=abc`)

      const same = yield* rc.blobs.get(ref(registry.host, "same"), digest)
      assert.deepStrictEqual(yield* collect(same.stream), blob)
      const storage = registry.requests.find((r) => r.url === `/storage/${digest}`)
      assert.strictEqual(storage?.headers.authorization, basicHeader)
    }))

  it.scopedLive("gives up after too many redirects", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => {
        res.writeHead(302, { location: `${req.url}x` })
        res.end()
      })
      const rc = yield* client({ maxRedirects: 3 })
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "loop:latest")))
      assert.strictEqual(error._tag, "InvalidResponse")
      assert.include(error.message, "more than 3 redirects")
    }))
})

describe("the byte path's fast lane", () => {
  it.scopedLive("blob bodies of the undici client are read from its Node body; fetch's through their stream", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, { "content-length": 4 })
        res.end("blob")
      })
      for (const [http, fast] of [["undici", true], ["fetch", false]] as const) {
        const response = yield* Effect.provide(
          HttpClient.get(`${server.url}/v2/app/blobs/x`),
          httpLayer(http)
        )
        assert.strictEqual(nodeBody(response) !== undefined, fast, http)
        yield* Effect.ignore(response.text)
      }
    }))
})

describe("digest and size checks", () => {
  it.scopedLive("rejects a manifest whose bytes do not match Docker-Content-Digest or the requested digest", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, {
          "content-type": MediaType.OCI_MANIFEST,
          "docker-content-digest": sha256("something else"),
          "content-length": manifestBytes.length
        })
        res.end(manifestBytes)
      })
      const rc = yield* client()
      const byTag = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(byTag._tag, "DigestMismatch")
      const wanted = sha256("another manifest")
      const byDigest = yield* Effect.flip(rc.manifests.get(ref(server.host, `app@${wanted}`)))
      assert.strictEqual(byDigest._tag, "DigestMismatch")
      if (byDigest._tag === "DigestMismatch") {
        assert.strictEqual(byDigest.expected, wanted)
        assert.strictEqual(byDigest.actual, sha256(manifestBytes))
      }
    }))

  it.scopedLive("accepts a manifest whose digest matches and decodes it", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST, "docker-content-digest": sha256(manifestBytes) })
        res.end(manifestBytes)
      })
      const rc = yield* client()
      const got = yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(got.digest, sha256(manifestBytes))
      assert.strictEqual(got.mediaType, MediaType.OCI_MANIFEST)
      assert.strictEqual(got.manifest._tag, "ImageManifest")
      assert.strictEqual(got.size, manifestBytes.length)
      const accept = server.requests[0]!.headers.accept ?? ""
      for (const type of MediaType.MANIFEST_TYPES) assert.include(accept, type)
      assert.match(server.requests[0]!.headers["user-agent"] ?? "", /^ocidist\//)
    }))

  it.scopedLive("fails a blob at once when Docker-Content-Digest names another digest", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, { "content-length": 5, "docker-content-digest": sha256("wrong") })
        res.end("wrong")
      })
      const rc = yield* client()
      const error = yield* Effect.flip(rc.blobs.get(ref(server.host, "app"), sha256("right")))
      assert.strictEqual(error._tag, "DigestMismatch")
    }))

  it.scopedLive("refuses an oversized manifest without reading it all (with and without Content-Length)", () =>
    Effect.gen(function*() {
      let written = 0
      let finished = false
      const server = yield* serve((req, res) => {
        if (req.url?.includes("declared") === true) {
          res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST, "content-length": 64 * 1024 * 1024 })
          res.write(Buffer.alloc(1024, 32))
          return
        }
        res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST })
        const chunk = Buffer.alloc(256 * 1024, 32)
        const pump = () => {
          while (written < 64 * 1024 * 1024) {
            written += chunk.length
            if (!res.write(chunk)) return res.once("drain", pump)
          }
          finished = true
          res.end()
        }
        res.on("close", () => undefined)
        pump()
      })
      const rc = yield* client()
      const declared = yield* Effect.flip(rc.manifests.get(ref(server.host, "declared:latest")))
      assert.strictEqual(declared._tag, "SizeExceeded")
      const streamed = yield* Effect.flip(rc.manifests.get(ref(server.host, "streamed:latest")))
      assert.strictEqual(streamed._tag, "SizeExceeded")
      assert.include(streamed.message, String(4 * 1024 * 1024))
      assert.isFalse(finished)
    }))

  it.scopedLive("refuses Docker schema 1 with an actionable message", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": MediaType.DOCKER_SCHEMA1_SIGNED })
        res.end(JSON.stringify({ schemaVersion: 1, name: "x", tag: "y", fsLayers: [] }))
      })
      const rc = yield* client()
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "old:latest")))
      assert.strictEqual(error._tag, "UnsupportedMediaType")
      assert.include(error.message, "schema 1")
    }))
})

describe("retries", () => {
  // Timing with the real clock: a lower bound only (the exact delays are asserted with the TestClock in
  // retry.test.ts). The retry backoff here is 5-20 ms, far below the Retry-After.
  it.scopedLive("waits for Retry-After in seconds, then succeeds", () =>
    Effect.gen(function*() {
      const at: Array<number> = []
      const server = yield* serve((_req, res) => {
        at.push(performance.now())
        if (at.length === 1) return ociError(res, 429, "TOOMANYREQUESTS", "slow down", { "retry-after": "1" })
        res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST })
        res.end(manifestBytes)
      })
      const rc = yield* client()
      const got = yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(got.digest, sha256(manifestBytes))
      assert.strictEqual(at.length, 2)
      assert.isAtLeast(at[1]! - at[0]!, 990)
    }))

  it.scopedLive("waits for Retry-After as an HTTP-date, then succeeds", () =>
    Effect.gen(function*() {
      const at: Array<number> = []
      let until = 0
      const server = yield* serve((_req, res) => {
        at.push(Date.now())
        if (at.length === 1) {
          // an HTTP-date has whole seconds: two seconds ahead is at least one second away
          until = Math.floor((Date.now() + 2000) / 1000) * 1000
          return ociError(res, 503, "UNAVAILABLE", "maintenance", { "retry-after": new Date(until).toUTCString() })
        }
        res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST })
        res.end(manifestBytes)
      })
      const rc = yield* client()
      yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(at.length, 2)
      assert.isAtLeast(at[1]!, until - 10, "not before the date")
    }))

  it("parses Retry-After", () => {
    assert.strictEqual(parseRetryAfter("7", 0), 7000)
    assert.strictEqual(
      parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:50 GMT")),
      10_000
    )
    assert.strictEqual(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 08:00:00 GMT")), 0)
    assert.isUndefined(parseRetryAfter("soon", 0))
  })

  it.scopedLive("fails at once with TooManyRequests when Retry-After is beyond the limit", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) =>
        ociError(res, 429, "TOOMANYREQUESTS", "quota", { "retry-after": "3600" })
      )
      const rc = yield* client()
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "TooManyRequests")
      if (error._tag === "TooManyRequests") assert.strictEqual(error.retryAfterMillis, 3_600_000)
      assert.strictEqual(server.requests.length, 1)
    }))

  it.scopedLive("retries 5xx with backoff, then succeeds; gives up after the configured times", () =>
    Effect.gen(function*() {
      let calls = 0
      const server = yield* serve((req, res) => {
        calls++
        if (req.url?.includes("always") === true || calls <= 2) {
          res.writeHead(502)
          return res.end("bad gateway")
        }
        res.writeHead(200, { "content-type": MediaType.OCI_MANIFEST })
        res.end(manifestBytes)
      })
      const rc = yield* client()
      yield* rc.manifests.get(ref(server.host, "app:latest"))
      assert.strictEqual(calls, 3)
      calls = 0
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "always:latest")))
      assert.strictEqual(error._tag, "RegistryResponseError")
      assert.strictEqual(calls, 4)
    }))

  it.scopedLive("retries connection errors and reports a TransportError", () =>
    Effect.gen(function*() {
      const server = yield* serve((req) => req.socket.destroy())
      const rc = yield* client()
      const error = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual(server.requests.length, 4)
      if (error._tag !== "TransportError") return
      // the socket error itself, never the HttpClientError (its request carries the authorization header)
      assert.instanceOf(error.cause, Error)
      assert.notProperty(error.cause as object, "request")
      assert.notInclude(String(error.cause), "RequestError")
      assert.include(error.reason, (error.cause as Error).message)
    }))
})

/**
 * The two ways to read a blob body, each tested against the same faults: the `stream`, and the `pump` (one
 * loop per body: undici's own body events, or `response.stream` for other clients such as `fetch`).
 */
const lanes: ReadonlyArray<{
  readonly name: string
  readonly http: Http
  readonly read: (blob: RegistryClient.BlobResponse) => Effect.Effect<Buffer, unknown>
}> = [
  { name: "stream", http: "undici", read: (blob) => collect(blob.stream) },
  { name: "pump over undici", http: "undici", read: (blob) => pumped(blob) },
  { name: "pump over fetch", http: "fetch", read: (blob) => pumped(blob) },
  { name: "stream over fetch", http: "fetch", read: (blob) => collect(blob.stream) }
]

for (const lane of lanes) {
  describe(`blob bodies (${lane.name})`, () => {
    it.scopedLive("fails a blob whose content does not match its digest, after the last byte", () =>
      Effect.gen(function*() {
        const server = yield* serve((_req, res) => {
          res.writeHead(200, { "content-length": 5 })
          res.end("wrong")
        })
        const rc = yield* client({}, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host, "app"), sha256("right"))
        const error = yield* Effect.flip(lane.read(blob))
        assert.strictEqual((error as { _tag: string })._tag, "DigestMismatch")
      }))

    it.scopedLive("fails a blob longer than its descriptor size", () =>
      Effect.gen(function*() {
        const server = yield* serve((_req, res) => {
          res.writeHead(200)
          res.end("longer than five")
        })
        const rc = yield* client({}, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host, "app"), sha256("12345"), { size: 5 })
        const error = yield* Effect.flip(lane.read(blob))
        assert.strictEqual((error as { _tag: string })._tag, "SizeExceeded")
      }))
  })

  if (lane.name.startsWith("pump")) {
    it.scopedLive(`a sink that waits longer than the idle timeout is not taken for a stall (${lane.name})`, () =>
      Effect.gen(function*() {
        const content = Buffer.alloc(512 * 1024, 7)
        const server = yield* serve((_req, res) => {
          res.writeHead(200, { "content-length": content.length })
          res.end(content)
        })
        const rc = yield* client({ timeout: "150 millis" }, anonymous, lane.http)
        let received = 0
        let waited = false
        yield* rc.blobs.pump(ref(server.host, "app"), sha256(content), (chunk) => {
          received += chunk.length
          if (waited) return true
          waited = true
          return new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 500))
        })
        assert.strictEqual(received, content.length)
        assert.strictEqual(server.requests.length, 1)
      }))

    it.scopedLive(`a sink that waits gets every byte in order; one that stops ends the read early (${lane.name})`, () =>
      Effect.gen(function*() {
        const content = Buffer.alloc(2 * 1024 * 1024 + 123)
        for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 9)) & 0xff
        let closed = 0
        const server = yield* serve((_req, res) => {
          res.on("close", () => closed++)
          res.writeHead(200, { "content-length": content.length })
          res.end(content)
        })
        const rc = yield* client({}, anonymous, lane.http)
        const parts: Array<Buffer> = []
        let waits = 0
        yield* rc.blobs.pump(ref(server.host, "app"), sha256(content), (chunk) => {
          parts.push(Buffer.from(chunk))
          // every other buffer makes the source wait a little (backpressure)
          return parts.length % 2 === 0 ? true : new Promise<boolean>((resolve) => {
            waits++
            setTimeout(() => resolve(true), 2)
          })
        })
        assert.isTrue(Buffer.concat(parts).equals(content))
        assert.isAbove(waits, 0)
        let seen = 0
        yield* rc.blobs.pump(ref(server.host, "app"), sha256(content), (chunk) => {
          seen += chunk.length
          return false
        })
        assert.isBelow(seen, content.length)
        yield* Effect.sleep("50 millis")
        assert.strictEqual(closed, 2)
      }))
  }

  describe(`resume (${lane.name})`, () => {
    const content = Buffer.alloc(3 * 1024 * 1024)
    for (let i = 0; i < content.length; i++) content[i] = (i * 7 + (i >> 11)) & 0xff
    const digest = sha256(content)

    it.scopedLive("resumes a cut connection with Range (206) and verifies the whole digest", () =>
      Effect.gen(function*() {
        let cuts = 0
        const server = yield* serve((req, res) => {
          const range = req.headers.range
          if (range === undefined) {
            res.writeHead(200, { "content-length": content.length })
            res.write(content.subarray(0, 1024 * 1024), () => {
              cuts++
              setTimeout(() => res.socket?.destroy(), 20)
            })
            return
          }
          const start = Number(/bytes=(\d+)-/.exec(range)![1])
          res.writeHead(206, {
            "content-length": content.length - start,
            "content-range": `bytes ${start}-${content.length - 1}/${content.length}`
          })
          res.end(content.subarray(start))
        })
        const rc = yield* client({}, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host, "app"), digest, { size: content.length })
        const bytes = yield* lane.read(blob)
        assert.strictEqual(bytes.length, content.length)
        assert.isTrue(bytes.equals(content))
        assert.strictEqual(cuts, 1)
        const ranged = server.requests.filter((r) => r.headers.range !== undefined)
        assert.strictEqual(ranged.length, 1)
        assert.match(ranged[0]!.headers.range!, /^bytes=\d+-$/)
      }))

    it.scopedLive("resumes against a server that answers 200 to Range, skipping what it already has", () =>
      Effect.gen(function*() {
        let first = true
        const server = yield* serve((_req, res) => {
          res.writeHead(200, { "content-length": content.length })
          if (first) {
            first = false
            res.write(content.subarray(0, 1024 * 1024 + 17), () => setTimeout(() => res.socket?.destroy(), 20))
            return
          }
          res.end(content)
        })
        const rc = yield* client({}, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host, "app"), digest)
        const bytes = yield* lane.read(blob)
        assert.isTrue(bytes.equals(content))
        assert.strictEqual(server.requests.length, 2)
      }))

    it.scopedLive("resumes a download that stalls (no data within the timeout)", () =>
      Effect.gen(function*() {
        const server = yield* serve((req, res) => {
          const range = req.headers.range
          if (range === undefined) {
            res.writeHead(200, { "content-length": content.length })
            res.write(content.subarray(0, 512 * 1024)) // then nothing, connection left open
            return
          }
          const start = Number(/bytes=(\d+)-/.exec(range)![1])
          res.writeHead(206, { "content-range": `bytes ${start}-${content.length - 1}/${content.length}` })
          res.end(content.subarray(start))
        })
        const rc = yield* client({ timeout: "300 millis" }, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host, "app"), digest)
        const bytes = yield* lane.read(blob)
        assert.isTrue(bytes.equals(content))
        assert.strictEqual(server.requests.length, 2)
      }))

    it.scopedLive("rejects a 206 whose Content-Range does not start where asked", () =>
      Effect.gen(function*() {
        const server = yield* serve((req, res) => {
          if (req.headers.range === undefined) {
            res.writeHead(200, { "content-length": content.length })
            res.write(content.subarray(0, 65536), () => setTimeout(() => res.socket?.destroy(), 20))
            return
          }
          res.writeHead(206, { "content-range": `bytes 0-${content.length - 1}/${content.length}` })
          res.end(content)
        })
        const rc = yield* client({}, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host, "app"), digest)
        const error = yield* Effect.flip(lane.read(blob))
        assert.strictEqual((error as { _tag: string })._tag, "InvalidResponse")
      }))

    it.scopedLive("starts at an offset with a primed hasher and still verifies the digest", () =>
      Effect.gen(function*() {
        const server = yield* serve((req, res) => {
          const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "bytes=0-")![1])
          res.writeHead(start === 0 ? 200 : 206, {
            "content-range": `bytes ${start}-${content.length - 1}/${content.length}`
          })
          res.end(content.subarray(start))
        })
        const rc = yield* client({}, anonymous, lane.http)
        const hasher = NodeHash.service.make("sha256")
        hasher.update(content.subarray(0, 1000))
        const blob = yield* rc.blobs.get(ref(server.host, "app"), digest, { offset: 1000, hasher })
        const rest = yield* lane.read(blob)
        assert.isTrue(rest.equals(content.subarray(1000)))
        assert.strictEqual(blob.size, content.length)
      }))
  })
}

describe("errors", () => {
  it.scopedLive("decodes the error envelope into typed errors with registry, repository and operation", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => {
        if (req.url!.includes("/missing/")) {
          return ociError(res, 404, "NAME_UNKNOWN", "repository name not known to registry")
        }
        if (req.url!.includes("/forbidden/")) {
          return ociError(res, 403, "DENIED", "requested access to the resource is denied")
        }
        if (req.url!.includes("/bad/")) return ociError(res, 400, "MANIFEST_INVALID", "manifest invalid")
        return ociError(res, 418, "SOMETHING_NEW", "a code from the future")
      })
      const rc = yield* client()
      const notFound = yield* Effect.flip(rc.manifests.get(ref(server.host, "missing/app:1")))
      assert.strictEqual(notFound._tag, "NotFound")
      if (notFound._tag === "NotFound") {
        assert.deepStrictEqual(notFound.codes, ["NAME_UNKNOWN"])
        assert.strictEqual(notFound.registry, server.host)
        assert.strictEqual(notFound.repository, "missing/app")
        assert.strictEqual(notFound.operation, "manifests.get")
        assert.include(notFound.message, "repository name not known to registry")
      }
      const denied = yield* Effect.flip(rc.blobs.head(ref(server.host, "forbidden/app"), sha256("x")))
      assert.strictEqual(denied._tag, "Denied")
      const invalid = yield* Effect.flip(
        rc.manifests.put(ref(server.host, "bad/app:1"), { bytes: manifestBytes, mediaType: MediaType.OCI_MANIFEST })
      )
      assert.strictEqual(invalid._tag, "RegistryResponseError")
      if (invalid._tag === "RegistryResponseError") assert.deepStrictEqual(invalid.codes, ["MANIFEST_INVALID"])
      const unknown = yield* Effect.flip(rc.manifests.delete(ref(server.host, "other/app:1")))
      assert.strictEqual(unknown._tag, "RegistryResponseError")
      if (unknown._tag === "RegistryResponseError") assert.deepStrictEqual(unknown.codes, ["SOMETHING_NEW"])
    }))

  it.scopedLive("reports rejected credentials as Unauthorized without leaking them", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => basicChallenge(res))
      const rc = yield* client({}, credentials({ [`127.0.0.1:0`]: Credentials.anonymous }))
      const anonymous = yield* Effect.flip(rc.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(anonymous._tag, "Unauthorized")
      assert.include(anonymous.message, `ocidist login ${server.host}`)
      const rc2 = yield* client(
        {},
        credentials({ [server.host]: Credentials.basic("alice", "hunter2-secret") })
      )
      const rejected = yield* Effect.flip(rc2.manifests.get(ref(server.host, "app:latest")))
      assert.strictEqual(rejected._tag, "Unauthorized")
      assert.notInclude(rejected.message, "hunter2")
      assert.notInclude(JSON.stringify(rejected), "hunter2")
      assert.notInclude(JSON.stringify(rejected), Buffer.from("alice:hunter2-secret").toString("base64"))
    }))

  it.scopedLive("surfaces rate-limit headers", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(200, {
          "content-type": MediaType.OCI_MANIFEST,
          "docker-content-digest": sha256(manifestBytes),
          "content-length": manifestBytes.length,
          "ratelimit-limit": "100;w=21600",
          "ratelimit-remaining": "76;w=21600",
          "docker-ratelimit-source": "203.0.113.7"
        })
        res.end()
      })
      const rc = yield* client()
      const head = yield* rc.manifests.head(ref(server.host, "app:latest"))
      assert.deepStrictEqual(head.rateLimit, { limit: 100, remaining: 76, windowSeconds: 21600, source: "203.0.113.7" })
      assert.strictEqual(head.digest, sha256(manifestBytes))
      assert.strictEqual(head.size, manifestBytes.length)
      assert.strictEqual(server.requests[0]!.method, "HEAD")
    }))

  it.scopedLive("tolerates a manifest PUT without Location and returns the digest", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(201)
        res.end()
      })
      const rc = yield* client()
      const result = yield* rc.manifests.put(ref(server.host, "app:v1"), {
        bytes: manifestBytes,
        mediaType: MediaType.OCI_MANIFEST
      })
      assert.strictEqual(result.digest, sha256(manifestBytes))
      assert.isUndefined(result.location)
      assert.strictEqual(server.requests[0]!.headers["content-type"], MediaType.OCI_MANIFEST)
      assert.strictEqual(server.requests[0]!.url, "/v2/app/manifests/v1")
    }))

  it.scopedLive("ping reports API version and auth scheme", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(401, {
          "docker-distribution-api-version": "registry/2.0",
          "www-authenticate": "Bearer realm=\"https://auth.example/token\",service=\"example\""
        })
        res.end()
      })
      const rc = yield* client()
      const ping = yield* rc.ping(server.host)
      assert.strictEqual(ping.status, 401)
      assert.strictEqual(ping.scheme, "Bearer")
      assert.strictEqual(ping.apiVersion, "registry/2.0")
    }))
})

describe("JSON bodies (Schema)", () => {
  it.scopedLive("tag and catalog pages: null is empty, anything but a list of strings is an InvalidResponse", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => {
        const body: Record<string, string> = {
          "/v2/empty/tags/list": JSON.stringify({ name: "empty", tags: null }),
          "/v2/numbers/tags/list": JSON.stringify({ name: "numbers", tags: [1, 2] }),
          "/v2/html/tags/list": "<html>",
          "/v2/_catalog": JSON.stringify({ repositories: "app" })
        }
        const text = body[new URL(req.url!, "http://x").pathname] ?? "{}"
        res.writeHead(200, { "content-type": "application/json" })
        res.end(text)
      })
      const rc = yield* client()
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(rc.tags(ref(server.host, "empty")))), [])
      const numbers = yield* Effect.flip(Stream.runDrain(rc.tags(ref(server.host, "numbers"))))
      assert.strictEqual(numbers._tag, "InvalidResponse")
      assert.include(numbers.message, "\"tags\" is not a list of strings")
      const html = yield* Effect.flip(Stream.runDrain(rc.tags(ref(server.host, "html"))))
      assert.strictEqual(html._tag, "InvalidResponse")
      assert.include(html.message, "the tags page is not JSON")
      const catalog = yield* Effect.flip(Stream.runDrain(rc.catalog(server.host)))
      assert.strictEqual(catalog._tag, "InvalidResponse")
      assert.include(catalog.message, "\"repositories\" is not a list of strings")
    }))

  it.scopedLive("the error envelope: entries without a code skipped, messages cut, details kept as JSON", () =>
    Effect.gen(function*() {
      const server = yield* serve((_req, res) => {
        res.writeHead(400, { "content-type": "application/json" })
        res.end(JSON.stringify({
          errors: [
            { code: "MANIFEST_INVALID", message: "x".repeat(5000), detail: { field: "layers" } },
            { message: "no code" },
            "not an object",
            { code: "SIZE_INVALID", message: 42, detail: "too big" }
          ]
        }))
      })
      const rc = yield* client()
      const error = yield* Effect.flip(
        rc.manifests.put(ref(server.host, "app:v1"), { bytes: manifestBytes, mediaType: MediaType.OCI_MANIFEST })
      )
      assert.strictEqual(error._tag, "RegistryResponseError")
      if (error._tag !== "RegistryResponseError") return
      assert.deepStrictEqual(error.errors, [
        { code: "MANIFEST_INVALID", message: "x".repeat(1000), detail: "{\"field\":\"layers\"}" },
        { code: "SIZE_INVALID", detail: "too big" }
      ])
    }))
})
