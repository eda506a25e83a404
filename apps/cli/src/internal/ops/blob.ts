/**
 * `blob push` and `blob delete`: thin over `Blob` of the facade.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Blob from "ocidist/Blob"
import { CliFailure } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import { json, line, run } from "./common.js"

/** stdin as a stream (spooled by the facade while it is hashed: never held in memory). */
const stdin = Stream.fromAsyncIterable(
  process.stdin as AsyncIterable<Uint8Array>,
  (e) => new CliFailure({ detail: `cannot read stdin: ${e instanceof Error ? e.message : String(e)}` })
)

/** `blob push <repo> <file|->` */
export const blobPush = (
  globals: Globals,
  args: { readonly repository: string; readonly file: string; readonly mediaType: Option.Option<string> }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const options = Option.isSome(args.mediaType) ? { mediaType: args.mediaType.value } : {}
      const descriptor = yield* Blob.push(args.repository, args.file === "-" ? stdin : args.file, options)
      const printed = { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }
      // the descriptor is the output (to paste into a manifest): one JSON line either way
      yield* json(printed)
    })
  )

/** `blob delete <repo@digest>` */
export const blobDelete = (globals: Globals, args: { readonly reference: string; readonly force: boolean }) =>
  run(
    globals,
    Effect.gen(function*() {
      const removed = yield* Blob.remove(args.reference, { force: args.force })
      if (globals.json) {
        return yield* json({
          reference: removed.location,
          digest: removed.digest,
          deleted: removed.deleted,
          usedBy: removed.usedBy
        })
      }
      yield* line(removed.deleted ? `Deleted ${removed.location}` : `${removed.location}: no such blob`)
    })
  )
