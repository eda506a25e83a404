import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { coalesce, failWhenIdle } from "../src/internal/blobStream.js"

const pieces = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) => new Uint8Array(size).fill(i % 256))

describe("blob stream plumbing", () => {
  it.effect("coalesce joins small buffers into large ones, keeping every byte in order", () =>
    Effect.gen(function*() {
      const input = pieces(300, 10_000)
      const out = Chunk.toReadonlyArray(yield* Stream.runCollect(coalesce(1_000_000)(Stream.fromIterable(input))))
      assert.deepStrictEqual(out.map((b) => b.length), [1_000_000, 1_000_000, 1_000_000])
      assert.deepStrictEqual(Buffer.concat(out), Buffer.concat(input))
      const tail = Chunk.toReadonlyArray(
        yield* Stream.runCollect(coalesce(1_000_000)(Stream.fromIterable(pieces(5, 10))))
      )
      assert.deepStrictEqual(tail.map((b) => b.length), [50])
    }))

  it.effect("coalesce delivers the bytes received before a failure, then fails", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const result = yield* Stream.fromIterable(pieces(3, 100)).pipe(
        Stream.concat(Stream.fail("cut" as const)),
        coalesce(1_000_000),
        Stream.runForEach((b) => Effect.sync(() => seen.push(b.length))),
        Effect.either
      )
      assert.deepStrictEqual(seen, [300])
      assert.deepStrictEqual(result, Either.left("cut"))
    }))

  it.live("failWhenIdle fails a stream that stops producing, and lets a steady one finish", () =>
    Effect.gen(function*() {
      const stalled = Stream.concat(Stream.make(new Uint8Array(1)), Stream.fromEffect(Effect.never))
      const idle = yield* Effect.either(Stream.runDrain(failWhenIdle("100 millis", () => "idle" as const)(stalled)))
      assert.deepStrictEqual(idle, Either.left("idle"))
      const steady = Stream.fromIterable(pieces(5, 1)).pipe(Stream.tap(() => Effect.sleep("30 millis")))
      const count = yield* Stream.runCount(failWhenIdle("100 millis", () => "idle" as const)(steady))
      assert.strictEqual(count, 5)
    }))

  it.live("failWhenIdle with an abort: the watchdog stops the source, the stream fails as idle", () =>
    Effect.gen(function*() {
      // a source whose pending read fails once it is aborted, as a destroyed socket does
      const gate = yield* Deferred.make<never, "aborted">()
      const stalled = Stream.concat(Stream.make(new Uint8Array(1)), Stream.fromEffect(Deferred.await(gate)))
      let aborts = 0
      const abort = () => {
        aborts++
        Deferred.unsafeDone(gate, Exit.fail("aborted" as const))
        return true
      }
      const idle = yield* Effect.either(
        Stream.runDrain(failWhenIdle("100 millis", () => "idle" as const, abort)(stalled))
      )
      assert.deepStrictEqual(idle, Either.left("idle"))
      assert.strictEqual(aborts, 1)
      // a steady source is never aborted, and its own failures pass through
      const steady = Stream.fromIterable(pieces(5, 1)).pipe(Stream.tap(() => Effect.sleep("30 millis")))
      const count = yield* Stream.runCount(failWhenIdle("100 millis", () => "idle" as const, abort)(steady))
      assert.strictEqual(count, 5)
      const failing = Stream.concat(steady, Stream.fail("cut" as const))
      const cut = yield* Effect.either(
        Stream.runDrain(failWhenIdle("100 millis", () => "idle" as const, abort)(failing))
      )
      assert.deepStrictEqual(cut, Either.left("cut"))
      assert.strictEqual(aborts, 1)
    }))
})
