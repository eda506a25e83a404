/**
 * `oci-archive`: an OCI image layout in a tar file (what `skopeo copy … oci-archive:` reads and writes).
 *
 * Reading scans the tar headers once (ustar, PAX, GNU long names), keeps the offset and size of every
 * entry, and serves blobs as file-range streams: nothing is unpacked. Writing streams the layout files into a
 * temporary tar next to the target and renames it into place.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Digest, type ReferenceError } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as SpecError from "@ocidist/spec/SpecError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { writeTar } from "./internal/archive.js"
import type { ArchiveEntry } from "./internal/archive.js"
import { formatIndex, layoutFileBytes, MAX_INDEX_BYTES, parseIndex } from "./internal/indexJson.js"
import { collect, makeReader } from "./internal/reader.js"
import * as Tar from "./internal/tar.js"
import type { Reader } from "./Layout.js"
import { LayoutError } from "./LayoutError.js"

/**
 * Opens an `oci-archive` for reading. The archive must contain `oci-layout` and `index.json` (at the root,
 * optionally under `./`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (path: string) => Effect.Effect<Reader, LayoutError, FileSystem.FileSystem | Path.Path> = Effect
  .fn("OciArchive.open")(function*(path: string) {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const archive = pathService.resolve(path)
    const entries = yield* Tar.scan(archive)
    const notALayout = (detail: string) => new LayoutError({ reason: "NotALayout", path: archive, detail })
    const layoutFile = Tar.lookup(entries, "oci-layout")
    if (layoutFile === undefined) return yield* notALayout("the archive has no oci-layout file")
    const index = Tar.lookup(entries, "index.json")
    if (index === undefined) return yield* notALayout("the archive has no index.json")
    if (index.size > MAX_INDEX_BYTES) {
      return yield* new LayoutError({ reason: "TooLarge", path: archive, detail: `index.json has ${index.size} bytes` })
    }
    const readEntry = (entry: Tar.TarEntry) =>
      Stream.runFold(
        Tar.entryStream(fs, archive, entry),
        new Uint8Array(0),
        (acc, chunk) => {
          const out = new Uint8Array(acc.length + chunk.length)
          out.set(acc)
          out.set(chunk, acc.length)
          return out
        }
      )
    const layoutBytes = yield* readEntry(layoutFile)
    try {
      const version = (JSON.parse(new TextDecoder().decode(layoutBytes)) as { imageLayoutVersion?: unknown })
        .imageLayoutVersion
      if (typeof version !== "string" || !version.startsWith("1.")) {
        return yield* notALayout(`unsupported imageLayoutVersion ${JSON.stringify(version)}`)
      }
    } catch {
      return yield* notALayout("oci-layout is not JSON")
    }
    const { manifests } = yield* parseIndex(archive, yield* readEntry(index))
    const blobEntry = (digest: Digest.Digest) =>
      Tar.lookup(entries, `blobs/${Digest.algorithm(digest)}/${Digest.hex(digest)}`)
    return makeReader({
      path: archive,
      entries: Effect.succeed(manifests),
      blobSize: (digest) => Effect.succeed(Option.map(Option.fromNullable(blobEntry(digest)), (e) => e.size)),
      readBlob: (digest, offset) => {
        const entry = blobEntry(digest)
        return entry === undefined
          ? Stream.fail(new LayoutError({ reason: "BlobNotFound", path: archive, digest, detail: "" }))
          : Tar.entryStream(fs, archive, entry, offset, digest)
      }
    })
  })

/**
 * Writes an `oci-archive` with the given index entries (default: all entries of `source`) and everything
 * they reference. Blobs are streamed from `source` and checked against their descriptors (size and digest)
 * as they are written; the archive appears at `path` only when complete. Blobs with `urls` that `source`
 * does not have (foreign layers) are left out.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write: (
  path: string,
  source: Reader,
  options?: { readonly entries?: ReadonlyArray<Descriptor.Descriptor> | undefined }
) => Effect.Effect<
  void,
  LayoutError | ReferenceError.DigestMismatch | SpecError.InvalidManifest,
  FileSystem.FileSystem | Path.Path
> = Effect.fn("OciArchive.write")(function*(path, source, options) {
  const roots = options?.entries ?? (yield* source.entries)
  const graph = yield* collect(source, roots)
  const descriptors = [...graph.blobs, ...graph.manifests.map((m) => m.descriptor)]
  const present: Array<Descriptor.Descriptor> = []
  for (const d of descriptors) {
    const size = yield* source.blobSize(d.digest)
    if (Option.isNone(size) && d.urls !== undefined && d.urls.length > 0) continue
    present.push(d)
  }
  const algorithms = [...new Set(present.map((d) => Digest.algorithm(d.digest)))]
  type E = LayoutError | ReferenceError.DigestMismatch
  const file = (name: string, bytes: Uint8Array): ArchiveEntry<E> => ({
    path: name,
    size: bytes.length,
    content: Stream.make(bytes)
  })
  const dir = (name: string): ArchiveEntry<E> => ({ path: name, type: "directory", size: 0, content: Stream.empty })
  const manifestBytes = new Map(graph.manifests.map((m) => [m.descriptor.digest as string, m.manifest.bytes]))
  const entries: ReadonlyArray<ArchiveEntry<E>> = [
    file("oci-layout", layoutFileBytes),
    file("index.json", formatIndex(roots)),
    dir("blobs"),
    ...algorithms.map((a) => dir(`blobs/${a}`)),
    ...present.map((d): ArchiveEntry<E> => {
      const bytes = manifestBytes.get(d.digest)
      return {
        path: `blobs/${Digest.algorithm(d.digest)}/${Digest.hex(d.digest)}`,
        size: d.size,
        digest: d.digest,
        content: bytes !== undefined
          ? Stream.make(bytes)
          : Digest.verifyStream(d.digest, d.digest)(source.readBlob(d.digest))
      }
    })
  ]
  yield* writeTar(path, Stream.fromIterable(entries))
})
