/**
 * Reads a response body into a handler, one call per buffer, in one effect: the byte path's inner loop.
 *
 * With `@effect/platform-node`'s clients the response keeps the Node body it was made from (`source.body`
 * for undici, `source` for `node:http`): the loop then listens to it directly (`data`/`end`/`error`), with
 * one watchdog timer per body, no fiber, effect or promise per buffer. Any other `HttpClient` is read through
 * `response.stream`, one effect per chunk. Both give the same result.
 *
 * The watchdog rules of both body lanes (`Meter`: an idle timeout and a minimum throughput, on a clock that
 * stops while the consumer makes the body wait) live here too; the stream lane (`BlobStream.failWhenStalled`)
 * uses them as well.
 *
 * @internal
 */
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { pumpStream } from "@ocidist/spec/Storage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type * as RegistryError from "../RegistryError.js"
import * as Response from "./response.js"

/** The handler's answer for a buffer: go on, stop reading (the body is dropped), or wait for a promise. */
export type Answer = boolean | PromiseLike<boolean>

/** How reading a body ended. @internal */
export type Outcome = "end" | "stopped"

/** The part of a Node `Readable` the loop uses (structural: this module imports nothing from Node). */
interface EventReadable {
  on(event: string, listener: (...args: Array<never>) => void): unknown
  removeListener(event: string, listener: (...args: Array<never>) => void): unknown
  pause(): unknown
  resume(): unknown
  destroy(error?: Error): unknown
  readonly readableEnded: boolean
  readonly destroyed: boolean
}

const isEventReadable = (u: unknown): u is EventReadable =>
  typeof u === "object" && u !== null && typeof (u as EventReadable).on === "function" &&
  typeof (u as EventReadable).pause === "function" && typeof (u as EventReadable).destroy === "function" &&
  typeof (u as EventReadable).readableEnded === "boolean"

/**
 * The Node body under a response of `@effect/platform-node`'s undici or `node:http` client, if that is what
 * it is and nothing has read from it yet.
 *
 * @internal
 */
export const nodeBody = (response: HttpClientResponse.HttpClientResponse): EventReadable | undefined => {
  // `@effect/platform` may wrap a response (`original`) to abort it with its request
  let current: unknown = response
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const source: unknown = (current as { readonly source?: unknown }).source
    if (typeof source === "object" && source !== null) {
      const body: unknown = "body" in source ? source.body : source
      return isEventReadable(body) && !body.readableEnded && !body.destroyed ? body : undefined
    }
    current = (current as { readonly original?: unknown }).original
  }
  return undefined
}

/**
 * What a body must keep up, in both lanes: a byte at least every `idleMillis`, and at least
 * `minThroughput.bytesPerSecond` on average over any `windowMillis`. Only the time spent waiting for the
 * registry counts: while the consumer makes the body wait (a sink's promise, a stream not pulled) the clock
 * of the rules stops.
 *
 * @internal
 */
export interface Limits {
  readonly idleMillis: number | undefined
  readonly minThroughput: { readonly bytesPerSecond: number; readonly windowMillis: number } | undefined
}

/**
 * Why a body was given up: no byte for `millis` (`Idle`), or only `bytes` in the last `millis` while
 * `bytesPerSecond` were required (`Slow`).
 *
 * @internal
 */
export type Stall =
  | { readonly _tag: "Idle"; readonly millis: number }
  | {
    readonly _tag: "Slow"
    readonly bytes: number
    /** the window of the rule */
    readonly millis: number
    /** the time `bytes` were counted over (the window, give or take a tick) */
    readonly span: number
    readonly bytesPerSecond: number
  }

/** The limits of a client: no idle timeout and no throughput rule when `undefined`. @internal */
export const limits = (
  idle: Duration.Duration | undefined,
  minThroughput: Limits["minThroughput"]
): Limits => {
  const idleMillis = idle === undefined ? undefined : Duration.toMillis(idle)
  return {
    idleMillis: idleMillis === undefined || !Number.isFinite(idleMillis) ? undefined : Math.max(1, idleMillis),
    minThroughput: minThroughput === undefined || minThroughput.bytesPerSecond <= 0 ||
        !Number.isFinite(minThroughput.windowMillis)
      ? undefined
      : { bytesPerSecond: minThroughput.bytesPerSecond, windowMillis: Math.max(1, minThroughput.windowMillis) }
  }
}

/** Whether `limits` asks for anything (else no watchdog is needed). @internal */
export const watched = (self: Limits): boolean => self.idleMillis !== undefined || self.minThroughput !== undefined

/**
 * The progress of one body against its `Limits`: bytes received, on a clock that runs only while the body
 * waits for the registry. Recording a buffer is two additions; the rules are checked by a watchdog every
 * `tick` milliseconds (one timer or fiber per body), which also samples the byte count for the throughput
 * window.
 *
 * @internal
 */
export class Meter {
  /** Bytes received so far. */
  bytes = 0
  /** Set once a rule was broken. */
  stall: Stall | undefined = undefined
  /** How often the watchdog checks (and samples): a quarter of the idle timeout, an eighth of the window. */
  readonly tick: number
  private before = 0
  private since: number | undefined
  private lastData = 0
  // [active time, bytes] pairs, oldest first, from `head` on
  private readonly samples: Array<number> = [0, 0]
  private head = 0

  constructor(readonly limits: Limits, now: number, options?: { readonly held?: boolean }) {
    if (options?.held !== true) this.since = now
    const { idleMillis, minThroughput } = limits
    this.tick = Math.max(
      10,
      Math.min(1000, idleMillis === undefined ? 1000 : idleMillis / 4, (minThroughput?.windowMillis ?? 8000) / 8)
    )
  }

  /** Milliseconds the body has waited for the registry. */
  active(now: number): number {
    return this.since === undefined ? this.before : this.before + (now - this.since)
  }

  /** `n` bytes arrived. */
  data(n: number, now: number): void {
    this.bytes += n
    this.lastData = this.active(now)
  }

  /** The consumer makes the body wait: the clock stops. */
  hold(now: number): void {
    if (this.since === undefined) return
    this.before += now - this.since
    this.since = undefined
  }

  /** The body waits for the registry again. */
  go(now: number): void {
    if (this.since === undefined) this.since = now
  }

  /** The rule broken by now, if any (then for good). */
  check(now: number): Stall | undefined {
    if (this.stall !== undefined) return this.stall
    const active = this.active(now)
    const { idleMillis, minThroughput } = this.limits
    if (idleMillis !== undefined && active - this.lastData >= idleMillis) {
      return this.stall = { _tag: "Idle", millis: idleMillis }
    }
    if (minThroughput === undefined) return undefined
    const samples = this.samples
    const from = active - minThroughput.windowMillis
    // the newest sample at least a window old is the start of the window
    while (samples.length - this.head >= 4 && samples[this.head + 2]! <= from) this.head += 2
    const start = samples[this.head]!
    if (start <= from && active > start) {
      const bytes = this.bytes - samples[this.head + 1]!
      if (bytes * 1000 < minThroughput.bytesPerSecond * (active - start)) {
        return this.stall = {
          _tag: "Slow",
          bytes,
          millis: minThroughput.windowMillis,
          span: active - start,
          bytesPerSecond: minThroughput.bytesPerSecond
        }
      }
    }
    if (active - samples[samples.length - 2]! >= this.tick) {
      if (this.head > 64) {
        samples.splice(0, this.head)
        this.head = 0
      }
      samples.push(active, this.bytes)
    }
    return undefined
  }

  /**
   * The time this body was of no use when it failed, as the blob's retry budget counts it: the idle timeout
   * or the throughput window that were spent, else the time since its last byte.
   */
  lost(now: number): number {
    const stall = this.stall
    if (stall === undefined) return Math.max(0, this.active(now) - this.lastData)
    return stall.millis
  }
}

/**
 * Completes with the rule `meter` broke: one loop that wakes every `meter.tick` instead of a timer per
 * buffer.
 *
 * @internal
 */
export const watch = (meter: Meter): Effect.Effect<Stall> =>
  Effect.suspend(function loop(): Effect.Effect<Stall> {
    const stall = meter.check(Date.now())
    return stall !== undefined ? Effect.succeed(stall) : Effect.flatMap(Effect.sleep(meter.tick), loop)
  })

/** `250ms`, `1.5s`, `30s`, `120s`. @internal */
export const formatMillis = (millis: number): string =>
  millis < 1000
    ? `${Math.round(millis)}ms`
    : millis % 1000 === 0 || millis >= 10_000
    ? `${Math.round(millis / 1000)}s`
    : `${(millis / 1000).toFixed(1)}s`

/** `1 KiB`, `512 B`, `1.5 MiB`. @internal */
export const formatBytes = (bytes: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  const shown = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 1 : 0)
  return `${shown} ${units[unit]}`
}

/**
 * The reason of the `TransportError` a stall fails with: `no data for 30s from <host> (<detail>)`, or
 * `fewer than 1 KiB/s for 60s from <host> (312 B in 60s; <detail>)`.
 *
 * @internal
 */
export const describe = (stall: Stall, host: string, detail: string | undefined): string =>
  stall._tag === "Idle"
    ? `no data for ${formatMillis(stall.millis)} from ${host}${detail === undefined ? "" : ` (${detail})`}`
    : `fewer than ${formatBytes(stall.bytesPerSecond)}/s for ${formatMillis(stall.millis)} from ${host} (${
      formatBytes(stall.bytes)
    } in ${formatMillis(stall.span)}${detail === undefined ? "" : `; ${detail}`})`

/** The host a response came from (a CDN after a redirect), for messages. @internal */
export const hostOf = (response: HttpClientResponse.HttpClientResponse, fallback: string): string => {
  try {
    return new URL(response.request.url).host
  } catch {
    return fallback
  }
}

/**
 * For a response with a Node body: a function that stops reading it from under its stream (a pending read
 * then fails). `undefined` for other responses, whose streams must be raced instead.
 *
 * @internal
 */
export const aborter = (response: HttpClientResponse.HttpClientResponse): (() => void) | undefined => {
  const body = nodeBody(response)
  return body === undefined ? undefined : () => void body.destroy(new Error("the body stalled"))
}

/**
 * The `TransportError` of a stall of `response`'s body.
 *
 * @internal
 */
export const stallError = (
  ctx: Response.Ctx,
  response: HttpClientResponse.HttpClientResponse,
  stall: Stall,
  detail: string | undefined
): RegistryError.TransportError =>
  Response.timeoutError(
    ctx,
    response.request.method,
    response.request.url,
    describe(stall, hostOf(response, ctx.registry), detail)
  )

/**
 * Reads `response`'s body into `handle` until it ends, `handle` answers `false`, or it fails: a transport
 * failure (including a stall: `meter`'s limits broken) is returned as `Left`, to be resumed by the caller.
 * `detail` describes the download for the message of a stall. Interruption drops the body.
 *
 * @internal
 */
export const read = (
  ctx: Response.Ctx,
  response: HttpClientResponse.HttpClientResponse,
  handle: (chunk: Uint8Array) => Answer,
  meter: Meter | undefined,
  detail?: () => string
): Effect.Effect<Either.Either<Outcome, RegistryError.TransportError>> => {
  const { method, url } = response.request
  const stalled = (stall: Stall) => stallError(ctx, response, stall, detail?.())
  const body = nodeBody(response)
  if (body === undefined) return readStream(ctx, response, handle, meter, stalled)
  return Effect.async<Either.Either<Outcome, RegistryError.TransportError>>((resume) => {
    let done = false
    // while the handler's promise is pending, the end of the body waits for it (the handler still owns the
    // last buffer)
    let waiting = false
    let deferred: (() => void) | undefined
    const finish = (result: Either.Either<Outcome, RegistryError.TransportError>, drop: boolean) => {
      if (done) return
      done = true
      cleanup()
      if (drop) body.destroy()
      resume(Effect.succeed(result))
    }
    const settle = (result: Either.Either<Outcome, RegistryError.TransportError>, drop: boolean) => {
      if (waiting) deferred ??= () => finish(result, drop)
      else finish(result, drop)
    }
    const onData = (chunk: Uint8Array) => {
      if (done) return
      meter?.data(chunk.length, Date.now())
      const answer = handle(chunk)
      if (answer === true) return
      if (answer === false) return finish(Either.right("stopped"), true)
      waiting = true
      // the sink making us wait is not the registry's silence
      meter?.hold(Date.now())
      body.pause()
      Promise.resolve(answer).then((go) => {
        waiting = false
        if (done) return
        if (!go) return finish(Either.right("stopped"), true)
        if (deferred !== undefined) return deferred()
        meter?.go(Date.now())
        body.resume()
      }, (cause: unknown) => {
        // a sink must not reject: a defect, not a transport failure to resume
        if (done) return
        done = true
        cleanup()
        body.destroy()
        resume(Effect.die(cause))
      })
    }
    const onEnd = () => settle(Either.right("end"), false)
    const onError = (error: unknown) => settle(Either.left(Response.transportError(ctx, method, url, error)), true)
    // a body closed without `end` was cut short (aborted socket) even when no `error` was emitted
    const onClose = () =>
      settle(Either.left(Response.transportError(ctx, method, url, undefined, "the connection closed mid-body")), true)
    // one timer per body, not one per buffer
    const timer = meter === undefined ? undefined : setInterval(() => {
      if (waiting) return
      const stall = meter.check(Date.now())
      if (stall !== undefined) finish(Either.left(stalled(stall)), true)
    }, meter.tick)
    const cleanup = () => {
      if (timer !== undefined) clearInterval(timer)
      body.removeListener("data", onData)
      body.removeListener("end", onEnd)
      body.removeListener("error", onError)
      body.removeListener("close", onClose)
    }
    body.on("data", onData)
    body.on("end", onEnd)
    body.on("error", onError)
    body.on("close", onClose)
    body.resume()
    return Effect.sync(() => finish(Either.right("stopped"), true))
  })
}

/** The same loop over `response.stream`, for clients that are not Node's. */
const readStream = (
  ctx: Response.Ctx,
  response: HttpClientResponse.HttpClientResponse,
  handle: (chunk: Uint8Array) => Answer,
  meter: Meter | undefined,
  stalled: (stall: Stall) => RegistryError.TransportError
): Effect.Effect<Either.Either<Outcome, RegistryError.TransportError>> => {
  let stopped = false
  const sink = (chunk: Uint8Array): Answer => {
    const answer = handle(chunk)
    if (answer === false) stopped = true
    if (typeof answer === "boolean") return answer
    // the sink making us wait is not the registry's silence
    meter?.hold(Date.now())
    return Promise.resolve(answer).then((go) => {
      meter?.go(Date.now())
      if (!go) stopped = true
      return go
    })
  }
  const body = Stream.mapError(
    response.stream,
    (error) => Response.fromHttpClientError(ctx, response.request.method, response.request.url, error)
  )
  const run = pumpStream(
    meter === undefined ? body : Stream.mapChunks(body, (chunk) => {
      const now = Date.now()
      for (const buffer of chunk) meter.data(buffer.length, now)
      return chunk
    }),
    sink
  )
  // one watchdog per body, not a timer per buffer
  const timed = meter === undefined
    ? run
    : Effect.raceFirst(run, Effect.flatMap(watch(meter), (stall) => Effect.fail(stalled(stall))))
  return Effect.either(Effect.as(timed, undefined)).pipe(
    Effect.map((result): Either.Either<Outcome, RegistryError.TransportError> =>
      Either.isLeft(result) ? Either.left(result.left) : Either.right(stopped ? "stopped" : "end")
    )
  )
}
