/**
 * Errors of the `ocidist` facade. Operations fail with {@link OcidistError}: the facade's own errors
 * (`InvalidLocation`, `PlatformNotFound`, `UnsupportedOperation`, `NothingToCopy`, and the layer compression
 * errors `CompressionUnavailable`, `CompressionFailed`, `IncompatibleCompression`) plus the typed errors of
 * the packages it drives (`RegistryError` of `@ocidist/distribution`, `LayoutError` of `@ocidist/layout`,
 * `SpecError` of `@ocidist/spec`, `ReferenceError` of `@ocidist/reference`). Every `_tag` names one class
 * across all packages, so `Effect.catchTags` on the union never collides; each package brands its errors,
 * and `isOcidistError` accepts exactly these brands.
 *
 * @since 0.1.0
 */
import * as RegistryError from "@ocidist/distribution/RegistryError"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as ReferenceError from "@ocidist/reference/ReferenceError"
import * as SpecError from "@ocidist/spec/SpecError"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The brand of the facade's own errors.
 *
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~ocidist/OcidistError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A location string that is neither a registry reference nor a local layout or archive.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidLocation extends Schema.TaggedError<InvalidLocation>("ocidist/InvalidLocation")(
  "InvalidLocation",
  {
    input: Schema.String,
    detail: Schema.String,
    /** The reference error behind it, when there is one. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    // the reference error behind it names the input already: not twice
    const named = `invalid reference "${this.input.trim().replace(/^docker:\/\//, "")}"`
    return this.detail.startsWith(named) ? this.detail : `invalid location "${this.input}": ${this.detail}`
  }
}

/**
 * None of the manifests of an index is for a wanted platform.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlatformNotFound extends Schema.TaggedError<PlatformNotFound>("ocidist/PlatformNotFound")(
  "PlatformNotFound",
  {
    location: Schema.String,
    wanted: Schema.String,
    available: Schema.Array(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const available = this.available.length === 0 ? "none listed" : this.available.join(", ")
    return `${this.location} has no manifest for platform ${this.wanted} (available: ${available})`
  }
}

/**
 * An operation a location does not support (e.g. `referrers` of an archive, `mount` into a layout).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedOperation extends Schema.TaggedError<UnsupportedOperation>("ocidist/UnsupportedOperation")(
  "UnsupportedOperation",
  { operation: Schema.String, location: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.operation} is not supported for ${this.location}: ${this.detail}`
  }
}

/**
 * A copy that found nothing to copy (`allTags` over a repository without tags).
 *
 * @since 0.1.0
 * @category errors
 */
export class NothingToCopy extends Schema.TaggedError<NothingToCopy>("ocidist/NothingToCopy")(
  "NothingToCopy",
  { location: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `nothing to copy from ${this.location}: ${this.detail}`
  }
}

/**
 * A compression algorithm a copy needs (to recompress a layer, or to read one) is not available here: zstd
 * needs Node.js ≥ 22.15 (`zlib` zstd) or the `zstd` program on `PATH`.
 *
 * @since 0.5.0
 * @category errors
 */
export class CompressionUnavailable extends Schema.TaggedError<CompressionUnavailable>(
  "ocidist/CompressionUnavailable"
)(
  "CompressionUnavailable",
  { algorithm: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.algorithm} is not available: ${this.detail}`
  }
}

/**
 * Compressing, decompressing or spooling a layer failed: corrupt compressed data, a `zstd` program that
 * exited with an error, a temporary file that could not be written.
 *
 * @since 0.5.0
 * @category errors
 */
export class CompressionFailed extends Schema.TaggedError<CompressionFailed>("ocidist/CompressionFailed")(
  "CompressionFailed",
  {
    operation: Schema.Literal("compress", "decompress", "spool"),
    algorithm: Schema.String,
    subject: Schema.String,
    detail: Schema.String
  }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const what = this.operation === "spool" ? "spooling" : `${this.operation}ing (${this.algorithm})`
    return `${what} ${this.subject} failed: ${this.detail}`
  }
}

/**
 * A layer's compression that the destination's manifest cannot hold (zstd in a Docker v2s2 manifest or a
 * docker-archive) while recompression is off (`compress: "keep"`). Raised before anything is written.
 *
 * @since 0.5.0
 * @category errors
 */
export class IncompatibleCompression extends Schema.TaggedError<IncompatibleCompression>(
  "ocidist/IncompatibleCompression"
)(
  "IncompatibleCompression",
  {
    location: Schema.String,
    digest: Schema.String,
    compression: Schema.String,
    detail: Schema.String
  }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `cannot write layer ${this.digest} (${this.compression}) to ${this.location}: ${this.detail}`
  }
}

/**
 * A manifest that cannot be written in the format asked for (`format: "docker"`): Docker schema 2 holds
 * container images only, so an artifact (`artifactType`, a config that is not an image config), a `subject`,
 * or layers without a Docker media type (zstd) are refused, naming what cannot be held. Raised before anything
 * is written.
 *
 * @since 0.5.0
 * @category errors
 */
export class UnsupportedFormat extends Schema.TaggedError<UnsupportedFormat>("ocidist/UnsupportedFormat")(
  "UnsupportedFormat",
  {
    /** The manifest's digest (at the source). */
    digest: Schema.String,
    /** The format asked for, in words: `Docker media types (schema 2)`. */
    format: Schema.String,
    /** What the format cannot hold. */
    detail: Schema.String
  }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `cannot write ${this.digest} with ${this.format}: ${this.detail}`
  }
}

/**
 * A layer whose tar stream cannot be read safely: a bad header checksum, a truncated entry, an extended
 * header above the limit (1 MiB), a path that escapes the root with `..`.
 *
 * @since 0.5.0
 * @category errors
 */
export class InvalidLayer extends Schema.TaggedError<InvalidLayer>("ocidist/InvalidLayer")(
  "InvalidLayer",
  { location: Schema.String, digest: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `layer ${this.digest} of ${this.location} is not a valid tar stream: ${this.detail}`
  }
}

/**
 * An artifact that cannot be pushed or pulled safely: a file title that would be written outside the
 * destination (absolute, `..`, through a symbolic link), two files with one title, a directory tar entry or
 * link that escapes, an index without a platform to choose.
 *
 * @since 0.5.0
 * @category errors
 */
export class InvalidArtifact extends Schema.TaggedError<InvalidArtifact>("ocidist/InvalidArtifact")(
  "InvalidArtifact",
  { location: Schema.String, detail: Schema.String }
) {
  /**
   * @since 0.5.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `artifact ${this.location}: ${this.detail}`
  }
}

/**
 * The facade's own errors.
 *
 * @since 0.2.0
 * @category errors
 */
export type FacadeError =
  | InvalidLocation
  | UnsupportedFormat
  | PlatformNotFound
  | UnsupportedOperation
  | NothingToCopy
  | CompressionUnavailable
  | CompressionFailed
  | IncompatibleCompression
  | InvalidArtifact
  | InvalidLayer

/**
 * Every error an `ocidist` operation can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type OcidistError =
  | FacadeError
  | RegistryError.RegistryError
  | LayoutError.LayoutError
  | SpecError.SpecError
  | ReferenceError.ReferenceError

/**
 * Whether a value is one of the facade's own errors.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFacadeError = (u: unknown): u is FacadeError => Predicate.hasProperty(u, TypeId)

/**
 * Whether a value is an error an `ocidist` operation can fail with (a branded error of the facade or of one of
 * the packages it drives).
 *
 * @since 0.2.0
 * @category guards
 */
export const isOcidistError = (u: unknown): u is OcidistError =>
  isFacadeError(u) || RegistryError.isRegistryError(u) || LayoutError.isLayoutError(u) || SpecError.isSpecError(u) ||
  ReferenceError.isReferenceError(u)
