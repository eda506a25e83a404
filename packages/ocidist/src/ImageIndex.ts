/**
 * Image indexes (multi-platform images) built and edited where they are stored: a registry, an OCI layout
 * or an oci-archive (a docker-archive holds no index).
 *
 * - `create`: an index of the manifests named (images, artifacts, or indexes: nested indexes are entries).
 *   Each image entry's `platform` is read from its config.
 * - `append`: the entries of an existing index plus the manifests named (an entry of the same digest is
 *   replaced).
 * - `remove`: the entries of a platform or a digest removed.
 * - `annotate`: annotations set on the index, or on its entries.
 *
 * Manifests from another repository, registry or layout are copied into the destination first (everything
 * below them; digests kept, nothing converted or recompressed; mounted within a registry). The new index is
 * an OCI index, unless the index edited is a Docker manifest list; it gets the destination's tag (none: by
 * digest only). An oci-archive is written again, holding the new index alone.
 *
 * The module is `ImageIndex` (an `Index` module would clash with the package entry `index.ts` on
 * case-insensitive file systems).
 *
 * @since 0.5.0
 */
import type * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Platform from "@ocidist/spec/Platform"
import type * as Effect from "effect/Effect"
import type * as Blob from "./Blob.js"
import * as internal from "./internal/imageIndex.js"
import type * as Location from "./Location.js"
import type { OcidistError } from "./OcidistError.js"

/**
 * @since 0.5.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * @since 0.5.0
 * @category options
 */
export interface CreateOptions {
  /** Annotations of the index (merged over the existing ones for `append`). */
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/**
 * Which entries `remove` removes: those of a platform, or the entry of a digest.
 *
 * @since 0.5.0
 * @category options
 */
export interface RemoveSelector {
  readonly platform?: string | Platform.Platform | undefined
  readonly digest?: string | undefined
}

/**
 * @since 0.5.0
 * @category options
 */
export interface AnnotateOptions {
  /** Annotations set on the index. */
  readonly annotations?: Readonly<Record<string, string>> | undefined
  /** Annotations set on entries, by digest. */
  readonly manifestAnnotations?: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined
}

/**
 * The index written.
 *
 * @since 0.5.0
 * @category models
 */
export interface Written {
  readonly location: string
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  readonly manifests: ReadonlyArray<Descriptor.Descriptor>
}

/**
 * Creates an index of `manifests` at `destination`.
 *
 * @since 0.5.0
 * @category operations
 */
export const create: (
  destination: LocationInput,
  manifests: ReadonlyArray<LocationInput>,
  options?: CreateOptions
) => Effect.Effect<Written, OcidistError, Blob.Requirements> = internal.create

/**
 * Adds `manifests` to the index at `destination`.
 *
 * @since 0.5.0
 * @category operations
 */
export const append: (
  destination: LocationInput,
  manifests: ReadonlyArray<LocationInput>,
  options?: CreateOptions
) => Effect.Effect<Written, OcidistError, Blob.Requirements> = internal.append

/**
 * Removes entries (by platform or digest) from the index at `destination`; `PlatformNotFound` or
 * `UnsupportedOperation` when none matches.
 *
 * @since 0.5.0
 * @category operations
 */
export const remove: (
  destination: LocationInput,
  selector: RemoveSelector
) => Effect.Effect<Written, OcidistError, Blob.Requirements> = internal.remove

/**
 * Sets annotations on the index at `destination` or on its entries.
 *
 * @since 0.5.0
 * @category operations
 */
export const annotate: (
  destination: LocationInput,
  options: AnnotateOptions
) => Effect.Effect<Written, OcidistError, Blob.Requirements> = internal.annotate
