/**
 * Errors of `@ocidist/spec`: content that does not follow the OCI specs. `InvalidManifest` for manifest,
 * index and config bytes that cannot be used, `InvalidPlatform` for platform strings, and `SizeMismatch` for
 * content whose length differs from its descriptor (every store reports it, next to `DigestMismatch` of
 * `@ocidist/reference`), and `ContentNotFound` of the in-memory store. Each is branded with {@link TypeId}: `isSpecError` tests the brand, not `_tag`.
 *
 * @since 0.2.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~@ocidist/spec/SpecError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/spec`.
 *
 * @since 0.2.0
 * @category guards
 */
export const isSpecError = (u: unknown): u is SpecError => Predicate.hasProperty(u, TypeId)

/**
 * Manifest (or index, or config) bytes that cannot be used: not JSON, not the schema of their media type,
 * Docker schema 1, or an unknown manifest media type.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidManifest extends Schema.TaggedError<InvalidManifest>("@ocidist/spec/InvalidManifest")(
  "InvalidManifest",
  {
    reason: Schema.Literal("Malformed", "Schema1", "UnsupportedMediaType"),
    mediaType: Schema.optional(Schema.String),
    detail: Schema.String,
    /** The JSON or schema error behind a `Malformed` manifest. */
    cause: Schema.optional(Schema.Defect)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    switch (this.reason) {
      case "Schema1":
        return "Docker image manifest schema 1 is deprecated and not supported: convert it to schema 2 or OCI with a " +
          "tool that still reads schema 1, or push the image again with a current client"
      case "UnsupportedMediaType":
        return `unsupported manifest media type ${this.mediaType ?? "(none)"}: ${this.detail}`
      case "Malformed":
        return `malformed manifest${this.mediaType === undefined ? "" : ` (${this.mediaType})`}: ${this.detail}`
    }
  }
}

/**
 * A platform string that cannot be parsed.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidPlatform extends Schema.TaggedError<InvalidPlatform>("@ocidist/spec/InvalidPlatform")(
  "InvalidPlatform",
  { input: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `invalid platform "${this.input}": expected os/architecture[/variant][:os.version], e.g. linux/arm64 or linux/arm/v7`
  }
}

/**
 * Content whose length differs from the size its descriptor (or the server) announced. `subject` says what
 * and where (`blob sha256:… from ghcr.io/org/app`); `actual` is `undefined` when more bytes than expected
 * arrived and reading stopped.
 *
 * @since 0.2.0
 * @category errors
 */
export class SizeMismatch extends Schema.TaggedError<SizeMismatch>("@ocidist/spec/SizeMismatch")("SizeMismatch", {
  subject: Schema.String,
  expected: Schema.Number,
  actual: Schema.optional(Schema.Number)
}) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const actual = this.actual === undefined ? "more" : String(this.actual)
    return `size mismatch for ${this.subject}: expected ${this.expected} bytes, got ${actual}`
  }
}

/**
 * Content refused because it is larger than what may be read into memory (manifests 4 MiB, configs 16 MiB…).
 *
 * @since 0.2.0
 * @category errors
 */
export class ContentTooLarge extends Schema.TaggedError<ContentTooLarge>("@ocidist/spec/ContentTooLarge")(
  "ContentTooLarge",
  { subject: Schema.String, limit: Schema.Number, size: Schema.optional(Schema.Number) }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const size = this.size === undefined ? "larger" : `${this.size} bytes`
    return `${this.subject} is ${size}, above the limit of ${this.limit} bytes`
  }
}

/**
 * A store has no content for a reference or descriptor (used by the in-memory store; the registry and layout
 * stores have their own, more specific errors).
 *
 * @since 0.2.0
 * @category errors
 */
export class ContentNotFound extends Schema.TaggedError<ContentNotFound>("@ocidist/spec/ContentNotFound")(
  "ContentNotFound",
  { store: Schema.String, what: Schema.String }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `${this.what} not found in ${this.store}`
  }
}

/**
 * Every error of `@ocidist/spec`.
 *
 * @since 0.2.0
 * @category errors
 */
export type SpecError = InvalidManifest | InvalidPlatform | SizeMismatch | ContentTooLarge | ContentNotFound
