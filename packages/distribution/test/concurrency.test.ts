/**
 * The per-registry `concurrency` limit holds for response bodies, counted at the servers: a loopback server
 * that sends blobs slowly counts its open sockets and the bodies it is sending (both lanes, undici and fetch);
 * a read that stops early drops its body before its permit goes to the next one; listings hold a permit per
 * page. Then 50 concurrent pulls (manifest + blob) through one client against the Debian `docker-registry` in
 * token mode, behind a counting TCP proxy: one token exchange for the scope, sockets bounded by the limit.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Credentials from "@ocidist/auth/Credentials"
import { type Digest, Reference } from "@ocidist/reference"
import * as MediaType from "@ocidist/spec/MediaType"
import { DockerRegistry } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as http from "node:http"
import * as net from "node:net"
import type * as RegistryClient from "../src/RegistryClient.js"
import { anonymous, client, credentials, type Http, json } from "./support/server.js"

const sha256 = (bytes: Uint8Array | string) =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

const ref = (host: string, rest: string) => Either.getOrThrow(Reference.parse(`${host}/${rest}`))

interface Peak {
  open: number
  peak: number
  total: number
}

const peak = (): Peak => ({ open: 0, peak: 0, total: 0 })
const enter = (p: Peak) => {
  p.open++
  p.total++
  p.peak = Math.max(p.peak, p.open)
}

/** Counts the TCP connections of a server: open now, at most at once, in all. */
const countSockets = (server: net.Server, sockets: Peak) =>
  server.on("connection", (socket: net.Socket) => {
    enter(sockets)
    socket.on("close", () => sockets.open--)
  })

const listen = <S extends net.Server>(server: S): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<string>((resume) => {
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed(`127.0.0.1:${(server.address() as net.AddressInfo).port}`)))
    }),
    () =>
      Effect.async<void>((resume) => {
        if (server instanceof http.Server) {
          server.closeAllConnections()
        }
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

const SIZE = 512 * 1024
const PIECE = 32 * 1024
const blob = new Uint8Array(SIZE).map((_, i) => (i * 29 + (i >> 10)) & 0xff)
const blobDigest = sha256(blob)

interface BlobServer {
  readonly host: string
  readonly sockets: Peak
  /** Blob bodies being sent (request received, last byte not sent yet). */
  readonly bodies: Peak & { finished: number; aborted: number }
}

/** Serves the blob in 32 KiB pieces, one every `intervalMs`, counting its sockets and the bodies in flight. */
const blobServer = (intervalMs: number): Effect.Effect<BlobServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sockets = peak()
    const bodies = { ...peak(), finished: 0, aborted: 0 }
    const server = http.createServer((req, res) => {
      if (req.url?.endsWith(blobDigest) !== true) return json(res, 404, { errors: [{ code: "BLOB_UNKNOWN" }] })
      enter(bodies)
      let done = false
      const end = (finished: boolean) => {
        if (done) return
        done = true
        bodies.open--
        if (finished) bodies.finished++
        else bodies.aborted++
      }
      let sent = 0
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer)
        const piece = blob.subarray(sent, sent + PIECE)
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
    server.keepAliveTimeout = 5_000
    countSockets(server, sockets)
    const host = yield* listen(server)
    return { host, sockets, bodies }
  })

const lanes: ReadonlyArray<{
  readonly name: string
  readonly http: Http
  /** Reads the whole body, or only its first buffer (`first`), and returns the bytes read. */
  readonly read: (blob: RegistryClient.BlobResponse, first?: boolean) => Effect.Effect<number, unknown>
}> = [
  {
    name: "stream over undici",
    http: "undici",
    read: (b, first) => Stream.runFold(first === true ? Stream.take(b.stream, 1) : b.stream, 0, (n, c) => n + c.length)
  },
  {
    name: "pump over undici",
    http: "undici",
    read: (b, first) =>
      Effect.suspend(() => {
        let n = 0
        return Effect.as(
          b.pump((chunk) => {
            n += chunk.length
            return first !== true
          }),
          n
        ).pipe(Effect.map(() => n))
      })
  },
  {
    name: "pump over fetch",
    http: "fetch",
    read: (b, first) =>
      Effect.suspend(() => {
        let n = 0
        return b.pump((chunk) => {
          n += chunk.length
          return first !== true
        }).pipe(Effect.map(() => n))
      })
  },
  {
    name: "stream over fetch",
    http: "fetch",
    read: (b, first) => Stream.runFold(first === true ? Stream.take(b.stream, 1) : b.stream, 0, (n, c) => n + c.length)
  }
]

for (const lane of lanes) {
  describe(`concurrency limit on bodies (${lane.name})`, () => {
    it.scopedLive("24 downloads with concurrency 4: 4 bodies in flight at most, and 4 sockets", () =>
      Effect.gen(function*() {
        const server = yield* blobServer(5)
        const rc = yield* client({ concurrency: 4 }, anonymous, lane.http)
        const repo = ref(server.host, "app")
        const sizes = yield* Effect.forEach(
          Array.from({ length: 24 }, (_, i) => i),
          () => Effect.scoped(Effect.flatMap(rc.blobs.get(repo, blobDigest, { size: SIZE }), (b) => lane.read(b))),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(new Set(sizes), new Set([SIZE]))
        assert.strictEqual(server.bodies.finished, 24)
        assert.strictEqual(server.bodies.peak, 4, "the limit is reached, and holds for the bodies")
        assert.isAtMost(server.sockets.peak, 4, "no more sockets than permits")
      }))

    it.scopedLive("a read that stops early drops its body before its permit serves the next download", () =>
      Effect.gen(function*() {
        const server = yield* blobServer(20)
        const rc = yield* client({ concurrency: 1 }, anonymous, lane.http)
        const repo = ref(server.host, "app")
        // in one scope, open for the whole test: the permit comes back when the read stops, not when it closes
        const sizes = yield* Effect.scoped(Effect.gen(function*() {
          const first = yield* rc.blobs.get(repo, blobDigest, { size: SIZE })
          const partial = yield* lane.read(first, true)
          const second = yield* rc.blobs.get(repo, blobDigest, { size: SIZE }).pipe(
            Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the permit was not given back" as const })
          )
          const whole = yield* lane.read(second)
          return [partial, whole]
        }))
        assert.isBelow(sizes[0]!, SIZE)
        assert.strictEqual(sizes[1], SIZE)
        assert.strictEqual(server.bodies.aborted, 1)
        assert.strictEqual(server.bodies.finished, 1)
        assert.strictEqual(server.bodies.peak, 1, "the stopped body was not left streaming beside the next one")
      }))
  })
}

describe("concurrency limit on listings", () => {
  it.scopedLive("6 paginated tag listings with concurrency 2: 2 pages in flight at most", () =>
    Effect.gen(function*() {
      const pages = peak()
      const tags = Array.from({ length: 9 }, (_, i) => `v${i}`)
      const server = http.createServer((req, res) => {
        const url = new URL(req.url!, "http://x")
        if (!url.pathname.endsWith("/tags/list")) return json(res, 404, { errors: [{ code: "NAME_UNKNOWN" }] })
        enter(pages)
        const n = Number(url.searchParams.get("n"))
        const last = url.searchParams.get("last")
        const start = last === null ? 0 : tags.indexOf(last) + 1
        const page = tags.slice(start, start + n)
        const more = start + n < tags.length
        setTimeout(() => {
          pages.open--
          json(
            res,
            200,
            { name: "app", tags: page },
            more ? { link: `</v2/app/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` } : {}
          )
        }, 50)
      })
      const host = yield* listen(server)
      const rc = yield* client({ concurrency: 2, pageSize: 3 })
      const listed = yield* Effect.forEach(
        Array.from({ length: 6 }, () => 0),
        () => Stream.runCollect(rc.tags(ref(host, "app"))),
        { concurrency: "unbounded" }
      )
      for (const list of listed) assert.deepStrictEqual([...list], tags)
      assert.strictEqual(pages.total, 18)
      assert.strictEqual(pages.peak, 2)
    }))
})

/** A TCP proxy to `target` counting the connections made to it. */
const countingProxy = (
  target: number
): Effect.Effect<{ readonly host: string; readonly sockets: Peak }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sockets = peak()
    const open = new Set<net.Socket>()
    const server = net.createServer((downstream) => {
      const upstream = net.connect(target, "127.0.0.1")
      open.add(downstream).add(upstream)
      downstream.pipe(upstream)
      upstream.pipe(downstream)
      const close = () => {
        downstream.destroy()
        upstream.destroy()
        open.delete(downstream)
        open.delete(upstream)
      }
      downstream.on("error", close).on("close", close)
      upstream.on("error", close).on("close", close)
    })
    countSockets(server, sockets)
    yield* Effect.addFinalizer(() => Effect.sync(() => open.forEach((socket) => socket.destroy())))
    const host = yield* listen(server)
    return { host, sockets }
  })

describe("50 concurrent pulls through one client (docker-registry, token auth)", () => {
  it.scopedLive(
    "share one token exchange for their scope and at most `concurrency` sockets",
    () =>
      Effect.gen(function*() {
        const registry = yield* DockerRegistry.start({ mode: "token" })
        const tokens = registry.tokenServer!
        const writer = registry.writer!
        const reader = registry.users.find((u) => u.readOnly === true)!

        // push an image (config + one 512 KiB layer) straight to the registry
        const pusher = yield* client(
          {},
          credentials({ [registry.host]: Credentials.basic(writer.username, writer.password) })
        )
        const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux" }))
        for (const bytes of [config, blob]) {
          yield* pusher.blobs.upload(ref(registry.host, "ci/app"), {
            stream: Stream.make(bytes),
            digest: sha256(bytes),
            size: bytes.length
          })
        }
        const manifest = new TextEncoder().encode(JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OCI_MANIFEST,
          config: { mediaType: MediaType.OCI_CONFIG, digest: sha256(config), size: config.length },
          layers: [{ mediaType: MediaType.OCI_LAYER_GZIP, digest: blobDigest, size: SIZE }]
        }))
        yield* pusher.manifests.put(ref(registry.host, "ci/app:v1"), {
          bytes: manifest,
          mediaType: MediaType.OCI_MANIFEST
        })

        // pull 50 times at once through one client, 4 at a time, behind a proxy that counts the sockets
        const proxy = yield* countingProxy(registry.port)
        yield* tokens.resetStats
        const rc = yield* client(
          { concurrency: 4 },
          credentials({ [proxy.host]: Credentials.basic(reader.username, reader.password) })
        )
        const pulled = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) =>
            Effect.gen(function*() {
              const got = yield* rc.manifests.get(ref(proxy.host, "ci/app:v1"))
              assert.strictEqual(got.digest, sha256(manifest))
              const layer = got.manifest._tag === "ImageManifest" ? got.manifest.manifest.layers[0]! : undefined
              const repo = ref(proxy.host, "ci/app")
              let n = 0
              // half through the stream lane, half through the pump
              if (i % 2 === 0) {
                n = yield* Stream.runFold(
                  rc.blobs.stream(repo, layer!.digest, { size: layer!.size }),
                  0,
                  (a, c) => a + c.length
                )
              } else {
                yield* rc.blobs.pump(repo, layer!.digest, (chunk) => {
                  n += chunk.length
                  return true
                }, { size: layer!.size })
              }
              return n
            }),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(new Set(pulled), new Set([SIZE]))
        const exchanges = yield* tokens.requests
        assert.strictEqual(exchanges.length, 1, JSON.stringify(exchanges))
        assert.deepStrictEqual(exchanges[0]!.scopes, ["repository:ci/app:pull"])
        assert.strictEqual(exchanges[0]!.username, reader.username)
        assert.isAtMost(proxy.sockets.peak, 4, "no more sockets than permits")
        assert.isAtLeast(proxy.sockets.total, 1)
      }),
    { timeout: 60_000 }
  )
})
