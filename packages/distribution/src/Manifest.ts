/**
 * OCI and Docker manifest models: descriptors, image manifests, image indexes (and Docker schema 2
 * manifests and manifest lists, which have the same shape), image configs. Decoding keeps the raw bytes:
 * a digest is always of the bytes received, never of re-serialized JSON.
 *
 * @since 0.1.0
 */
import { Digest } from "@ocidist/reference"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as MediaType from "./MediaType.js"
import { Platform } from "./Platform.js"

/**
 * Annotations: string keys to string values.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Annotations = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * A content descriptor: what a manifest says about a blob or another manifest.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Descriptor = Schema.Struct({
  mediaType: Schema.String,
  digest: Digest.Digest,
  size: Schema.NonNegativeInt,
  urls: Schema.optional(Schema.Array(Schema.String)),
  annotations: Schema.optional(Annotations),
  data: Schema.optional(Schema.String),
  platform: Schema.optional(Platform),
  artifactType: Schema.optional(Schema.String)
}).annotations({ identifier: "Descriptor" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Descriptor extends Schema.Schema.Type<typeof Descriptor> {}

/**
 * An image manifest: OCI (`application/vnd.oci.image.manifest.v1+json`, also used for artifacts) or Docker
 * schema 2 (`application/vnd.docker.distribution.manifest.v2+json`).
 *
 * @since 0.1.0
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
 * @since 0.1.0
 * @category models
 */
export interface ImageManifest extends Schema.Schema.Type<typeof ImageManifest> {}

/**
 * An image index: OCI (`application/vnd.oci.image.index.v1+json`) or Docker manifest list.
 *
 * @since 0.1.0
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
 * @since 0.1.0
 * @category models
 */
export interface ImageIndex extends Schema.Schema.Type<typeof ImageIndex> {}

const StringMap = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const nullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * The runtime part of an image config (`config` in the OCI config, `container_config` in old Docker ones).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ContainerConfig = Schema.Struct({
  User: nullable(Schema.String),
  ExposedPorts: nullable(StringMap),
  Env: nullable(Schema.Array(Schema.String)),
  Entrypoint: nullable(Schema.Array(Schema.String)),
  Cmd: nullable(Schema.Array(Schema.String)),
  Volumes: nullable(StringMap),
  WorkingDir: nullable(Schema.String),
  Labels: nullable(Schema.Record({ key: Schema.String, value: Schema.String })),
  StopSignal: nullable(Schema.String)
})

/**
 * An image config (`application/vnd.oci.image.config.v1+json` or Docker's `container.image.v1+json`).
 * Unknown fields are allowed and dropped from the decoded value; the raw bytes are what count.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ImageConfig = Schema.Struct({
  created: Schema.optional(Schema.String),
  author: Schema.optional(Schema.String),
  architecture: Schema.String,
  os: Schema.String,
  "os.version": Schema.optional(Schema.String),
  "os.features": Schema.optional(Schema.Array(Schema.String)),
  variant: Schema.optional(Schema.String),
  config: nullable(ContainerConfig),
  rootfs: Schema.Struct({ type: Schema.String, diff_ids: Schema.Array(Schema.String) }),
  history: Schema.optional(Schema.Array(Schema.Struct({
    created: Schema.optional(Schema.String),
    created_by: Schema.optional(Schema.String),
    author: Schema.optional(Schema.String),
    comment: Schema.optional(Schema.String),
    empty_layer: Schema.optional(Schema.Boolean)
  })))
}).annotations({ identifier: "ImageConfig" })

/**
 * @since 0.1.0
 * @category models
 */
export interface ImageConfig extends Schema.Schema.Type<typeof ImageConfig> {}

/**
 * Why manifest bytes could not be used.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidManifest extends Schema.TaggedError<InvalidManifest>("@ocidist/distribution/InvalidManifest")(
  "InvalidManifest",
  {
    reason: Schema.Literal("Malformed", "Schema1", "UnsupportedMediaType"),
    mediaType: Schema.optional(Schema.String),
    detail: Schema.String
  }
) {
  override get message(): string {
    switch (this.reason) {
      case "Schema1":
        return "Docker image manifest schema 1 is deprecated and not supported: re-push the image with a current client (schema 2 or OCI)"
      case "UnsupportedMediaType":
        return `unsupported manifest media type ${this.mediaType ?? "(none)"}: ${this.detail}`
      case "Malformed":
        return `malformed manifest${this.mediaType === undefined ? "" : ` (${this.mediaType})`}: ${this.detail}`
    }
  }
}

/**
 * A manifest as received: its bytes, their digest, its media type and the decoded value.
 *
 * @since 0.1.0
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

/** A decoder compiled on first use: compiling these three took ~5 ms of every CLI start, needed or not. */
const lazyDecoder = <A, I>(schema: Schema.Schema<A, I>) => {
  let decoder: ((u: unknown) => Either.Either<A, ParseResult.ParseError>) | undefined
  return (u: unknown): Either.Either<A, ParseResult.ParseError> => (decoder ??= Schema.decodeUnknownEither(schema))(u)
}
const decodeManifestValue = lazyDecoder(ImageManifest)
const decodeIndexValue = lazyDecoder(ImageIndex)
const decodeConfigValue = lazyDecoder(ImageConfig)

const malformed = (detail: string, mediaType?: string) =>
  new InvalidManifest(
    mediaType === undefined ? { reason: "Malformed", detail } : { reason: "Malformed", mediaType, detail }
  )

const parseJson = (bytes: Uint8Array): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

/**
 * Decodes manifest bytes. The media type is the `mediaType` field of the body when present, else the
 * `Content-Type` the registry sent (`contentType`), else inferred from the shape (`manifests` → index,
 * `config` + `layers` → image manifest). Docker schema 1 is refused.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (
  bytes: Uint8Array,
  options?: { readonly contentType?: string | undefined; readonly algorithm?: Digest.Algorithm | undefined }
): Either.Either<Manifest, InvalidManifest> =>
  Either.gen(function*() {
    const header = options?.contentType === undefined ? undefined : MediaType.essence(options.contentType)
    if (header !== undefined && MediaType.isSchema1(header)) {
      return yield* Either.left(new InvalidManifest({ reason: "Schema1", mediaType: header, detail: "schema 1" }))
    }
    const json = yield* Either.mapLeft(parseJson(bytes), (e) => malformed(`not JSON: ${e}`, header))
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
    const digest = Digest.ofBytes(bytes, options?.algorithm ?? "sha256")
    if (MediaType.isIndex(mediaType)) {
      const manifest = yield* Either.mapLeft(
        decodeIndexValue(json),
        (e) => malformed(ParseResult.TreeFormatter.formatErrorSync(e), mediaType)
      )
      return { _tag: "ImageIndex", mediaType, digest, bytes, manifest } as const
    }
    if (MediaType.isImageManifest(mediaType)) {
      const manifest = yield* Either.mapLeft(
        decodeManifestValue(json),
        (e) => malformed(ParseResult.TreeFormatter.formatErrorSync(e), mediaType)
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
 * Decodes image config bytes.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeConfig = (bytes: Uint8Array): Either.Either<ImageConfig, InvalidManifest> =>
  Either.flatMap(
    Either.mapLeft(parseJson(bytes), (e) => malformed(`config is not JSON: ${e}`)),
    (json) =>
      Either.mapLeft(
        decodeConfigValue(json),
        (e) => malformed(`invalid image config: ${ParseResult.TreeFormatter.formatErrorSync(e)}`)
      )
  )

/**
 * Serializes a manifest or index to bytes (compact JSON, keys in the order given). Keep the bytes: they
 * are what the digest is of.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (value: ImageManifest | ImageIndex | Record<string, unknown>): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(value))

/**
 * The descriptor that points at a manifest (with its `artifactType` and, for image manifests with an
 * `artifactType`-less config, the config media type as artifact type, as the referrers API does).
 *
 * @since 0.1.0
 * @category descriptors
 */
export const descriptorOf = (manifest: Manifest, extra?: Partial<Descriptor>): Descriptor => {
  const artifactType = manifest.manifest.artifactType ??
    (manifest._tag === "ImageManifest" && manifest.manifest.config.mediaType !== MediaType.OCI_CONFIG &&
        manifest.manifest.config.mediaType !== MediaType.DOCKER_CONFIG
      ? manifest.manifest.config.mediaType
      : undefined)
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
 * @since 0.1.0
 * @category descriptors
 */
export const children = (manifest: Manifest): ReadonlyArray<Descriptor> =>
  manifest._tag === "ImageIndex" ? manifest.manifest.manifests : [manifest.manifest.config, ...manifest.manifest.layers]

/**
 * The `subject` of a manifest (OCI 1.1 referrers), if any.
 *
 * @since 0.1.0
 * @category descriptors
 */
export const subject = (manifest: Manifest): Descriptor | undefined => manifest.manifest.subject

/**
 * Total size of an image manifest's layers.
 *
 * @since 0.1.0
 * @category descriptors
 */
export const layersSize = (manifest: ImageManifest): number => manifest.layers.reduce((n, l) => n + l.size, 0)
