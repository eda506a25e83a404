/**
 * Errors of `@ocidist/registry`: what starting an embedded registry can fail with. Requests never fail the
 * registry: each failure of a request is answered with the OCI Distribution spec's JSON error envelope.
 * Errors are branded with {@link TypeId} (`isRegistryError` tests the brand).
 *
 * @since 0.4.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.4.0
 * @category type ids
 */
export const TypeId = "~@ocidist/registry/RegistryError"

/**
 * @since 0.4.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is an error of `@ocidist/registry`.
 *
 * @since 0.4.0
 * @category guards
 */
export const isRegistryError = (u: unknown): u is RegistryError => Predicate.hasProperty(u, TypeId)

/**
 * The registry's storage could not be opened (a directory that cannot be created or read).
 *
 * @since 0.4.0
 * @category errors
 */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>(
  "@ocidist/registry/StorageUnavailable"
)("StorageUnavailable", {
  storage: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.4.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `cannot open the registry's storage ${this.storage}: ${this.detail}`
  }
}

/**
 * The registry could not listen (the port is taken, the address is not local, permission denied).
 *
 * @since 0.4.0
 * @category errors
 */
export class ListenFailed extends Schema.TaggedError<ListenFailed>("@ocidist/registry/ListenFailed")("ListenFailed", {
  address: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.4.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `the registry cannot listen on ${this.address}: ${this.detail}`
  }
}

/**
 * Options that cannot work together or are out of range (a bad user list, a negative port).
 *
 * @since 0.4.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("@ocidist/registry/InvalidOptions")(
  "InvalidOptions",
  { detail: Schema.String }
) {
  /**
   * @since 0.4.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message(): string {
    return `invalid registry options: ${this.detail}`
  }
}

/**
 * @since 0.4.0
 * @category errors
 */
export type RegistryError = StorageUnavailable | ListenFailed | InvalidOptions
