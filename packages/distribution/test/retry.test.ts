/**
 * The retry policy, timed with the TestClock: the client runs over an in-memory `HttpClient` double (no
 * sockets, which would race the clock), and every request records the (test) time it was sent at, so the
 * delays between attempts are measured, not assumed.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import { Digest, Reference } from "@ocidist/reference"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as RegistryClient from "../src/RegistryClient.js"

const manifest = new TextEncoder().encode(JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
  layers: []
}))

const ref = Either.getOrThrow(Reference.parse("registry.test/app:latest"))

type Answer = (request: { readonly method: string; readonly url: string }, attempt: number) => Response

/** An `HttpClient` that answers from `answer` and records when (test clock) each request was sent. */
const double = (answer: Answer) => {
  const sent: Array<{ readonly at: number; readonly method: string; readonly url: string }> = []
  const http = HttpClient.make((request) =>
    Effect.map(Clock.currentTimeMillis, (at) => {
      sent.push({ at, method: request.method, url: request.url })
      return HttpClientResponse.fromWeb(request, answer(request, sent.length))
    })
  )
  return { sent, layer: Layer.succeed(HttpClient.HttpClient, http) }
}

const retry = { times: 4, base: "1 second", max: "4 seconds", maxRetryAfter: "30 seconds" } as const

const build = (layer: Layer.Layer<HttpClient.HttpClient>, options: RegistryClient.Options = {}) =>
  Layer.build(
    RegistryClient.layerWithoutDependencies({ retry, timeout: "1 hour", ...options }).pipe(
      Layer.provide(Authenticator.layerWithoutDependencies()),
      Layer.provide(Layer.merge(layer, Credentials.layer({ sources: [] })))
    )
  ).pipe(Effect.map(Context.get(RegistryClient.RegistryClient)))

/** One turn of Node's event loop (real time, not the test clock): promise-based bodies make progress. */
const macrotask = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Lets the forked work run until it is waiting on the test clock: the pending sleeps are the same over three
 * turns of the event loop in a row (a fixed number of yields was not always enough on a loaded machine: the
 * clock then jumped to a later sleep before the retry had scheduled its own).
 */
const settle = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    let previous = ""
    let stable = 0
    for (let turn = 0; turn < 1_000 && stable < 3; turn++) {
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* macrotask
      if (Option.isSome(yield* Fiber.poll(fiber))) return
      const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps()).join(",")
      stable = sleeps === previous ? stable + 1 : 0
      previous = sleeps
    }
  })

/**
 * Runs `effect` to its end, moving the test clock to each sleep it starts (the earliest pending wake-up
 * under an hour away: the request timeouts, an hour long, are never reached).
 */
const drive = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let step = 0; step < 200; step++) {
      yield* settle(fiber)
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      const now = yield* TestClock.currentTimeMillis
      const pending = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((t) => t >= now && t < now + 3_600_000)
      // a sleep due now (a zero delay) runs only when the clock is set again, to the same time; the clock is
      // set to the sleep's own instant, not adjusted by the difference: jittered delays are fractional
      // milliseconds, and `now + (t - now)` can round to just below `t` (2447.3664639999997 for 2447.366464),
      // leaving the sleep pending forever (1 run in ~8 failed so)
      if (pending.length > 0) yield* TestClock.setTime(Math.min(...pending))
    }
    if (Option.isNone(yield* Fiber.poll(fiber))) {
      yield* Fiber.interrupt(fiber)
      return yield* Effect.dieMessage("still waiting after 200 steps of the test clock")
    }
    return yield* Fiber.join(fiber)
  })

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

const ok = () => new Response(manifest, { status: 200, headers: { "content-type": MediaType.OCI_MANIFEST } })

const delays = (sent: ReadonlyArray<{ readonly at: number }>) => sent.slice(1).map((s, i) => s.at - sent[i]!.at)

describe("retry policy (TestClock)", () => {
  it.scoped("waits the Retry-After in seconds before retrying", () =>
    Effect.gen(function*() {
      const { layer, sent } = double((_req, n) =>
        n === 1 ? json(429, { errors: [{ code: "TOOMANYREQUESTS" }] }, { "retry-after": "7" }) : ok()
      )
      const rc = yield* build(layer)
      const got = yield* drive(rc.manifests.get(ref))
      assert.strictEqual(got.digest, Digest.ofBytes(manifest))
      assert.deepStrictEqual(delays(sent), [7_000])
    }))

  it.scoped("waits the Retry-After as an HTTP-date before retrying", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-01T12:00:00Z"))
      const { layer, sent } = double((_req, n) =>
        n === 1
          ? json(503, { errors: [{ code: "UNAVAILABLE" }] }, { "retry-after": "Sun, 01 Mar 2026 12:00:12 GMT" })
          : ok()
      )
      const rc = yield* build(layer)
      yield* drive(rc.manifests.get(ref))
      assert.deepStrictEqual(delays(sent), [12_000])
    }))

  it.scoped("backs off exponentially with jitter, capped at retry.max, retry.times times", () =>
    Effect.gen(function*() {
      const { layer, sent } = double(() => new Response("bad gateway", { status: 502 }))
      const rc = yield* build(layer)
      const error = yield* drive(Effect.flip(rc.manifests.get(ref)))
      assert.strictEqual(error._tag, "RegistryResponseError")
      assert.strictEqual(sent.length, 1 + retry.times)
      // base 1 s doubling, capped at 4 s; jittered to between half and all of it
      const expected = [1_000, 2_000, 4_000, 4_000]
      const measured = delays(sent)
      measured.forEach((delay, i) => {
        assert.isAtLeast(delay, expected[i]! / 2, `retry ${i + 1}: ${measured}`)
        assert.isAtMost(delay, expected[i]!, `retry ${i + 1}: ${measured}`)
      })
      assert.isAbove(measured[2]!, measured[0]!, `the delays grow: ${measured}`)
    }))

  it.scoped("a Retry-After above retry.maxRetryAfter fails at once with TooManyRequests", () =>
    Effect.gen(function*() {
      const { layer, sent } = double(() =>
        json(429, { errors: [{ code: "TOOMANYREQUESTS", message: "quota" }] }, { "retry-after": "3600" })
      )
      const rc = yield* build(layer)
      const error = yield* drive(Effect.flip(rc.manifests.get(ref)))
      assert.strictEqual(error._tag, "TooManyRequests")
      if (error._tag === "TooManyRequests") assert.strictEqual(error.retryAfterMillis, 3_600_000)
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(yield* TestClock.currentTimeMillis, 0, "no time passed")
    }))

  it.scoped("transport failures are retried on the same schedule, then reported as TransportError", () =>
    Effect.gen(function*() {
      const { sent } = double(ok)
      const failing = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.flatMap(Clock.currentTimeMillis, (at) => {
            sent.push({ at, method: request.method, url: request.url })
            return Effect.tryPromise({
              try: () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })),
              catch: (cause) => cause
            }).pipe(
              Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Transport", cause }))
            )
          })
        )
      )
      const rc = yield* build(failing, { retry: { ...retry, times: 2 } })
      const error = yield* drive(Effect.flip(rc.manifests.get(ref)))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual(sent.length, 3)
      delays(sent).forEach((delay, i) => assert.isAtLeast(delay, [500, 1_000][i]!))
      if (error._tag === "TransportError") {
        assert.instanceOf(error.cause, Error)
        assert.strictEqual((error.cause as Error).message, "connect ECONNREFUSED")
      }
    }))

  it.scoped("a blob download resumes after a cut on the same schedule (retry.maxResumes times)", () =>
    Effect.gen(function*() {
      const content = new Uint8Array(4096).map((_, i) => i & 0xff)
      const digest = Digest.ofBytes(content)
      const { layer, sent } = double((_req, n) => {
        // every response stops after 1 KiB: the body stream fails, the download resumes where it stopped
        const start = (n - 1) * 1024
        let delivered = false
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (!delivered) {
              delivered = true
              controller.enqueue(content.slice(start, start + 1024))
            } else if (start + 1024 >= content.length) controller.close()
            else controller.error(new Error("connection reset"))
          }
        })
        return new Response(body, {
          status: n === 1 ? 200 : 206,
          headers: n === 1
            ? { "content-length": String(content.length) }
            : { "content-range": `bytes ${start}-${content.length - 1}/${content.length}` }
        })
      })
      const rc = yield* build(layer, { maxResumes: 5 })
      const bytes = yield* drive(
        Stream.runFold(rc.blobs.stream(ref, digest, { size: content.length }), 0, (n, c) => n + c.length)
      )
      assert.strictEqual(bytes, content.length)
      assert.strictEqual(sent.length, 4)
      const measured = delays(sent)
      ;[1_000, 2_000, 4_000].forEach((expected, i) => {
        assert.isAtLeast(measured[i]!, expected / 2, `resume ${i + 1}: ${measured}`)
        assert.isAtMost(measured[i]!, expected, `resume ${i + 1}: ${measured}`)
      })
    }))
})
