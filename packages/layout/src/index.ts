/**
 * `@ocidist/layout`: OCI image layouts on disk, `oci-archive` and `docker-archive`, streamed and
 * content-addressed.
 *
 * @since 0.1.0
 */

/**
 * OCI image layout directories: read, write, tag, verify, garbage-collect.
 *
 * @since 0.1.0
 */
export * as Layout from "./Layout.js"

/**
 * Errors: `LayoutError`.
 *
 * @since 0.1.0
 */
export * as LayoutError from "./LayoutError.js"

/**
 * `oci-archive`: an OCI layout in a tar file, read and written streaming.
 *
 * @since 0.1.0
 */
export * as OciArchive from "./OciArchive.js"

/**
 * `docker-archive`: `docker save` / `docker load` tarballs, read and written streaming.
 *
 * @since 0.1.0
 */
export * as DockerArchive from "./DockerArchive.js"
