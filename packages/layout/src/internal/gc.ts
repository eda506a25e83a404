/**
 * `Layout.gc`: removes blobs not reachable from `index.json` and older than a grace period, optionally the
 * partial files of `ingest/`.
 *
 * @since 0.2.0
 */
import * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { GcOptions, GcResult, Reader } from "../Layout.js"
import type { LayoutFailure } from "../LayoutError.js"
import { isNotFound, type LayoutFiles } from "./files.js"
import { LOCK_TIMING } from "./lockFile.js"
import { collect } from "./reader.js"

/**
 * The default grace period of `gc`: unreachable blobs and partial files modified more recently are kept.
 *
 * @internal
 */
export const DEFAULT_GRACE_PERIOD: Duration.DurationInput = Duration.minutes(10)

/**
 * Collects garbage; the caller holds the index lock (in-process and across processes), so the entries cannot
 * change meanwhile. Blobs (and, with `partials`, files of `ingest/`) modified within the grace period are kept:
 * another process may be writing an image that is not in `index.json` yet.
 *
 * @internal
 */
export const gc = (
  files: LayoutFiles,
  reader: Reader,
  entries: ReadonlyArray<Descriptor.Descriptor>,
  options?: GcOptions
): Effect.Effect<GcResult, LayoutFailure> =>
  Effect.gen(function*() {
    const { fs, io } = files
    const join = files.path.join
    const graceMillis = Duration.toMillis(Duration.decode(options?.gracePeriod ?? DEFAULT_GRACE_PERIOD))
    // file times are wall-clock times, compared with the real clock (not the fiber's `Clock`)
    const now = Clock.make().unsafeCurrentTimeMillis()
    /** The size of a file, and whether it was modified within the grace period; `None` when it is gone. */
    const inspect = (file: string, digest?: string) =>
      fs.stat(file).pipe(
        Effect.map((info) => {
          const age = Option.match(info.mtime, { onNone: () => Infinity, onSome: (mtime) => now - mtime.getTime() })
          return Option.some({
            size: Number(info.size),
            recent: graceMillis > 0 && age < graceMillis,
            // the lock file of a blob being written, refreshed by its live holder
            liveLock: file.endsWith(".lock") && age < LOCK_TIMING.staleAfter
          })
        }),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none())),
        Effect.mapError(io(digest))
      )
    const reachable = yield* collect(reader, entries)
    const keep = new Set<string>([
      ...reachable.blobs.map((d) => d.digest),
      ...reachable.manifests.map((m) => m.descriptor.digest)
    ])
    const listing = (dir: string) =>
      fs.readDirectory(dir).pipe(
        Effect.catchIf(isNotFound, () => Effect.succeed([])),
        Effect.mapError(io())
      )
    const blobsDir = join(files.root, "blobs")
    const algorithms = yield* listing(blobsDir)
    const removed: Array<Digest.Digest> = []
    let bytes = 0
    let recent = 0
    for (const algorithm of algorithms) {
      if (!Object.prototype.hasOwnProperty.call(Digest.hexLength, algorithm)) continue
      const names = yield* Effect.mapError(fs.readDirectory(join(blobsDir, algorithm)), io())
      for (const name of names) {
        const digest = `${algorithm}:${name}`
        if (!Digest.isDigest(digest) || keep.has(digest)) continue
        const file = files.blobPath(digest)
        const found = yield* inspect(file, digest)
        if (Option.isNone(found)) continue
        if (found.value.recent) {
          recent++
          continue
        }
        if (options?.dryRun !== true) yield* Effect.mapError(fs.remove(file, { force: true }), io(digest))
        removed.push(digest)
        bytes += found.value.size
      }
    }
    let partials = 0
    if (options?.partials === true) {
      for (const name of yield* listing(files.ingestDir)) {
        const file = join(files.ingestDir, name)
        const found = yield* inspect(file)
        if (Option.isNone(found) || found.value.liveLock) continue
        if (found.value.recent) {
          recent++
          continue
        }
        if (options.dryRun !== true) yield* Effect.mapError(fs.remove(file, { force: true }), io())
        partials++
      }
    }
    return { removed, bytes, partials, recent }
  })
