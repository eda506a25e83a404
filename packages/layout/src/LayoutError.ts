/**
 * Errors of `@ocidist/layout`. One error class, `LayoutError`, whose `reason` says what went wrong, so callers
 * can match on `_tag` and then on `reason`. Digest mismatches of written content are reported with
 * `DigestMismatch` from `@ocidist/reference`; manifests that cannot be decoded with `InvalidManifest` from
 * `@ocidist/distribution`.
 *
 * @since 0.1.0
 */
import type * as PlatformError from "@effect/platform/Error"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~@ocidist/layout/LayoutError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/layout` (tested on the brand, not on `_tag`).
 *
 * @since 0.2.0
 * @category guards
 */
export const isLayoutError = (u: unknown): u is LayoutError => Predicate.hasProperty(u, TypeId)

/**
 * Why a layout or archive operation failed.
 *
 * - `NotALayout`: the directory has no valid `oci-layout` file (or `create` found one already).
 * - `InvalidIndex`: `index.json` (or an archive's `manifest.json`) is not valid.
 * - `InvalidDigest`: a digest that is malformed or would escape the layout as a path.
 * - `InvalidTag`: a tag that is not a valid `org.opencontainers.image.ref.name`.
 * - `NotFound`: no index entry matches a tag or digest.
 * - `Ambiguous`: several different index entries match.
 * - `BlobNotFound`: a blob is not in the layout or archive.
 * - `SizeMismatch`: content has a different size than its descriptor says.
 * - `TooLarge`: content that is read into memory (manifests, configs, index) exceeds its bound.
 * - `PartialMissing`: a resumed write found no (or a too short) partial file.
 * - `InvalidArchive`: a tar archive that cannot be read.
 * - `Unsupported`: content we cannot process (e.g. a zstd layer for a docker-archive).
 * - `Io`: the file system failed.
 *
 * @since 0.1.0
 * @category models
 */
export const LayoutErrorReason = Schema.Literal(
  "NotALayout",
  "InvalidIndex",
  "InvalidDigest",
  "InvalidTag",
  "NotFound",
  "Ambiguous",
  "BlobNotFound",
  "SizeMismatch",
  "TooLarge",
  "PartialMissing",
  "InvalidArchive",
  "Unsupported",
  "Io"
)

/**
 * @since 0.1.0
 * @category models
 */
export type LayoutErrorReason = typeof LayoutErrorReason.Type

/**
 * A layout, archive or file-system failure. `path` is the layout directory or archive file; `detail` says
 * what happened, `digest` names the blob involved when there is one.
 *
 * @since 0.1.0
 * @category errors
 */
export class LayoutError extends Schema.TaggedError<LayoutError>("@ocidist/layout/LayoutError")("LayoutError", {
  reason: LayoutErrorReason,
  path: Schema.String,
  detail: Schema.String,
  digest: Schema.optional(Schema.String)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const blob = this.digest === undefined ? "" : ` (${this.digest})`
    switch (this.reason) {
      case "NotALayout":
        return `${this.path} is not an OCI image layout: ${this.detail}`
      case "InvalidIndex":
        return `invalid index in ${this.path}: ${this.detail}`
      case "InvalidDigest":
        return `refusing invalid digest in ${this.path}: ${this.detail}`
      case "InvalidTag":
        return `invalid tag for ${this.path}: ${this.detail}`
      case "NotFound":
        return `not found in ${this.path}: ${this.detail}`
      case "Ambiguous":
        return `ambiguous reference in ${this.path}: ${this.detail}`
      case "BlobNotFound":
        return `blob${blob} not found in ${this.path}${this.detail === "" ? "" : `: ${this.detail}`}`
      case "SizeMismatch":
        return `size mismatch${blob} in ${this.path}: ${this.detail}`
      case "TooLarge":
        return `content${blob} too large in ${this.path}: ${this.detail}`
      case "PartialMissing":
        return `cannot resume${blob} in ${this.path}: ${this.detail}`
      case "InvalidArchive":
        return `invalid archive ${this.path}: ${this.detail}`
      case "Unsupported":
        return `unsupported content${blob} in ${this.path}: ${this.detail}`
      case "Io":
        return `file system error on ${this.path}${blob}: ${this.detail}`
    }
  }
}

/**
 * Wraps a `PlatformError` as a `LayoutError` (`BlobNotFound` when the file is missing and a digest is given,
 * otherwise `Io`).
 *
 * @since 0.1.0
 * @category errors
 */
export const fromPlatformError = (path: string, digest?: string) => (error: PlatformError.PlatformError): LayoutError =>
  new LayoutError({
    reason: digest !== undefined && error._tag === "SystemError" && error.reason === "NotFound" ? "BlobNotFound" : "Io",
    path,
    detail: error.message,
    ...(digest === undefined ? {} : { digest })
  })
