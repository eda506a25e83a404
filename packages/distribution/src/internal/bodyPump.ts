/**
 * Reads a response body into a handler, one call per buffer, in one effect: the byte path's inner loop.
 *
 * With `@effect/platform-node`'s clients the response keeps the Node body it was made from (`source.body`
 * for undici, `source` for `node:http`): the loop then listens to it directly (`data`/`end`/`error`), with
 * one idle timer per body, no fiber, effect or promise per buffer. Any other `HttpClient` is read through
 * `response.stream`, one effect per chunk. Both give the same result.
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
 * Completes once `quietFor()` (milliseconds since the last activity) reaches `millis`: one loop that sleeps
 * until the earliest moment that can happen, instead of a timer per buffer.
 *
 * @internal
 */
export const whenIdle = (millis: number, quietFor: () => number): Effect.Effect<void> =>
  Effect.suspend(function loop(): Effect.Effect<void> {
    const quiet = quietFor()
    return quiet >= millis ? Effect.void : Effect.flatMap(Effect.sleep(millis - quiet + 1), loop)
  })

/**
 * For a response with a Node body: a function that stops reading it from under its stream (a pending read
 * then fails). `undefined` for other responses, whose streams must be raced instead.
 *
 * @internal
 */
export const aborter = (response: HttpClientResponse.HttpClientResponse): (() => void) | undefined => {
  const body = nodeBody(response)
  return body === undefined ? undefined : () => void body.destroy(new Error("no data within the idle timeout"))
}

/**
 * Reads `response`'s body into `handle` until it ends, `handle` answers `false`, or it fails: a transport
 * failure (including no data for `idle`) is returned as `Left`, to be resumed by the caller. Interruption
 * drops the body.
 *
 * @internal
 */
export const read = (
  ctx: Response.Ctx,
  response: HttpClientResponse.HttpClientResponse,
  handle: (chunk: Uint8Array) => Answer,
  idle: Duration.Duration | undefined
): Effect.Effect<Either.Either<Outcome, RegistryError.TransportError>> => {
  const { method, url } = response.request
  const idleMillis = idle === undefined ? undefined : Duration.toMillis(idle)
  const idleError = () =>
    Response.timeoutError(ctx, method, url, `no data for ${Duration.format(idle!)} from ${ctx.registry}`)
  const body = nodeBody(response)
  if (body === undefined) return readStream(ctx, response, handle, idle, idleError)
  return Effect.async<Either.Either<Outcome, RegistryError.TransportError>>((resume) => {
    let last = Date.now()
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
      last = Date.now()
      const answer = handle(chunk)
      if (answer === true) return
      if (answer === false) return finish(Either.right("stopped"), true)
      waiting = true
      body.pause()
      Promise.resolve(answer).then((go) => {
        waiting = false
        if (done) return
        if (!go) return finish(Either.right("stopped"), true)
        if (deferred !== undefined) return deferred()
        last = Date.now()
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
    // idle is the registry's silence, not the sink making us wait
    const timer = idleMillis === undefined ? undefined : setInterval(() => {
      if (!waiting && Date.now() - last >= idleMillis) finish(Either.left(idleError()), true)
    }, Math.max(10, Math.min(1000, Math.floor(idleMillis / 4))))
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
  idle: Duration.Duration | undefined,
  idleError: () => RegistryError.TransportError
): Effect.Effect<Either.Either<Outcome, RegistryError.TransportError>> => {
  let stopped = false
  let waiting = false
  const sink = (chunk: Uint8Array): Answer => {
    const answer = handle(chunk)
    if (answer === false) stopped = true
    if (typeof answer === "boolean") return answer
    waiting = true
    return Promise.resolve(answer).then((go) => {
      waiting = false
      last = Date.now()
      if (!go) stopped = true
      return go
    })
  }
  const body = Stream.mapError(
    response.stream,
    (error) => Response.fromHttpClientError(ctx, response.request.method, response.request.url, error)
  )
  let last = Date.now()
  const run = pumpStream(
    Stream.mapChunks(body, (chunk) => {
      last = Date.now()
      return chunk
    }),
    sink
  )
  // one watchdog per body, not a timer per buffer; the sink making us wait is not the registry's silence
  const timed = idle === undefined ? run : Effect.raceFirst(
    run,
    Effect.zipRight(whenIdle(Duration.toMillis(idle), () => waiting ? 0 : Date.now() - last), Effect.fail(idleError()))
  )
  return Effect.either(Effect.as(timed, undefined)).pipe(
    Effect.map((result): Either.Either<Outcome, RegistryError.TransportError> =>
      Either.isLeft(result) ? Either.left(result.left) : Either.right(stopped ? "stopped" : "end")
    )
  )
}
