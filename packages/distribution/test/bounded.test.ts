/**
 * Bounded waiting on blob bodies, in both lanes (stream and pump, over undici and fetch), against loopback
 * servers that stall or drip: the idle timeout and the minimum throughput name the host and the blob, a drip
 * too slow for the idle timeout trips the throughput rule and is resumed like a stall, a consumer that takes
 * its time is not taken for a slow registry, and the blob's retry budget stops the resumes. The rules
 * themselves (`Meter`) and the defaults are checked without sockets.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Digest, Reference } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import type * as http from "node:http"
import * as BodyPump from "../src/internal/bodyPump.js"
import * as Context from "../src/internal/context.js"
import type * as Transport from "../src/internal/transport.js"
import type * as RegistryClient from "../src/RegistryClient.js"
import { anonymous, client, type Http, serve, type Server } from "./support/server.js"

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

const ref = (host: string) => Either.getOrThrow(Reference.parse(`${host}/app`))

const content = Buffer.alloc(64 * 1024)
for (let i = 0; i < content.length; i++) content[i] = (i * 11 + (i >> 8)) & 0xff
const digest = sha256(content)

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat([...chunks]))

const pumped = (blob: RegistryClient.BlobResponse) =>
  Effect.suspend(() => {
    const parts: Array<Buffer> = []
    return Effect.as(
      blob.pump((chunk) => {
        parts.push(Buffer.from(chunk))
        return true
      }),
      parts
    ).pipe(Effect.map((all) => Buffer.concat(all)))
  })

const lanes: ReadonlyArray<{
  readonly name: string
  readonly http: Http
  readonly read: (blob: RegistryClient.BlobResponse) => Effect.Effect<Buffer, unknown>
}> = [
  { name: "stream over undici", http: "undici", read: (blob) => collect(blob.stream) },
  { name: "pump over undici", http: "undici", read: pumped },
  { name: "pump over fetch", http: "fetch", read: pumped },
  { name: "stream over fetch", http: "fetch", read: (blob) => collect(blob.stream) }
]

const rangeStart = (req: http.IncomingMessage) => Number(/bytes=(\d+)-/.exec(req.headers.range ?? "bytes=0-")![1])

/** The rest of the blob from the requested `Range`, at once. */
const serveRest = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const start = rangeStart(req)
  res.writeHead(start === 0 ? 200 : 206, {
    "content-length": content.length - start,
    ...(start === 0 ? {} : { "content-range": `bytes ${start}-${content.length - 1}/${content.length}` })
  })
  res.end(content.subarray(start))
}

/** Sends `bytes` of the blob (from the requested offset), then nothing, the connection left open. */
const stallAfter = (bytes: number) => (req: http.IncomingMessage, res: http.ServerResponse) => {
  const start = rangeStart(req)
  res.writeHead(start === 0 ? 200 : 206, {
    "content-length": content.length - start,
    ...(start === 0 ? {} : { "content-range": `bytes ${start}-${content.length - 1}/${content.length}` })
  })
  res.write(content.subarray(start, start + bytes))
}

/** Sends one byte every `everyMs` (the idle timeout never trips), stopping when the client goes away. */
const drip = (everyMs: number) => (req: http.IncomingMessage, res: http.ServerResponse) => {
  let at = rangeStart(req)
  res.writeHead(at === 0 ? 200 : 206, {
    "content-length": content.length - at,
    ...(at === 0 ? {} : { "content-range": `bytes ${at}-${content.length - 1}/${content.length}` })
  })
  const timer = setInterval(() => {
    if (res.destroyed || at >= content.length) return clearInterval(timer)
    res.write(content.subarray(at, at + 1))
    at++
  }, everyMs)
  res.on("close", () => clearInterval(timer))
}

const ranged = (server: Server) => server.requests.filter((r) => r.headers.range !== undefined)

const read = (
  server: Server,
  options: RegistryClient.Options,
  lane: (typeof lanes)[number]
): Effect.Effect<Buffer, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const rc = yield* client(options, anonymous, lane.http)
    const blob = yield* rc.blobs.get(ref(server.host), digest, { size: content.length })
    return yield* lane.read(blob)
  })

const transportError = (error: unknown) => {
  const e = error as { readonly _tag?: string; readonly reason?: string; readonly message?: string }
  assert.strictEqual(e._tag, "TransportError", String(e.message))
  return e as { readonly reason: string; readonly message: string; readonly cause?: unknown }
}

for (const lane of lanes) {
  describe(`bounded waiting (${lane.name})`, () => {
    it.scopedLive("a stall fails with `no data for …` naming the host, the blob and what was received", () =>
      Effect.gen(function*() {
        const server = yield* serve(stallAfter(1024))
        const error = transportError(
          yield* Effect.flip(read(server, { idleTimeout: "200 millis", maxResumes: 0 }, lane))
        )
        assert.include(
          error.reason,
          `no data for 200ms from ${server.host} (blob ${digest}, 1 KiB of 64 KiB received)`
        )
        assert.include(error.message, "blobs.get")
        assert.strictEqual(server.requests.length, 1)
      }))

    it.scopedLive("a drip the idle timeout never catches trips the minimum throughput, and is resumed", () =>
      Effect.gen(function*() {
        let first = true
        const server = yield* serve((req, res) => {
          if (!first) return serveRest(req, res)
          first = false
          drip(20)(req, res)
        })
        const bytes = yield* read(server, {
          idleTimeout: "2 seconds",
          minThroughput: { bytesPerSecond: 1024, window: "400 millis" }
        }, lane)
        assert.isTrue(bytes.equals(content))
        assert.strictEqual(server.requests.length, 2)
        // resumed where the drip had got to
        assert.match(ranged(server)[0]!.headers.range!, /^bytes=[1-9]\d*-$/)
      }))

    it.scopedLive("the throughput failure says `fewer than 1 KiB/s for …` from the host, for the blob", () =>
      Effect.gen(function*() {
        const server = yield* serve(drip(20))
        const error = transportError(
          yield* Effect.flip(read(server, {
            idleTimeout: "2 seconds",
            minThroughput: { bytesPerSecond: 1024, window: "300 millis" },
            maxResumes: 0
          }, lane))
        )
        assert.match(
          error.reason,
          new RegExp(
            `^fewer than 1 KiB/s for 300ms from ${server.host} \\(\\d+ B in \\d+ms; blob ${digest}, \\d+ B of 64 KiB received\\)$`
          )
        )
      }))

    it.scopedLive("minThroughput: false waits the drip out", () =>
      Effect.gen(function*() {
        const small = content.subarray(0, 24)
        const server = yield* serve((_req, res) => {
          res.writeHead(200, { "content-length": small.length })
          let at = 0
          const timer = setInterval(() => {
            if (res.destroyed) return clearInterval(timer)
            res.write(small.subarray(at, at + 1))
            if (++at === small.length) {
              clearInterval(timer)
              res.end()
            }
          }, 25)
        })
        const rc = yield* client({ idleTimeout: "2 seconds", minThroughput: false }, anonymous, lane.http)
        const blob = yield* rc.blobs.get(ref(server.host), sha256(small), { size: small.length })
        const bytes = yield* lane.read(blob)
        assert.isTrue(bytes.equals(small))
        assert.strictEqual(server.requests.length, 1)
      }))

    it.scopedLive("a consumer that makes the body wait is neither a stall nor a slow registry", () =>
      Effect.gen(function*() {
        const big = Buffer.concat([content, content, content, content, content])
        const server = yield* serve((_req, res) => {
          res.writeHead(200, { "content-length": big.length })
          res.end(big)
        })
        // were the consumer's waits counted, both rules would trip: 300 ms without data, 320 KiB in 1.5 s
        const rc = yield* client(
          {
            idleTimeout: "200 millis",
            minThroughput: { bytesPerSecond: 1024 * 1024, window: "200 millis" }
          },
          anonymous,
          lane.http
        )
        const blob = yield* rc.blobs.get(ref(server.host), sha256(big), { size: big.length })
        // the first buffers (the stream: every 64 KiB buffer) wait 300 ms each in the consumer
        const bytes = lane.name.startsWith("stream")
          ? yield* collect(Stream.tap(blob.stream, () => Effect.sleep("300 millis")))
          : yield* Effect.suspend(() => {
            const parts: Array<Buffer> = []
            return Effect.as(
              blob.pump((chunk) => {
                parts.push(Buffer.from(chunk))
                return parts.length > 4
                  ? true
                  : new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300))
              }),
              parts
            ).pipe(Effect.map((all) => Buffer.concat(all)))
          })
        assert.isTrue(bytes.equals(big))
        assert.strictEqual(server.requests.length, 1, "no resume")
      }))

    it.scopedLive("the blob's retry budget stops the resumes of a registry that keeps stalling", () =>
      Effect.gen(function*() {
        const server = yield* serve(stallAfter(1024))
        // stalls cost 200 ms each: after the third the 590 ms budget is spent (maxResumes would allow 20)
        const error = transportError(
          yield* Effect.flip(read(server, {
            idleTimeout: "200 millis",
            maxResumes: 20,
            retry: { times: 3, base: "5 millis", max: "20 millis", blobBudget: "590 millis" }
          }, lane))
        )
        assert.strictEqual(server.requests.length, 3)
        assert.include(error.reason, `no data for 200ms from ${server.host} (blob ${digest}, 3 KiB of 64 KiB received)`)
        assert.match(error.reason, /; gave up: \d+ms of the blob's retry budget of 590ms lost$/)
      }))

    it.scopedLive("a resume request that gets no answer is abandoned when the budget runs out", () =>
      Effect.gen(function*() {
        // the first body stalls; the resume requests are never answered (the headers timeout is 30 s)
        const server = yield* serve((req, res) => {
          if (req.headers.range === undefined) stallAfter(1024)(req, res)
        })
        const error = transportError(
          yield* Effect.flip(read(server, {
            timeout: "30 seconds",
            idleTimeout: "200 millis",
            retry: { times: 3, base: "5 millis", max: "20 millis", blobBudget: "600 millis" }
          }, lane))
        )
        assert.strictEqual(ranged(server).length, 1)
        assert.include(error.reason, `no data for 200ms from ${server.host}`)
        assert.match(error.reason, /; gave up: \d+ms of the blob's retry budget of 600ms lost$/)
      }))

    it.scopedLive("without a budget to stop them, maxResumes does", () =>
      Effect.gen(function*() {
        const server = yield* serve(stallAfter(1024))
        const error = transportError(
          yield* Effect.flip(read(server, {
            idleTimeout: "100 millis",
            maxResumes: 3,
            retry: { times: 3, base: "5 millis", max: "20 millis", blobBudget: Duration.infinity }
          }, lane))
        )
        assert.strictEqual(server.requests.length, 4)
        assert.match(error.reason, /; gave up: resumed 3 times$/)
      }))
  })
}

describe("bounded waiting: the rules and the defaults", () => {
  const limits = (idleMillis: number | undefined, bytesPerSecond?: number, windowMillis?: number) =>
    BodyPump.limits(
      idleMillis === undefined ? undefined : Duration.millis(idleMillis),
      bytesPerSecond === undefined ? undefined : { bytesPerSecond, windowMillis: windowMillis! }
    )

  it("Meter: no byte for the idle timeout is a stall; a byte resets it", () => {
    const meter = new BodyPump.Meter(limits(1000), 0)
    assert.isUndefined(meter.check(999))
    meter.data(1, 999)
    assert.isUndefined(meter.check(1998))
    assert.deepStrictEqual(meter.check(1999), { _tag: "Idle", millis: 1000 })
    assert.strictEqual(meter.lost(5000), 1000)
  })

  it("Meter: fewer bytes than the rate over the window is a stall, judged once a window has passed", () => {
    const meter = new BodyPump.Meter(limits(undefined, 1024, 8000), 0)
    // 100 bytes a second: never idle, too slow
    for (let t = 1000; t < 8000; t += 1000) {
      meter.data(100, t)
      assert.isUndefined(meter.check(t), `at ${t}`)
    }
    meter.data(100, 8000)
    const stall = meter.check(8000)
    assert.deepStrictEqual(stall, { _tag: "Slow", bytes: 800, millis: 8000, span: 8000, bytesPerSecond: 1024 })
    assert.strictEqual(meter.lost(9000), 8000)
    assert.strictEqual(
      BodyPump.describe(stall!, "registry.test", "blob sha256:…"),
      "fewer than 1 KiB/s for 8s from registry.test (800 B in 8s; blob sha256:…)"
    )
  })

  it("Meter: a window is a sliding one, and enough bytes in it pass", () => {
    const meter = new BodyPump.Meter(limits(undefined, 1024, 4000), 0)
    // 2 KiB a second for 8 s, sampled every tick (500 ms)
    for (let t = 500; t <= 8000; t += 500) {
      meter.data(1024, t)
      assert.isUndefined(meter.check(t), `at ${t}`)
    }
    // then nothing: the window slides past the last bytes
    let stall: BodyPump.Stall | undefined
    let t = 8000
    while (stall === undefined && t < 20_000) stall = meter.check(t += 500)
    assert.strictEqual(stall?._tag, "Slow")
    assert.isAtMost(t, 12_000)
  })

  it("Meter: the time the consumer holds the body does not count", () => {
    const meter = new BodyPump.Meter(limits(1000, 1024, 2000), 0)
    meter.data(4096, 100)
    meter.hold(100)
    assert.isUndefined(meter.check(60_000))
    meter.go(60_000)
    assert.isUndefined(meter.check(60_899))
    assert.deepStrictEqual(meter.check(61_100), { _tag: "Idle", millis: 1000 })
  })

  it("Meter: a stream meter starts held, until it is pulled", () => {
    const meter = new BodyPump.Meter(limits(1000), 0, { held: true })
    assert.isUndefined(meter.check(10_000))
    meter.go(10_000)
    assert.deepStrictEqual(meter.check(11_000), { _tag: "Idle", millis: 1000 })
  })

  it("formats sizes and durations for the messages", () => {
    assert.deepStrictEqual(
      [0, 512, 1024, 1536, 3 * 1024 * 1024, 100 * 1024 * 1024].map(BodyPump.formatBytes),
      ["0 B", "512 B", "1 KiB", "1.5 KiB", "3 MiB", "100 MiB"]
    )
    assert.deepStrictEqual(
      [250, 1500, 30_000, 60_000, 120_000].map(BodyPump.formatMillis),
      ["250ms", "1.5s", "30s", "60s", "120s"]
    )
  })

  const hostOf = (options: RegistryClient.Options) =>
    Context.makeContext(options, {
      hash: NodeHash.service,
      transport: () => ({
        plain: {} as Transport.Transport,
        scoped: {} as Transport.Transport<Scope.Scope>
      })
    })

  it("defaults: 30 s idle, 1 KiB/s over 60 s, 2 minutes of retry budget per blob, 60 s for headers", () => {
    const context = hostOf({})
    const host = context.host("registry.test")
    assert.deepStrictEqual(host.limits, {
      idleMillis: 30_000,
      minThroughput: { bytesPerSecond: 1024, windowMillis: 60_000 }
    })
    assert.strictEqual(Duration.toMillis(context.retry.blobBudget), 120_000)
    assert.strictEqual(Duration.toMillis(host.timeout!), 60_000)
  })

  it("options: `timeout` sets the idle timeout unless `idleTimeout` does; per registry; the rule can be off", () => {
    assert.strictEqual(hostOf({ timeout: "5 minutes" }).host("registry.test").limits.idleMillis, 300_000)
    assert.strictEqual(
      hostOf({ timeout: "5 minutes", idleTimeout: "10 seconds" }).host("registry.test").limits.idleMillis,
      10_000
    )
    const context = hostOf({
      minThroughput: { bytesPerSecond: 10_000 },
      registries: { "slow.test": { minThroughput: false, idleTimeout: Duration.infinity } },
      retry: { blobBudget: "10 minutes" }
    })
    assert.deepStrictEqual(context.host("registry.test").limits.minThroughput, {
      bytesPerSecond: 10_000,
      windowMillis: 60_000
    })
    assert.deepStrictEqual(context.host("slow.test").limits, { idleMillis: undefined, minThroughput: undefined })
    assert.strictEqual(Duration.toMillis(context.retry.blobBudget), 600_000)
  })
})
