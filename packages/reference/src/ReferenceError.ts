/**
 * Errors of `@ocidist/reference`: a reference or digest that cannot be parsed, and content whose digest
 * differs from the one expected.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The brand of every error of this package.
 *
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~@ocidist/reference/ReferenceError"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/reference` (tested on the brand, not on `_tag`).
 *
 * @since 0.2.0
 * @category guards
 */
export const isReferenceError = (u: unknown): u is ReferenceError => Predicate.hasProperty(u, TypeId)

/**
 * Why a reference or digest was rejected. A closed set, so callers can match on it.
 *
 * @since 0.1.0
 * @category models
 */
export const InvalidReferenceReason = Schema.Literal(
  "Empty",
  "TooLong",
  "BadFormat",
  "UppercaseRepository",
  "NameIsDigest",
  "BadDigest",
  "UnsupportedAlgorithm",
  "TagTooLong"
)

/**
 * @since 0.1.0
 * @category models
 */
export type InvalidReferenceReason = typeof InvalidReferenceReason.Type

const explain: Record<InvalidReferenceReason, string> = {
  Empty: "it is empty",
  TooLong: "the name is longer than 255 characters",
  BadFormat: "it does not match registry/repository[:tag][@digest]",
  UppercaseRepository: "the repository must be lower-case",
  NameIsDigest: "a 64-character hexadecimal string is an image ID, not a repository name",
  BadDigest: "the digest is malformed (expected algorithm:hex with lower-case hex of the right length)",
  UnsupportedAlgorithm: "the digest algorithm is not supported (sha256, sha384, sha512)",
  TagTooLong: "the tag is longer than 128 characters"
}

/**
 * A reference or digest string that cannot be parsed. `part` names the offending piece of the input
 * (the repository, the tag, the digest...) so the message tells a person what to fix.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidReference extends Schema.TaggedError<InvalidReference>("@ocidist/reference/InvalidReference")(
  "InvalidReference",
  {
    input: Schema.String,
    reason: InvalidReferenceReason,
    part: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const input = this.input.length > 300 ? `${this.input.slice(0, 300)}…` : this.input
    const part = this.part !== undefined && this.part !== this.input ? ` (offending part: "${this.part}")` : ""
    return `invalid reference "${input}": ${explain[this.reason]}${part}`
  }
}

/**
 * Content whose digest differs from the expected one.
 *
 * @since 0.1.0
 * @category errors
 */
export class DigestMismatch extends Schema.TaggedError<DigestMismatch>("@ocidist/reference/DigestMismatch")(
  "DigestMismatch",
  {
    expected: Schema.String,
    actual: Schema.String,
    subject: Schema.optional(Schema.String)
  }
) {
  /**
   * @since 0.2.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    const what = this.subject === undefined ? "content" : this.subject
    return `digest mismatch for ${what}: expected ${this.expected}, got ${this.actual}`
  }
}

/**
 * Every error of `@ocidist/reference`.
 *
 * @since 0.2.0
 * @category errors
 */
export type ReferenceError = InvalidReference | DigestMismatch
