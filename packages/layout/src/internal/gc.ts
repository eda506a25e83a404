/**
 * `Layout.gc`: removes blobs not reachable from `index.json`, optionally the partial files of `ingest/`.
 *
 * @since 0.2.0
 */
import * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { GcResult, Reader } from "../Layout.js"
import type { LayoutFailure } from "../LayoutError.js"
import { isNotFound, type LayoutFiles } from "./files.js"
import { collect } from "./reader.js"

/**
 * Collects garbage; the caller holds the index lock, so the entries cannot change meanwhile.
 *
 * @internal
 */
export const gc = (
  files: LayoutFiles,
  reader: Reader,
  entries: ReadonlyArray<Descriptor.Descriptor>,
  options?: { readonly dryRun?: boolean; readonly partials?: boolean }
): Effect.Effect<GcResult, LayoutFailure> =>
  Effect.gen(function*() {
    const { fs, io } = files
    const join = files.path.join
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
    for (const algorithm of algorithms) {
      if (!Object.prototype.hasOwnProperty.call(Digest.hexLength, algorithm)) continue
      const names = yield* Effect.mapError(fs.readDirectory(join(blobsDir, algorithm)), io())
      for (const name of names) {
        const digest = `${algorithm}:${name}`
        if (!Digest.isDigest(digest) || keep.has(digest)) continue
        const file = files.blobPath(digest)
        const size = yield* files.statSize(file, digest)
        if (Option.isNone(size)) continue
        if (options?.dryRun !== true) yield* Effect.mapError(fs.remove(file, { force: true }), io(digest))
        removed.push(digest)
        bytes += size.value
      }
    }
    let partials = 0
    if (options?.partials === true) {
      for (const name of yield* listing(files.ingestDir)) {
        if (options.dryRun !== true) {
          yield* Effect.mapError(fs.remove(join(files.ingestDir, name), { force: true }), io())
        }
        partials++
      }
    }
    return { removed, bytes, partials }
  })
