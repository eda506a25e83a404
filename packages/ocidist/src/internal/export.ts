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
    const store = opened.store
    let m = yield* Storage.fetchReference(store, opened.reference)
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
    return { store, opened, manifest: m as Manifest.Manifest & { readonly _tag: "ImageManifest" } }
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

/** What `exportToFile` wrote. @internal */
export interface Exported {
  readonly location: string
  readonly digest: string
  readonly layers: number
  readonly size: number
  readonly path: string
}

/** Writes the merged filesystem to a file: a temporary file beside it, renamed when complete. @internal */
export const exportToFile = (
  input: Ocidist.LocationInput,
  file: string,
  options: { readonly platform?: Ocidist.PlatformInput | undefined } = {}
): Effect.Effect<Exported, OcidistError, Requirements> =>
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

/** What `flatten` wrote. @internal */
export interface Flattened {
  /** Where it was written. */
  readonly location: string
  /** The source image's manifest digest. */
  readonly sourceDigest: string
  /** The new image's manifest. */
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  /** The single layer: its gzip blob and its uncompressed digest (the config's only diff_id). */
  readonly layer: { readonly digest: string; readonly size: number; readonly diffId: string }
  readonly tag?: string | undefined
}

/** Options of `flatten`. @internal */
export interface FlattenOptions {
  /** Where the flattened image goes; default: the source location (its tag moved). */
  readonly tag?: Ocidist.LocationInput | undefined
  readonly platform?: Ocidist.PlatformInput | undefined
}

/**
 * Flattens an image: its merged filesystem (whiteouts applied) becomes its single gzip layer, spooled to a
 * temporary file while hashed (the diffID from the uncompressed stream); the config gets that diffID as its
 * only `rootfs.diff_ids` and one history entry; the manifest keeps its media type and annotations. Written
 * with the copy engine to the destination (a registry, a layout, an archive).
 *
 * @internal
 */
export const flatten = (
  input: Ocidist.LocationInput,
  options: FlattenOptions = {}
): Effect.Effect<Flattened, OcidistError, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const env = yield* environment
    const { manifest, store } = yield* selectImage(env, input, options.platform, "flatten")
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
    const root: Descriptor.Descriptor = { mediaType: flattened.mediaType, digest: flattened.digest, size: bytes.length }
    const overlay: Storage.ReadOnlyStorage<OcidistError> = {
      name: store.name,
      verifiesBlobs: false,
      resolve: (reference) => reference === "" ? Effect.succeed(root) : store.resolve(reference),
      fetchManifest: (d) => d.digest === root.digest ? Effect.succeed(flattened) : store.fetchManifest(d),
      fetchBlob: (d, o) => {
        const offset = o?.offset ?? 0
        if (d.digest === configDescriptor.digest) return Stream.succeed(newConfig.subarray(offset))
        if (d.digest === layerDescriptor.digest) return spooled.read(offset)
        return store.fetchBlob(d, o)
      },
      exists: (d) =>
        Effect.succeed(d.digest === root.digest || d.digest === configDescriptor.digest || d.digest === spooled.digest)
    }
    const target = options.tag === undefined ? yield* Location.from(input) : yield* Location.from(options.tag)
    const destination = yield* Stores.openDestination(env, target)
    const tag = destination.tag
    const result = yield* Copy.copy(overlay, destination.store, {
      reference: "",
      tags: tag === undefined ? [] : [tag],
      // OCI tools read only OCI media types from a layout (as copy does: Docker manifests converted there)
      format: target._tag === "Layout" || target._tag === "OciArchive" ? "oci" : "keep",
      compress: "keep"
    })
    yield* destination.complete(result, { store: overlay, reference: "", tag })
    return {
      location: destination.store.name,
      sourceDigest: manifest.digest,
      digest: result.digest,
      mediaType: result.mediaType,
      size: result.size,
      layer: { digest: spooled.digest, size: spooled.size, diffId: spooled.diffId },
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
