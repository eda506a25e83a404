/**
 * Image manifests and image indexes (image-spec `manifest.md`, `image-index.md`), and Docker's schema 2
 * manifests and manifest lists, which have the same shape. Decoding keeps the raw bytes: a digest is always
 * of the bytes received, never of re-serialized JSON.
 *
 * @since 0.2.0
 */
import { Digest } from "@ocidist/reference"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Annotations } from "./Annotation.js"
import { Descriptor } from "./Descriptor.js"
import { parseJson } from "./internal/json.js"
import * as MediaType from "./MediaType.js"
import { InvalidManifest } from "./SpecError.js"

/**
 * An image manifest: OCI (`application/vnd.oci.image.manifest.v1+json`, also used for artifacts) or Docker
 * schema 2 (`application/vnd.docker.distribution.manifest.v2+json`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ImageManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.optional(Schema.String),
  artifactType: Schema.optional(Schema.String),
  config: Descriptor,
  layers: Schema.Array(Descriptor),
  subject: Schema.optional(Descriptor),
  annotations: Schema.optional(Annotations)
}).annotations({ identifier: "ImageManifest" })

/**
 * @since 0.2.0
 * @category models
 */
export interface ImageManifest extends Schema.Schema.Type<typeof ImageManifest> {}

/**
 * An image index: OCI (`application/vnd.oci.image.index.v1+json`) or Docker manifest list.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ImageIndex = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.optional(Schema.String),
  artifactType: Schema.optional(Schema.String),
  manifests: Schema.Array(Descriptor),
  subject: Schema.optional(Descriptor),
  annotations: Schema.optional(Annotations)
}).annotations({ identifier: "ImageIndex" })

/**
 * @since 0.2.0
 * @category models
 */
export interface ImageIndex extends Schema.Schema.Type<typeof ImageIndex> {}

/**
 * A Docker image manifest, schema 2 (`application/vnd.docker.distribution.manifest.v2+json`): the shape of
 * {@link ImageManifest} with its media type required. Docker has no artifacts, subjects or annotations.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DockerManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.Literal(MediaType.DOCKER_MANIFEST),
  config: Descriptor,
  layers: Schema.Array(Descriptor)
}).annotations({ identifier: "DockerManifest" })

/**
 * @since 0.2.0
 * @category models
 */
export interface DockerManifest extends Schema.Schema.Type<typeof DockerManifest> {}

/**
 * A Docker manifest list (`application/vnd.docker.distribution.manifest.list.v2+json`): the shape of
 * {@link ImageIndex} with its media type required.
 *
 * @since 0.2.0
 * @category schemas
 */
export const DockerManifestList = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.Literal(MediaType.DOCKER_MANIFEST_LIST),
  manifests: Schema.Array(Descriptor)
}).annotations({ identifier: "DockerManifestList" })

/**
 * @since 0.2.0
 * @category models
 */
export interface DockerManifestList extends Schema.Schema.Type<typeof DockerManifestList> {}

/**
 * A manifest as received: its bytes, their digest, its media type and the decoded value.
 *
 * @since 0.2.0
 * @category models
 */
export type Manifest =
  | {
    readonly _tag: "ImageManifest"
    readonly mediaType: string
    readonly digest: Digest.Digest
    readonly bytes: Uint8Array
    readonly manifest: ImageManifest
  }
  | {
    readonly _tag: "ImageIndex"
    readonly mediaType: string
    readonly digest: Digest.Digest
    readonly bytes: Uint8Array
    readonly manifest: ImageIndex
  }

/** A decoder compiled on first use: compiling these took ~5 ms of every CLI start, needed or not. */
const lazyDecoder = <A, I>(schema: Schema.Schema<A, I>) => {
  let decoder: ((u: unknown) => Either.Either<A, ParseResult.ParseError>) | undefined
  return (u: unknown): Either.Either<A, ParseResult.ParseError> => (decoder ??= Schema.decodeUnknownEither(schema))(u)
}
const decodeManifestValue = lazyDecoder(ImageManifest)
const decodeIndexValue = lazyDecoder(ImageIndex)

const malformed = (detail: string, mediaType?: string, cause?: unknown) =>
  new InvalidManifest({
    reason: "Malformed",
    detail,
    ...(mediaType === undefined ? {} : { mediaType }),
    ...(cause === undefined ? {} : { cause })
  })

/**
 * The largest manifest (or index) read into memory: 4 MiB, as oras-go and the Azure client cap it.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_BYTES = 4 * 1024 * 1024

/**
 * Decodes manifest bytes. The media type is the `mediaType` field of the body when present, else the
 * `Content-Type` the registry sent (`contentType`), else inferred from the shape (`manifests` → index,
 * `config` + `layers` → image manifest). Docker schema 1 is refused. The digest is computed from the bytes
 * (with `algorithm`), unless the caller passes `digest`: the digest it has already checked these bytes against.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode = (
  bytes: Uint8Array,
  options?: {
    readonly contentType?: string | undefined
    readonly algorithm?: Digest.Algorithm | undefined
    readonly digest?: Digest.Digest | undefined
  }
): Either.Either<Manifest, InvalidManifest> =>
  Either.gen(function*() {
    const header = options?.contentType === undefined ? undefined : MediaType.essence(options.contentType)
    if (header !== undefined && MediaType.isSchema1(header)) {
      return yield* Either.left(new InvalidManifest({ reason: "Schema1", mediaType: header, detail: "schema 1" }))
    }
    const json = yield* Either.mapLeft(parseJson(bytes), (e) => malformed(`not JSON: ${e.message}`, header, e.cause))
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return yield* Either.left(malformed("not a JSON object", header))
    }
    const record = json as Record<string, unknown>
    if (record.schemaVersion === 1) {
      return yield* Either.left(new InvalidManifest({ reason: "Schema1", detail: "schemaVersion 1" }))
    }
    const bodyType = typeof record.mediaType === "string" ? MediaType.essence(record.mediaType) : undefined
    const inferred = Array.isArray(record.manifests)
      ? MediaType.OCI_INDEX
      : record.config !== undefined && Array.isArray(record.layers)
      ? MediaType.OCI_MANIFEST
      : undefined
    const mediaType = bodyType ?? (header !== undefined && MediaType.isManifest(header) ? header : inferred)
    if (mediaType === undefined) {
      return yield* Either.left(malformed("neither an image manifest nor an index", header))
    }
    if (MediaType.isSchema1(mediaType)) {
      return yield* Either.left(new InvalidManifest({ reason: "Schema1", mediaType, detail: "schema 1" }))
    }
    const digest = options?.digest ?? Digest.ofBytes(bytes, options?.algorithm ?? "sha256")
    if (MediaType.isIndex(mediaType)) {
      const manifest = yield* Either.mapLeft(
        decodeIndexValue(json),
        (e) => malformed(ParseResult.TreeFormatter.formatErrorSync(e), mediaType, e)
      )
      return { _tag: "ImageIndex", mediaType, digest, bytes, manifest } as const
    }
    if (MediaType.isImageManifest(mediaType)) {
      const manifest = yield* Either.mapLeft(
        decodeManifestValue(json),
        (e) => malformed(ParseResult.TreeFormatter.formatErrorSync(e), mediaType, e)
      )
      return { _tag: "ImageManifest", mediaType, digest, bytes, manifest } as const
    }
    return yield* Either.left(
      new InvalidManifest({
        reason: "UnsupportedMediaType",
        mediaType,
        detail: `expected one of ${MediaType.MANIFEST_TYPES.join(", ")}`
      })
    )
  })

/**
 * Serializes a manifest or index to bytes (compact JSON, keys in the order given). Keep the bytes: they
 * are what the digest is of.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encode = (value: ImageManifest | ImageIndex | Record<string, unknown>): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(value))

/**
 * The artifact type of a manifest as the referrers API reports it (image-spec 1.1): its `artifactType`, else
 * for an image manifest the config's media type when that is not an image config (older artifacts), else
 * none (a container image).
 *
 * @since 0.2.0
 * @category descriptors
 */
export const artifactTypeOf = (manifest: Manifest): string | undefined =>
  manifest.manifest.artifactType ??
    (manifest._tag === "ImageManifest" && manifest.manifest.config.mediaType !== MediaType.OCI_CONFIG &&
        manifest.manifest.config.mediaType !== MediaType.DOCKER_CONFIG
      ? manifest.manifest.config.mediaType
      : undefined)

/**
 * The descriptor that points at a manifest (with its `artifactType` and, for image manifests with an
 * `artifactType`-less config, the config media type as artifact type, as the referrers API does).
 *
 * @since 0.2.0
 * @category descriptors
 */
export const descriptorOf = (manifest: Manifest, extra?: Partial<Descriptor>): Descriptor => {
  const artifactType = artifactTypeOf(manifest)
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.bytes.length,
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(manifest.manifest.annotations === undefined ? {} : { annotations: manifest.manifest.annotations }),
    ...extra
  }
}

/**
 * What a manifest points to (not counting its `subject`): config and layers of an image manifest, or the
 * manifests of an index.
 *
 * @since 0.2.0
 * @category descriptors
 */
export const children = (manifest: Manifest): ReadonlyArray<Descriptor> =>
  manifest._tag === "ImageIndex" ? manifest.manifest.manifests : [manifest.manifest.config, ...manifest.manifest.layers]

/**
 * The `subject` of a manifest (OCI 1.1 referrers), if any.
 *
 * @since 0.2.0
 * @category descriptors
 */
export const subject = (manifest: Manifest): Descriptor | undefined => manifest.manifest.subject

/**
 * Total size of an image manifest's layers.
 *
 * @since 0.2.0
 * @category descriptors
 */
export const layersSize = (manifest: ImageManifest): number => manifest.layers.reduce((n, l) => n + l.size, 0)
