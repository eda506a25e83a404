/**
 * Content descriptors (image-spec `descriptor.md`): what a manifest, an index or a store says about a blob
 * or another manifest: media type, digest, size, and optionally urls, annotations, embedded data, platform
 * and artifact type. Also the empty descriptor of image-spec 1.1 (the `{}` config of artifacts).
 *
 * @since 0.2.0
 */
import { Digest } from "@ocidist/reference"
import * as Schema from "effect/Schema"
import { Annotations } from "./Annotation.js"
import * as MediaType from "./MediaType.js"
import { Platform } from "./Platform.js"

/**
 * A content descriptor.
 *
 * @since 0.2.0
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
 * @since 0.2.0
 * @category models
 */
export interface Descriptor extends Schema.Schema.Type<typeof Descriptor> {}

/**
 * The bytes of the empty JSON object, `{}`: the content of the empty descriptor.
 *
 * @since 0.2.0
 * @category constants
 */
export const EMPTY_JSON: Uint8Array = new Uint8Array([0x7b, 0x7d])

/**
 * The empty descriptor of image-spec 1.1 (`application/vnd.oci.empty.v1+json`, `{}`, data embedded): the
 * config of artifacts that have none, and a placeholder layer.
 *
 * @since 0.2.0
 * @category constants
 */
export const empty: Descriptor = {
  mediaType: MediaType.OCI_EMPTY,
  digest: Digest.ofBytes(EMPTY_JSON),
  size: 2,
  data: "e30="
}

/**
 * A blob that registries are not expected to store (Windows foreign layers, non-distributable layers):
 * it has `urls` to fetch it from elsewhere and a foreign/non-distributable media type. Copies skip it.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isNonDistributable = (descriptor: Descriptor): boolean =>
  descriptor.urls !== undefined && descriptor.urls.length > 0 &&
  (descriptor.mediaType.includes("foreign") || descriptor.mediaType.includes("nondistributable"))

/**
 * Whether a descriptor names a manifest or an index (by its media type), rather than a blob.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isManifest = (descriptor: Descriptor): boolean => MediaType.isManifest(descriptor.mediaType)
