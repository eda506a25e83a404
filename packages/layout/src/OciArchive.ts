/**
 * `oci-archive`: an OCI image layout in a tar file (what `skopeo copy … oci-archive:` reads and writes).
 *
 * Reading scans the tar headers once (ustar, PAX, GNU long names), keeps the offset and size of every
 * entry, and serves blobs as file-range streams: nothing is unpacked. A gzip- or zstd-compressed archive
 * (`.tar.gz`, `.tgz`, `.tar.zst`; detected by its first bytes, not its name) is decompressed once, in a
 * stream, into a temporary tar that lives as long as the scope of `open`. The archive is a `Layout.Reader`
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
import type * as Scope from "effect/Scope"
import * as internal from "./internal/ociArchive.js"
import type { Reader } from "./Layout.js"
import type { LayoutError, LayoutFailure } from "./LayoutError.js"

/**
 * Options of {@link open}.
 *
 * @since 0.5.0
 * @category models
 */
export interface OpenOptions {
  /**
   * Where a compressed archive is decompressed (created if missing; the decompressed tar is removed when the
   * scope closes). Default: a new temporary directory.
   */
  readonly directory?: string | undefined
}

/**
 * Opens an `oci-archive` for reading. The archive must contain `oci-layout` and `index.json` (at the root,
 * optionally under `./`). It may be gzip- or zstd-compressed (gzip through `node:zlib`; zstd through Node's
 * zlib where it has it, Node 22.15+, else the `zstd` program on `PATH`; without either, `UnsupportedContent`).
 * The reader is valid within the scope (since 0.5.0: a compressed archive's decompressed copy is removed
 * when it closes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (
  path: string,
  options?: OpenOptions
) => Effect.Effect<Reader, LayoutError | ContentTooLarge, FileSystem.FileSystem | Path.Path | Scope.Scope> =
  internal.open

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
