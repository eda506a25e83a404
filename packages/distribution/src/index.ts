/**
 * `@ocidist/distribution`: the OCI Distribution API as an Effect service, and the OCI models.
 *
 * @since 0.1.0
 */

/**
 * OCI and Docker manifest models.
 *
 * @since 0.1.0
 */
export * as Manifest from "./Manifest.js"

/**
 * Media types and the manifest `Accept` list.
 *
 * @since 0.1.0
 */
export * as MediaType from "./MediaType.js"

/**
 * Platforms: parse, normalize, match.
 *
 * @since 0.1.0
 */
export * as Platform from "./Platform.js"

/**
 * The registry client service: manifests, blobs, uploads, tags, catalog, referrers.
 *
 * @since 0.1.0
 */
export * as RegistryClient from "./RegistryClient.js"

/**
 * Typed errors of the registry client.
 *
 * @since 0.1.0
 */
export * as RegistryError from "./RegistryError.js"
