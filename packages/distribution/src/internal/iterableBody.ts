/**
 * Upload bodies fed by a pump (`ChunkSink`) instead of an Effect stream: an `AsyncIterable` that undici reads
 * as it sends, with a small queue between the two and backpressure on the pump. One fiber per body, no
 * effect per buffer.
 *
 * Only undici takes an iterable as a request body (`@effect/platform`'s `Raw` body is handed to it as is);
 * `NodeRegistryClient` marks the undici client it builds, and other clients keep stream bodies.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ChunkSink } from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"

const IterableBodies = Symbol.for("@ocidist/distribution/IterableBodies")

/** Marks a client that sends `AsyncIterable` bodies as streams (undici). @internal */
export const mark = <A extends HttpClient.HttpClient>(client: A): A => Object.assign(client, { [IterableBodies]: true })

/** Whether a client was marked by {@link mark}. @internal */
export const supported = (client: HttpClient.HttpClient): boolean =>
  (client as { readonly [IterableBodies]?: boolean })[IterableBodies] === true

/** The pump's failure, thrown to undici (which aborts the request); the caller reads `failure()`. */
class PumpFailed extends Error {}

/** Bytes queued between the pump and the socket before the pump waits. */
const HIGH_WATER = 1024 * 1024

/** @internal */
export interface PumpedBody<E> {
  /** A new iterable over a new run of the pump each time it is iterated. */
  readonly iterable: AsyncIterable<Uint8Array>
  /** The failure of the last run, if it failed. */
  readonly failure: () => { readonly error: E } | undefined
  /** Stops the last run (it is interrupted and awaited). */
  readonly stop: Effect.Effect<void>
  /**
   * After a response: waits for the last run to end when everything it gave was sent (it may still be
   * checking its bytes, as a verifying download does after its last one), else stops it.
   */
  readonly finish: Effect.Effect<void>
}

/**
 * An iterable body over `pump`, run with `runtime` when undici starts reading it.
 *
 * @internal
 */
export const fromPump = <E>(
  runtime: Runtime.Runtime<never>,
  pump: (sink: ChunkSink) => Effect.Effect<void, E>
): PumpedBody<E> => {
  let failure: { readonly error: E } | undefined
  let running: Fiber.RuntimeFiber<void, E> | undefined
  let unsent: () => number = () => 0
  const iterable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]() {
      failure = undefined
      const queue: Array<Uint8Array> = []
      unsent = () => queue.length
      let queued = 0
      let finished = false
      let cancelled = false
      let wake: (() => void) | undefined
      let room: ((go: boolean) => void) | undefined
      /** Lets a waiting `next` look again. */
      const wakeUp = () => {
        const w = wake
        wake = undefined
        w?.()
      }
      const sink: ChunkSink = (chunk) => {
        if (cancelled) return false
        queue.push(chunk)
        queued += chunk.length
        wakeUp()
        return queued < HIGH_WATER ? true : new Promise<boolean>((resolve) => (room = resolve))
      }
      const fiber = Runtime.runFork(runtime)(pump(sink))
      running = fiber
      fiber.addObserver((exit) => {
        finished = true
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          if (error !== undefined) failure = { error }
        }
        wakeUp()
      })
      const next = async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          const chunk = queue.shift()
          if (chunk !== undefined) {
            queued -= chunk.length
            if (room !== undefined && queued < HIGH_WATER / 2) {
              const r = room
              room = undefined
              r(true)
            }
            return { value: chunk, done: false }
          }
          if (finished) {
            const exit = fiber.unsafePoll()
            if (exit !== null && Exit.isFailure(exit)) throw new PumpFailed("the blob's source failed")
            return { value: undefined, done: true }
          }
          await new Promise<void>((resolve) => (wake = resolve))
        }
      }
      const cancel = async (): Promise<IteratorResult<Uint8Array>> => {
        cancelled = true
        if (room !== undefined) room(false)
        fiber.unsafeInterruptAsFork(fiber.id())
        return { value: undefined, done: true }
      }
      return { next, return: cancel }
    }
  }
  const stop = Effect.suspend(() => running === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(running)))
  return {
    iterable,
    failure: () => failure,
    stop,
    // with nothing left in the queue the run cannot be waiting for room: it ends by itself
    finish: Effect.suspend(() =>
      running === undefined ? Effect.void : unsent() === 0 ? Effect.asVoid(Fiber.await(running)) : stop
    )
  }
}
