/**
 * Pre-defined annotation keys of the OCI image spec (`annotations.md`) that ocidist reads or writes.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * Annotations: string keys to string values.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Annotations = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * @since 0.2.0
 * @category models
 */
export type Annotations = typeof Annotations.Type

/**
 * The name of an image in an OCI layout's `index.json` (its tag, or a full reference).
 *
 * @since 0.2.0
 * @category keys
 */
export const REF_NAME = "org.opencontainers.image.ref.name"

/**
 * The file name of a layer of an artifact (`oras push` sets it).
 *
 * @since 0.2.0
 * @category keys
 */
export const TITLE = "org.opencontainers.image.title"

/**
 * When the image or artifact was created (RFC 3339).
 *
 * @since 0.2.0
 * @category keys
 */
export const CREATED = "org.opencontainers.image.created"

/**
 * The digest of the base image.
 *
 * @since 0.2.0
 * @category keys
 */
export const BASE_DIGEST = "org.opencontainers.image.base.digest"

/**
 * The reference of the base image.
 *
 * @since 0.2.0
 * @category keys
 */
export const BASE_NAME = "org.opencontainers.image.base.name"
