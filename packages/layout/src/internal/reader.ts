/**
 * The read side shared by layout directories and archives: the `ReadOnlyStorage` over a source of index
 * entries and blob files, index lookups, bounded manifest reads, tags and referrers.
 *
 * @since 0.1.0
 */
import * as Digest from "@ocidist/reference/Digest"
import { REF_NAME } from "@ocidist/spec/Annotation"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Reader } from "../Layout.js"
import {
  AmbiguousReference,
  ImageNotFound,
  InvalidDigest,
  InvalidTag,
  isLayoutError,
  type LayoutError,
  type LayoutFailure
} from "../LayoutError.js"

export { REF_NAME }

/**
 * Validates a digest before it is used as a path.
 *
 * @internal
 */
export const checkDigest = (path: string, digest: string): Effect.Effect<Digest.Digest, InvalidDigest> => {
  const parsed = Digest.parse(digest)
  return Either.isRight(parsed)
    ? Effect.succeed(parsed.right)
    : Effect.fail(
      new InvalidDigest({ path, digest: digest.slice(0, 200), detail: parsed.left.message, cause: parsed.left })
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
export const checkTag = (path: string, tag: string): Effect.Effect<void, InvalidTag> =>
  isValidTag(tag) ? Effect.void : Effect.fail(
    new InvalidTag({
      path,
      tag: tag.slice(0, 300),
      detail: "not a valid org.opencontainers.image.ref.name"
    })
  )

/** @internal */
export interface Source {
  /** `oci:<path>`, `oci-archive:<path>`, `docker-archive:<path>` */
  readonly name: string
  readonly path: string
  readonly entries: Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, LayoutFailure>
  readonly blobSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  readonly readBlob: (digest: Digest.Digest, offset: number) => Stream.Stream<Uint8Array, LayoutError>
}

/**
 * Builds the read side from a source of index entries and blobs.
 *
 * @internal
 */
export const makeReader = (source: Source): Reader => {
  const { path } = source
  const fetchBlob = (descriptor: Descriptor.Descriptor, options?: Storage.FetchOptions) =>
    Stream.unwrap(
      Effect.map(checkDigest(path, descriptor.digest), (d) => source.readBlob(d, options?.offset ?? 0))
    )
  const blobSize = (digest: Digest.Digest) => Effect.flatMap(checkDigest(path, digest), source.blobSize)
  const exists = (descriptor: Descriptor.Descriptor) =>
    Effect.map(blobSize(descriptor.digest), (size) => Option.isSome(size) && size.value === descriptor.size)

  const fetchManifest = (descriptor: Descriptor.Descriptor): Effect.Effect<Manifest.Manifest, LayoutFailure> =>
    Effect.flatMap(
      Storage.readBlob(reader, descriptor, Manifest.MAX_BYTES),
      // readBlob checked the bytes against the descriptor's digest
      (bytes) => Manifest.decode(bytes, { contentType: descriptor.mediaType, digest: descriptor.digest })
    )

  /** What to pick among ambiguous entries: their tags (the first 5), or their digests when they have no tag. */
  const choices = (matches: ReadonlyArray<Descriptor.Descriptor>): string => {
    const names: Array<string> = []
    for (const d of matches) {
      const name = refName(d)
      if (name !== undefined && !names.includes(name)) names.push(name)
    }
    const shown = (list: ReadonlyArray<string>) =>
      list.slice(0, 5).map((n) => n.slice(0, 100)).join(", ") + (list.length > 5 ? `, … (${list.length} in all)` : "")
    if (names.length > 1) return ` (tags: ${shown(names)}); pick one: ${source.name}:<tag>`
    const digests = [...new Set(matches.map((d) => d.digest))]
    return ` (${shown(digests)}); pick one: ${source.name}@<digest>`
  }

  const resolve = (reference: string) =>
    Effect.gen(function*() {
      const entries = yield* source.entries
      const notFound = (detail: string) => new ImageNotFound({ path, reference: reference.slice(0, 300), detail })
      const unique = (matches: ReadonlyArray<Descriptor.Descriptor>, none: string, what: string) => {
        const digests = new Set(matches.map((d) => d.digest))
        if (matches.length === 0) return Effect.fail(notFound(none))
        if (digests.size > 1) {
          return Effect.fail(
            new AmbiguousReference({
              path,
              reference: reference.slice(0, 300),
              detail: `${what} ${digests.size} different manifests${choices(matches)}`
            })
          )
        }
        return Effect.succeed(matches[0]!)
      }
      if (reference === "") {
        return yield* unique(
          entries,
          "no tag given and the index has no entry",
          "no tag given (give a tag, a digest or @N) and the index lists"
        )
      }
      if (/^@\d+$/.test(reference)) {
        const n = Number(reference.slice(1))
        const entry = entries[n]
        return entry === undefined ? yield* notFound(`no index entry number ${n}`) : entry
      }
      if (Digest.isDigest(reference)) {
        const inIndex = entries.find((d) => d.digest === reference)
        if (inIndex !== undefined) return inIndex
        const size = yield* blobSize(reference)
        if (Option.isNone(size) || size.value > Manifest.MAX_BYTES) {
          return yield* notFound(`no manifest ${reference}`)
        }
        // a manifest blob that is not in the index (a child of an index): read it to learn its media type
        const manifest = yield* fetchManifest({
          mediaType: MediaType.OCI_MANIFEST,
          digest: reference,
          size: size.value
        })
          .pipe(
            // content that is not a manifest is not found; a failing file system is an error
            Effect.catchIf(
              (e) => !isLayoutError(e) || e._tag === "BlobNotFound",
              () => Effect.fail(notFound(`${reference} is not a manifest`))
            )
          )
        return Manifest.descriptorOf(manifest)
      }
      return yield* unique(
        entries.filter((d) => refName(d) === reference),
        `no entry tagged "${reference.slice(0, 300)}"`,
        `the tag "${reference.slice(0, 300)}" points at`
      )
    })

  const tags = Effect.map(source.entries, (entries) => {
    const names: Array<string> = []
    for (const entry of entries) {
      const name = refName(entry)
      if (name !== undefined && !names.includes(name)) names.push(name)
    }
    return names
  })

  const referrers = (subject: Descriptor.Descriptor, options?: Storage.ReferrersOptions) =>
    Effect.gen(function*() {
      const entries = yield* source.entries
      const found: Array<Descriptor.Descriptor> = []
      const seen = new Set<string>()
      for (const entry of entries) {
        if (seen.has(entry.digest)) continue
        seen.add(entry.digest)
        const manifest = yield* fetchManifest(entry)
        if (Manifest.subject(manifest)?.digest !== subject.digest) continue
        // as the referrers API reports them: the manifest's artifact type and annotations
        const { annotations: _entryAnnotations, artifactType: entryArtifactType, ...rest } = entry
        const artifactType = entryArtifactType ?? Manifest.artifactTypeOf(manifest)
        const annotations = manifest.manifest.annotations
        if (options?.artifactType !== undefined && artifactType !== options.artifactType) continue
        found.push({
          ...rest,
          ...(artifactType === undefined ? {} : { artifactType }),
          ...(annotations === undefined ? {} : { annotations })
        })
      }
      return found
    })

  const reader: Reader = {
    name: source.name,
    path,
    entries: source.entries,
    resolve,
    fetchManifest,
    fetchBlob,
    exists,
    verifiesBlobs: false,
    blobSize,
    tags,
    referrers
  }
  return reader
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
  LayoutFailure
> =>
  Effect.gen(function*() {
    const seen = new Set<string>()
    const manifests: Array<{ descriptor: Descriptor.Descriptor; manifest: Manifest.Manifest }> = []
    const blobs: Array<Descriptor.Descriptor> = []
    const visit = (descriptor: Descriptor.Descriptor): Effect.Effect<void, LayoutFailure> =>
      Effect.gen(function*() {
        if (seen.has(descriptor.digest)) return
        seen.add(descriptor.digest)
        if (!MediaType.isManifest(descriptor.mediaType)) {
          blobs.push(descriptor)
          return
        }
        const manifest = yield* reader.fetchManifest(descriptor)
        for (const child of Manifest.children(manifest)) yield* visit(child)
        manifests.push({ descriptor, manifest })
      })
    for (const root of roots) yield* visit(root)
    return { manifests, blobs }
  })
