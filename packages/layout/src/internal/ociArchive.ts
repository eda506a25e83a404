/**
 * `oci-archive` reading (a scanned tar served as range reads) and writing (a streamed tar).
 *
 * @since 0.2.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import { ContentTooLarge } from "@ocidist/spec/SpecError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Reader } from "../Layout.js"
import { BlobNotFound, InvalidArchive, type LayoutError, type LayoutFailure, NotALayout } from "../LayoutError.js"
import { type ArchiveEntry, writeTar } from "./archive.js"
import { tarOf } from "./compressed.js"
import { formatIndex, layoutFileBytes, MAX_INDEX_BYTES, parseIndex } from "./indexJson.js"
import { collect, makeReader } from "./reader.js"
import * as Tar from "./tar.js"

/** @internal */
export const readEntry = (fs: FileSystem.FileSystem, archive: string, entry: Tar.TarEntry) =>
  Effect.map(Stream.runCollect(Tar.entryStream(fs, archive, entry)), (chunks) => {
    const bytes = new Uint8Array(entry.size)
    let at = 0
    for (const chunk of chunks) {
      bytes.set(chunk, at)
      at += chunk.length
    }
    return bytes
  })

/**
 * Scans the tar `tar` read for `archive` (itself, or its decompressed copy): errors name `archive`.
 *
 * @internal
 */
export const scanTar = (archive: string, tar: string) =>
  Tar.scan(tar).pipe(
    Effect.mapError((e) =>
      tar !== archive && e._tag === "InvalidArchive"
        ? new InvalidArchive({ path: archive, detail: `${e.detail} (in the decompressed content)` })
        : e
    )
  )

/** @internal */
export interface OpenOptions {
  /** Where a compressed archive is decompressed (default: a temporary directory). */
  readonly directory?: string | undefined
}

/** @internal */
type OpenError = LayoutError | ContentTooLarge

/** @internal */
export const open: (
  path: string,
  options?: OpenOptions
) => Effect.Effect<Reader, OpenError, FileSystem.FileSystem | Path.Path | Scope.Scope> = Effect.fn(
  "OciArchive.open"
)(function*(path: string, options?: OpenOptions) {
  const fs = yield* FileSystem.FileSystem
  const pathService = yield* Path.Path
  const archive = pathService.resolve(path)
  const name = `oci-archive:${path}`
  // a compressed archive is read from its decompressed copy; errors name the user's file
  const tar = yield* tarOf(archive, options?.directory)
  const entries = yield* scanTar(archive, tar)
  const notALayout = (detail: string) => new NotALayout({ path: archive, detail })
  const layoutFile = Tar.lookup(entries, "oci-layout")
  if (layoutFile === undefined) return yield* notALayout("the archive has no oci-layout file")
  const index = Tar.lookup(entries, "index.json")
  if (index === undefined) return yield* notALayout("the archive has no index.json")
  if (index.size > MAX_INDEX_BYTES) {
    return yield* new ContentTooLarge({ subject: `index.json of ${name}`, limit: MAX_INDEX_BYTES, size: index.size })
  }
  if (layoutFile.size > 64 * 1024) return yield* notALayout("oci-layout is too large")
  const layoutBytes = yield* readEntry(fs, tar, layoutFile)
  try {
    const version = (JSON.parse(new TextDecoder().decode(layoutBytes)) as { imageLayoutVersion?: unknown })
      .imageLayoutVersion
    if (typeof version !== "string" || !version.startsWith("1.")) {
      return yield* notALayout(`unsupported imageLayoutVersion ${JSON.stringify(version)}`)
    }
  } catch {
    return yield* notALayout("oci-layout is not JSON")
  }
  const { manifests } = yield* parseIndex(archive, yield* readEntry(fs, tar, index))
  const blobEntry = (digest: Digest.Digest) =>
    Tar.lookup(entries, `blobs/${Digest.algorithm(digest)}/${Digest.hex(digest)}`)
  return makeReader({
    name,
    path: archive,
    entries: Effect.succeed(manifests),
    blobSize: (digest) => Effect.succeed(Option.map(Option.fromNullable(blobEntry(digest)), (e) => e.size)),
    readBlob: (digest, offset) => {
      const entry = blobEntry(digest)
      return entry === undefined
        ? Stream.fail(new BlobNotFound({ path: archive, digest }))
        : Tar.entryStream(fs, tar, entry, offset, digest)
    }
  })
})

/** @internal */
export const write: (
  path: string,
  source: Reader,
  options?: { readonly entries?: ReadonlyArray<Descriptor.Descriptor> | undefined }
) => Effect.Effect<void, LayoutFailure, FileSystem.FileSystem | Path.Path> = Effect.fn("OciArchive.write")(
  function*(path, source, options) {
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
    type E = LayoutFailure
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
        const digest = d.digest
        return {
          path: `blobs/${Digest.algorithm(digest)}/${Digest.hex(digest)}`,
          size: d.size,
          digest,
          content: bytes !== undefined
            ? Stream.make(bytes)
            : Digest.verifyStream(digest, `blob ${digest} from ${source.name}`)(source.fetchBlob(d))
        }
      })
    ]
    yield* writeTar(path, Stream.fromIterable(entries))
  }
)
