/**
 * Errors of the `ocidist` facade. Operations fail with {@link OcidistError}: the facade's own errors
 * (`InvalidLocation`, `PlatformNotFound`, `Unsupported`, `NothingToCopy`) plus the typed errors of the
 * packages it drives (`RegistryError` of `@ocidist/distribution`, `LayoutError` of `@ocidist/layout`,
 * `InvalidManifest`, `InvalidPlatform`, `InvalidReference`, `DigestMismatch`). Match on `_tag`.
 *
 * @since 0.1.0
 */
import type * as RegistryError from "@ocidist/distribution/RegistryError"
import type * as LayoutError from "@ocidist/layout/LayoutError"
import type * as ReferenceError from "@ocidist/reference/ReferenceError"
import type * as SpecError from "@ocidist/spec/SpecError"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * A location string that is neither a registry reference nor a local layout or archive.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidLocation extends Schema.TaggedError<InvalidLocation>("ocidist/InvalidLocation")(
  "InvalidLocation",
  { input: Schema.String, detail: Schema.String }
) {
  override get message(): string {
    return `invalid location "${this.input}": ${this.detail} (expected a registry reference such as ` +
      `registry.example.com/app:1.0 or docker://…, oci:<dir>[:tag], oci-archive:<file>[:tag] or ` +
      `docker-archive:<file>[:name:tag])`
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
export class Unsupported extends Schema.TaggedError<Unsupported>("ocidist/Unsupported")(
  "Unsupported",
  { operation: Schema.String, location: Schema.String, detail: Schema.String }
) {
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
  override get message(): string {
    return `nothing to copy from ${this.location}: ${this.detail}`
  }
}

/**
 * Every error an `ocidist` operation can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type OcidistError =
  | InvalidLocation
  | PlatformNotFound
  | Unsupported
  | NothingToCopy
  | RegistryError.RegistryError
  | LayoutError.LayoutError
  | SpecError.InvalidManifest
  | SpecError.InvalidPlatform
  | ReferenceError.InvalidReference
  | ReferenceError.DigestMismatch

const ownTags = new Set(["InvalidLocation", "PlatformNotFound", "Unsupported", "NothingToCopy"])

/**
 * Whether a value is one of the facade's own errors.
 *
 * @since 0.1.0
 * @category guards
 */
export const isFacadeError = (u: unknown): u is InvalidLocation | PlatformNotFound | Unsupported | NothingToCopy =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && ownTags.has(u._tag)
