/**
 * `oci-archive`: an OCI image layout in a tar file (what `skopeo copy … oci-archive:` reads and writes).
 *
 * Reading scans the tar headers once (ustar, PAX, GNU long names), keeps the offset and size of every
 * entry, and serves blobs as file-range streams: nothing is unpacked. The archive is a `Layout.Reader`
 * (a `ReadOnlyStorage` of `@ocidist/spec`) named `oci-archive:<path>`. Writing streams the layout files
 * into a temporary tar next to the target and renames it into place.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type { ContentTooLarge } from "@ocidist/spec/SpecError"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/ociArchive.js"
import type { Reader } from "./Layout.js"
import type { LayoutError, LayoutFailure } from "./LayoutError.js"

/**
 * Opens an `oci-archive` for reading. The archive must contain `oci-layout` and `index.json` (at the root,
 * optionally under `./`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (
  path: string
) => Effect.Effect<Reader, LayoutError | ContentTooLarge, FileSystem.FileSystem | Path.Path> = internal.open

/**
 * Writes an `oci-archive` with the given index entries (default: all entries of `source`) and everything
 * they reference. Blobs are streamed from `source` and checked against their descriptors (size and digest)
 * as they are written; the archive appears at `path` only when complete (a temporary file next to it is
 * removed on failure and interruption). Blobs with `urls` that `source` does not have (foreign layers) are
 * left out.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write: (
  path: string,
  source: Reader,
  options?: { readonly entries?: ReadonlyArray<Descriptor.Descriptor> | undefined }
) => Effect.Effect<void, LayoutFailure, FileSystem.FileSystem | Path.Path> = internal.write
