/**
 * @ocidist/testing: the private test harness of ocidist. Real `docker-registry` instances on loopback
 * (anon / basic / token, optional TLS), an in-process token server, deterministic OCI fixtures, tool helpers.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as DockerRegistry from "./DockerRegistry.js"

/**
 * @since 0.4.0
 */
export * as FaultProxy from "./FaultProxy.js"

/**
 * @since 0.1.0
 */
export * as Fixtures from "./Fixtures.js"

/**
 * @since 0.5.0
 */
export * as Postgres from "./Postgres.js"

/**
 * @since 0.5.0
 */
export * as RawLayout from "./RawLayout.js"

/**
 * @since 0.5.0
 */
export * as Tar from "./Tar.js"

/**
 * @since 0.1.0
 */
export * as TestHarnessError from "./TestHarnessError.js"

/**
 * @since 0.1.0
 */
export * as TokenServer from "./TokenServer.js"

/**
 * @since 0.1.0
 */
export * as Tools from "./Tools.js"
