/**
 * `export` and `flatten`: an image's merged filesystem (see `merge.ts`), streamed or written to a file, or
 * made the single layer of a new image.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Copy from "../Copy.js"
import type * as Export from "../Export.js"
import type * as Flatten from "../Flatten.js"
import * as Location from "../Location.js"
import type * as Ocidist from "../Ocidist.js"
import { type OcidistError, UnsupportedOperation } from "../OcidistError.js"
import * as Compression from "./compression.js"
import { merge } from "./merge.js"
import { selectPlatform } from "./platform.js"
import * as Stores from "./stores.js"

/** The platform services stores are opened with. @internal */
export type Requirements = RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path | Hash.Hash

/** The environment of the stores, from the services in context. @internal */
export const environment: Effect.Effect<Stores.Environment, never, Requirements> = Effect.gen(function*() {
  return {
    client: yield* RegistryClient.RegistryClient,
    fs: yield* FileSystem.FileSystem,
    path: yield* Path.Path,
    hash: yield* Hash.Hash,
    cacheDirectory: undefined
  }
})

const isImageConfig = (mediaType: string) => {
  const m = MediaType.essence(mediaType)
  return m === MediaType.OCI_CONFIG || m === MediaType.DOCKER_CONFIG
}

/** An image selected from a source: its store, its manifest. @internal */
export interface Selected {
  readonly store: Storage.ReadOnlyStorage<OcidistError>
  readonly opened: Stores.Opened
  readonly manifest: Manifest.Manifest & { readonly _tag: "ImageManifest" }
}

/**
 * Opens a location and selects one image in it: an index's entry for `platform` (default: this machine's),
 * an image manifest itself (checked against `platform` when given). Artifacts are refused.
 *
 * @internal
 */
export const selectImage = (
  env: Stores.Environment,
  input: Ocidist.LocationInput,
  platform: Ocidist.PlatformInput | undefined,
  operation: string
): Effect.Effect<Selected, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const location = yield* Location.from(input)
    const opened = yield* Stores.openSource(env, location)
    const m = yield* Storage.fetchReference(opened.store, opened.reference)
    return { store: opened.store, opened, manifest: yield* selectFrom(opened.store, m, platform, operation) }
  })

/** The image of a manifest fetched from a store (see {@link selectImage}). */
const selectFrom = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  fetched: Manifest.Manifest,
  platform: Ocidist.PlatformInput | undefined,
  operation: string
): Effect.Effect<Selected["manifest"], OcidistError> =>
  Effect.gen(function*() {
    let m = fetched
    const wanted = platform === undefined
      ? undefined
      : typeof platform === "string"
      ? yield* Either.match(Platform.parse(platform), { onLeft: Effect.fail, onRight: Effect.succeed })
      : platform
    if (m._tag === "ImageIndex" || wanted !== undefined) {
      m = yield* selectPlatform(store, m, wanted ?? Platform.current())
    }
    if (m._tag !== "ImageManifest" || !isImageConfig(m.manifest.config.mediaType)) {
      return yield* new UnsupportedOperation({
        operation,
        location: store.name,
        detail: `${m.digest} is not a container image (an artifact or an index): it has no filesystem`
      })
    }
    return m as Selected["manifest"]
  })

/** The merged filesystem of an image as a tar stream. @internal */
export const exportStream = (
  input: Ocidist.LocationInput,
  options: { readonly platform?: Ocidist.PlatformInput | undefined } = {}
): Stream.Stream<Uint8Array, OcidistError, Requirements> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const env = yield* environment
    const { manifest, store } = yield* selectImage(env, input, options.platform, "export")
    return merge(store, manifest.manifest.layers)
  }))

/** Writes the merged filesystem to a file: a temporary file beside it, renamed when complete. @internal */
export const exportToFile = (
  input: Ocidist.LocationInput,
  file: string,
  options: { readonly platform?: Ocidist.PlatformInput | undefined } = {}
): Effect.Effect<Export.Exported, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const { manifest, store } = yield* selectImage(env, input, options.platform, "export")
    const partial = `${file}.partial-${process.pid}`
    let size = 0
    const counted = Stream.map(merge(store, manifest.manifest.layers), (b) => {
      size += b.length
      return b
    })
    const ioError = LayoutError.fromPlatformError(file)
    yield* Stream.run(counted, Sink.mapError(env.fs.sink(partial), ioError)).pipe(
      Effect.zipRight(Effect.mapError(env.fs.rename(partial, file), ioError)),
      Effect.onError(() => Effect.ignore(env.fs.remove(partial)))
    )
    return {
      location: store.name,
      digest: manifest.digest,
      layers: manifest.manifest.layers.length,
      size,
      path: file
    }
  }))

/** The manifests and blobs written by a flatten, served over the source store (see {@link overlay}). */
interface Written {
  readonly manifests: Map<string, Manifest.Manifest>
  readonly blobs: Map<string, (offset: number) => Stream.Stream<Uint8Array, OcidistError>>
  /**
   * The images flattened so far, by source manifest digest: an image an index lists more than once (under two
   * platforms, with other annotations) is flattened once, every entry pointing at that result (flattening is
   * deterministic: a second run would give the same bytes).
   */
  readonly images: Map<string, FlatImage>
}

/** One image flattened: the new manifest (not yet written) and its layer. */
interface FlatImage {
  readonly sourceDigest: string
  readonly manifest: Manifest.Manifest
  readonly size: number
  readonly layer: { readonly digest: string; readonly size: number; readonly diffId: string }
}

/**
 * Flattens one image into `written`: its merged filesystem (whiteouts applied) becomes its single gzip layer,
 * spooled to a temporary file (living as long as the scope) while hashed, the diffID from the uncompressed
 * stream; the config gets that diffID as its only `rootfs.diff_ids` and one history entry; the manifest keeps
 * its media type and annotations.
 */
const flattenImage = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  manifest: Manifest.Manifest & { readonly _tag: "ImageManifest" },
  written: Written
): Effect.Effect<FlatImage, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    const image = manifest.manifest
    const configBytes = yield* Storage.readBlob(store, image.config, ImageConfig.MAX_BYTES)
    const config = yield* ImageConfig.decode(configBytes)
    const raw = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>
    const spooled = yield* Compression.recompress(merge(store, image.layers), {
      to: "gzip",
      subject: `the flattened filesystem of ${manifest.digest}`
    })
    const newConfig = Manifest.encode(flattenedConfig(raw, config.created, spooled.diffId, manifest.digest))
    const configDescriptor: Descriptor.Descriptor = {
      mediaType: image.config.mediaType,
      digest: Digest.ofBytes(newConfig),
      size: newConfig.length
    }
    const docker = MediaType.essence(manifest.mediaType) === MediaType.DOCKER_MANIFEST
    const layerDescriptor: Descriptor.Descriptor = {
      mediaType: docker ? MediaType.DOCKER_LAYER_GZIP : MediaType.OCI_LAYER_GZIP,
      digest: spooled.digest,
      size: spooled.size
    }
    const { config: _config, layers: _layers, ...rest } = image as unknown as Record<string, unknown>
    const bytes = Manifest.encode({ ...rest, config: configDescriptor, layers: [layerDescriptor] })
    const flattened = yield* Manifest.decode(bytes)
    written.manifests.set(flattened.digest, flattened)
    written.blobs.set(configDescriptor.digest, (offset) => Stream.succeed(newConfig.subarray(offset)))
    written.blobs.set(layerDescriptor.digest, spooled.read)
    return {
      sourceDigest: manifest.digest,
      manifest: flattened,
      size: bytes.length,
      layer: { digest: spooled.digest, size: spooled.size, diffId: spooled.diffId }
    }
  })

/** Nested indexes are followed at most this deep. */
const MAX_DEPTH = 8

const isAttestation = (d: Descriptor.Descriptor): boolean =>
  d.platform?.os === "unknown" && d.platform.architecture === "unknown"

/**
 * Flattens every image of an index into `written` (`children` collects them, in order) and returns the new
 * index: the source index's fields (media type, annotations, subject) with its image entries pointing at the
 * flattened images (each entry's platform and annotations kept), nested indexes flattened the same way. As
 * `crane flatten` does, attestation manifests (platform `unknown/unknown`) are left out, and so are the other
 * entries that are not images (artifacts): they describe the source images, not the flattened ones. An image
 * listed more than once is flattened once (see {@link Written.images}); each of its entries is kept.
 */
const flattenIndex = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  index: Manifest.Manifest & { readonly _tag: "ImageIndex" },
  written: Written,
  children: Array<FlatImage & { readonly platform?: Platform.Platform | undefined }>,
  depth: number
): Effect.Effect<Manifest.Manifest, OcidistError, Scope.Scope> =>
  Effect.gen(function*() {
    if (depth > MAX_DEPTH) {
      return yield* new UnsupportedOperation({
        operation: "flatten",
        location: store.name,
        detail: `indexes nested more than ${MAX_DEPTH} deep below ${index.digest}`
      })
    }
    const entries: Array<Descriptor.Descriptor> = []
    for (const d of index.manifest.manifests) {
      if (isAttestation(d) || d.artifactType !== undefined) continue
      if (!MediaType.isIndex(d.mediaType) && !MediaType.MANIFEST_TYPES.includes(MediaType.essence(d.mediaType))) {
        continue
      }
      const child = yield* store.fetchManifest(d)
      let next: Manifest.Manifest
      if (child._tag === "ImageIndex") {
        const before = children.length
        next = yield* flattenIndex(store, child, written, children, depth + 1)
        if (children.length === before) continue
      } else {
        if (!isImageConfig(child.manifest.config.mediaType) || child.manifest.artifactType !== undefined) continue
        const flat = written.images.get(child.digest) ?? (yield* flattenImage(
          store,
          child as Manifest.Manifest & { readonly _tag: "ImageManifest" },
          written
        ))
        written.images.set(child.digest, flat)
        children.push({ ...flat, ...(d.platform === undefined ? {} : { platform: d.platform }) })
        next = flat.manifest
      }
      entries.push({ ...d, mediaType: next.mediaType, digest: next.digest, size: next.bytes.length })
    }
    if (entries.length === 0) {
      return yield* new UnsupportedOperation({
        operation: "flatten",
        location: store.name,
        detail: `the index ${index.digest} lists no container image (only artifacts or attestations)`
      })
    }
    const raw = index.manifest as unknown as Record<string, unknown>
    const bytes = Manifest.encode({ ...raw, manifests: entries })
    const flattened = yield* Manifest.decode(bytes)
    written.manifests.set(flattened.digest, flattened)
    return flattened
  })

/** The source store with what a flatten wrote on top, its new root manifest under the reference `""`. */
const overlay = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  root: Descriptor.Descriptor,
  written: Written
): Storage.ReadOnlyStorage<OcidistError> => ({
  name: store.name,
  verifiesBlobs: false,
  resolve: (reference) => reference === "" ? Effect.succeed(root) : store.resolve(reference),
  fetchManifest: (d) => {
    const m = written.manifests.get(d.digest)
    return m === undefined ? store.fetchManifest(d) : Effect.succeed(m)
  },
  fetchBlob: (d, o) => {
    const read = written.blobs.get(d.digest)
    return read === undefined ? store.fetchBlob(d, o) : read(o?.offset ?? 0)
  },
  exists: (d) => Effect.succeed(written.manifests.has(d.digest) || written.blobs.has(d.digest))
})

/**
 * Flattens an image (see {@link flattenImage}), or, for an index without a `platform`, every image of it and
 * a new index of them (see {@link flattenIndex}); with a `platform`, that platform's image of an index. Written
 * with the copy engine to the destination (a registry, a layout, an archive).
 *
 * @internal
 */
export const flatten = (
  input: Ocidist.LocationInput,
  options: Flatten.Options = {}
): Effect.Effect<Flatten.Flattened, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const written: Written = { manifests: new Map(), blobs: new Map(), images: new Map() }
    const children: Array<FlatImage & { readonly platform?: Platform.Platform | undefined }> = []
    const opened = yield* Effect.flatMap(Location.from(input), (location) => Stores.openSource(env, location))
    const store = opened.store
    const fetched = yield* Storage.fetchReference(store, opened.reference)
    let root: Manifest.Manifest
    let layer: FlatImage["layer"] | undefined
    let sourceDigest: string = fetched.digest
    if (fetched._tag === "ImageIndex" && options.platform === undefined) {
      root = yield* flattenIndex(store, fetched, written, children, 0)
    } else {
      const flat = yield* flattenImage(store, yield* selectFrom(store, fetched, options.platform, "flatten"), written)
      root = flat.manifest
      layer = flat.layer
      sourceDigest = flat.sourceDigest
    }
    const rootDescriptor: Descriptor.Descriptor = {
      mediaType: root.mediaType,
      digest: root.digest,
      size: root.bytes.length
    }
    const source = overlay(store, rootDescriptor, written)
    const target = options.tag === undefined ? yield* Location.from(input) : yield* Location.from(options.tag)
    const destination = yield* Stores.openDestination(env, target)
    const tag = destination.tag
    const result = yield* Copy.copy(source, destination.store, {
      reference: "",
      tags: tag === undefined ? [] : [tag],
      // OCI tools read only OCI media types from a layout (as copy does: Docker manifests converted there)
      format: target._tag === "Layout" || target._tag === "OciArchive" ? "oci" : "keep",
      compress: "keep"
    })
    yield* destination.complete(result, { store: source, reference: "", tag })
    // a child converted on its way (Docker → OCI into a layout) is reported as written
    const asWritten = new Map<string, { readonly digest: string; readonly mediaType: string; readonly size: number }>()
    for (const image of result.images) {
      for (const m of image.manifests) asWritten.set(m.sourceDigest ?? m.digest, m)
    }
    return {
      location: destination.store.name,
      sourceDigest,
      digest: result.digest,
      mediaType: result.mediaType,
      size: result.size,
      ...(layer === undefined ? {} : { layer }),
      ...(layer !== undefined ? {} : {
        children: children.map((c): Flatten.FlattenedChild => {
          const w = asWritten.get(c.manifest.digest)
          return {
            sourceDigest: c.sourceDigest,
            digest: w?.digest ?? c.manifest.digest,
            mediaType: w?.mediaType ?? c.manifest.mediaType,
            size: w?.size ?? c.size,
            ...(c.platform === undefined ? {} : { platform: c.platform }),
            layer: c.layer
          }
        })
      }),
      ...(tag === undefined ? {} : { tag })
    }
  }))

/** A config with one layer: `rootfs.diff_ids` that layer's, `history` one entry. @internal */
export const flattenedConfig = (
  config: Record<string, unknown>,
  created: string | undefined,
  diffId: string,
  source: string
): Record<string, unknown> => ({
  ...config,
  rootfs: { type: "layers", diff_ids: [diffId] },
  history: [{
    ...(created === undefined ? {} : { created }),
    created_by: `ocidist flatten ${source}`,
    comment: "flattened: the merged filesystem of the image's layers"
  }]
})
