/**
 * Single blobs: upload one (`push`, from a file or a stream) and delete one (`remove`), in a registry
 * repository or an OCI layout. Archives hold images, not loose blobs: both fail with `UnsupportedOperation`
 * there.
 *
 * A stream's digest is known only at its end: its bytes are spooled to a temporary file while they are hashed,
 * then uploaded from it (never held in memory). A file is hashed, then uploaded. A blob the store has already
 * is not uploaded again.
 *
 * ```ts
 * import { Blob } from "ocidist"
 *
 * const descriptor = yield* Blob.push("localhost:5000/app", "./sbom.json", { mediaType: "application/json" })
 * yield* Blob.remove(`localhost:5000/app@${descriptor.digest}`)
 * ```
 *
 * @since 0.5.0
 */
import type * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/blob.js"
import type * as Location from "./Location.js"
import type { OcidistError } from "./OcidistError.js"

/**
 * A location: a string (`localhost:5000/app`, `oci:./dir`), a `Location`, or a `Reference`.
 *
 * @since 0.5.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * What the operations of this module (and `Index`, `Validate`) need in context: the registry client and the
 * platform's `FileSystem` and `Path` (all provided by `NodeOcidist.layer`).
 *
 * @since 0.5.0
 * @category models
 */
export type Requirements = internal.Requirements

/**
 * @since 0.5.0
 * @category options
 */
export interface PushOptions {
  /** The media type of the descriptor returned. Default `application/octet-stream`. */
  readonly mediaType?: string | undefined
}

/**
 * @since 0.5.0
 * @category options
 */
export interface RemoveOptions {
  /** In a layout: delete the blob even though manifests (or `index.json` entries) use it. */
  readonly force?: boolean | undefined
}

/**
 * What `remove` did.
 *
 * @since 0.5.0
 * @category models
 */
export interface Removed {
  readonly location: string
  readonly digest: string
  /** False when a layout did not have the blob. */
  readonly deleted: boolean
  /** The manifests (digests, or `index.json`) that used it (a forced delete in a layout). */
  readonly usedBy: ReadonlyArray<string>
}

/**
 * Uploads a blob from a file (a path) or a stream to a registry repository or an OCI layout, and returns its
 * descriptor.
 *
 * @since 0.5.0
 * @category operations
 */
export const push: <E = never>(
  repository: LocationInput,
  source: string | Stream.Stream<Uint8Array, E>,
  options?: PushOptions
) => Effect.Effect<Descriptor.Descriptor, OcidistError | E, Requirements> = internal.push

/**
 * Deletes a blob named by digest (`repo@sha256:…`, `oci:./dir@sha256:…`): a registry `DELETE`; in a layout,
 * the blob file, refused (`UnsupportedOperation` naming the manifests) while a manifest uses it unless
 * `force`.
 *
 * @since 0.5.0
 * @category operations
 */
export const remove: (
  blob: LocationInput,
  options?: RemoveOptions
) => Effect.Effect<Removed, OcidistError, Requirements> = internal.remove
