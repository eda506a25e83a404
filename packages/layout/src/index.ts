/**
 * `@ocidist/layout`: OCI image layouts on disk, `oci-archive` and `docker-archive`, streamed and
 * content-addressed; each a content store of `@ocidist/spec` (`Storage` for a layout directory,
 * `ReadOnlyStorage` for the archives).
 *
 * @since 0.1.0
 */

/**
 * OCI image layout directories: the `Storage` (read, write, resume, tag), verify, garbage-collect.
 *
 * @since 0.1.0
 */
export * as Layout from "./Layout.js"

/**
 * Errors: one branded class per failure (`NotALayout`, `ImageNotFound`, `BlobNotFound`, …), `isLayoutError`.
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

/**
 * A small tar codec: strict header decoding (checksums, PAX, GNU long names), a streaming reader, and
 * header encoding with PAX for what ustar cannot hold.
 *
 * @since 0.5.0
 */
export * as Tar from "./Tar.js"
