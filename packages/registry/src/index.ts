/**
 * @since 0.4.0
 */

/**
 * An embedded OCI registry on an `@effect/platform` `HttpServer`: options, `serve`, `layer`.
 *
 * @since 0.4.0
 */
export * as Registry from "./Registry.js"

/**
 * Errors of starting a registry.
 *
 * @since 0.4.0
 */
export * as RegistryError from "./RegistryError.js"

/**
 * Where a registry keeps its content: in memory, or a directory of OCI layouts.
 *
 * @since 0.4.0
 */
export * as RegistryStorage from "./RegistryStorage.js"
