/**
 * Compressed archives (`.tar.gz`, `.tgz`, `.tar.zst`, or any name): detected by their magic bytes and
 * decompressed once, in a stream, into a temporary tar that the archive readers then index and read by
 * offsets. The temporary file lives as long as the scope of `open`.
 *
 * The decompressors are `NodeCodecs`' (shared with `ocidist`'s layer codecs): gzip through `node:zlib`; zstd
 * through Node's zlib where it has it (22.15+), else the `zstd` program on `PATH` (Debian package `zstd`) as a
 * streaming child process.
 *
 * @since 0.5.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as NodeFs from "node:fs"
import type * as NodeStream from "node:stream"
import { pipeline } from "node:stream/promises"
import {
  FileSystemError,
  fromPlatformError,
  InvalidArchive,
  type LayoutError,
  UnsupportedContent
} from "../LayoutError.js"
import { tempSuffix } from "./files.js"
import * as NodeCodecs from "./nodeCodecs.js"

/** @internal */
export type Compression = "gzip" | "zstd"

/**
 * The compression a file starts with: gzip (`1f 8b`), zstd (`28 b5 2f fd`), else none.
 *
 * @internal
 */
export const compressionOf = (head: Uint8Array): Compression | undefined =>
  head[0] === 0x1f && head[1] === 0x8b
    ? "gzip"
    : head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd
    ? "zstd"
    : undefined

const sniff = (fs: FileSystem.FileSystem, archive: string): Effect.Effect<Compression | undefined, LayoutError> =>
  Effect.scoped(Effect.gen(function*() {
    const file = yield* fs.open(archive, { flag: "r" })
    const head = new Uint8Array(4)
    let got = 0
    while (got < head.length) {
      const n = Number(yield* file.read(head.subarray(got)))
      if (n === 0) break
      got += n
    }
    return compressionOf(head.subarray(0, got))
  })).pipe(Effect.mapError(fromPlatformError(archive)))

const message = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** A system error (disk full, permissions) is the file system's; anything else is the archive's content. */
const failure = (archive: string, target: string, kind: Compression, error: unknown): LayoutError => {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : ""
  return /^E[A-Z]+$/.test(code)
    ? new FileSystemError({ path: target, detail: `decompressing ${archive}: ${message(error)}`, cause: error })
    : new InvalidArchive({ path: archive, detail: `not a valid ${kind} stream: ${message(error)}` })
}

/** Streams `archive` through a Node decompressor into `target`. */
const viaNode = (
  archive: string,
  target: string,
  kind: Compression,
  decompressor: () => NodeStream.Duplex
): Effect.Effect<void, LayoutError> =>
  Effect.async<void, LayoutError>((resume, signal) => {
    pipeline(
      NodeFs.createReadStream(archive, { highWaterMark: 1024 * 1024 }),
      decompressor(),
      NodeFs.createWriteStream(target, { flags: "wx" }),
      { signal }
    ).then(
      () => resume(Effect.void),
      (error: unknown) => resume(Effect.fail(failure(archive, target, kind, error)))
    )
  })

const ZSTD_MISSING = "a zstd-compressed archive needs Node 22.15 or later (zlib zstd) or the zstd program on PATH " +
  "(Debian/Ubuntu: apt-get install zstd); or decompress it first (zstd -d)"

/** The zstd program's decompressor (`zstd -d -c -q`), or `UnsupportedContent` when the program does not run. */
const zstdProgram = (archive: string): Effect.Effect<() => NodeStream.Duplex, LayoutError> =>
  Effect.flatMap(Effect.promise(() => NodeCodecs.programRuns("zstd")), (ok) =>
    ok
      ? Effect.succeed(() => NodeCodecs.zstdDecompress("zstd"))
      : Effect.fail(new UnsupportedContent({ path: archive, detail: ZSTD_MISSING })))

/**
 * The tar to read for `archive`: the file itself, or (gzip or zstd) a decompressed copy in `directory`
 * (default: a new temporary directory), removed when the scope closes. The copy is written to a temporary
 * name and renamed, so a half-decompressed file is never read.
 *
 * @internal
 */
export const tarOf = (
  archive: string,
  directory: string | undefined
): Effect.Effect<string, LayoutError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const kind = yield* sniff(fs, archive)
    if (kind === undefined) return archive
    const dir = directory ?? (yield* Effect.mapError(
      fs.makeTempDirectoryScoped({ prefix: "ocidist-archive-" }),
      fromPlatformError("(temporary directory)")
    ))
    yield* Effect.mapError(fs.makeDirectory(dir, { recursive: true }), fromPlatformError(dir))
    const base = pathService.basename(archive).replace(/\.(tar\.gz|tgz|tar\.zst|tzst|gz|zst)$/i, "")
      .replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64)
    const suffix = yield* tempSuffix
    const target = pathService.join(dir, `${base}-${suffix.replace(/\.tmp$/, "")}.tar`)
    const temp = `${target}.tmp`
    yield* Effect.addFinalizer(() =>
      Effect.all([Effect.ignore(fs.remove(temp, { force: true })), Effect.ignore(fs.remove(target, { force: true }))])
    )
    const decompressor = kind === "gzip"
      ? () => NodeCodecs.gzipDecompress({ chunkSize: 64 * 1024 })
      : NodeCodecs.nodeHasZstd
      ? () => NodeCodecs.zstdDecompress()
      : yield* zstdProgram(archive)
    yield* viaNode(archive, temp, kind, decompressor)
    yield* Effect.mapError(fs.rename(temp, target), fromPlatformError(target))
    return target
  })
