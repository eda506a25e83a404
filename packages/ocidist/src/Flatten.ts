/**
 * `flatten`: an image made of one layer, its merged filesystem (see the `Export` module), as `crane flatten`
 * does. The layer is gzip-compressed into a temporary file while hashed (never held in memory), its diffID
 * taken from the uncompressed stream; the config keeps everything but `rootfs.diff_ids` (that one diffID) and
 * `history` (one entry, `created_by: "ocidist flatten <source digest>"`); the manifest keeps its media type
 * (OCI or Docker; into a layout or an oci-archive, Docker is converted to OCI as `copy` does) and annotations.
 * The image is written with the copy engine to a registry, a layout or an archive.
 *
 * @since 0.5.0
 */
import type * as Effect from "effect/Effect"
import type * as Export from "./Export.js"
import * as internal from "./internal/export.js"
import type * as Ocidist from "./Ocidist.js"
import type { OcidistError } from "./OcidistError.js"

/**
 * @since 0.5.0
 * @category options
 */
export interface Options {
  /** Where the flattened image goes. Default: the source location (its tag then names the new image). */
  readonly tag?: Ocidist.LocationInput | undefined
  /** For an index: the platform's image (default: this machine's). */
  readonly platform?: Ocidist.PlatformInput | undefined
}

/**
 * What `flatten` wrote.
 *
 * @since 0.5.0
 * @category models
 */
export interface Flattened {
  /** The destination, as written. */
  readonly location: string
  /** The source image's manifest digest. */
  readonly sourceDigest: string
  /** The flattened image's manifest. */
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  /** The single layer: its gzip blob and its uncompressed digest (the config's only diff_id). */
  readonly layer: { readonly digest: string; readonly size: number; readonly diffId: string }
  /** The tag given at the destination, if any. */
  readonly tag?: string | undefined
}

/**
 * Flattens the image a location names into one layer and writes it (see the module's comment).
 *
 * @since 0.5.0
 * @category operations
 */
export const flatten: (
  source: Ocidist.LocationInput,
  options?: Options
) => Effect.Effect<Flattened, OcidistError, Export.Requirements> = internal.flatten
