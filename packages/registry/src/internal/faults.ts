/**
 * Faults the embedded registry injects on request, for tests of clients: latency, a bandwidth limit, error
 * statuses with `Retry-After`, blob bodies cut or stalled after some bytes. Each fault with `times` fires
 * that many times, then the registry behaves.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Faults } from "../Registry.js"
import { type Failure, failure, takeBytes } from "./protocol.js"

export type Kind = "blobs" | "manifests" | "uploads" | "tags" | "referrers" | "other"

export interface Injector {
  readonly before: (kind: Kind, method: string) => Effect.Effect<Failure | undefined>
  /** Wraps a response body of a blob GET: throttled, cut or stalled as configured. */
  readonly body: (stream: Stream.Stream<Uint8Array, unknown>, abort: () => void) => Stream.Stream<Uint8Array, unknown>
  readonly referrersApi: boolean
  readonly redirectBlobs: boolean
  /** Whether `body` may change a body (a cut, a stall or a bandwidth limit is configured). */
  readonly shapesBodies: boolean
}

const counter = (times: number | undefined) => {
  let left = times ?? Number.POSITIVE_INFINITY
  return () => left > 0 ? (left--, true) : false
}

/** At most `bytesPerSecond`, in pieces of 16 KiB. */
const throttle = <E>(stream: Stream.Stream<Uint8Array, E>, bytesPerSecond: number) =>
  stream.pipe(
    Stream.mapConcat((chunk) => {
      const parts: Array<Uint8Array> = []
      for (let at = 0; at < chunk.length; at += 16 * 1024) parts.push(chunk.subarray(at, at + 16 * 1024))
      return parts
    }),
    Stream.mapEffect((chunk) => Effect.as(Effect.sleep(Duration.millis((chunk.length / bytesPerSecond) * 1000)), chunk))
  )

export const make = (faults: Faults | undefined): Injector => {
  if (faults === undefined) {
    return {
      before: () => Effect.succeed(undefined),
      body: (s) => s,
      referrersApi: true,
      redirectBlobs: false,
      shapesBodies: false
    }
  }
  const errors = faults.errors
  const fireError = counter(errors?.times)
  const cut = faults.cutAfterBytes
  const fireCut = counter(cut?.times)
  const stall = faults.stallAfterBytes
  const fireStall = counter(stall?.times)

  const before = (kind: Kind, method: string): Effect.Effect<Failure | undefined> =>
    Effect.gen(function*() {
      if (faults.latencyMs !== undefined && faults.latencyMs > 0) yield* Effect.sleep(Duration.millis(faults.latencyMs))
      if (errors === undefined) return undefined
      const match = errors.match ?? "all"
      if (match !== "all" && match !== kind) return undefined
      if (errors.methods !== undefined && !errors.methods.includes(method)) return undefined
      if (!fireError()) return undefined
      const status = errors.status
      return failure(
        status === 429 ? "TOOMANYREQUESTS" : status === 503 ? "UNAVAILABLE" : "UNKNOWN",
        "injected fault",
        {
          status,
          headers: errors.retryAfterSeconds === undefined ? {} : { "retry-after": String(errors.retryAfterSeconds) }
        }
      )
    })

  const body = (stream: Stream.Stream<Uint8Array, unknown>, abort: () => void) => {
    let out = stream
    if (cut !== undefined && fireCut()) {
      out = Stream.concat(
        takeBytes(out, cut.bytes),
        Stream.fromEffect(Effect.sync(abort)).pipe(Stream.drain, Stream.concat(Stream.never))
      )
    } else if (stall !== undefined && fireStall()) {
      out = Stream.concat(takeBytes(out, stall.bytes), Stream.never)
    }
    if (faults.bytesPerSecond !== undefined && faults.bytesPerSecond > 0) out = throttle(out, faults.bytesPerSecond)
    return out
  }

  return {
    before,
    body,
    referrersApi: faults.referrersApi !== false,
    redirectBlobs: faults.redirectBlobs === true,
    shapesBodies: cut !== undefined || stall !== undefined || (faults.bytesPerSecond ?? 0) > 0
  }
}
