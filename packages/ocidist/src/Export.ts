/**
 * `export`: an image's filesystem as one tar stream, as `crane export` writes it. The layers are merged with
 * the OCI whiteouts applied (`.wh.<name>` deletes a path of the layers below, `.wh..wh..opq` empties a
 * directory of them); hard links, symlinks, device files, modes, owners and times are kept as tar entries.
 *
 * Memory is bounded by the number of paths, never by contents: a first pass over the layers (top down)
 * decides from paths alone which entries survive, a second (bottom up) streams them. Layer tar streams are
 * read strictly (header checksums, sizes, extended headers of at most 1 MiB): a malformed layer fails with
 * `InvalidLayer`, as does an entry whose `..` climbs out of the root; a leading `/` is dropped, and entries
 * below a symlink of the merged tree (`l -> /etc`, then `l/passwd`) are left out. Nothing is extracted.
 *
 * ```ts
 * import { Export } from "ocidist"
 *
 * const program = Export.toFile("localhost:5000/app:1", "./rootfs.tar", { platform: "linux/amd64" })
 * ```
 *
 * @since 0.5.0
 */
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Storage from "@ocidist/spec/Storage"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/export.js"
import * as merge from "./internal/merge.js"
import type * as Ocidist from "./Ocidist.js"
import type { OcidistError } from "./OcidistError.js"

/**
 * The services `export` and `flatten` open stores with: the registry client, the file system, paths and the
 * hash (the CLI's context; `NodeOcidist` wires them). Layer codecs come from `NodeCompression.layer`.
 *
 * @since 0.5.0
 * @category models
 */
export type Requirements = internal.Requirements

/**
 * @since 0.5.0
 * @category options
 */
export interface Options {
  /** For an index: the platform's image (default: this machine's). For an image: checked against its config. */
  readonly platform?: Ocidist.PlatformInput | undefined
}

/**
 * What {@link toFile} wrote.
 *
 * @since 0.5.0
 * @category models
 */
export interface Exported {
  /** The source, as written. */
  readonly location: string
  /** The image manifest exported. */
  readonly digest: string
  readonly layers: number
  /** Bytes of tar written. */
  readonly size: number
  readonly path: string
}

/**
 * The merged filesystem of the image a location names, as a tar stream.
 *
 * @since 0.5.0
 * @category operations
 */
export const stream: (
  source: Ocidist.LocationInput,
  options?: Options
) => Stream.Stream<Uint8Array, OcidistError, Requirements> = internal.exportStream

/**
 * Writes the merged filesystem to a file: a temporary file beside it, renamed when complete (removed on
 * failure).
 *
 * @since 0.5.0
 * @category operations
 */
export const toFile: (
  source: Ocidist.LocationInput,
  path: string,
  options?: Options
) => Effect.Effect<Exported, OcidistError, Requirements> = internal.exportToFile

/**
 * The merged filesystem of layers (bottom first, as a manifest lists them) read from any store, as a tar
 * stream. Needs the layer codecs in context for compressed layers (`NodeCompression.layer`).
 *
 * @since 0.5.0
 * @category operations
 */
export const mergeLayers: <E>(
  store: Storage.ReadOnlyStorage<E>,
  layers: ReadonlyArray<Descriptor.Descriptor>
) => Stream.Stream<Uint8Array, E | merge.LayerError> = merge.merge
