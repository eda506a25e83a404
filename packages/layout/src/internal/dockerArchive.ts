/**
 * `docker-archive` reading (manifests synthesized from `manifest.json`) and writing (the layout
 * `docker save` produces, gzip layers decompressed in two streaming passes).
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import * as Reference from "@ocidist/reference/Reference"
import { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import { ContentTooLarge } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Reader } from "../Layout.js"
import {
  BlobNotFound,
  ImageNotFound,
  InvalidIndex,
  InvalidTag,
  type LayoutError,
  type LayoutFailure,
  NotALayout,
  UnsupportedContent
} from "../LayoutError.js"
import { type ArchiveEntry, gunzip, writeTar } from "./archive.js"
import { tarOf } from "./compressed.js"
import { readEntry, scanTar } from "./ociArchive.js"
import { checkDigest, makeReader, REF_NAME } from "./reader.js"
import * as Tar from "./tar.js"

/** @internal */
export const DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"

/** @internal */
export const ManifestItem = Schema.Struct({
  Config: Schema.String,
  RepoTags: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  Layers: Schema.Array(Schema.String)
})

/** @internal */
export interface Image {
  readonly descriptor: Descriptor.Descriptor
  readonly repoTags?: ReadonlyArray<string> | undefined
}

const ManifestJson = Schema.Array(ManifestItem)
const decodeManifestJson = Schema.decodeUnknownEither(Schema.parseJson(ManifestJson))

const MAX_MANIFEST_JSON = 16 * 1024 * 1024
const encoder = new TextEncoder()

type Sniffed = "gzip" | "zstd" | "tar"

const sniff = (head: Uint8Array): Sniffed =>
  head[0] === 0x1f && head[1] === 0x8b
    ? "gzip"
    : head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd
    ? "zstd"
    : "tar"

const firstBytes = <E>(stream: Stream.Stream<Uint8Array, E>, n: number): Effect.Effect<Uint8Array, E> =>
  Effect.suspend(() => {
    const out = new Uint8Array(n)
    let got = 0
    return stream.pipe(
      Stream.takeUntil((chunk) => {
        const take = Math.min(n - got, chunk.length)
        out.set(chunk.subarray(0, take), got)
        got += take
        return got >= n
      }),
      Stream.runDrain,
      Effect.map(() => out.subarray(0, got))
    )
  })

const normalizeRepoTag = (repoTag: string): string | undefined => {
  const parsed = Reference.parse(repoTag)
  if (Either.isLeft(parsed)) return undefined
  const ref = parsed.right
  return `${ref.registry}/${ref.repository}:${ref.tag ?? Reference.DEFAULT_TAG}`
}

const diffIdsOf = (config: Uint8Array): ReadonlyArray<string> => {
  try {
    const ids = (JSON.parse(new TextDecoder().decode(config)) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids
    return Array.isArray(ids) ? ids.map((id) => typeof id === "string" ? id : "") : []
  } catch {
    return []
  }
}

/** Layer media types a docker-archive can hold (as tars): OCI and Docker image layers, any compression. */
const isImageLayer = (mediaType: string): boolean => {
  const m = MediaType.essence(mediaType)
  return m.startsWith("application/vnd.oci.image.layer.") || m.startsWith("application/vnd.docker.image.rootfs.")
}

/**
 * What kind of artifact a manifest is, when it is not a container image a docker-archive can hold: its
 * `artifactType`, else its config's media type (an empty config, a Helm chart's), else the first layer media
 * type that is not an image layer. `undefined` for an image, and for an index without `artifactType` (the
 * image chosen from it is checked in turn).
 *
 * @internal
 */
export const artifactKind = (manifest: Manifest.Manifest): string | undefined => {
  const m = manifest.manifest
  if (m.artifactType !== undefined) return `artifactType ${m.artifactType}`
  if (manifest._tag === "ImageIndex") return undefined
  const config = MediaType.essence(manifest.manifest.config.mediaType)
  if (config !== MediaType.OCI_CONFIG && config !== MediaType.DOCKER_CONFIG) return `config ${config}`
  const layer = manifest.manifest.layers.find((l) => !isImageLayer(l.mediaType))
  return layer === undefined ? undefined : `layer ${MediaType.essence(layer.mediaType)}`
}

/**
 * Refuses a manifest that is not a container image (see {@link artifactKind}): a docker-archive holds images
 * only, which `docker load` runs.
 *
 * @internal
 */
export const accepts = (path: string, manifest: Manifest.Manifest): Effect.Effect<void, UnsupportedContent> => {
  const kind = artifactKind(manifest)
  return kind === undefined ? Effect.void : Effect.fail(
    new UnsupportedContent({
      path,
      digest: manifest.digest,
      detail: `the manifest is an artifact (${kind}), not a container image: a docker-archive holds ` +
        "images only; copy it to an OCI layout (oci:), an oci-archive or a registry"
    })
  )
}

/** @internal */
export interface OpenOptions {
  readonly hashLayers?: boolean | undefined
  /** Where a compressed archive is decompressed (default: a temporary directory). */
  readonly directory?: string | undefined
}

/** @internal */
type OpenError = LayoutError | ContentTooLarge

/** @internal */
export const open: (
  path: string,
  options?: OpenOptions
) => Effect.Effect<Reader, OpenError, FileSystem.FileSystem | Path.Path | Scope.Scope> = Effect.fn(
  "DockerArchive.open"
)(function*(path: string, options?: OpenOptions) {
  const fs = yield* FileSystem.FileSystem
  const pathService = yield* Path.Path
  const hash = yield* Hash.Hash
  const archive = pathService.resolve(path)
  const name = `docker-archive:${path}`
  // a compressed archive is read from its decompressed copy; errors name the user's file
  const tar = yield* tarOf(archive, options?.directory)
  const entries = yield* scanTar(archive, tar)
  const invalid = (detail: string, cause?: unknown) =>
    new InvalidIndex({ path: archive, detail, ...(cause === undefined ? {} : { cause }) })
  const entryOf = (entryName: string) =>
    Effect.suspend(() => {
      const entry = Tar.lookup(entries, entryName)
      return entry === undefined
        ? Effect.fail(
          invalid(`manifest.json names ${JSON.stringify(entryName.slice(0, 300))}, which is not in the archive`)
        )
        : Effect.succeed(entry)
    })
  const readBounded = (entry: Tar.TarEntry, max: number) =>
    entry.size > max
      ? Effect.fail(new ContentTooLarge({ subject: `${entry.path} in ${name}`, limit: max, size: entry.size }))
      : readEntry(fs, tar, entry)
  const manifestEntry = Tar.lookup(entries, "manifest.json")
  if (manifestEntry === undefined) {
    return yield* new NotALayout({ path: archive, detail: "the archive has no manifest.json (not a docker-archive)" })
  }
  const manifestText = new TextDecoder().decode(yield* readBounded(manifestEntry, MAX_MANIFEST_JSON))
  const items = yield* Either.mapLeft(
    decodeManifestJson(manifestText),
    (e) => invalid(`manifest.json: ${ParseResult.TreeFormatter.formatErrorSync(e)}`, e)
  )

  const blobs = new Map<string, { readonly entry: Tar.TarEntry } | { readonly bytes: Uint8Array }>()
  const layerCache = new Map<string, Descriptor.Descriptor>()
  const images: Array<Descriptor.Descriptor> = []
  /** Per image of `manifest.json`, in its order: the image ID (config digest) and `RepoTags`. */
  const listed: Array<{ readonly id: string; readonly tags: ReadonlyArray<string> }> = []
  const descriptors: Array<Descriptor.Descriptor> = []

  const digestOfPath = (entryPath: string): Digest.Digest | undefined => {
    const match = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(Tar.normalizePath(entryPath))
    if (match === null) return undefined
    const digest = `${match[1]}:${match[2]}`
    return Digest.isDigest(digest) ? digest : undefined
  }

  for (const item of items) {
    const configEntry = yield* entryOf(item.Config)
    const configBytes = yield* readBounded(configEntry, ImageConfig.MAX_BYTES)
    const configHasher = hash.make("sha256")
    configHasher.update(configBytes)
    const configDigest = configHasher.digest()
    blobs.set(configDigest, { entry: configEntry })
    const diffIds = diffIdsOf(configBytes)
    const layers: Array<Descriptor.Descriptor> = []
    for (const [i, layerName] of item.Layers.entries()) {
      const entry = yield* entryOf(layerName)
      const key = `${entry.offset}`
      let descriptor = layerCache.get(key)
      if (descriptor === undefined) {
        const kind = sniff(yield* firstBytes(Tar.entryStream(fs, tar, entry), 4))
        const diffId = diffIds[i]
        const trusted = digestOfPath(entry.path) ??
          (kind === "tar" && options?.hashLayers !== true && diffId !== undefined && Digest.isDigest(diffId)
            ? diffId
            : undefined)
        const digest = trusted ??
          (yield* Digest.fromStream(Tar.entryStream(fs, tar, entry)).pipe(
            Effect.provideService(Hash.Hash, hash)
          )).digest
        descriptor = {
          mediaType: kind === "gzip"
            ? MediaType.DOCKER_LAYER_GZIP
            : kind === "zstd"
            ? MediaType.OCI_LAYER_ZSTD
            : DOCKER_LAYER_TAR,
          digest,
          size: entry.size
        }
        layerCache.set(key, descriptor)
        blobs.set(digest, { entry })
      }
      layers.push(descriptor)
    }
    const manifestBytes = Manifest.encode({
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST,
      config: { mediaType: MediaType.DOCKER_CONFIG, size: configBytes.length, digest: configDigest },
      layers
    })
    const manifestDigest = Digest.ofBytes(manifestBytes)
    blobs.set(manifestDigest, { bytes: manifestBytes })
    const image: Descriptor.Descriptor = {
      mediaType: MediaType.DOCKER_MANIFEST,
      digest: manifestDigest,
      size: manifestBytes.length
    }
    images.push(image)
    const tags = item.RepoTags ?? []
    listed.push({ id: configDigest, tags })
    if (tags.length === 0) descriptors.push(image)
    for (const tag of tags) descriptors.push({ ...image, annotations: { [REF_NAME]: tag } })
  }

  const reader = makeReader({
    name,
    path: archive,
    entries: Effect.succeed(descriptors),
    blobSize: (digest) =>
      Effect.succeed(
        Option.map(Option.fromNullable(blobs.get(digest)), (b) => "entry" in b ? b.entry.size : b.bytes.length)
      ),
    readBlob: (digest, offset) => {
      const blob = blobs.get(digest)
      if (blob === undefined) return Stream.fail(new BlobNotFound({ path: archive, digest }))
      return "entry" in blob
        ? Tar.entryStream(fs, tar, blob.entry, offset, digest)
        : Stream.make(blob.bytes.subarray(Math.min(Math.max(offset, 0), blob.bytes.length)))
    }
  })
  /** What the archive holds, for a not-found message: `@0 app:1 (image ID sha256:…)`, the first 10. */
  const contents = (): string => {
    if (listed.length === 0) return "the archive holds no image"
    const shown = listed.slice(0, 10).map(({ id, tags }, i) =>
      `@${i} ${
        tags.length === 0 ? "untagged" : tags.slice(0, 3).map((t) => t.slice(0, 100)).join(", ")
      } (image ID ${id})`
    )
    return `the archive holds ${listed.length} image${listed.length === 1 ? "" : "s"}: ${shown.join("; ")}${
      listed.length > 10 ? "; …" : ""
    }`
  }
  const notFound = (reference: string, what: string) =>
    new ImageNotFound({ path: archive, reference: reference.slice(0, 300), detail: `${what}; ${contents()}` })
  const resolve = (reference: string): Effect.Effect<Descriptor.Descriptor, LayoutFailure> => {
    if (/^@\d+$/.test(reference)) {
      const image = images[Number(reference.slice(1))]
      return image === undefined
        ? Effect.fail(notFound(reference, `no image ${reference} (images are numbered from @0)`))
        : Effect.succeed(image)
    }
    if (Digest.isDigest(reference)) {
      // an image ID (docker's name for the config digest), else a manifest digest
      const byId = listed.findIndex((l) => l.id === reference)
      if (byId !== -1) return Effect.succeed(images[byId]!)
      const byManifest = images.find((d) => d.digest === reference)
      return byManifest === undefined
        ? Effect.fail(notFound(reference, `no image with the ID or manifest digest ${reference}`))
        : Effect.succeed(byManifest)
    }
    return reader.resolve(reference).pipe(
      Effect.catchIf(
        (e) => e._tag === "ImageNotFound",
        () => {
          // docker save writes familiar names ("app:1"), skopeo full ones ("docker.io/library/app:1")
          const wanted = normalizeRepoTag(reference)
          const matches = descriptors.filter((d) => {
            const tag = d.annotations?.[REF_NAME]
            return wanted !== undefined && tag !== undefined && normalizeRepoTag(tag) === wanted
          })
          return matches.length === 0
            ? Effect.fail(
              notFound(
                reference,
                reference === "" ? "no image" : `no image tagged ${JSON.stringify(reference.slice(0, 300))}`
              )
            )
            : Effect.succeed(matches[0]!)
        }
      )
    )
  }
  return { ...reader, resolve }
})

const splitRepoTag = (repoTag: string): { readonly name: string; readonly tag: string } | undefined => {
  const colon = repoTag.lastIndexOf(":")
  if (colon <= repoTag.lastIndexOf("/") || colon === 0 || colon === repoTag.length - 1) return undefined
  return { name: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) }
}

/** @internal */
export const write: (
  path: string,
  source: Reader,
  images: ReadonlyArray<Image>,
  options?: { readonly platform?: Platform.Platform | undefined }
) => Effect.Effect<void, LayoutFailure, FileSystem.FileSystem | Path.Path> = Effect.fn("DockerArchive.write")(
  function*(path, source, images, options) {
    type E = LayoutFailure
    const target = path
    const unsupported = (detail: string, digest?: string) =>
      new UnsupportedContent({ path: target, detail, ...(digest === undefined ? {} : { digest }) })
    const layerFiles = new Map<string, ArchiveEntry<E>>()
    const configFiles = new Map<string, ArchiveEntry<E>>()
    const items: Array<{ Config: string; RepoTags: ReadonlyArray<string>; Layers: ReadonlyArray<string> }> = []
    const repositories: Record<string, Record<string, string>> = {}

    for (const image of images) {
      for (const repoTag of image.repoTags ?? []) {
        if (splitRepoTag(repoTag) === undefined) {
          return yield* new InvalidTag({ path: target, tag: repoTag.slice(0, 300), detail: "not a name:tag reference" })
        }
      }
      let manifest = yield* source.fetchManifest(image.descriptor)
      if (manifest._tag === "ImageIndex") {
        const wanted = options?.platform ?? Platform.current()
        const chosen = Platform.best(wanted, manifest.manifest.manifests)
        if (chosen === undefined) {
          return yield* new ImageNotFound({
            path: source.path,
            reference: manifest.digest,
            detail: `the index ${manifest.digest} has no manifest for ${Platform.format(wanted)}`
          })
        }
        manifest = yield* source.fetchManifest(chosen)
      }
      if (manifest._tag !== "ImageManifest") {
        return yield* unsupported("nested indexes cannot be written to a docker-archive", manifest.digest)
      }
      yield* accepts(target, manifest)
      const { config, layers } = manifest.manifest
      const configBytes = yield* Storage.readBlob(source, config, ImageConfig.MAX_BYTES)
      const imageConfig = yield* ImageConfig.decode(configBytes)
      const diffIds = imageConfig.rootfs.diff_ids
      if (diffIds.length !== layers.length) {
        return yield* unsupported(
          `the config has ${diffIds.length} diff_ids for ${layers.length} layers`,
          config.digest
        )
      }
      const configName = `${Digest.hex(config.digest)}.json`
      configFiles.set(configName, { path: configName, size: configBytes.length, content: Stream.make(configBytes) })

      const layerNames: Array<string> = []
      for (let i = 0; i < layers.length; i++) {
        const layer = layers[i]!
        const diffId = yield* checkDigest(target, diffIds[i]!)
        const layerName = `${Digest.hex(diffId)}.tar`
        layerNames.push(layerName)
        if (layerFiles.has(layerName)) continue
        const kind = sniff(yield* firstBytes(source.fetchBlob(layer), 4))
        if (kind === "zstd") {
          return yield* unsupported("zstd layers cannot be written to a docker-archive", layer.digest)
        }
        const subject = `layer ${layer.digest} from ${source.name}`
        const verified = () => Digest.verifyStream(layer.digest, subject)(source.fetchBlob(layer))
        const gunzipError = (detail: string) =>
          new UnsupportedContent({ path: source.path, digest: layer.digest, detail: `gunzip: ${detail}` })
        if (kind === "tar") {
          if (layer.digest !== diffId) {
            return yield* new DigestMismatch({
              expected: diffId,
              actual: layer.digest,
              subject: `uncompressed layer ${i} (config diff_id)`
            })
          }
          layerFiles.set(layerName, { path: layerName, size: layer.size, digest: layer.digest, content: verified() })
          continue
        }
        // pass 1: the uncompressed size (a tar header needs it) and diff_id check
        const uncompressed = yield* Digest.fromStream(gunzip(verified(), gunzipError), Digest.algorithm(diffId))
        if (uncompressed.digest !== diffId) {
          return yield* new DigestMismatch({
            expected: diffId,
            actual: uncompressed.digest,
            subject: `uncompressed layer ${layer.digest}`
          })
        }
        // pass 2 streams it again into the archive, verified again
        layerFiles.set(layerName, {
          path: layerName,
          size: uncompressed.size,
          digest: diffId,
          content: Digest.verifyStream(diffId, `uncompressed layer ${layer.digest}`)(gunzip(verified(), gunzipError))
        })
      }
      const repoTags = image.repoTags ?? []
      items.push({ Config: configName, RepoTags: repoTags, Layers: layerNames })
      const top = diffIds.length > 0
        ? Digest.hex(diffIds[diffIds.length - 1]! as Digest.Digest)
        : Digest.hex(config.digest)
      for (const repoTag of repoTags) {
        const { name, tag } = splitRepoTag(repoTag)!
        repositories[name] = { ...repositories[name], [tag]: top }
      }
    }

    const json = (name: string, value: unknown): ArchiveEntry<E> => {
      const bytes = encoder.encode(JSON.stringify(value))
      return { path: name, size: bytes.length, content: Stream.make(bytes) }
    }
    const entries: ReadonlyArray<ArchiveEntry<E>> = [
      ...layerFiles.values(),
      ...configFiles.values(),
      json("manifest.json", items),
      json("repositories", repositories)
    ]
    yield* writeTar(target, Stream.fromIterable(entries))
  }
)
