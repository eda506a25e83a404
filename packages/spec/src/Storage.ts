/**
 * The content-store interfaces every ocidist store implements, and the copy engine of the `ocidist` facade
 * drives: a registry repository (`@ocidist/distribution/Repository`), an OCI layout directory, an
 * `oci-archive` or `docker-archive` (`@ocidist/layout`), the in-memory `MemoryStore`, or a store of your own.
 * They follow oras-go's `content.Storage` and `oras.Target`: content is addressed by descriptor, a store
 * resolves references to descriptors, and optional capabilities (tag listing, referrers, mounts) are
 * optional properties.
 *
 * ```text
 *   ReadOnlyStorage<E>                         Storage<E>  (extends ReadOnlyStorage<E>)
 *   ├─ resolve(reference)      → Descriptor    ├─ pushBlob(expected, content)
 *   ├─ fetchManifest(desc)     → Manifest      ├─ pushManifest(manifest, { tags, root })
 *   ├─ fetchBlob(desc, offset) → Stream        ├─ tag(desc, tag)
 *   ├─ pumpBlob?(desc, sink)   → void          ├─ mount?(desc, from)          (capability)
 *   ├─ exists(desc)            → boolean       └─ accepts?(manifest)          (capability)
 *   │  (pumpBlob: a capability, fetchBlob as one tight loop)
 *   ├─ fetchReference?(ref)    → Manifest      (capability: resolve + fetch in one request)
 *   ├─ tags?                   → string[]      (capability)
 *   └─ referrers?(subject)     → Descriptor[]  (capability)
 * ```
 *
 * Contracts, which the copy engine relies on and stores may rely on in turn:
 *
 * - `fetchManifest` returns bytes whose size and digest match the descriptor (checked by the store), at
 *   most 4 MiB.
 * - `fetchBlob` streams bytes as stored. When `verifiesBlobs` is true the stream itself fails (after its last
 *   byte) unless the bytes match the descriptor, as registry downloads do; otherwise the consumer verifies.
 * - `pushBlob` makes the blob visible only once `content` has completed and its bytes match `expected`
 *   (size and digest): a failure or an interruption never leaves content under that digest. A store may
 *   resume: it asks `content.open(offset)` for the bytes from the length of what it already holds.
 * - `pumpBlob` and `BlobContent.pump` are the byte path's fast lane: the same bytes, with the same
 *   verification, as `fetchBlob` and `open`, handed to a {@link ChunkSink} from one loop per blob instead of
 *   an effect per buffer. Consumers use {@link pump} and {@link pumpBlob}, which fall back to the streams.
 * - `pushManifest` is called after every child of the manifest is stored.
 * - Each store fails with its own typed errors `E`; nothing is thrown.
 *
 * @since 0.2.0
 */
import * as Digest from "@ocidist/reference/Digest"
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Descriptor } from "./Descriptor.js"
import type * as Manifest from "./Manifest.js"
import { ContentTooLarge, SizeMismatch } from "./SpecError.js"

/**
 * A repository of a registry: where blobs can be mounted from.
 *
 * @since 0.2.0
 * @category models
 */
export interface RepositoryLocation {
  readonly registry: string
  readonly repository: string
}

/**
 * @since 0.2.0
 * @category models
 */
export interface FetchOptions {
  /** Start at this byte. */
  readonly offset?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ReferrersOptions {
  /** Only referrers with this `artifactType`. */
  readonly artifactType?: string | undefined
}

/**
 * The bytes of a blob to push. `open(offset)` gives the bytes from `offset` on: a store resuming an
 * interrupted write asks for the rest only. `verified` says that `open(0)` itself fails after its last byte
 * unless the bytes match the descriptor being pushed (a verifying download), so a store need not hash them a
 * second time; it must still make the blob visible only once the stream has completed.
 *
 * @since 0.2.0
 * @category models
 */
export interface BlobContent<E> {
  readonly open: (offset: number) => Stream.Stream<Uint8Array, E>
  readonly verified: boolean
  /** Optional fast lane: `open(offset)`'s bytes handed to `sink` (see {@link pump}). */
  readonly pump?: ((offset: number, sink: ChunkSink) => Effect.Effect<void, E>) | undefined
}

/**
 * Where a blob's bytes go, one buffer per call and in order, from a source's own loop. The buffer belongs to
 * the sink from then on (a source never reuses it). The sink answers `true` to go on, `false` to stop the
 * source early (the sink keeps its reason; the source then succeeds without further checks), or a promise of
 * either to make the source wait before its next buffer (backpressure). The promise must not reject.
 *
 * @since 0.3.0
 * @category models
 */
export type ChunkSink = (chunk: Uint8Array) => boolean | PromiseLike<boolean>

/**
 * @since 0.2.0
 * @category models
 */
export interface PushManifestOptions {
  /** Tags to point at the manifest. */
  readonly tags?: ReadonlyArray<string> | undefined
  /**
   * An entry point (what a copy was asked for, or a referrer) rather than a child of an index: stores that
   * list their contents (an OCI layout's `index.json`) list it even without tags.
   */
  readonly root?: boolean | undefined
}

/**
 * A store content can be read from.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadOnlyStorage<E> {
  /** The store for people: `docker.io/library/alpine:3.20`, `oci:./alpine`. Used in messages and results. */
  readonly name: string
  /**
   * The descriptor of the manifest a reference names: a tag, a digest, or `""` for the store's own default
   * (the reference a registry store was made for; a layout's only image).
   */
  readonly resolve: (reference: string) => Effect.Effect<Descriptor, E>
  /** A manifest, its size and digest checked against the descriptor, decoded. */
  readonly fetchManifest: (descriptor: Descriptor) => Effect.Effect<Manifest.Manifest, E>
  /** A blob's bytes (from `offset`); see `verifiesBlobs`. */
  readonly fetchBlob: (descriptor: Descriptor, options?: FetchOptions) => Stream.Stream<Uint8Array, E>
  /**
   * Capability: `fetchBlob` as one effect that hands each buffer to `sink` (see {@link pumpBlob}), with the
   * same verification: when `verifiesBlobs` is true it fails after the last byte unless the bytes match.
   */
  readonly pumpBlob?:
    | ((descriptor: Descriptor, sink: ChunkSink, options?: FetchOptions) => Effect.Effect<void, E>)
    | undefined
  /** Whether the store has the content a descriptor names (a manifest or a blob, by media type). */
  readonly exists: (descriptor: Descriptor) => Effect.Effect<boolean, E>
  /** Whether `fetchBlob(d)` verifies its bytes against `d` itself. */
  readonly verifiesBlobs: boolean
  /** Capability: `resolve` and `fetchManifest` in one request (a registry `GET` by tag). */
  readonly fetchReference?: ((reference: string) => Effect.Effect<Manifest.Manifest, E>) | undefined
  /** Capability: every tag of the store. */
  readonly tags?: Effect.Effect<ReadonlyArray<string>, E> | undefined
  /** Capability: the manifests whose `subject` is `subject` (OCI 1.1 referrers). */
  readonly referrers?:
    | ((subject: Descriptor, options?: ReferrersOptions) => Effect.Effect<ReadonlyArray<Descriptor>, E>)
    | undefined
  /** Capability: the registry repository this store is, for cross-repository mounts. */
  readonly location?: RepositoryLocation | undefined
}

/**
 * A store content can be read from and written to.
 *
 * @since 0.2.0
 * @category models
 */
export interface Storage<E> extends ReadOnlyStorage<E> {
  /** Stores a blob (see the contracts in the module documentation). Skips nothing: call `exists` first. */
  readonly pushBlob: <E2>(expected: Descriptor, content: BlobContent<E2>) => Effect.Effect<void, E | E2>
  /** Stores a manifest whose children are stored, and points `tags` at it. */
  readonly pushManifest: (manifest: Manifest.Manifest, options?: PushManifestOptions) => Effect.Effect<void, E>
  /** Points a tag at a stored manifest. */
  readonly tag: (descriptor: Descriptor, tag: string) => Effect.Effect<void, E>
  /**
   * Capability: makes a blob of another repository of the same registry available here without moving its
   * bytes. `false` when the registry declined; the caller then pushes it.
   */
  readonly mount?: ((descriptor: Descriptor, from: RepositoryLocation) => Effect.Effect<boolean, E>) | undefined
  /**
   * Capability: fails when the store cannot hold a root manifest (what a copy was asked for) at all, e.g. an
   * artifact for a `docker-archive`, which holds images only. The copy engine asks it for every root before
   * it writes anything; a store without it accepts every manifest.
   *
   * @since 0.5.0
   */
  readonly accepts?: ((manifest: Manifest.Manifest) => Effect.Effect<void, E>) | undefined
}

/**
 * Drops the first `count` bytes of a stream, at chunk level.
 *
 * @since 0.2.0
 * @category combinators
 */
export const dropBytes = (count: number) => <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  count <= 0 ? stream : Stream.suspend(() => {
    let left = count
    return Stream.filterMap(stream, (chunk) => {
      if (left === 0) return Option.some(chunk)
      if (chunk.length <= left) {
        left -= chunk.length
        return Option.none()
      }
      const rest = chunk.subarray(left)
      left = 0
      return Option.some(rest)
    })
  })

/**
 * Private: the failure that stops a stream when its sink answered `false`. Recognised by its tag, not by
 * identity: under a tracing span Effect hands errors on as copies carrying the span.
 */
const Stop = { _tag: "@ocidist/spec/ChunkSinkStop" } as const
const isStop = (u: unknown): u is typeof Stop =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === Stop._tag

/**
 * Runs a stream into a {@link ChunkSink}: one effect per chunk of buffers (not per buffer), waiting only
 * when the sink returns a promise. Stops the stream when the sink answers `false`.
 *
 * @since 0.3.0
 * @category combinators
 */
export const pumpStream = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  sink: ChunkSink
): Effect.Effect<void, E, R> => {
  const feed = (items: ReadonlyArray<Uint8Array>, from: number): Effect.Effect<void, typeof Stop> => {
    for (let i = from; i < items.length; i++) {
      const answer = sink(items[i]!)
      if (answer === true) continue
      if (answer === false) return Effect.fail(Stop)
      return Effect.flatMap(
        Effect.promise(() => Promise.resolve(answer)),
        (go) => go ? feed(items, i + 1) : Effect.fail(Stop)
      )
    }
    return Effect.void
  }
  return Stream.runForEachChunk(stream, (chunk) => feed(Chunk.toReadonlyArray(chunk), 0)).pipe(
    Effect.catchIf(isStop, () => Effect.void)
  ) as Effect.Effect<void, E, R>
}

/**
 * The bytes of `content` from `offset` into `sink`: through its fast lane (`content.pump`) when it has one,
 * else by running `content.open(offset)`.
 *
 * @since 0.3.0
 * @category combinators
 */
export const pump = <E>(content: BlobContent<E>, offset: number, sink: ChunkSink): Effect.Effect<void, E> =>
  content.pump !== undefined ? content.pump(offset, sink) : pumpStream(content.open(offset), sink)

/**
 * A blob of a store into `sink`: through the store's fast lane (`pumpBlob`) when it has one, else by running
 * `fetchBlob`. Verification is the store's, as for `fetchBlob` (see `verifiesBlobs`).
 *
 * @since 0.3.0
 * @category combinators
 */
export const pumpBlob = <E>(
  store: ReadOnlyStorage<E>,
  descriptor: Descriptor,
  sink: ChunkSink,
  options?: FetchOptions
): Effect.Effect<void, E> =>
  store.pumpBlob !== undefined
    ? store.pumpBlob(descriptor, sink, options)
    : pumpStream(store.fetchBlob(descriptor, options), sink)

/**
 * Content from a stream that can be run again. A resume (`open(offset)` with `offset > 0`) runs it from the
 * start and drops what the store has.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromStream = <E>(stream: Stream.Stream<Uint8Array, E>): BlobContent<E> => ({
  open: (offset) => dropBytes(offset)(stream),
  verified: false
})

/**
 * Content held in memory.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromBytes = (bytes: Uint8Array): BlobContent<never> => ({
  open: (offset) => Stream.make(bytes.subarray(Math.min(Math.max(offset, 0), bytes.length))),
  verified: false
})

/**
 * The manifest a reference names: in one request where the store can (`fetchReference`), else `resolve`
 * then `fetchManifest`.
 *
 * @since 0.2.0
 * @category combinators
 */
export const fetchReference = <E>(
  store: ReadOnlyStorage<E>,
  reference: string
): Effect.Effect<Manifest.Manifest, E> =>
  store.fetchReference !== undefined
    ? store.fetchReference(reference)
    : Effect.flatMap(store.resolve(reference), store.fetchManifest)

/**
 * Reads a small blob (a config, a JSON file) into memory, refusing one larger than `maxBytes` before reading
 * it, and checking its size and digest against the descriptor.
 *
 * @since 0.2.0
 * @category combinators
 */
export const readBlob = <E>(
  store: ReadOnlyStorage<E>,
  descriptor: Descriptor,
  maxBytes: number
): Effect.Effect<Uint8Array, E | SizeMismatch | ContentTooLarge | DigestMismatch> =>
  Effect.gen(function*() {
    const subject = `blob ${descriptor.digest} in ${store.name}`
    if (descriptor.size > maxBytes) {
      return yield* new ContentTooLarge({ subject, limit: maxBytes, size: descriptor.size })
    }
    const bytes = new Uint8Array(descriptor.size)
    let filled = 0
    yield* Stream.runForEach(store.fetchBlob(descriptor), (chunk) => {
      if (filled + chunk.length > descriptor.size) {
        return Effect.fail(new SizeMismatch({ subject, expected: descriptor.size }))
      }
      bytes.set(chunk, filled)
      filled += chunk.length
      return Effect.void
    })
    if (filled !== descriptor.size) {
      return yield* new SizeMismatch({ subject, expected: descriptor.size, actual: filled })
    }
    yield* Digest.verifyBytes(descriptor.digest, bytes, subject)
    return bytes
  })
