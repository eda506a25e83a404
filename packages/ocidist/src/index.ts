/**
 * `ocidist`: pull, push, copy and inspect OCI images and artifacts — the facade over the `@ocidist/*`
 * packages. Platform-neutral: the Node.js wiring is the `ocidist/NodeOcidist` module, the Promise API the
 * `ocidist/promise` entry point.
 *
 * @since 0.1.0
 */

/**
 * The operations (`pull`, `push`, `copy`, `inspect`, `resolve`, `tags`, `referrers`), the `Ocidist`
 * service and its layers.
 *
 * @since 0.1.0
 */
export * as Ocidist from "./Ocidist.js"

/**
 * The copy engine over any two content stores.
 *
 * @since 0.2.0
 */
export * as Copy from "./Copy.js"

/**
 * Locations: registry references, `oci:` layouts, `oci-archive:` and `docker-archive:` files.
 *
 * @since 0.1.0
 */
export * as Location from "./Location.js"

/**
 * Progress events and reporters.
 *
 * @since 0.1.0
 */
export * as Progress from "./Progress.js"

/**
 * Result models.
 *
 * @since 0.1.0
 */
export * as Result from "./Result.js"

/**
 * Errors of the facade.
 *
 * @since 0.1.0
 */
export * as OcidistError from "./OcidistError.js"

/**
 * Single blobs: upload and delete.
 *
 * @since 0.5.0
 */
export * as Blob from "./Blob.js"

/**
 * Image indexes: create, append, remove, annotate.
 *
 * @since 0.5.0
 */
export * as ImageIndex from "./ImageIndex.js"

/**
 * Validation of stored images: digests, sizes, media types, layers.
 *
 * @since 0.5.0
 */
export * as Validate from "./Validate.js"

/**
 * Image authoring: change an image's config and annotations (`mutate`), add a layer (`append`).
 *
 * @since 0.5.0
 */
export * as Mutate from "./Mutate.js"

/**
 * An image's filesystem as one tar stream (`crane export`): layers merged, whiteouts applied.
 *
 * @since 0.5.0
 */
export * as Export from "./Export.js"

/**
 * An image flattened into one layer (`crane flatten`).
 *
 * @since 0.5.0
 */
export * as Flatten from "./Flatten.js"

/**
 * Files as OCI artifacts (oras-compatible): push, pull, attach.
 *
 * @since 0.5.0
 */
export * as Artifact from "./Artifact.js"
