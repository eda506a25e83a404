/**
 * A content store in memory: a `Storage` for tests, for small artifacts assembled before a push, and as the
 * simplest example of the interface. Content is verified when pushed (size and digest) and kept until the
 * store is dropped; blobs are held whole, so keep it to small content.
 *
 * ```ts
 * import { MemoryStore } from "@ocidist/spec"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* MemoryStore.make()
 *   yield* Copy.copy(registry, store, { reference: "" })   // from the `ocidist` facade
 *   return yield* store.tags
 * })
 * ```
 *
 * @since 0.2.0
 */
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import { DigestMismatch } from "@ocidist/reference/ReferenceError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { Descriptor } from "./Descriptor.js"
import * as Manifest from "./Manifest.js"
import * as MediaType from "./MediaType.js"
import { ContentNotFound, type InvalidManifest, SizeMismatch } from "./SpecError.js"
import type * as Storage from "./Storage.js"

/**
 * What the in-memory store fails with.
 *
 * @since 0.2.0
 * @category errors
 */
export type MemoryStoreError = ContentNotFound | InvalidManifest | SizeMismatch | DigestMismatch

/**
 * @since 0.2.0
 * @category models
 */
export interface MemoryStore extends Storage.Storage<MemoryStoreError> {
  readonly tags: Effect.Effect<ReadonlyArray<string>>
  readonly referrers: (
    subject: Descriptor,
    options?: Storage.ReferrersOptions
  ) => Effect.Effect<ReadonlyArray<Descriptor>>
  /** Tags and the descriptors they point at. */
  readonly tagged: Effect.Effect<ReadonlyMap<string, Descriptor>>
  /** Manifests pushed as roots (see `PushManifestOptions.root`), in push order. */
  readonly roots: Effect.Effect<ReadonlyArray<Descriptor>>
  /** Digests of everything stored. */
  readonly digests: Effect.Effect<ReadonlyArray<Digest.Digest>>
  /** The size of stored content (a blob or a manifest's bytes), if stored. */
  readonly sizeOf: (digest: Digest.Digest) => Effect.Effect<number | undefined>
  /** Removes a tag; true when there was one. */
  readonly untag: (tag: string) => Effect.Effect<boolean>
  /**
   * Removes content by digest: a blob, or a manifest with the tags and root entry that point at it. True
   * when something was removed.
   */
  readonly remove: (digest: Digest.Digest) => Effect.Effect<boolean>
}

/**
 * An empty store.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options?: { readonly name?: string | undefined }): Effect.Effect<MemoryStore> =>
  Effect.sync(() => {
    const name = options?.name ?? "memory"
    const content = new Map<Digest.Digest, Uint8Array>()
    const manifests = new Map<string, Manifest.Manifest>()
    const tagged = new Map<string, Descriptor>()
    const roots: Array<Descriptor> = []
    const notFound = (what: string) => new ContentNotFound({ store: name, what })

    const resolve = (reference: string): Effect.Effect<Descriptor, MemoryStoreError> =>
      Effect.suspend(() => {
        if (reference === "") {
          const candidates = [...new Map([...roots, ...tagged.values()].map((d) => [d.digest, d])).values()]
          return candidates.length === 1
            ? Effect.succeed(candidates[0]!)
            : Effect.fail(notFound(candidates.length === 0 ? "an image" : "a single image (give a tag)"))
        }
        const byTag = tagged.get(reference)
        if (byTag !== undefined) return Effect.succeed(byTag)
        const manifest = Digest.isDigest(reference) ? manifests.get(reference) : undefined
        return manifest !== undefined
          ? Effect.succeed(Manifest.descriptorOf(manifest))
          : Effect.fail(notFound(`manifest ${reference}`))
      })

    const stored = (descriptor: Descriptor): Effect.Effect<Uint8Array, MemoryStoreError> =>
      Effect.suspend(() => {
        const bytes = content.get(descriptor.digest)
        return bytes === undefined ? Effect.fail(notFound(`${descriptor.digest}`)) : Effect.succeed(bytes)
      })

    const fetchManifest = (descriptor: Descriptor): Effect.Effect<Manifest.Manifest, MemoryStoreError> =>
      Effect.flatMap(
        stored(descriptor),
        (bytes): Effect.Effect<Manifest.Manifest, MemoryStoreError> =>
          bytes.length !== descriptor.size
            ? Effect.fail(
              new SizeMismatch({
                subject: `manifest ${descriptor.digest}`,
                expected: descriptor.size,
                actual: bytes.length
              })
            )
            : Either.match(
              Manifest.decode(bytes, {
                contentType: descriptor.mediaType,
                algorithm: Digest.algorithm(descriptor.digest)
              }),
              { onLeft: Effect.fail, onRight: Effect.succeed }
            )
      )

    const put = (digest: Digest.Digest, bytes: Uint8Array) =>
      Effect.sync(() => {
        content.set(digest, bytes)
      })

    const pushBlob = <E2>(
      expected: Descriptor,
      blob: Storage.BlobContent<E2>
    ): Effect.Effect<void, MemoryStoreError | E2> =>
      Effect.gen(function*() {
        const subject = `blob ${expected.digest}`
        const hasher = yield* Hash.hasher(Digest.algorithm(expected.digest))
        const bytes = new Uint8Array(expected.size)
        let filled = 0
        yield* Stream.runForEach(blob.open(0), (chunk) => {
          if (filled + chunk.length > expected.size) {
            return Effect.fail(new SizeMismatch({ subject, expected: expected.size }))
          }
          bytes.set(chunk, filled)
          filled += chunk.length
          if (!blob.verified) hasher.update(chunk)
          return Effect.void
        })
        if (filled !== expected.size) {
          return yield* new SizeMismatch({ subject, expected: expected.size, actual: filled })
        }
        if (!blob.verified) {
          const actual = hasher.digest()
          if (actual !== expected.digest) {
            return yield* new DigestMismatch({ expected: expected.digest, actual, subject })
          }
        }
        yield* put(expected.digest, bytes)
      })

    const tag = (descriptor: Descriptor, name: string) =>
      Effect.suspend(() =>
        manifests.has(descriptor.digest)
          ? Effect.sync(() => {
            tagged.set(name, descriptor)
          })
          : Effect.fail(notFound(`manifest ${descriptor.digest}`))
      )

    const pushManifest = (
      manifest: Manifest.Manifest,
      pushOptions?: Storage.PushManifestOptions
    ): Effect.Effect<void, MemoryStoreError> =>
      Effect.gen(function*() {
        yield* Digest.verifyBytes(manifest.digest, manifest.bytes, `manifest ${manifest.digest}`)
        yield* put(manifest.digest, manifest.bytes)
        manifests.set(manifest.digest, manifest)
        const descriptor = Manifest.descriptorOf(manifest)
        if (pushOptions?.root === true && !roots.some((d) => d.digest === descriptor.digest)) roots.push(descriptor)
        for (const t of pushOptions?.tags ?? []) yield* tag(descriptor, t)
      })

    const referrers = (subject: Descriptor, referrerOptions?: Storage.ReferrersOptions) =>
      Effect.sync(() =>
        [...manifests.values()]
          .filter((m) => Manifest.subject(m)?.digest === subject.digest)
          .map((m) => Manifest.descriptorOf(m))
          .filter((d) => referrerOptions?.artifactType === undefined || d.artifactType === referrerOptions.artifactType)
      )

    const store: MemoryStore = {
      name,
      resolve,
      fetchManifest,
      fetchBlob: (descriptor, fetchOptions) =>
        Stream.unwrap(Effect.map(
          stored(descriptor),
          (bytes) => Stream.make(bytes.subarray(Math.min(fetchOptions?.offset ?? 0, bytes.length)))
        )),
      exists: (descriptor) =>
        Effect.sync(() =>
          MediaType.isManifest(descriptor.mediaType) ? manifests.has(descriptor.digest) : content.has(descriptor.digest)
        ),
      verifiesBlobs: false,
      tags: Effect.sync(() => [...tagged.keys()].sort()),
      referrers,
      pushBlob,
      pushManifest,
      tag,
      tagged: Effect.sync(() => new Map(tagged)),
      roots: Effect.sync(() => [...roots]),
      digests: Effect.sync(() => [...content.keys()]),
      sizeOf: (digest) => Effect.sync(() => content.get(digest)?.length),
      untag: (t) => Effect.sync(() => tagged.delete(t)),
      remove: (digest) =>
        Effect.sync(() => {
          const had = content.delete(digest)
          if (manifests.delete(digest)) {
            for (const [t, d] of tagged) if (d.digest === digest) tagged.delete(t)
            const at = roots.findIndex((d) => d.digest === digest)
            if (at !== -1) roots.splice(at, 1)
            return true
          }
          return had
        })
    }
    return store
  })
