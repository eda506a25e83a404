/**
 * Upload resumes of our registry client against the embedded registry, which keeps what it stored of a
 * `PATCH` or `PUT` whose body was cut and reports it in the session's `Range` (`GET` of the session → `204`):
 * chunked, streamed and monolithic uploads (the last as `Repository.pushBlob`, `ocidist push` and `copy` send
 * a blob whose digest and size they know: one `PUT ?digest=` with the whole body). A small
 * HTTP proxy of the test's own sits between the two: it records every exchange (method, path, status,
 * `Range`, request-body bytes forwarded), cuts request bodies after some bytes, answers some requests itself
 * (a 503) and can make the registry lose a session. Assertions are on what reached the registry. The last
 * test runs the same client against the Debian `docker-registry` (distribution), which drops a session whose
 * `PATCH` or `PUT` was cut.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import type * as Digest from "@ocidist/reference/Digest"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Reference from "@ocidist/reference/Reference"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as Ocidist from "ocidist/Ocidist"
import * as NodeRegistry from "../src/NodeRegistry.js"
import { capture, client, digest, fileStream, ocidist, readAll } from "./support/harness.js"

const sha256 = (bytes: Uint8Array) => digest(`sha256:${createHash("sha256").update(bytes).digest("hex")}`)

const bytesOf = (size: number, seed: number) => {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1664525 + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** `bytes` in pieces of `piece` bytes (the last shorter). */
const pieces = (bytes: Uint8Array, piece = 16 * 1024): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(bytes.length / piece) }, (_, i) => bytes.subarray(i * piece, (i + 1) * piece))
  )

/** Retries that keep the tests quick; `times` (which bounds the resumes per session) is the default's, 4. */
const retry = { times: 4, base: "5 millis", max: "20 millis", maxRetryAfter: "5 seconds" } as const

// ---------------------------------------------------------------------------------------------------------
// the proxy
// ---------------------------------------------------------------------------------------------------------

interface Exchange {
  readonly method: string
  readonly path: string
  readonly contentRange: string | undefined
  /** The request's `Content-Length` (`undefined` without one). */
  readonly contentLength: number | undefined
  /** Request-body bytes forwarded to the registry. */
  bytes: number
  /** The body was cut after `bytes` (both connections destroyed). */
  cut: boolean
  status: number | undefined
  range: string | undefined
}

interface Proxy {
  readonly host: string
  readonly exchanges: Array<Exchange>
  /** The exchanges on upload sessions (`…/blobs/uploads/…`), in order. */
  readonly uploads: () => Array<Exchange>
}

interface ProxyOptions {
  /** Where to cut a request body: after this many bytes, or `undefined` to forward it whole. */
  readonly cut?: ((exchange: Exchange, index: number) => number | undefined) | undefined
  /** Before forwarding the first `GET` of an upload session, `DELETE` that session at the registry. */
  readonly loseSession?: boolean | undefined
  /** Answer a request with this status instead of forwarding it (its body read and dropped). */
  readonly answer?: ((exchange: Exchange, index: number) => number | undefined) | undefined
}

const isUpload = (path: string) => /\/blobs\/uploads\//.test(path)

/** Sends one request to the registry and reads its answer (the proxy's own `DELETE`). */
const request = (port: number, method: string, path: string) =>
  new Promise<void>((resolve, reject) => {
    const out = http.request({ host: "127.0.0.1", port, method, path, agent: false }, (res) => {
      res.resume()
      res.on("end", resolve)
    })
    out.on("error", reject)
    out.end()
  })

const startProxy = (
  registry: { readonly host: string },
  options: ProxyOptions = {}
): Effect.Effect<Proxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; proxy: Proxy }>((resume) => {
      const port = Number(registry.host.split(":")[1])
      const exchanges: Array<Exchange> = []
      let lost = false
      const server = http.createServer((req, res) => {
        const exchange: Exchange = {
          method: req.method ?? "",
          path: req.url ?? "",
          contentRange: req.headers["content-range"],
          contentLength: req.headers["content-length"] === undefined
            ? undefined
            : Number(req.headers["content-length"]),
          bytes: 0,
          cut: false,
          status: undefined,
          range: undefined
        }
        const index = exchanges.push(exchange) - 1
        const forward = () => {
          const upstream = http.request(
            { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers, agent: false },
            (answer) => {
              exchange.status = answer.statusCode
              const range = answer.headers["range"]
              exchange.range = typeof range === "string" ? range : undefined
              res.writeHead(answer.statusCode ?? 502, answer.headers)
              answer.pipe(res)
            }
          )
          upstream.on("error", () => res.destroy())
          const limit = options.cut?.(exchange, index)
          req.on("data", (chunk: Buffer) => {
            if (exchange.cut) return
            if (limit !== undefined && exchange.bytes + chunk.length >= limit) {
              const part = chunk.subarray(0, limit - exchange.bytes)
              exchange.bytes += part.length
              exchange.cut = true
              upstream.write(part, () => {
                upstream.destroy()
                // the client learns of the cut once the registry has had time to store what it got
                setTimeout(() => req.socket.destroy(), 100)
              })
              return
            }
            exchange.bytes += chunk.length
            upstream.write(chunk)
          })
          req.on("end", () => {
            if (!exchange.cut) upstream.end()
          })
        }
        const status = options.answer?.(exchange, index)
        if (status !== undefined) {
          req.resume()
          req.on("end", () => {
            exchange.status = status
            res.writeHead(status, { "content-type": "application/json" })
            res.end(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "injected by the test's proxy" }] }))
          })
        } else if (options.loseSession === true && !lost && req.method === "GET" && isUpload(exchange.path)) {
          lost = true
          request(port, "DELETE", exchange.path).then(forward, () => res.destroy())
        } else {
          forward()
        }
      })
      server.listen(0, "127.0.0.1", () => {
        const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({
          server,
          proxy: { host, exchanges, uploads: () => exchanges.filter((e) => isUpload(e.path)) }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))

/** Our client, anonymous, over `NodeRegistryClient`'s undici (for a registry that is not the embedded one). */
const anonymousClient = (options: RegistryClient.Options) =>
  Effect.map(
    Layer.build(
      RegistryClient.layerWithoutDependencies(options).pipe(
        Layer.provide(Authenticator.layerWithoutDependencies()),
        Layer.provide(
          Layer.mergeAll(NodeRegistryClient.layerHttpClient(options), Credentials.layer({ sources: [] }))
        ),
        Layer.provide(NodeHash.layer)
      )
    ),
    Context.get(RegistryClient.RegistryClient)
  )

const refAt = (proxy: Proxy, rest: string) => Either.getOrThrow(Reference.parse(`${proxy.host}/${rest}`))

/** Cuts the `nth` PATCH (from 0) after `bytes` bytes of its body. */
const cutPatch = (nth: number, bytes: number) => {
  let patches = 0
  return (exchange: Exchange) => exchange.method === "PATCH" && patches++ === nth ? bytes : undefined
}

/** Cuts the first `PUT` of an upload session whose body is over `bytes` bytes after `bytes` bytes. */
const cutPut = (bytes: number) => {
  let done = false
  return (exchange: Exchange) => {
    if (done || exchange.method !== "PUT" || !isUpload(exchange.path) || (exchange.contentLength ?? 0) <= bytes) {
      return undefined
    }
    done = true
    return bytes
  }
}

/** `n` in the session status `Range: 0-<n - 1>`. */
const heldBy = (status: Exchange) => Number(/^0-(\d+)$/.exec(status.range ?? "")![1]) + 1

const summary = (exchanges: ReadonlyArray<Exchange>) =>
  exchanges.map((e) => `${e.method} ${e.status ?? "-"}${e.cut ? " (cut)" : ""}`)

/** The blob as the registry serves it, checked against `bytes`. */
const assertStored = (rc: RegistryClient.Service, proxy: Proxy, repository: string, bytes: Uint8Array) =>
  Effect.gen(function*() {
    const back = yield* readAll(rc.blobs.stream(refAt(proxy, repository), sha256(bytes), { size: bytes.length }))
    assert.isTrue(back.equals(Buffer.from(bytes)), "the stored blob is the one uploaded")
  })

const resumeLogs = (logs: ReturnType<typeof capture>, d: Digest.Digest | string) =>
  logs.records.filter((r) => r.message.includes(`resuming upload of ${d} at byte`)).map((r) => r.message)

// ---------------------------------------------------------------------------------------------------------

describe("upload resumes", () => {
  it.scopedLive("a chunked upload cut mid-PATCH asks the session's Range and sends only the rest", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* logs.provide(NodeRegistry.start())
      const proxy = yield* startProxy(registry, { cut: cutPatch(2, 10_000) })
      const rc = yield* logs.provide(client(registry, { client: { retry, chunkSize: 64 * 1024 } }))
      const bytes = bytesOf(300_000, 1)
      const result = yield* logs.provide(
        rc.blobs.upload(refAt(proxy, "resume/chunked"), { stream: pieces(bytes), digest: sha256(bytes) }, {
          strategy: "chunked"
        })
      )
      assert.strictEqual(result.digest, sha256(bytes))
      assert.strictEqual(result.size, bytes.length)

      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), [
        "POST 202",
        "PATCH 202",
        "PATCH 202",
        "PATCH - (cut)",
        "GET 204",
        "PATCH 202",
        "PATCH 202",
        "PATCH 202",
        "PUT 201"
      ])
      const status = uploads[4]!
      const held = Number(/^0-(\d+)$/.exec(status.range ?? "")![1]) + 1
      // the registry kept part of the cut chunk, and the client went on from there, not from the chunk's start
      assert.isAbove(held, 2 * 64 * 1024)
      assert.isAtMost(held, 2 * 64 * 1024 + 10_000)
      assert.strictEqual(uploads[5]!.contentRange, `${held}-${3 * 64 * 1024 - 1}`)
      const after = uploads.slice(5).reduce((n, e) => n + e.bytes, 0)
      assert.strictEqual(after, bytes.length - held, "only the bytes the registry did not hold were sent again")
      assert.deepStrictEqual(resumeLogs(logs, sha256(bytes)).length, 1)
      assert.include(resumeLogs(logs, sha256(bytes))[0]!, `at byte ${held}`)
      // the registry's own request log: the status request answered 204
      assert.isTrue(
        logs.requests().some((r) =>
          r.annotations["method"] === "GET" && r.annotations["path"]!.includes("/blobs/uploads/") &&
          r.annotations["status"] === "204"
        )
      )
      yield* assertStored(rc, proxy, "resume/chunked", bytes)
    }))

  it.scopedLive("a streamed upload cut mid-PATCH re-opens its source at the registry's Range", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* NodeRegistry.start()
      const rc = yield* client(registry, { client: { retry } })
      const bytes = bytesOf(400_000, 2)
      const cases = [
        { name: "digest and size known", digest: sha256(bytes), size: bytes.length, pump: false },
        { name: "digest and size unknown", digest: undefined, size: undefined, pump: false },
        { name: "first attempt through the pump", digest: sha256(bytes), size: bytes.length, pump: true }
      ]
      for (const c of cases) {
        const proxy = yield* startProxy(registry, { cut: cutPatch(0, 150_000) })
        const opened: Array<number> = []
        let runs = 0
        const source: RegistryClient.BlobSource = {
          stream: Stream.suspend(() => {
            runs++
            return pieces(bytes)
          }),
          open: (offset) => {
            opened.push(offset)
            return pieces(bytes.subarray(offset))
          },
          digest: c.digest,
          size: c.size,
          ...(c.pump ? { pump: (sink) => Effect.promise(async () => void (await sink(bytes))) } : {})
        }
        const result = yield* logs.provide(
          rc.blobs.upload(refAt(proxy, "resume/stream"), source, { strategy: "stream" })
        )
        assert.strictEqual(result.digest, sha256(bytes), c.name)
        assert.strictEqual(result.size, bytes.length, c.name)
        const uploads = proxy.uploads()
        assert.deepStrictEqual(
          summary(uploads),
          ["POST 202", "PATCH - (cut)", "GET 204", "PATCH 202", "PUT 201"],
          c.name
        )
        const held = Number(/^0-(\d+)$/.exec(uploads[2]!.range ?? "")![1]) + 1
        assert.isAbove(held, 0, c.name)
        assert.isAtMost(held, 150_000, c.name)
        assert.deepStrictEqual(opened, [held], c.name)
        assert.strictEqual(runs, c.pump ? 0 : 1, c.name)
        assert.strictEqual(uploads[3]!.bytes, bytes.length - held, c.name)
        assert.strictEqual(
          uploads[3]!.contentRange,
          c.size === undefined ? undefined : `${held}-${bytes.length - 1}`,
          c.name
        )
        assert.include(resumeLogs(logs, c.digest ?? "a blob").at(-1)!, `at byte ${held}`, c.name)
        yield* assertStored(rc, proxy, "resume/stream", bytes)
      }
    }))

  it.scopedLive("a final PUT answered 503 is sent again once the session's Range shows every byte", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({
        faults: { errors: { status: 503, times: 1, match: "uploads", methods: ["PUT"] } }
      })
      const proxy = yield* startProxy(registry)
      const rc = yield* client(registry, { client: { retry, chunkSize: 64 * 1024 } })
      const bytes = bytesOf(100_000, 3)
      yield* rc.blobs.upload(refAt(proxy, "resume/put"), { stream: pieces(bytes) }, { strategy: "chunked" })
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), ["POST 202", "PATCH 202", "PATCH 202", "PUT 503", "GET 204", "PUT 201"])
      assert.strictEqual(uploads[4]!.range, `0-${bytes.length - 1}`)
      yield* assertStored(rc, proxy, "resume/put", bytes)
    }))

  it.scopedLive("a session the registry lost: the upload starts again in a new session, from byte 0", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start()
      const proxy = yield* startProxy(registry, { cut: cutPatch(1, 10_000), loseSession: true })
      const rc = yield* client(registry, { client: { retry, chunkSize: 64 * 1024 } })
      const bytes = bytesOf(200_000, 4)
      yield* rc.blobs.upload(refAt(proxy, "resume/lost"), { stream: pieces(bytes) }, { strategy: "chunked" })
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), [
        "POST 202",
        "PATCH 202",
        "PATCH - (cut)",
        "GET 404",
        "DELETE 404",
        "POST 202",
        "PATCH 202",
        "PATCH 202",
        "PATCH 202",
        "PATCH 202",
        "PUT 201"
      ])
      const second = uploads.slice(5)
      assert.strictEqual(second[1]!.contentRange, `0-${64 * 1024 - 1}`)
      assert.strictEqual(second.reduce((n, e) => n + e.bytes, 0), bytes.length, "the new session got every byte")
      yield* assertStored(rc, proxy, "resume/lost", bytes)
    }))

  it.scopedLive("a 503 on the first PATCH: a Range of 0-0 is no resume point, a new session starts", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({
        faults: { errors: { status: 503, times: 1, match: "uploads", methods: ["PATCH"] } }
      })
      const proxy = yield* startProxy(registry)
      const rc = yield* client(registry, { client: { retry, chunkSize: 64 * 1024 } })
      const bytes = bytesOf(100_000, 5)
      yield* rc.blobs.upload(refAt(proxy, "resume/empty"), { stream: pieces(bytes) }, { strategy: "chunked" })
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), [
        "POST 202",
        "PATCH 503",
        "GET 204",
        "DELETE 204",
        "POST 202",
        "PATCH 202",
        "PATCH 202",
        "PUT 201"
      ])
      assert.strictEqual(uploads[2]!.range, "0-0")
      yield* assertStored(rc, proxy, "resume/empty", bytes)
    }))

  it.scopedLive("a streamed source that cannot re-open at an offset is uploaded again whole", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start()
      const proxy = yield* startProxy(registry, { cut: cutPatch(0, 50_000) })
      const rc = yield* client(registry, { client: { retry } })
      const bytes = bytesOf(200_000, 6)
      let runs = 0
      const stream = Stream.suspend(() => {
        runs++
        return pieces(bytes)
      })
      yield* rc.blobs.upload(refAt(proxy, "resume/whole"), { stream, digest: sha256(bytes), size: bytes.length }, {
        strategy: "stream"
      })
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), [
        "POST 202",
        "PATCH - (cut)",
        "DELETE 204",
        "POST 202",
        "PATCH 202",
        "PUT 201"
      ])
      assert.strictEqual(runs, 2)
      assert.strictEqual(uploads[4]!.bytes, bytes.length)
      yield* assertStored(rc, proxy, "resume/whole", bytes)
    }))

  it.scopedLive("resumes are bounded by the retry policy, and every session is cancelled when the upload gives up", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start()
      // every PATCH is cut after 5000 bytes: each resume moves on by that much, and fails again
      const proxy = yield* startProxy(registry, { cut: (e) => e.method === "PATCH" ? 5000 : undefined })
      const rc = yield* client(registry, { client: { retry, chunkSize: 64 * 1024 } })
      const bytes = bytesOf(200_000, 7)
      const error = yield* Effect.flip(
        rc.blobs.upload(refAt(proxy, "resume/bounded"), { stream: pieces(bytes) }, { strategy: "chunked", retries: 1 })
      )
      assert.strictEqual(error._tag, "TransportError")
      const session = [
        "POST 202",
        "PATCH - (cut)",
        ...Array.from({ length: retry.times }, () => ["GET 204", "PATCH - (cut)"]).flat(),
        "DELETE 204"
      ]
      assert.deepStrictEqual(summary(proxy.uploads()), [...session, ...session])
      // each resume started where the registry's Range said
      for (const [i, e] of proxy.uploads().entries()) {
        if (e.method !== "GET") continue
        const held = Number(/^0-(\d+)$/.exec(e.range ?? "")![1]) + 1
        assert.strictEqual(proxy.uploads()[i + 1]!.contentRange, `${held}-${64 * 1024 - 1}`)
      }
    }))

  it.scopedLive("a monolithic upload cut mid-PUT asks the session's Range and PATCHes only the rest, then PUTs", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* NodeRegistry.start()
      const proxy = yield* startProxy(registry, { cut: cutPut(150_000) })
      const rc = yield* logs.provide(client(registry, { client: { retry } }))
      const bytes = bytesOf(400_000, 9)
      const opened: Array<number> = []
      let runs = 0
      const source: RegistryClient.BlobSource = {
        stream: Stream.suspend(() => {
          runs++
          return pieces(bytes)
        }),
        open: (offset) => {
          opened.push(offset)
          return pieces(bytes.subarray(offset))
        },
        digest: sha256(bytes),
        size: bytes.length
      }
      const result = yield* logs.provide(
        rc.blobs.upload(refAt(proxy, "resume/monolithic"), source, { strategy: "monolithic" })
      )
      assert.strictEqual(result.digest, sha256(bytes))
      assert.strictEqual(result.size, bytes.length)
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), ["POST 202", "PUT - (cut)", "GET 204", "PATCH 202", "PUT 201"])
      assert.strictEqual(uploads[1]!.bytes, 150_000)
      const held = heldBy(uploads[2]!)
      // the registry kept part of the PUT's body, and the client went on from there
      assert.isAbove(held, 1)
      assert.isAtMost(held, 150_000)
      assert.deepStrictEqual(opened, [held])
      assert.strictEqual(runs, 1)
      assert.strictEqual(uploads[3]!.contentRange, `${held}-${bytes.length - 1}`)
      assert.strictEqual(uploads[3]!.bytes, bytes.length - held, "only the bytes the registry did not hold")
      assert.strictEqual(uploads[4]!.bytes, 0, "the closing PUT has no body")
      assert.match(uploads[4]!.path, new RegExp(`[?&]digest=${sha256(bytes).replace(":", "(:|%3A)")}`))
      const resumes = resumeLogs(logs, sha256(bytes))
      assert.strictEqual(resumes.length, 1)
      assert.include(resumes[0]!, `blobs.upload: resuming upload of ${sha256(bytes)} at byte ${held} (after `)
      yield* assertStored(rc, proxy, "resume/monolithic", bytes)
    }))

  it.scopedLive("a monolithic upload whose session the registry lost starts again in a new session, from byte 0", () =>
    Effect.gen(function*() {
      const logs = capture()
      const registry = yield* NodeRegistry.start()
      const proxy = yield* startProxy(registry, { cut: cutPut(150_000), loseSession: true })
      const rc = yield* logs.provide(client(registry, { client: { retry } }))
      const bytes = bytesOf(400_000, 10)
      const opened: Array<number> = []
      yield* logs.provide(
        rc.blobs.upload(refAt(proxy, "resume/monolithic-lost"), {
          stream: pieces(bytes),
          open: (offset) => {
            opened.push(offset)
            return pieces(bytes.subarray(offset))
          },
          digest: sha256(bytes),
          size: bytes.length
        }, { strategy: "monolithic" })
      )
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), [
        "POST 202",
        "PUT - (cut)",
        "GET 404",
        "DELETE 404",
        "POST 202",
        "PUT 201"
      ])
      assert.deepStrictEqual(opened, [])
      assert.strictEqual(uploads[5]!.bytes, bytes.length, "the new session got every byte")
      assert.deepStrictEqual(resumeLogs(logs, sha256(bytes)), [])
      assert.isTrue(
        logs.records.some((r) => r.message.includes("cannot go on in its session: the registry lost the session"))
      )
      yield* assertStored(rc, proxy, "resume/monolithic-lost", bytes)
    }))

  it.scopedLive("a monolithic PUT answered 503 before the registry stored a byte: no resume point, a new session", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start({
        faults: { errors: { status: 503, times: 1, match: "uploads", methods: ["PUT"] } }
      })
      const proxy = yield* startProxy(registry)
      const rc = yield* client(registry, { client: { retry } })
      const bytes = bytesOf(300_000, 12)
      const opened: Array<number> = []
      yield* rc.blobs.upload(refAt(proxy, "resume/monolithic-503"), {
        stream: pieces(bytes),
        open: (offset) => {
          opened.push(offset)
          return pieces(bytes.subarray(offset))
        },
        digest: sha256(bytes),
        size: bytes.length
      }, { strategy: "monolithic" })
      const uploads = proxy.uploads()
      assert.deepStrictEqual(summary(uploads), ["POST 202", "PUT 503", "GET 204", "DELETE 204", "POST 202", "PUT 201"])
      assert.strictEqual(uploads[2]!.range, "0-0")
      assert.deepStrictEqual(opened, [])
      yield* assertStored(rc, proxy, "resume/monolithic-503", bytes)
    }))

  it.scopedLive("a monolithic upload's resumes are bounded by the same per-session limit", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry.start()
      // every PUT and PATCH with a body is cut after 5000 bytes: each resume moves on by that much, and fails again
      const proxy = yield* startProxy(registry, {
        cut: (e) => (e.method === "PUT" || e.method === "PATCH") && (e.contentLength ?? 1) > 0 ? 5000 : undefined
      })
      const rc = yield* client(registry, { client: { retry } })
      const bytes = bytesOf(200_000, 11)
      const error = yield* Effect.flip(
        rc.blobs.upload(refAt(proxy, "resume/monolithic-bounded"), {
          stream: pieces(bytes),
          open: (offset) => pieces(bytes.subarray(offset)),
          digest: sha256(bytes),
          size: bytes.length
        }, { strategy: "monolithic", retries: 1 })
      )
      assert.strictEqual(error._tag, "TransportError")
      const session = [
        "POST 202",
        "PUT - (cut)",
        ...Array.from({ length: retry.times }, () => ["GET 204", "PATCH - (cut)"]).flat(),
        "DELETE 204"
      ]
      assert.deepStrictEqual(summary(proxy.uploads()), [...session, ...session])
      for (const [i, e] of proxy.uploads().entries()) {
        if (e.method === "GET") {
          assert.strictEqual(proxy.uploads()[i + 1]!.contentRange, `${heldBy(e)}-${bytes.length - 1}`)
        }
      }
    }))

  it.scopedLive("ocidist push of a layout through a proxy that cuts one blob's PUT resumes it once", () =>
    Effect.gen(function*() {
      const logs = capture()
      const dir = yield* Tools.tempDir("ocidist-upload-resume-")
      const registry = yield* NodeRegistry.start()
      const proxy = yield* startProxy(registry, { cut: cutPut(200_000) })
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "registry/upload-resume/push",
        layers: [{ size: 600_000 }, { size: 100_000 }]
      })
      const source = path.join(dir, "source")
      yield* Fixtures.writeLayout(source, [{ tag: "v1", root: image }])
      const pushed = yield* logs.provide(
        Ocidist.push(`oci:${source}:v1`, `${proxy.host}/resume/facade:v1`).pipe(
          Effect.provide(ocidist(registry, path.join(dir, "cache"), { client: { retry } }))
        )
      )
      assert.strictEqual(pushed.digest, image.manifestDigest)

      const uploads = proxy.uploads()
      const big = image.layers.find((l) => l.size > 200_000)!
      // a session per blob (two layers and the config), none started again, none cancelled
      assert.strictEqual(uploads.filter((e) => e.method === "POST").length, 3)
      assert.deepStrictEqual(uploads.filter((e) => e.method === "DELETE"), [])
      const cut = uploads.filter((e) => e.cut)
      assert.strictEqual(cut.length, 1)
      assert.strictEqual(cut[0]!.method, "PUT")
      const statuses = uploads.filter((e) => e.method === "GET")
      assert.deepStrictEqual(summary(statuses), ["GET 204"])
      const held = heldBy(statuses[0]!)
      assert.isAbove(held, 1)
      assert.isAtMost(held, 200_000)
      const patches = uploads.filter((e) => e.method === "PATCH")
      assert.deepStrictEqual(summary(patches), ["PATCH 202"])
      assert.strictEqual(patches[0]!.contentRange, `${held}-${big.size - 1}`)
      assert.strictEqual(patches[0]!.bytes, big.size - held, "only the bytes the registry did not hold")
      assert.strictEqual(
        uploads.filter((e) => e.method === "PUT").reduce((n, e) => n + e.bytes, 0) - cut[0]!.bytes,
        image.layers.reduce((n, l) => n + l.size, 0) - big.size + image.config.length,
        "the other blobs went whole, in their PUT; the resumed one's closing PUT had no body"
      )
      const resumes = resumeLogs(logs, big.digest)
      assert.strictEqual(resumes.length, 1)
      assert.include(resumes[0]!, `at byte ${held}`)
      assert.strictEqual(logs.records.filter((r) => r.message.includes("resuming upload of")).length, 1)

      const rc = yield* client(registry, { client: { retry } })
      const back = yield* readAll(
        rc.blobs.stream(refAt(proxy, "resume/facade"), digest(big.digest), { size: big.size })
      )
      assert.isTrue(back.equals(yield* readAll(fileStream(big.path))), "the resumed layer is stored whole")
      const manifest = yield* rc.manifests.get(refAt(proxy, "resume/facade:v1"))
      assert.strictEqual(manifest.digest, image.manifestDigest)
    }))

  it.scopedLive("docker-registry (distribution): resumes after a 503 on a PATCH or the PUT; a cut PATCH or PUT loses the session", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const rc = yield* anonymousClient({ retry, chunkSize: 64 * 1024 })
      const bytes = bytesOf(300_000, 8)
      const upload = (proxy: Proxy, repository: string) =>
        rc.blobs.upload(refAt(proxy, repository), { stream: pieces(bytes) }, { strategy: "chunked" }).pipe(
          Effect.zipRight(assertStored(rc, proxy, repository, bytes))
        )
      const nth = (method: string, n: number) => {
        let seen = 0
        return (e: Exchange) => e.method === method && seen++ === n ? 503 : undefined
      }

      const patch = yield* startProxy(registry, { answer: nth("PATCH", 2) })
      yield* upload(patch, "resume/dist-patch")
      assert.deepStrictEqual(summary(patch.uploads()), [
        "POST 202",
        "PATCH 202",
        "PATCH 202",
        "PATCH 503",
        "GET 204",
        "PATCH 202",
        "PATCH 202",
        "PATCH 202",
        "PUT 201"
      ])
      assert.strictEqual(patch.uploads()[4]!.range, `0-${2 * 64 * 1024 - 1}`)
      assert.strictEqual(patch.uploads()[5]!.contentRange, `${2 * 64 * 1024}-${3 * 64 * 1024 - 1}`)

      const put = yield* startProxy(registry, { answer: nth("PUT", 0) })
      yield* upload(put, "resume/dist-put")
      assert.deepStrictEqual(summary(put.uploads()).slice(-3), ["PUT 503", "GET 204", "PUT 201"])
      assert.strictEqual(put.uploads().at(-2)!.range, `0-${bytes.length - 1}`)

      // distribution drops a session whose PATCH body was cut (its status answers 404): a new session
      const cut = yield* startProxy(registry, { cut: cutPatch(2, 10_000) })
      yield* upload(cut, "resume/dist-cut")
      const uploads = summary(cut.uploads())
      assert.deepStrictEqual(uploads.slice(0, 5), ["POST 202", "PATCH 202", "PATCH 202", "PATCH - (cut)", "GET 404"])
      assert.deepStrictEqual(uploads.filter((u) => u.startsWith("POST")), ["POST 202", "POST 202"])
      assert.strictEqual(uploads.at(-1), "PUT 201")

      // and so a session whose monolithic PUT was cut: a new session, the blob sent whole
      const whole = yield* startProxy(registry, { cut: cutPut(100_000) })
      yield* rc.blobs.upload(refAt(whole, "resume/dist-monolithic"), {
        stream: pieces(bytes),
        open: (offset) => pieces(bytes.subarray(offset)),
        digest: sha256(bytes),
        size: bytes.length
      }, { strategy: "monolithic" })
      yield* assertStored(rc, whole, "resume/dist-monolithic", bytes)
      const monolithic = summary(whole.uploads())
      assert.deepStrictEqual(monolithic.slice(0, 3), ["POST 202", "PUT - (cut)", "GET 404"])
      assert.deepStrictEqual(monolithic.slice(-2), ["POST 202", "PUT 201"])
      assert.strictEqual(whole.uploads().at(-1)!.bytes, bytes.length)
    }))
})
