/**
 * Writing tar archives to a temporary file and renaming them into place.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as zlib from "node:zlib"
import { describeSystemCause, FileSystemError, fromPlatformError, type LayoutError } from "../LayoutError.js"
import { tempSuffix } from "./files.js"
import * as Tar from "./tar.js"
import * as WriteBehind from "./writeBehind.js"

/** @internal */
export interface ArchiveEntry<E> {
  readonly path: string
  readonly type?: "file" | "directory"
  readonly size: number
  readonly content: Stream.Stream<Uint8Array, E>
  readonly digest?: string
}

/**
 * Passes a stream through, failing when it does not have exactly `size` bytes.
 *
 * @internal
 */
export const exactly =
  (archive: string, size: number, what: string, digest?: string) =>
  <E>(stream: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E | SizeMismatch> =>
    Stream.suspend(() => {
      let total = 0
      const subject = `${what}${digest === undefined ? "" : ` (${digest})`} written to ${archive}`
      const mismatch = (actual?: number) =>
        new SizeMismatch({ subject, expected: size, ...(actual === undefined ? {} : { actual }) })
      return Stream.concat(
        Stream.mapEffect(stream, (chunk) => {
          total += chunk.length
          return total > size ? Effect.fail(mismatch()) : Effect.succeed(chunk)
        }),
        Stream.execute(Effect.suspend(() => total === size ? Effect.void : Effect.fail(mismatch(total))))
      )
    })

/**
 * Writes entries as a tar file: to `<path>.<random>.tmp` in the same directory (its pages handed to the disk
 * as they pile up: `WriteBehind`), synced, then renamed to `path`. The temporary file is removed on failure
 * and interruption.
 *
 * @internal
 */
export const writeTar = <E>(
  archive: string,
  entries: Stream.Stream<ArchiveEntry<E>, E | LayoutError>
): Effect.Effect<void, E | LayoutError | SizeMismatch, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathService = yield* Path.Path
    const target = pathService.resolve(archive)
    const temp = `${target}.${yield* tempSuffix}`
    const io = fromPlatformError(target)
    const bytes = entries.pipe(
      Stream.flatMap((entry) =>
        Stream.concat(
          Stream.make(Tar.header({ path: entry.path, size: entry.size, type: entry.type ?? "file" })),
          Stream.concat(
            exactly(target, entry.size, entry.path, entry.digest)(entry.content),
            Stream.make(Tar.padding(entry.size))
          )
        )
      ),
      Stream.concat(Stream.make(Tar.end())),
      Stream.filter((chunk) => chunk.length > 0)
    )
    const write = Effect.scoped(Effect.gen(function*() {
      const file = yield* Effect.mapError(fs.open(temp, { flag: "wx" }), io)
      const behind = yield* WriteBehind.scoped(file.fd)
      yield* Stream.runForEach(
        bytes,
        (chunk) => Effect.map(Effect.mapError(file.writeAll(chunk), io), () => behind.wrote(chunk.length))
      )
      yield* Effect.mapError(
        behind.settle,
        (cause) => new FileSystemError({ path: target, detail: describeSystemCause("write", temp, cause), cause })
      )
      yield* Effect.mapError(file.sync, io)
    }))
    yield* write.pipe(
      Effect.zipRight(Effect.mapError(fs.rename(temp, target), io)),
      Effect.onExit((exit) => exit._tag === "Success" ? Effect.void : Effect.ignore(fs.remove(temp, { force: true })))
    )
  })

/**
 * Gunzips a byte stream with `node:zlib`, with backpressure both ways: a fiber feeds the source into the
 * gunzip stream (waiting for `drain`), the output is pulled as an async iterable. Source failures (and
 * interruption) pass through unchanged; a corrupt gzip stream fails with `onError`.
 *
 * @internal
 */
export const gunzip = <E, E2>(
  stream: Stream.Stream<Uint8Array, E>,
  onError: (detail: string) => E2
): Stream.Stream<Uint8Array, E | E2> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const z = zlib.createGunzip({ chunkSize: 64 * 1024 })
    yield* Effect.addFinalizer(() => Effect.sync(() => z.destroy()))
    let sourceFailure: Cause.Cause<E> | undefined
    const write = (chunk: Uint8Array) =>
      Effect.async<void>((resume) => {
        if (z.write(chunk)) return resume(Effect.void)
        const onDrain = () => {
          z.off("close", onDrain)
          resume(Effect.void)
        }
        z.once("drain", onDrain)
        z.once("close", onDrain)
      })
    yield* Stream.runForEach(stream, write).pipe(
      Effect.matchCauseEffect({
        onSuccess: () => Effect.sync(() => z.end()),
        onFailure: (cause) =>
          Effect.sync(() => {
            sourceFailure = cause
            z.destroy(new Error("source failed"))
          })
      }),
      Effect.forkScoped
    )
    const output = Stream.fromAsyncIterable<Buffer, string>(
      z as AsyncIterable<Buffer>,
      (error) => error instanceof Error ? error.message : String(error)
    )
    return output.pipe(
      Stream.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
      Stream.catchAll((detail): Stream.Stream<never, E | E2> =>
        sourceFailure !== undefined ? Stream.failCause(sourceFailure) : Stream.fail(onError(detail))
      )
    )
  }))
