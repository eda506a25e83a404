/**
 * A reproducible tar of a directory, as `oras push` makes one of a directory: entries named
 * `<prefix>/<relative path>` (the directory's base name by default), sorted by name, every timestamp 0, owner
 * and group 0 with no names, permission bits kept. Regular files, directories and symbolic links are written;
 * other kinds (sockets, FIFOs, devices) are skipped. The same tree gives the same bytes, and so the same
 * digest. Streamed: file contents are read from disk as the tar is consumed, never held whole.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as LayoutError from "@ocidist/layout/LayoutError"
import * as Tar from "@ocidist/layout/Tar"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { OcidistError } from "../OcidistError.js"
import * as Compression from "./compression.js"

/** One entry of the tar, as found on disk. @internal */
export interface Entry {
  readonly name: string
  readonly type: "file" | "directory" | "symlink"
  /** The file on disk (regular files). */
  readonly source: string
  readonly size: number
  readonly mode: number
  readonly linkname: string
}

/** The header blocks of an entry: a PAX header first when its name, link name or size does not fit ustar. @internal */
export const header = (entry: Pick<Entry, "name" | "type" | "size" | "mode" | "linkname">): Uint8Array =>
  Tar.encode({
    path: entry.name,
    typeflag: entry.type === "file" ? "0" : entry.type === "directory" ? "5" : "2",
    size: entry.type === "file" ? entry.size : 0,
    mode: entry.mode & 0o7777,
    linkname: entry.linkname
  })

const ioError = (path: string) => LayoutError.fromPlatformError(path)

/** Whether `path` is a symbolic link (without following it), and its target. */
const linkOf = (fs: FileSystem.FileSystem, path: string) =>
  Effect.map(Effect.either(fs.readLink(path)), Either.getOrUndefined)

/**
 * The entries of a directory tree, sorted by name (byte order of the UTF-16 names, as JavaScript sorts),
 * the root itself first as `prefix/`. Symbolic links are entries, never followed.
 *
 * @internal
 */
export const entries = (
  dir: string,
  prefix: string
): Effect.Effect<ReadonlyArray<Entry>, OcidistError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const out: Array<Entry> = []
    const rootInfo = yield* Effect.mapError(fs.stat(dir), ioError(dir))
    out.push({ name: prefix, type: "directory", source: dir, size: 0, mode: rootInfo.mode, linkname: "" })
    const walk = (absolute: string, name: string): Effect.Effect<void, OcidistError> =>
      Effect.gen(function*() {
        const children = [...yield* Effect.mapError(fs.readDirectory(absolute), ioError(absolute))].sort()
        for (const child of children) {
          const source = path.join(absolute, child)
          const childName = `${name}/${child}`
          const target = yield* linkOf(fs, source)
          if (target !== undefined) {
            out.push({ name: childName, type: "symlink", source, size: 0, mode: 0o777, linkname: target })
            continue
          }
          const info = yield* Effect.mapError(fs.stat(source), ioError(source))
          if (info.type === "Directory") {
            out.push({ name: childName, type: "directory", source, size: 0, mode: info.mode, linkname: "" })
            yield* walk(source, childName)
          } else if (info.type === "File") {
            out.push({ name: childName, type: "file", source, size: Number(info.size), mode: info.mode, linkname: "" })
          } else {
            yield* Effect.logWarning(`skipping ${source}: a ${info.type}, not a file, directory or symbolic link`)
          }
        }
      })
    yield* walk(dir, prefix)
    return out
  })

/** A file's bytes, failing when it no longer has the size it had when the tree was listed. */
const fileData = (fs: FileSystem.FileSystem, entry: Entry): Stream.Stream<Uint8Array, OcidistError> =>
  Stream.suspend(() => {
    let read = 0
    const changed = () =>
      new LayoutError.FileSystemError({ path: entry.source, detail: "the file changed while it was read" })
    return Stream.concat(
      Stream.tap(
        Stream.mapError(fs.stream(entry.source, { chunkSize: 256 * 1024 }), ioError(entry.source)),
        (chunk) => {
          read += chunk.length
          return read > entry.size ? Effect.fail(changed()) : Effect.void
        }
      ),
      Stream.suspend(() => read === entry.size ? Stream.empty : Stream.fail(changed()))
    )
  })

/**
 * The tar of `dir`, entries named under `prefix` (default: the directory's base name), streamed.
 *
 * @internal
 */
export const tarDirectory = (
  dir: string,
  prefix?: string
): Stream.Stream<Uint8Array, OcidistError, FileSystem.FileSystem | Path.Path> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const list = yield* entries(dir, prefix ?? path.basename(path.resolve(dir)))
    const parts = Stream.flatMap(
      Stream.fromIterable(list),
      (entry) =>
        entry.type === "file"
          ? Stream.concat(
            Stream.make(header(entry)),
            Stream.concat(fileData(fs, entry), Stream.make(Tar.padding(entry.size)))
          )
          : Stream.make(header(entry))
    )
    return Stream.concat(parts, Stream.make(Tar.end()))
  }))

/**
 * {@link tarDirectory}, gzip-compressed with the codecs in context (`NodeCompression`), level 6: the same
 * tree gives the same bytes with the same codec.
 *
 * @internal
 */
export const tarGzipDirectory = (
  dir: string,
  prefix?: string
): Stream.Stream<Uint8Array, OcidistError, FileSystem.FileSystem | Path.Path> =>
  Stream.unwrap(Effect.gen(function*() {
    const codecs = yield* Compression.CodecsRef
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const tar = tarDirectory(dir, prefix).pipe(
      Stream.provideService(FileSystem.FileSystem, fs),
      Stream.provideService(Path.Path, path)
    )
    return codecs.compress("gzip", 6, dir)(tar)
  }))
