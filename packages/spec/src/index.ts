/**
 * `@ocidist/spec`: the OCI image and distribution specs as Effect Schemas, and the content-store interfaces
 * every ocidist store implements (registry repositories, OCI layouts, archives, memory). No I/O, no Node.js
 * imports.
 *
 * @since 0.2.0
 */

/**
 * Pre-defined annotation keys.
 *
 * @since 0.2.0
 */
export * as Annotation from "./Annotation.js"

/**
 * Content descriptors and the empty descriptor.
 *
 * @since 0.2.0
 */
export * as Descriptor from "./Descriptor.js"

/**
 * Image configs.
 *
 * @since 0.2.0
 */
export * as ImageConfig from "./ImageConfig.js"

/**
 * Image manifests and indexes (OCI and Docker schema 2): decode, encode, walk.
 *
 * @since 0.2.0
 */
export * as Manifest from "./Manifest.js"

/**
 * A content store in memory.
 *
 * @since 0.2.0
 */
export * as MemoryStore from "./MemoryStore.js"

/**
 * Media types and the manifest `Accept` list.
 *
 * @since 0.2.0
 */
export * as MediaType from "./MediaType.js"

/**
 * Platforms: parse, normalize, match.
 *
 * @since 0.2.0
 */
export * as Platform from "./Platform.js"

/**
 * Errors: `InvalidManifest`, `InvalidPlatform`, `SizeMismatch`.
 *
 * @since 0.2.0
 */
export * as SpecError from "./SpecError.js"

/**
 * The content-store interfaces: `ReadOnlyStorage`, `Storage`, and their helpers.
 *
 * @since 0.2.0
 */
export * as Storage from "./Storage.js"
