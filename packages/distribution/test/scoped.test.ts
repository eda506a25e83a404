/**
 * Scoped blob reads against a loopback server that counts its TCP connections and the responses it is
 * still sending: a download holds its registry permit (and its connection) until its stream ends or its
 * scope closes, and an unconsumed response is aborted when the scope closes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Reference } from "@ocidist/reference"
import * as Digest from "@ocidist/reference/Digest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type * as net from "node:net"
import { client, type Http } from "./support/server.js"

const SIZE = 2 * 1024 * 1024
const PIECE = 64 * 1024
const content = new Uint8Array(SIZE).map((_, i) => (i * 13) & 0xff)
const digest = Digest.ofBytes(content)

interface Counting {
  readonly host: string
  /** Connections open now, and at most at once. */
  readonly sockets: { open: number; peak: number; opened: number; closed: number }
  /** Responses being sent now (request received, body not all sent), and at most at once. */
  readonly responses: { open: number; peak: number; aborted: number; finished: number }
}

/** A server sending each blob in 64 KiB pieces, one every `intervalMs` (so a response lasts a while). */
const countingServer = (intervalMs: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: http.Server; readonly counting: Counting }>((resume) => {
      const sockets = { open: 0, peak: 0, opened: 0, closed: 0 }
      const responses = { open: 0, peak: 0, aborted: 0, finished: 0 }
      const server = http.createServer((req, res) => {
        if (req.url?.endsWith(digest) !== true) {
          res.writeHead(404, { "content-type": "application/json" })
          return res.end(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN" }] }))
        }
        responses.open++
        responses.peak = Math.max(responses.peak, responses.open)
        let done = false
        const end = (finished: boolean) => {
          if (done) return
          done = true
          responses.open--
          if (finished) responses.finished++
          else responses.aborted++
        }
        let sent = 0
        const timer = setInterval(() => {
          if (res.destroyed) return clearInterval(timer)
          const piece = content.subarray(sent, sent + PIECE)
          sent += piece.length
          if (sent < SIZE) return res.write(piece)
          clearInterval(timer)
          res.end(piece)
        }, intervalMs)
        res.on("finish", () => end(true))
        res.on("close", () => {
          clearInterval(timer)
          end(false)
        })
        res.writeHead(200, { "content-length": SIZE })
      })
      server.on("connection", (socket: net.Socket) => {
        sockets.open++
        sockets.opened++
        sockets.peak = Math.max(sockets.peak, sockets.open)
        socket.on("close", () => {
          sockets.open--
          sockets.closed++
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({ server, counting: { host, sockets, responses } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ counting }) => counting))

/** Waits (real time, bounded) until `condition` holds. */
const eventually = (condition: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 250 && !condition(); i++) yield* Effect.sleep("20 millis")
    if (!condition()) return yield* Effect.dieMessage(`not reached within 5 s: ${what}`)
  })

const clients: ReadonlyArray<Http> = ["undici", "fetch"]

for (const httpClient of clients) {
  describe(`scoped blob reads (${httpClient})`, () => {
    it.scopedLive("40 slow consumers with concurrency 16: never more than 16 requests in flight", () =>
      Effect.gen(function*() {
        const server = yield* countingServer(4)
        const rc = yield* client({ concurrency: 16 }, undefined, httpClient)
        const repo = Either.getOrThrow(Reference.parse(`${server.host}/app`))
        const sizes = yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          () =>
            rc.blobs.stream(repo, digest, { size: SIZE }).pipe(
              Stream.tap(() => Effect.sleep("2 millis")),
              Stream.runFold(0, (n, chunk) => n + chunk.length)
            ),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(new Set(sizes), new Set([SIZE]))
        assert.strictEqual(server.responses.finished, 40)
        // each request in flight has a connection of its own; idle keep-alive connections may linger a moment
        // after their response ends, so the connection count is not the measure
        assert.strictEqual(server.responses.peak, 16, "the limit is reached, and held")
      }))

    it.scopedLive("unconsumed downloads are aborted when their scope closes, and their permits given back", () =>
      Effect.gen(function*() {
        const server = yield* countingServer(100)
        const rc = yield* client({ concurrency: 4 }, undefined, httpClient)
        const repo = Either.getOrThrow(Reference.parse(`${server.host}/app`))
        const opened = yield* Effect.scoped(
          Effect.forEach(
            Array.from({ length: 4 }, () => 0),
            () => Effect.map(rc.blobs.get(repo, digest, { size: SIZE }), (blob) => blob.size),
            { concurrency: "unbounded" }
          )
        )
        assert.deepStrictEqual(opened, [SIZE, SIZE, SIZE, SIZE])
        yield* eventually(() => server.responses.aborted === 4, "the server sees 4 aborted responses")
        yield* eventually(() => server.sockets.open === 0, "the server sees every connection closed")
        assert.strictEqual(server.responses.finished, 0)
        assert.strictEqual(server.sockets.closed, server.sockets.opened)
        // every permit is free again: a fifth download starts at once
        const size = yield* Effect.scoped(rc.blobs.get(repo, digest, { size: SIZE })).pipe(
          Effect.map((blob) => blob.size),
          Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "no permit was given back" as const })
        )
        assert.strictEqual(size, SIZE)
      }))

    it.scopedLive("a download gives its permit back when its stream ends or it fails, before its scope closes", () =>
      Effect.gen(function*() {
        const server = yield* countingServer(1)
        const rc = yield* client({ concurrency: 1 }, undefined, httpClient)
        const repo = Either.getOrThrow(Reference.parse(`${server.host}/app`))
        const sizes = yield* Effect.scoped(Effect.gen(function*() {
          // a download that fails gives its permit back at once too
          const missing = yield* Effect.flip(rc.blobs.get(repo, Digest.ofBytes("missing")))
          assert.strictEqual(missing._tag, "NotFound")
          const first = yield* rc.blobs.get(repo, digest, { size: SIZE }).pipe(
            Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "the permit was not given back" as const })
          )
          const a = yield* Stream.runFold(first.stream, 0, (n, chunk) => n + chunk.length)
          // the only permit is back although the scope is still open
          const second = yield* rc.blobs.get(repo, digest, { size: SIZE }).pipe(
            Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "the permit was not given back" as const })
          )
          const b = yield* Stream.runFold(second.stream, 0, (n, chunk) => n + chunk.length)
          return [a, b]
        }))
        assert.deepStrictEqual(sizes, [SIZE, SIZE])
        assert.strictEqual(server.responses.finished, 2)
      }))
  })
}
