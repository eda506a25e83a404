/**
 * The read side shared by layout directories and archives: index lookups, bounded manifest reads.
 *
 * @since 0.1.0
 */
import { Digest, type ReferenceError } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import type * as SpecError from "@ocidist/spec/SpecError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Reader } from "../Layout.js"
import { LayoutError } from "../LayoutError.js"

/** @internal */
export const REF_NAME = "org.opencontainers.image.ref.name"

/** @internal */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** @internal */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024

/**
 * Validates a digest before it is used as a path.
 *
 * @internal
 */
export const checkDigest = (path: string, digest: string): Effect.Effect<Digest.Digest, LayoutError> => {
  const parsed = Digest.parse(digest)
  return Either.isRight(parsed) ? Effect.succeed(parsed.right) : Effect.fail(
    new LayoutError({ reason: "InvalidDigest", path, detail: parsed.left.message, digest: digest.slice(0, 200) })
  )
}

/** @internal */
export const refName = (descriptor: Descriptor.Descriptor): string | undefined => descriptor.annotations?.[REF_NAME]

/**
 * Whether a string may be used as `org.opencontainers.image.ref.name`: the OCI grammar
 * (`component ("/" component)*`) widened to Docker tags (which allow `_`).
 *
 * @internal
 */
export const isValidTag = (tag: string): boolean =>
  tag.length > 0 && tag.length <= 255 && /^[A-Za-z0-9_](?:[A-Za-z0-9._\-:@+/]*[A-Za-z0-9_])?$/.test(tag) &&
  !tag.includes("//") && !tag.includes("..") && !tag.includes("/.") && !tag.includes("./")

/** @internal */
export interface Source {
  readonly path: string
  readonly entries: Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutError>
  readonly blobSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  readonly readBlob: (digest: Digest.Digest, offset: number) => Stream.Stream<Uint8Array, LayoutError>
}

/**
 * Reads a blob into memory, bounded, checking size and digest.
 *
 * @internal
 */
export const readBounded = (
  reader: Pick<Reader, "path" | "readBlob">,
  descriptor: Descriptor.Descriptor,
  max: number
): Effect.Effect<Uint8Array, LayoutError | ReferenceError.DigestMismatch> =>
  Effect.gen(function*() {
    const digest = yield* checkDigest(reader.path, descriptor.digest)
    if (descriptor.size > max) {
      return yield* new LayoutError({
        reason: "TooLarge",
        path: reader.path,
        digest,
        detail: `${descriptor.size} bytes, the limit is ${max}`
      })
    }
    const sizeMismatch = (actual: string) =>
      new LayoutError({
        reason: "SizeMismatch",
        path: reader.path,
        digest,
        detail: `descriptor says ${descriptor.size} bytes, found ${actual}`
      })
    let total = 0
    const chunks = yield* reader.readBlob(digest).pipe(
      Stream.tap((chunk) => {
        total += chunk.length
        return total > descriptor.size ? Effect.fail(sizeMismatch("more")) : Effect.void
      }),
      Stream.runCollect
    )
    if (total !== descriptor.size) return yield* sizeMismatch(String(total))
    const bytes = new Uint8Array(total)
    let at = 0
    for (const chunk of Chunk.toReadonlyArray(chunks)) {
      bytes.set(chunk, at)
      at += chunk.length
    }
    yield* Digest.verifyBytes(digest, bytes, digest)
    return bytes
  })

/**
 * Builds the read side from a source of index entries and blobs.
 *
 * @internal
 */
export const makeReader = (source: Source): Reader => {
  const { path } = source
  const readBlob = (digest: Digest.Digest, options?: { readonly offset?: number }) =>
    Stream.unwrap(Effect.map(checkDigest(path, digest), (d) => source.readBlob(d, options?.offset ?? 0)))
  const blobSize = (digest: Digest.Digest) => Effect.flatMap(checkDigest(path, digest), source.blobSize)
  const hasBlob = (digest: Digest.Digest) => Effect.map(blobSize(digest), Option.isSome)

  const readManifest = (descriptor: Descriptor.Descriptor) =>
    Effect.gen(function*() {
      const bytes = yield* readBounded({ path, readBlob }, descriptor, MAX_MANIFEST_BYTES)
      return yield* Manifest.decode(bytes, {
        contentType: descriptor.mediaType,
        algorithm: Digest.algorithm(descriptor.digest)
      })
    })

  const resolve = (reference: string) =>
    Effect.gen(function*() {
      const entries = yield* source.entries
      const notFound = (detail: string) => new LayoutError({ reason: "NotFound", path, detail })
      const unique = (matches: ReadonlyArray<Descriptor.Descriptor>, what: string) => {
        const digests = new Set(matches.map((d) => d.digest))
        if (matches.length === 0) return Effect.fail(notFound(what))
        if (digests.size > 1) {
          return Effect.fail(
            new LayoutError({
              reason: "Ambiguous",
              path,
              detail: `${what} matches ${digests.size} different manifests`
            })
          )
        }
        return Effect.succeed(matches[0]!)
      }
      if (reference === "") return yield* unique(entries, "no tag given and the index has no entry")
      if (/^@\d+$/.test(reference)) {
        const n = Number(reference.slice(1))
        const entry = entries[n]
        return entry === undefined ? yield* notFound(`no index entry number ${n}`) : entry
      }
      if (Digest.isDigest(reference)) {
        const inIndex = entries.find((d) => d.digest === reference)
        if (inIndex !== undefined) return inIndex
        const size = yield* blobSize(reference)
        if (Option.isNone(size) || size.value > MAX_MANIFEST_BYTES) {
          return yield* notFound(`no manifest ${reference}`)
        }
        // a manifest blob that is not in the index (a child of an index): read it to learn its media type
        const manifest = yield* readManifest({ mediaType: MediaType.OCI_MANIFEST, digest: reference, size: size.value })
          .pipe(Effect.catchAll(() => Effect.fail(notFound(`${reference} is not a manifest`))))
        return Manifest.descriptorOf(manifest)
      }
      return yield* unique(entries.filter((d) => refName(d) === reference), `no entry tagged "${reference}"`)
    })

  return {
    path,
    entries: source.entries,
    resolve,
    hasBlob,
    blobSize,
    readBlob,
    readManifest
  }
}

/**
 * What is reachable from some roots: manifests (decoded, children before parents) and other blobs.
 * A missing or invalid manifest fails; other blobs are not checked.
 *
 * @internal
 */
export const collect = (
  reader: Reader,
  roots: ReadonlyArray<Descriptor.Descriptor>
): Effect.Effect<
  {
    readonly manifests: ReadonlyArray<
      { readonly descriptor: Descriptor.Descriptor; readonly manifest: Manifest.Manifest }
    >
    readonly blobs: ReadonlyArray<Descriptor.Descriptor>
  },
  LayoutError | ReferenceError.DigestMismatch | SpecError.InvalidManifest
> =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    const manifests: Array<{ descriptor: Descriptor.Descriptor; manifest: Manifest.Manifest }> = []
    const blobs: Array<Descriptor.Descriptor> = []
    const visit = (
      descriptor: Descriptor.Descriptor
    ): Effect.Effect<void, LayoutError | ReferenceError.DigestMismatch | SpecError.InvalidManifest> =>
      Effect.gen(function*() {
        if (seen.has(descriptor.digest)) return
        seen.add(descriptor.digest)
        if (!MediaType.isManifest(descriptor.mediaType)) {
          blobs.push(descriptor)
          return
        }
        const manifest = yield* reader.readManifest(descriptor)
        for (const child of Manifest.children(manifest)) yield* visit(child)
        manifests.push({ descriptor, manifest })
      })
    for (const root of roots) yield* visit(root)
    return { manifests, blobs }
  })
