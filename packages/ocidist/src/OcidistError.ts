/**
 * Errors of the `ocidist` facade. Operations fail with {@link OcidistError}: the facade's own errors
 * (`InvalidLocation`, `PlatformNotFound`, `UnsupportedOperation`, `NothingToCopy`) plus the typed errors of
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
 * The facade's own errors.
 *
 * @since 0.2.0
 * @category errors
 */
export type FacadeError = InvalidLocation | PlatformNotFound | UnsupportedOperation | NothingToCopy

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
