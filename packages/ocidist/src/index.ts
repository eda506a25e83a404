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
