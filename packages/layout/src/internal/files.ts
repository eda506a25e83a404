/**
 * The files of one layout directory: paths, stat, atomic replacement, lazy creation.
 *
 * @since 0.2.0
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as Digest from "@ocidist/reference/Digest"
import type * as Hash from "@ocidist/reference/Hash"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import { type BlobNotFound, type FileSystemError, fromPlatformError, type LayoutError } from "../LayoutError.js"
import { layoutFileBytes } from "./indexJson.js"
import { withLock } from "./locks.js"

/**
 * How blob files are read: 1 MiB reads, at most 2 of them read ahead. (`FileSystem.stream` reads 16 chunks
 * ahead by default: 16 MiB per blob held in memory, ~15 MiB of peak RSS per concurrent upload of a push.)
 *
 * @internal
 */
export const READ = { chunkSize: 1024 * 1024, bufferSize: 2 } as const

/**
 * A random suffix for temporary files (`<name>.<suffix>`), created with `wx` so a collision fails.
 *
 * @internal
 */
export const tempSuffix: Effect.Effect<string> = Effect.map(
  Effect.all([Random.nextIntBetween(0, 0x40000000), Random.nextIntBetween(0, 0x40000000)]),
  ([a, b]) => `${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}.tmp`
)

/** @internal */
export const isNotFound = (e: PlatformError.PlatformError): boolean =>
  e._tag === "SystemError" && e.reason === "NotFound"

/** @internal */
export interface LayoutFiles {
  readonly root: string
  /** `oci:<path as given>` */
  readonly name: string
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly hash: Hash.Service
  readonly indexPath: string
  readonly ingestDir: string
  readonly blobPath: (digest: Digest.Digest) => string
  readonly partialPath: (digest: Digest.Digest) => string
  /** `ingest/<alg>-<hex>.lock`: held (across processes) while the blob is written. */
  readonly lockPath: (digest: Digest.Digest) => string
  /** `oci-layout` */
  readonly layoutFile: string
  readonly io: (digest?: string) => (error: PlatformError.PlatformError) => BlobNotFound | FileSystemError
  /** The size of a file, `None` when it does not exist. */
  readonly statSize: (file: string, digest?: string) => Effect.Effect<Option.Option<number>, LayoutError>
  /** The bytes of a file, `None` when it has more than `limit` (at most `limit + 1` bytes are read). */
  readonly readBounded: (file: string, limit: number) => Effect.Effect<Option.Option<Uint8Array>, LayoutError>
  /** Writes `bytes` to a temporary file next to `target`, syncs it and renames it to `target`. */
  readonly writeAtomically: (target: string, bytes: Uint8Array) => Effect.Effect<void, LayoutError>
  /** Creates the directory (with parents), `oci-layout` and `blobs/` unless done already. */
  readonly ensureCreated: Effect.Effect<void, LayoutError>
}

/** @internal */
export const makeFiles = (options: {
  readonly root: string
  readonly name: string
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly hash: Hash.Service
  /** Whether `oci-layout` is known to exist. */
  readonly created: boolean
}): LayoutFiles => {
  const { fs, root } = options
  const join = options.path.join
  const io = (digest?: string) => fromPlatformError(root, digest)
  const ingestDir = join(root, "ingest")

  const statSize = (file: string, digest?: string) =>
    fs.stat(file).pipe(
      Effect.map((info) => Option.some(Number(info.size))),
      Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<number>())),
      Effect.mapError(io(digest))
    )

  const readBounded = (file: string, limit: number) =>
    Effect.gen(function*() {
      const chunks: Array<Uint8Array> = []
      let total = 0
      yield* Stream.runForEach(
        fs.stream(file, { chunkSize: READ.chunkSize, bytesToRead: limit + 1 }),
        (chunk) =>
          Effect.sync(() => {
            chunks.push(chunk)
            total += chunk.length
          })
      ).pipe(Effect.mapError(io()))
      if (total > limit) return Option.none<Uint8Array>()
      const bytes = new Uint8Array(total)
      let at = 0
      for (const chunk of chunks) {
        bytes.set(chunk, at)
        at += chunk.length
      }
      return Option.some(bytes)
    })

  const writeAtomically = (target: string, bytes: Uint8Array) =>
    Effect.gen(function*() {
      const temp = `${target}.${yield* tempSuffix}`
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "wx" })
        yield* file.writeAll(bytes)
        yield* file.sync
      })).pipe(
        Effect.zipRight(fs.rename(temp, target)),
        Effect.onError(() => Effect.ignore(fs.remove(temp))),
        Effect.mapError(io())
      )
    })

  let created = options.created
  const layoutFile = join(root, "oci-layout")
  const ensureCreated: Effect.Effect<void, LayoutError> = Effect.suspend(() =>
    created ? Effect.void : withLock(`create:${root}`)(Effect.suspend(() => {
      if (created) return Effect.void
      return Effect.gen(function*() {
        yield* Effect.mapError(fs.makeDirectory(join(root, "blobs"), { recursive: true }), io())
        const exists = yield* Effect.mapError(fs.exists(layoutFile), io())
        if (!exists) yield* writeAtomically(layoutFile, layoutFileBytes)
        created = true
      })
    }))
  )

  return {
    root,
    name: options.name,
    fs,
    path: options.path,
    hash: options.hash,
    indexPath: join(root, "index.json"),
    ingestDir,
    blobPath: (digest) => join(root, "blobs", Digest.algorithm(digest), Digest.hex(digest)),
    partialPath: (digest) => join(ingestDir, `${Digest.algorithm(digest)}-${Digest.hex(digest)}.partial`),
    lockPath: (digest) => join(ingestDir, `${Digest.algorithm(digest)}-${Digest.hex(digest)}.lock`),
    layoutFile,
    io,
    statSize,
    readBounded,
    writeAtomically,
    ensureCreated
  }
}
