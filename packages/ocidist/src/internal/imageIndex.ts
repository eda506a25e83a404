/**
 * `Index.create`, `append`, `remove`, `annotate`: an image index built or edited where it is stored. Each
 * entry's platform is read from its image config; entries from elsewhere are copied (with everything below
 * them) into the destination by the copy engine, digests kept. The new index is pushed with the
 * destination's tag; an oci-archive is written again holding it.
 *
 * @internal
 */
import * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import type * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Copy from "../Copy.js"
import type * as Index from "../ImageIndex.js"
import * as Location from "../Location.js"
import { type OcidistError, PlatformNotFound, UnsupportedOperation } from "../OcidistError.js"
import type * as Result from "../Result.js"
import { environment, type Requirements, toLocation } from "./blob.js"
import { configPlatform } from "./platform.js"
import * as Stores from "./stores.js"

/** The entries and annotations of the index to write, from the current one (none for `create`). */
type Edit = (
  current: Manifest.ImageIndex | undefined,
  add: (
    inputs: ReadonlyArray<Index.LocationInput>
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OcidistError, Scope.Scope>
) => Effect.Effect<
  {
    readonly manifests: ReadonlyArray<Descriptor.Descriptor>
    readonly annotations?: Readonly<Record<string, string>> | undefined
  },
  OcidistError,
  Scope.Scope
>

const copyOptions = (reference: string): Copy.Options => ({
  reference,
  tags: [],
  // the entries keep their digests: nothing converted, nothing recompressed
  format: "keep",
  compress: "keep"
})

/** The destination store without root entries: children copied into a layout are not listed in index.json. */
const asChildren = (store: Storage.Storage<OcidistError>): Storage.Storage<OcidistError> => ({
  ...store,
  pushManifest: (manifest) => store.pushManifest(manifest)
})

/** A copy's result for completing an archive that holds the index alone. */
const resultOf = (name: string, m: Manifest.Manifest, tag: string | undefined): Result.CopyResult => ({
  source: name,
  destination: name,
  dryRun: false,
  digest: m.digest,
  mediaType: m.mediaType,
  size: m.bytes.length,
  images: [{
    source: name,
    destination: name,
    sourceDigest: m.digest,
    digest: m.digest,
    mediaType: m.mediaType,
    size: m.bytes.length,
    tags: tag === undefined ? [] : [tag],
    manifests: []
  }],
  blobs: [],
  stats: {
    manifests: 1,
    manifestsWritten: 1,
    tagsWritten: tag === undefined ? 0 : 1,
    blobs: 0,
    transferred: 0,
    skipped: 0,
    mounted: 0,
    bytes: 0,
    plannedBytes: 0,
    totalBytes: 0
  } as Result.CopyResult["stats"]
})

const write = (
  destination: Index.LocationInput,
  operation: string,
  existing: boolean,
  edit: Edit
): Effect.Effect<Index.Written, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const location = yield* toLocation(destination)
    const name = Location.format(location)
    if (location._tag === "DockerArchive") {
      return yield* new UnsupportedOperation({
        operation,
        location: name,
        detail: "a docker-archive holds images, not indexes: use a registry, an OCI layout or an oci-archive"
      })
    }
    let current: Manifest.Manifest | undefined
    let currentStore: Stores.Opened | undefined
    if (existing) {
      currentStore = yield* Stores.openSource(env, location)
      const m = yield* currentStore.store.resolve(currentStore.reference).pipe(
        Effect.flatMap(currentStore.store.fetchManifest)
      )
      if (m._tag !== "ImageIndex") {
        return yield* new UnsupportedOperation({
          operation,
          location: name,
          detail: `it names a manifest (${m.mediaType}), not an index: create one with ocidist index create`
        })
      }
      current = m
    }
    const dst = yield* Stores.openDestination(env, location)
    const target = asChildren(dst.store)
    if (current !== undefined && currentStore !== undefined && location._tag === "OciArchive") {
      // the archive is written again: what the index holds goes into its staging layout first
      yield* Copy.copy(currentStore.store, target, copyOptions(current.digest))
    }
    const add = (inputs: ReadonlyArray<Index.LocationInput>) =>
      Effect.forEach(inputs, (input) =>
        Effect.gen(function*() {
          const source = yield* Stores.openSource(env, yield* toLocation(input))
          const descriptor = yield* source.store.resolve(source.reference)
          const m = yield* source.store.fetchManifest(descriptor)
          const platform = yield* configPlatform(source.store, m)
          const artifactType = Manifest.artifactTypeOf(m)
          if (!(yield* dst.store.exists(descriptor))) yield* Copy.copy(source.store, target, copyOptions(m.digest))
          return {
            mediaType: m.mediaType,
            digest: m.digest,
            size: m.bytes.length,
            ...(platform === undefined ? {} : { platform }),
            ...(artifactType === undefined ? {} : { artifactType })
          } satisfies Descriptor.Descriptor
        }))
    const edited = yield* edit(current?._tag === "ImageIndex" ? current.manifest : undefined, add)
    // OCI unless the index edited is a Docker manifest list
    const mediaType = current !== undefined && MediaType.isDocker(current.mediaType)
      ? MediaType.DOCKER_MANIFEST_LIST
      : MediaType.OCI_INDEX
    const annotations = edited.annotations !== undefined && Object.keys(edited.annotations).length > 0
      ? edited.annotations
      : undefined
    const bytes = Manifest.encode({
      schemaVersion: 2,
      mediaType,
      manifests: edited.manifests,
      ...(annotations === undefined ? {} : { annotations })
    })
    const m = yield* Either.match(Manifest.decode(bytes), { onLeft: Effect.fail, onRight: Effect.succeed })
    yield* dst.store.pushManifest(m, { tags: dst.tag === undefined ? [] : [dst.tag], root: true })
    yield* dst.complete(resultOf(name, m, dst.tag), { store: dst.store, reference: "", tag: dst.tag })
    return { location: name, digest: m.digest, mediaType, size: bytes.length, manifests: edited.manifests }
  })).pipe(Effect.withSpan(`ImageIndex.${operation}`))

/** New entries replace the entries of the same digest. */
const merge = (
  entries: ReadonlyArray<Descriptor.Descriptor>,
  added: ReadonlyArray<Descriptor.Descriptor>
): ReadonlyArray<Descriptor.Descriptor> => {
  const digests = new Set(added.map((d) => d.digest))
  return [...entries.filter((d) => !digests.has(d.digest)), ...added]
}

/** @internal */
export const create = (
  destination: Index.LocationInput,
  manifests: ReadonlyArray<Index.LocationInput>,
  options?: Index.CreateOptions
) =>
  write(destination, "create", false, (_, add) =>
    Effect.map(add(manifests), (added) => ({
      manifests: merge([], added),
      annotations: options?.annotations
    })))

/** @internal */
export const append = (
  destination: Index.LocationInput,
  manifests: ReadonlyArray<Index.LocationInput>,
  options?: Index.CreateOptions
) =>
  write(destination, "append", true, (current, add) =>
    Effect.map(add(manifests), (added) => ({
      manifests: merge(current?.manifests ?? [], added),
      annotations: { ...current?.annotations, ...options?.annotations }
    })))

/** @internal */
export const remove = (destination: Index.LocationInput, selector: Index.RemoveSelector) =>
  write(destination, "remove", true, (current, _) =>
    Effect.gen(function*() {
      const entries = current?.manifests ?? []
      const name = typeof destination === "string" ? destination : "the index"
      let kept: ReadonlyArray<Descriptor.Descriptor> = entries
      if (selector.platform !== undefined) {
        const wanted = typeof selector.platform === "string"
          ? yield* Either.match(Platform.parse(selector.platform), { onLeft: Effect.fail, onRight: Effect.succeed })
          : selector.platform
        kept = kept.filter((d) => d.platform === undefined || !Platform.matches(wanted, d.platform))
        if (kept.length === entries.length) {
          return yield* new PlatformNotFound({
            location: name,
            wanted: Platform.format(wanted),
            available: Platform.available(entries)
          })
        }
      }
      if (selector.digest !== undefined) {
        const before = kept.length
        kept = kept.filter((d) => d.digest !== selector.digest)
        if (kept.length === before) {
          return yield* new UnsupportedOperation({
            operation: "removing an index entry",
            location: name,
            detail: `the index has no entry ${selector.digest}`
          })
        }
      }
      return { manifests: kept, annotations: current?.annotations }
    }))

/** @internal */
export const annotate = (destination: Index.LocationInput, options: Index.AnnotateOptions) =>
  write(destination, "annotate", true, (current, _) =>
    Effect.gen(function*() {
      const entries = current?.manifests ?? []
      const perEntry = options.manifestAnnotations ?? {}
      for (const digest of Object.keys(perEntry)) {
        if (!entries.some((d) => d.digest === digest)) {
          return yield* new UnsupportedOperation({
            operation: "annotating an index entry",
            location: typeof destination === "string" ? destination : "the index",
            detail: `the index has no entry ${digest}${Digest.isDigest(digest) ? "" : " (not a digest)"}`
          })
        }
      }
      return {
        manifests: entries.map((d) =>
          perEntry[d.digest] === undefined ? d : { ...d, annotations: { ...d.annotations, ...perEntry[d.digest] } }
        ),
        annotations: { ...current?.annotations, ...options.annotations }
      }
    }))
