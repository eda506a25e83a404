/**
 * A small tar reader and writer: enough for image archives (ustar, PAX extended headers, GNU long names).
 *
 * Reading scans the headers once, seeking over entry data, and keeps `path → (offset, size)`; entry data is
 * then served as file-range streams. Writing produces headers and padding; the caller streams the data. Both
 * are built on the codec of `../Tar.ts` (strict header decoding, PAX and GNU long names, PAX when encoding).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as posix from "node:path/posix"
import { fromPlatformError, InvalidArchive, type LayoutError } from "../LayoutError.js"
import * as Tar from "../Tar.js"
import { READ } from "./files.js"

/** @internal */
export const BLOCK = Tar.BLOCK

/** @internal */
export interface TarEntry {
  readonly path: string
  readonly type: "file" | "directory" | "symlink" | "hardlink" | "other"
  /** offset of the data in the archive file */
  readonly offset: number
  readonly size: number
  readonly linkname: string
}

/**
 * Normalizes an archive path for lookup: no leading `./` or `/`, no trailing `/`.
 *
 * @internal
 */
export const normalizePath = (path: string): string => {
  const normalized = posix.normalize(`/${path}`).replace(/^\/+/, "").replace(/\/+$/, "")
  return normalized
}

/**
 * Scans a tar file's headers. Data is never read except for PAX headers and GNU long names.
 *
 * @internal
 */
export const scan = (
  archive: string
): Effect.Effect<Map<string, TarEntry>, LayoutError, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const ioError = fromPlatformError(archive)
    const file = yield* Effect.mapError(fs.open(archive, { flag: "r" }), ioError)
    const fileSize = Number((yield* Effect.mapError(file.stat, ioError)).size)
    const invalid = (detail: string) => new InvalidArchive({ path: archive, detail })
    const readAt = (position: number, length: number) =>
      Effect.gen(function*() {
        if (position + length > fileSize) return yield* invalid(`unexpected end of file at offset ${position}`)
        yield* file.seek(position, "start")
        const buffer = new Uint8Array(length)
        let got = 0
        while (got < length) {
          const n = Number(yield* Effect.mapError(file.read(buffer.subarray(got)), ioError))
          if (n === 0) return yield* invalid(`unexpected end of file at offset ${position + got}`)
          got += n
        }
        return buffer
      })

    const entries = new Map<string, TarEntry>()
    const decoder = new Tar.Decoder()
    let position = 0
    while (position + BLOCK <= fileSize) {
      const decoded = decoder.decode(yield* readAt(position, BLOCK), position)
      if (Either.isLeft(decoded)) return yield* invalid(decoded.left)
      const block = decoded.right
      if (block._tag === "End") break
      const dataOffset = position + BLOCK
      const size = block._tag === "Extended" ? block.size : block.header.size
      const next = dataOffset + Math.ceil(size / BLOCK) * BLOCK
      if (dataOffset + size > fileSize) return yield* invalid(`entry at offset ${position} runs past the end of file`)
      if (block._tag === "Extended") {
        const error = decoder.extended(block.typeflag, yield* readAt(dataOffset, size), position)
        if (error !== undefined) return yield* invalid(error)
        position = next
        continue
      }
      const { linkname, typeflag } = block.header
      const type: TarEntry["type"] = typeflag === "0" || typeflag === "7"
        ? "file"
        : typeflag === "5"
        ? "directory"
        : typeflag === "2"
        ? "symlink"
        : typeflag === "1"
        ? "hardlink"
        : "other"
      const path = normalizePath(block.header.path)
      entries.set(path, { path, type, offset: dataOffset, size: type === "file" ? size : 0, linkname })
      position = next
    }
    if (decoder.pending) return yield* invalid("the archive ends after an extended header, before its entry")
    if (decoder.entries === 0) return yield* invalid("empty or not a tar archive")
    return entries
  }))

/**
 * Looks up a regular file, following symlinks and hard links inside the archive.
 *
 * @internal
 */
export const lookup = (entries: ReadonlyMap<string, TarEntry>, path: string): TarEntry | undefined => {
  let current = normalizePath(path)
  for (let hops = 0; hops < 16; hops++) {
    const entry = entries.get(current)
    if (entry === undefined) return undefined
    if (entry.type === "file") return entry
    if (entry.type === "hardlink") current = normalizePath(entry.linkname)
    else if (entry.type === "symlink") {
      current = normalizePath(
        entry.linkname.startsWith("/") ? entry.linkname : posix.join(posix.dirname(current), entry.linkname)
      )
    } else return undefined
  }
  return undefined
}

/**
 * A file-range stream of an entry's data.
 *
 * @internal
 */
export const entryStream = (
  fs: FileSystem.FileSystem,
  archive: string,
  entry: TarEntry,
  offset = 0,
  digest?: string
): Stream.Stream<Uint8Array, LayoutError> => {
  const start = Math.min(Math.max(offset, 0), entry.size)
  if (start === entry.size) return Stream.empty
  return Stream.mapError(
    fs.stream(archive, { ...READ, offset: entry.offset + start, bytesToRead: entry.size - start }),
    fromPlatformError(archive, digest)
  )
}

// ---------------------------------------------------------------------------------------------------------
// writing

/**
 * Header blocks for one entry (a PAX header first when the path or size does not fit ustar).
 *
 * @internal
 */
export const header = (entry: {
  readonly path: string
  readonly size: number
  readonly type?: "file" | "directory"
  readonly mode?: number
  readonly mtime?: number
}): Uint8Array =>
  Tar.encode({
    path: entry.path,
    size: entry.size,
    typeflag: entry.type === "directory" ? "5" : "0",
    ...(entry.mode === undefined ? {} : { mode: entry.mode }),
    mtime: Math.floor(entry.mtime ?? 0)
  })

/**
 * Zero bytes that pad entry data to a block boundary.
 *
 * @internal
 */
export const padding = Tar.padding

/**
 * The end-of-archive marker: two zero blocks.
 *
 * @internal
 */
export const end = Tar.end
