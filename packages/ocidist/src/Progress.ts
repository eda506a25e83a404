/**
 * Progress of pull / push / copy as typed events. The library prints nothing: it hands every event to
 * the {@link Reporter} in context (a no-op by default). Provide one with {@link withReporter}, or turn an
 * operation into a `Stream` of events with {@link stream}.
 *
 * Events of one blob come in order: `BlobStarted`, any number of `BlobProgress`, `BlobDone` — or a single
 * `BlobSkipped` (the destination has it) or `BlobMounted` (cross-repository mount). Blobs run
 * concurrently, so events of different blobs interleave. `Planned` comes first with the totals; a
 * `ManifestDone` / `ManifestSkipped` follows for every manifest, children before parents.
 *
 * @since 0.1.0
 */
import type * as Digest from "@ocidist/reference/Digest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/**
 * The operation has been planned: what it will write and how many bytes it will move at most.
 *
 * @since 0.1.0
 * @category models
 */
export interface Planned {
  readonly _tag: "Planned"
  readonly manifests: number
  readonly blobs: number
  /** Sum of the sizes of the blobs to transfer (not counting skipped and mounted ones). */
  readonly bytes: number
  readonly skipped: number
  readonly mounts: number
}

/**
 * A blob transfer begins. `offset` > 0 when a partial download is resumed.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobStarted {
  readonly _tag: "BlobStarted"
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly offset: number
}

/**
 * Bytes of a blob have been moved. `transferred` counts from 0 (includes the resumed `offset`).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobProgress {
  readonly _tag: "BlobProgress"
  readonly digest: Digest.Digest
  readonly size: number
  readonly transferred: number
}

/**
 * The destination already has a blob; nothing is transferred.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobSkipped {
  readonly _tag: "BlobSkipped"
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
}

/**
 * A blob was mounted from another repository of the same registry; nothing is transferred.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobMounted {
  readonly _tag: "BlobMounted"
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly from: string
}

/**
 * A blob is stored (and verified) at the destination.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobDone {
  readonly _tag: "BlobDone"
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  /** Bytes moved by this operation (less than `size` after a resume). */
  readonly transferred: number
}

/**
 * A manifest (or index) is stored at the destination, under `tags` if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestDone {
  readonly _tag: "ManifestDone"
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly tags: ReadonlyArray<string>
  /**
   * When the manifest was rewritten (format conversion): the digest it had at the source (`digest` is the
   * one written).
   *
   * @since 0.5.0
   */
  readonly sourceDigest?: Digest.Digest
  /**
   * When the manifest was rewritten: the media type it had at the source.
   *
   * @since 0.5.0
   */
  readonly sourceMediaType?: string
}

/**
 * The destination already has a manifest (and, therefore, everything it points to).
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestSkipped {
  readonly _tag: "ManifestSkipped"
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
}

/**
 * @since 0.1.0
 * @category models
 */
export type Event =
  | Planned
  | BlobStarted
  | BlobProgress
  | BlobSkipped
  | BlobMounted
  | BlobDone
  | ManifestDone
  | ManifestSkipped

/**
 * Receives events. `emit` must not fail; it should be quick (it runs on the transfer path).
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly emit: (event: Event) => Effect.Effect<void>
}

/**
 * The reporter in context. Defaults to one that drops every event.
 *
 * @since 0.1.0
 * @category tags
 */
export class Reporter extends Context.Reference<Reporter>()("ocidist/Progress/Reporter", {
  defaultValue: (): Service => ({ emit: () => Effect.void })
}) {}

/**
 * Runs an effect with a reporter that calls `f` for every event.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withReporter =
  (f: (event: Event) => Effect.Effect<void> | void) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, Reporter, {
      emit: (event) =>
        Effect.suspend(() => {
          const out = f(event)
          return Effect.isEffect(out) ? out : Effect.void
        })
    })

/**
 * The end of {@link stream}: the operation's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface Completed<A> {
  readonly _tag: "Completed"
  readonly result: A
}

/**
 * Runs an operation and streams its progress events, then a final `Completed` element with its result.
 * The stream fails if the operation fails; interrupting the stream interrupts the operation. Events are
 * buffered without bound, so a slow consumer does not slow the transfer down.
 *
 * @since 0.1.0
 * @category combinators
 */
export const stream = <A, E, R>(self: Effect.Effect<A, E, R>): Stream.Stream<Event | Completed<A>, E, R> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const queue = yield* Effect.acquireRelease(Queue.unbounded<Event | Completed<A>>(), Queue.shutdown)
      const fiber = yield* self.pipe(
        withReporter((event) => Queue.offer(queue, event)),
        Effect.tap((result) => Queue.offer(queue, { _tag: "Completed", result })),
        Effect.forkScoped
      )
      // Events end with `Completed`; a failure of the operation fails the stream.
      return Stream.fromQueue(queue).pipe(
        Stream.takeUntil((e) => e._tag === "Completed"),
        Stream.merge(Stream.drain(Stream.fromEffect(Fiber.join(fiber))), { haltStrategy: "left" })
      )
    })
  )

/**
 * Totals of a sequence of events (what a progress bar needs).
 *
 * @since 0.1.0
 * @category models
 */
export interface Totals {
  readonly bytes: number
  readonly transferred: number
  readonly blobsDone: number
  readonly blobsSkipped: number
  readonly blobsMounted: number
  readonly manifestsDone: number
}

/**
 * Folds events into running totals.
 *
 * @since 0.1.0
 * @category utils
 */
export const totals = (events: Iterable<Event>): Totals => {
  let bytes = 0
  let blobsDone = 0
  let blobsSkipped = 0
  let blobsMounted = 0
  let manifestsDone = 0
  const perBlob = new Map<string, number>()
  for (const e of events) {
    switch (e._tag) {
      case "Planned":
        bytes = e.bytes
        break
      case "BlobStarted":
        perBlob.set(e.digest, e.offset)
        break
      case "BlobProgress":
        perBlob.set(e.digest, e.transferred)
        break
      case "BlobDone":
        perBlob.set(e.digest, e.size)
        blobsDone++
        break
      case "BlobSkipped":
        blobsSkipped++
        break
      case "BlobMounted":
        blobsMounted++
        break
      case "ManifestDone":
      case "ManifestSkipped":
        manifestsDone++
        break
    }
  }
  let transferred = 0
  for (const n of perBlob.values()) transferred += n
  return { bytes, transferred, blobsDone, blobsSkipped, blobsMounted, manifestsDone }
}
