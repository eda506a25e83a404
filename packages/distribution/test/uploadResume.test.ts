/**
 * Upload resumes against a small loopback registry of the test's own, for what the embedded registry will
 * not do (its end-to-end tests are in packages/registry/test/UploadResume.test.ts): a `PATCH` cut after some
 * megabytes, the registry keeping fewer bytes than it read (so a resumed body starts inside what the client
 * had already read and hashed), over each HTTP client; and statuses that are no resume point (a `Range`
 * beyond what was sent, not from 0, missing, a `Location` on another origin, a resumed upload refused).
 */
import { assert, describe, it } from "@effect/vitest"
import { type Digest, Reference } from "@ocidist/reference"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import type * as http from "node:http"
import type * as RegistryClient from "../src/RegistryClient.js"
import { client, type Http, ociError, serve, type Server } from "./support/server.js"

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest
const ref = (host: string, rest: string) => Either.getOrThrow(Reference.parse(`${host}/${rest}`))

const pattern = (size: number) => {
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7 + (i >>> 13)) & 0xff
  return out
}

/** `bytes` in pieces of `piece` bytes. */
const pieces = (bytes: Uint8Array, piece = 16 * 1024) =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(bytes.length / piece) }, (_, i) => bytes.subarray(i * piece, (i + 1) * piece))
  )

const retry = { times: 4, base: "5 millis", max: "20 millis" } as const

interface Quirks {
  /**
   * The first PATCH or PUT: read `read` bytes of its body, keep `keep` of them, then destroy the connection
   * (the first `POST ?digest=`: read `read` bytes, keep none).
   */
  readonly cut?: { readonly read: number; readonly keep: number } | undefined
  /** The session status as answered (default: `204`, `Range: 0-<held - 1>`, `Location`). */
  readonly status?:
    | ((held: number) => { readonly status: number; readonly headers: Record<string, string> })
    | undefined
  /** Refuse the first PUT after a resume with DIGEST_INVALID. */
  readonly refuseResumedPut?: boolean | undefined
}

interface Resumable extends Server {
  readonly blobs: Map<string, Buffer>
  /** `METHOD status` of every request on an upload session, in order. */
  readonly log: Array<string>
}

/** A registry with upload sessions that keep what they stored of a cut body and report it as their `Range`. */
const resumable = (quirks: Quirks = {}): Effect.Effect<Resumable, never, Scope.Scope> => {
  const blobs = new Map<string, Buffer>()
  const sessions = new Map<string, Array<Buffer>>()
  const log: Array<string> = []
  let next = 0
  let cut = quirks.cut
  let resumed = false
  let refuse = quirks.refuseResumedPut === true
  const held = (id: string) => sessions.get(id)!.reduce((n, b) => n + b.length, 0)
  const answer = (res: http.ServerResponse, method: string, status: number, headers: Record<string, string> = {}) => {
    log.push(`${method} ${status}`)
    res.writeHead(status, headers)
    res.end()
  }
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url!, "http://x")
    const method = req.method!
    let m: RegExpExecArray | null
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname)) !== null && method === "POST") {
      const digest = url.searchParams.get("digest")
      if (digest !== null) {
        // a single-request upload: no session to keep anything of a cut body in
        const body: Array<Buffer> = []
        let n = 0
        const cutAt = cut?.read
        cut = undefined
        req.on("data", (chunk: Buffer) => {
          if (cutAt !== undefined && n >= cutAt) return
          body.push(chunk)
          n += chunk.length
          if (cutAt !== undefined && n >= cutAt) {
            log.push(`${method} cut`)
            req.socket.destroy()
          }
        })
        return req.on("end", () => {
          const whole = Buffer.concat(body)
          if (digest !== sha256(whole)) {
            log.push(`${method} 400`)
            return ociError(res, 400, "DIGEST_INVALID", "digest did not match")
          }
          blobs.set(digest, whole)
          answer(res, method, 201, { "docker-content-digest": digest })
        })
      }
      const id = String(next++)
      sessions.set(id, [])
      req.resume()
      return req.on("end", () => answer(res, method, 202, { location: `/upload/${id}`, range: "0-0" }))
    }
    if ((m = /^\/upload\/(\d+)$/.exec(url.pathname)) !== null) {
      const id = m[1]!
      const stored = sessions.get(id)
      if (stored === undefined) {
        req.resume()
        log.push(`${method} 404`)
        return ociError(res, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
      }
      if (method === "GET") {
        resumed = true
        const custom = quirks.status?.(held(id))
        if (custom !== undefined) return answer(res, method, custom.status, custom.headers)
        return answer(res, method, 204, { location: `/upload/${id}`, range: `0-${held(id) - 1}` })
      }
      if (method === "DELETE") {
        sessions.delete(id)
        return answer(res, method, 204)
      }
      if ((method === "PATCH" || method === "PUT") && cut !== undefined) {
        const { keep, read } = cut
        cut = undefined
        const got: Array<Buffer> = []
        let n = 0
        req.on("data", (chunk: Buffer) => {
          if (n >= read) return
          got.push(chunk)
          n += chunk.length
          if (n >= read) {
            stored.push(Buffer.concat(got).subarray(0, keep))
            log.push(`${method} cut`)
            req.socket.destroy()
          }
        })
        return
      }
      const body: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => body.push(chunk))
      req.on("end", () => {
        const range = req.headers["content-range"]
        if (range !== undefined && Number(/^(\d+)-/.exec(range)![1]) !== held(id)) {
          return answer(res, method, 416, { range: `0-${held(id) - 1}` })
        }
        stored.push(Buffer.concat(body))
        if (method === "PATCH") {
          return answer(res, method, 202, { location: `/upload/${id}`, range: `0-${held(id) - 1}` })
        }
        const whole = Buffer.concat(stored)
        const digest = url.searchParams.get("digest")
        if ((refuse && resumed) || digest !== sha256(whole)) {
          refuse = false
          log.push(`${method} 400`)
          return ociError(res, 400, "DIGEST_INVALID", "digest did not match")
        }
        sessions.delete(id)
        blobs.set(digest, whole)
        answer(res, method, 201, { "docker-content-digest": digest })
      })
      return
    }
    req.resume()
    res.writeHead(404)
    res.end()
  }
  return Effect.map(serve((req, res) => handler(req, res), { streamBody: true }), (server) => ({
    ...server,
    blobs,
    log
  }))
}

const source = (bytes: Buffer, opened: Array<number>, known: boolean): RegistryClient.BlobSource => ({
  stream: pieces(bytes),
  open: (offset) => {
    opened.push(offset)
    return pieces(bytes.subarray(offset))
  },
  ...(known ? { digest: sha256(bytes), size: bytes.length } : {})
})

describe("upload resumes", () => {
  for (const http of ["undici", "fetch", "node"] satisfies ReadonlyArray<Http>) {
    it.scopedLive(
      `${http}: a streamed upload resumes inside what it had already read and hashed, and the digest is right`,
      () =>
        Effect.gen(function*() {
          const bytes = pattern(8 * 1024 * 1024 + 333)
          for (const known of [true, false]) {
            // the first run of the source stops after 5 MiB (the client has read and hashed that much when the
            // registry cuts the connection), and the registry keeps fewer bytes than it read, at an offset that
            // is no multiple of the source's pieces: the resumed body crosses what was hashed inside a piece. A
            // body stopped by its failed request is not taken for a source that ended short.
            const registry = yield* resumable({ cut: { read: 4 * 1024 * 1024, keep: 3_000_001 } })
            const rc = yield* client({ retry }, undefined, http)
            const opened: Array<number> = []
            const first = Stream.concat(pieces(bytes.subarray(0, 5 * 1024 * 1024)), Stream.never)
            const result = yield* rc.blobs.upload(ref(registry.host, "app"), {
              ...source(bytes, opened, known),
              stream: first
            }, {
              strategy: "stream"
            })
            assert.strictEqual(result.digest, sha256(bytes))
            assert.strictEqual(result.size, bytes.length)
            assert.deepStrictEqual(opened, [3_000_001])
            assert.deepStrictEqual(registry.log, ["POST 202", "PATCH cut", "GET 204", "PATCH 202", "PUT 201"])
            assert.isTrue(registry.blobs.get(sha256(bytes))?.equals(bytes))
          }
        })
    )
  }

  const restarts: ReadonlyArray<[string, Quirks["status"]]> = [
    ["a Range beyond what was sent", () => ({ status: 204, headers: { range: `0-${64 * 1024 * 1024}` } })],
    ["a Range not from 0", (held) => ({ status: 204, headers: { range: `1-${held - 1}` } })],
    ["no Range", () => ({ status: 204, headers: {} })],
    ["an error status", () => ({ status: 500, headers: {} })],
    [
      "a Location on another origin",
      (held) => ({ status: 204, headers: { range: `0-${held - 1}`, location: "http://127.0.0.2:1/upload/0" } })
    ]
  ]
  for (const [name, status] of restarts) {
    it.scopedLive(`a session status with ${name} is no resume point: a new session, from byte 0`, () =>
      Effect.gen(function*() {
        const bytes = pattern(3 * 1024 * 1024)
        const registry = yield* resumable({ cut: { read: 1024 * 1024, keep: 500_000 }, status })
        const rc = yield* client({ retry })
        const opened: Array<number> = []
        yield* rc.blobs.upload(ref(registry.host, "app"), source(bytes, opened, true), { strategy: "stream" })
        assert.deepStrictEqual(opened, [])
        const statusAnswer = registry.log[2]!
        assert.match(statusAnswer, /^GET \d+$/)
        // the status request itself may be retried in place (a 500)
        const rest = registry.log.slice(registry.log.lastIndexOf(statusAnswer) + 1)
        assert.deepStrictEqual(rest, ["DELETE 204", "POST 202", "PATCH 202", "PUT 201"], name)
        assert.isTrue(registry.blobs.get(sha256(bytes))?.equals(bytes))
      }))
  }

  it.scopedLive("a resumed upload the registry refuses starts again in a new session", () =>
    Effect.gen(function*() {
      const bytes = pattern(3 * 1024 * 1024)
      const registry = yield* resumable({ cut: { read: 1024 * 1024, keep: 500_000 }, refuseResumedPut: true })
      const rc = yield* client({ retry })
      const opened: Array<number> = []
      yield* rc.blobs.upload(ref(registry.host, "app"), source(bytes, opened, true), { strategy: "stream" })
      assert.deepStrictEqual(opened, [500_000])
      assert.deepStrictEqual(registry.log, [
        "POST 202",
        "PATCH cut",
        "GET 204",
        "PATCH 202",
        "PUT 400",
        "DELETE 204",
        "POST 202",
        "PATCH 202",
        "PUT 201"
      ])
      assert.isTrue(registry.blobs.get(sha256(bytes))?.equals(bytes))
    }))

  it.scopedLive("a monolithic PUT cut mid-body resumes: the rest in a PATCH, then a PUT without body", () =>
    Effect.gen(function*() {
      const bytes = pattern(3 * 1024 * 1024)
      const registry = yield* resumable({ cut: { read: 1024 * 1024, keep: 500_000 } })
      const rc = yield* client({ retry })
      const opened: Array<number> = []
      const result = yield* rc.blobs.upload(ref(registry.host, "app"), source(bytes, opened, true))
      assert.strictEqual(result.digest, sha256(bytes))
      assert.strictEqual(result.size, bytes.length)
      assert.deepStrictEqual(opened, [500_000])
      assert.deepStrictEqual(registry.log, ["POST 202", "PUT cut", "GET 204", "PATCH 202", "PUT 201"])
      assert.isTrue(registry.blobs.get(sha256(bytes))?.equals(bytes))
    }))

  it.scopedLive("a monolithic PUT of a source that cannot re-open at an offset is retried whole", () =>
    Effect.gen(function*() {
      const bytes = pattern(3 * 1024 * 1024)
      const registry = yield* resumable({ cut: { read: 1024 * 1024, keep: 500_000 } })
      const rc = yield* client({ retry })
      yield* rc.blobs.upload(ref(registry.host, "app"), {
        stream: pieces(bytes),
        digest: sha256(bytes),
        size: bytes.length
      })
      assert.deepStrictEqual(registry.log, ["POST 202", "PUT cut", "DELETE 204", "POST 202", "PUT 201"])
      assert.isTrue(registry.blobs.get(sha256(bytes))?.equals(bytes))
    }))

  it.scopedLive("a single POST ?digest= cut mid-body has no session to resume: it is sent again whole", () =>
    Effect.gen(function*() {
      const bytes = pattern(3 * 1024 * 1024)
      const registry = yield* resumable({ cut: { read: 1024 * 1024, keep: 500_000 } })
      const rc = yield* client({ retry })
      const opened: Array<number> = []
      yield* rc.blobs.upload(ref(registry.host, "app"), source(bytes, opened, true), { strategy: "post" })
      assert.deepStrictEqual(opened, [])
      assert.deepStrictEqual(registry.log.slice(0, 2), ["POST cut", "POST 201"])
      assert.isTrue(registry.blobs.get(sha256(bytes))?.equals(bytes))
    }))
})
