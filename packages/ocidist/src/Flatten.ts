/**
 * `flatten`: an image made of one layer, its merged filesystem (see the `Export` module), as `crane flatten`
 * does. The layer is gzip-compressed into a temporary file while hashed (never held in memory), its diffID
 * taken from the uncompressed stream; the config keeps everything but `rootfs.diff_ids` (that one diffID) and
 * `history` (one entry, `created_by: "ocidist flatten <source digest>"`); the manifest keeps its media type
 * (OCI or Docker; into a layout or an oci-archive, Docker is converted to OCI as `copy` does) and annotations.
 * The image is written with the copy engine to a registry, a layout or an archive.
 *
 * An index without a `platform`: every image of it is flattened so, and a new index written that lists them
 * (the index's media type, annotations and order kept; each entry's platform and annotations kept). As
 * `crane flatten` does, attestation manifests (platform `unknown/unknown`) and other non-image entries
 * (artifacts) are left out of the new index: they describe the source images. An image the index lists more
 * than once (under two platforms, or with other annotations) is flattened once, each of its entries kept and
 * pointing at it. With a `platform`, that platform's image only.
 *
 * @since 0.5.0
 */
import type * as Platform from "@ocidist/spec/Platform"
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
  /** For an index: flatten that platform's image only (default: every image, and a new index). */
  readonly platform?: Ocidist.PlatformInput | undefined
}

/**
 * One image of an index, flattened.
 *
 * @since 0.5.0
 * @category models
 */
export interface FlattenedChild {
  /** The source image's manifest digest. */
  readonly sourceDigest: string
  /** The flattened image's manifest, as written. */
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  /** The platform of its index entry. */
  readonly platform?: Platform.Platform | undefined
  /** Its single layer: its gzip blob and its uncompressed digest. */
  readonly layer: { readonly digest: string; readonly size: number; readonly diffId: string }
}

/**
 * What `flatten` wrote: an image (`layer` set), or an index of flattened images (`children` set).
 *
 * @since 0.5.0
 * @category models
 */
export interface Flattened {
  /** The destination, as written. */
  readonly location: string
  /** The source's manifest digest: the image's, or the index's. */
  readonly sourceDigest: string
  /** The flattened image's manifest, or the new index. */
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  /**
   * An image: its single layer, its gzip blob and its uncompressed digest (the config's only diff_id). Absent
   * for an index (see `children`).
   */
  readonly layer?: { readonly digest: string; readonly size: number; readonly diffId: string } | undefined
  /**
   * An index: its images flattened, in the order the new index lists them.
   *
   * @since 0.5.0
   */
  readonly children?: ReadonlyArray<FlattenedChild> | undefined
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
