/**
 * `@ocidist/reference`: image references and digests. Pure, no I/O, no Node.js imports (the Node.js hash
 * implementation is the separate `@ocidist/reference/NodeHash` module).
 *
 * @since 0.1.0
 */

/**
 * Content digests: validation and incremental hashing.
 *
 * @since 0.1.0
 */
export * as Digest from "./Digest.js"

/**
 * The hash service digests are computed with (portable by default; `NodeHash` for Node.js).
 *
 * @since 0.2.0
 */
export * as Hash from "./Hash.js"

/**
 * Image references: parse, normalize, format.
 *
 * @since 0.1.0
 */
export * as Reference from "./Reference.js"

/**
 * Errors: `InvalidReference`, `DigestMismatch`.
 *
 * @since 0.1.0
 */
export * as ReferenceError from "./ReferenceError.js"

/**
 * Registry host mapping (Docker Hub API host and credential key).
 *
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"
