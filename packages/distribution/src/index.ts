/**
 * `@ocidist/distribution`: the OCI Distribution API as an Effect service. The OCI models are in
 * `@ocidist/spec`.
 *
 * @since 0.1.0
 */

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

/**
 * A registry repository as a content store (`@ocidist/spec`'s `Storage`).
 *
 * @since 0.2.0
 */
export * as Repository from "./Repository.js"
