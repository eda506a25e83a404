/**
 * Blob ingestion: content streamed into `ingest/<alg>-<hex>.partial`, hashed while written (its pages handed
 * to the disk as they pile up: `WriteBehind`), synced and renamed into `blobs/` when size and digest match;
 * interrupted writes resumed from their partial file.
 *
 * @since 0.2.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Digest from "@ocidist/reference/Digest"
import { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import * as Storage from "@ocidist/spec/Storage"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NodeFs from "node:fs"
import type { WriteResult } from "../Layout.js"
import {
  describeSystemCause,
  FileSystemError,
  type LayoutError,
  type LayoutFailure,
  PartialMissing
} from "../LayoutError.js"
import { isNotFound, type LayoutFiles, READ } from "./files.js"
import { type FileLock, makeFileLock } from "./lockFile.js"
import { withLock } from "./locks.js"
import { checkDigest } from "./reader.js"
import * as WriteBehind from "./writeBehind.js"

/** Content that turned out not to be the blob: its partial file is gone. */
type WrongContent = SizeMismatch | DigestMismatch

/** @internal */
export interface BlobWriter {
  readonly pushBlob: <E2>(
    expected: Descriptor.Descriptor,
    content: Storage.BlobContent<E2>
  ) => Effect.Effect<WriteResult, LayoutFailure | E2>
  readonly partialSize: (digest: Digest.Digest) => Effect.Effect<Option.Option<number>, LayoutError>
  readonly discardPartial: (digest: Digest.Digest) => Effect.Effect<void, LayoutError>
}

/** @internal */
export const makeBlobWriter = (files: LayoutFiles): BlobWriter => {
  const { fs, hash, io, root, statSize } = files

  const partialSize = (digest: Digest.Digest) =>
    Effect.flatMap(checkDigest(root, digest), (d) => statSize(files.partialPath(d), d))

  const removePartial = (digest: Digest.Digest) =>
    Effect.mapError(fs.remove(files.partialPath(digest), { force: true }), io(digest))

  const discardPartial = (digest: Digest.Digest) => Effect.flatMap(checkDigest(root, digest), removePartial)

  /**
   * Writes `content.open(start)` after the first `start` bytes of the partial file. Wrong content (too long,
   * too short, another digest) removes the partial and is returned as `Left`; the content's own failures and
   * interruption keep the partial. Nothing is created before the first byte (for a fresh write).
   */
  const ingest = <E2>(
    digest: Digest.Digest,
    expected: Descriptor.Descriptor,
    content: Storage.BlobContent<E2>,
    start: number,
    /** The blob's lock, when it is to be taken at the first byte (there was no `ingest/` to put it in). */
    lazyLock: { readonly lock: FileLock; readonly scope: Scope.Scope } | undefined
  ): Effect.Effect<Either.Either<WriteResult, WrongContent>, LayoutError | E2> =>
    Effect.gen(function*() {
      const partial = files.partialPath(digest)
      const subject = `blob ${digest} in ${files.name}`
      const hasher = hash.make(Digest.algorithm(digest))
      if (start > 0) {
        let have = 0
        yield* fs.stream(partial, { ...READ, bytesToRead: start }).pipe(
          Stream.runForEach((chunk) =>
            Effect.sync(() => {
              hasher.update(chunk)
              have += chunk.length
            })
          ),
          Effect.catchIf(isNotFound, () => Effect.void),
          Effect.mapError(io(digest))
        )
        if (have < start) {
          return yield* new PartialMissing({
            path: root,
            digest,
            detail: `the partial file has ${have} bytes, fewer than the ${start} it had a moment ago`
          })
        }
      }
      // A fresh write of content that verifies itself is counted, not hashed a second time.
      const trusted = content.verified && start === 0
      const wrong = (error: WrongContent) => Effect.as(removePartial(digest), Either.left(error))
      let written = start
      let overflow = false
      /** Stored by another process while this one waited for the blob's lock: the content is not needed. */
      let stored = false
      let failure: LayoutError | undefined
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const scope = yield* Effect.scope
        const runtime = yield* Effect.runtime<never>()
        // set when the scope closes (the file with it): an open that completes after an interruption must not
        // write to its descriptor, which the scope has closed and the process may have reused
        let closed = false
        yield* Effect.addFinalizer(() => Effect.sync(() => (closed = true)))
        let file: FileSystem.File | undefined
        // the file's pages go to the disk while it is written, not all at the final sync (see `WriteBehind`)
        let flusher: WriteBehind.Flusher | undefined
        const openFile = Effect.gen(function*() {
          if (start === 0) yield* files.ensureCreated
          yield* Effect.mapError(fs.makeDirectory(files.ingestDir, { recursive: true }), io(digest))
          if (lazyLock !== undefined) {
            yield* Scope.extend(lazyLock.lock.acquire, lazyLock.scope)
            if (yield* isStored(digest, expected.size)) return "stored" as const
          }
          const opened = yield* Effect.mapError(fs.open(partial, { flag: start > 0 ? "a" : "w" }), io(digest))
          flusher = yield* WriteBehind.scoped(opened.fd)
          return opened
        })
        // The byte path's inner loop: a synchronous hash update and positional write per buffer, no effect,
        // fiber or promise per buffer (an effect per 64 KiB cost ~30% of a pull's CPU). The file is opened
        // at the first byte, once per blob.
        const writeAt = (opened: FileSystem.File, chunk: Uint8Array): boolean => {
          try {
            for (let done = 0; done < chunk.length;) {
              done += NodeFs.writeSync(opened.fd, chunk, done, chunk.length - done, written + done)
            }
          } catch (cause) {
            failure = new FileSystemError({
              path: partial,
              digest,
              detail: describeSystemCause("write", partial, cause),
              cause
            })
            return false
          }
          if (!trusted) hasher.update(chunk)
          written += chunk.length
          flusher?.wrote(chunk.length)
          return true
        }
        const sink: Storage.ChunkSink = (chunk) => {
          if (written + chunk.length > expected.size) {
            overflow = true
            return false
          }
          if (file !== undefined) return writeAt(file, chunk)
          return Runtime.runPromiseExit(runtime)(Scope.extend(openFile, scope)).then((opened) => {
            if (closed) return false
            if (Exit.isFailure(opened)) {
              // a failure to open is the write's failure; an interruption or defect ends the pump as well
              const error = Cause.failureOption(opened.cause)
              if (error._tag === "Some") failure = error.value
              else failure = new FileSystemError({ path: partial, digest, detail: Cause.pretty(opened.cause) })
              return false
            }
            if (opened.value === "stored") {
              stored = true
              return false
            }
            file = opened.value
            return writeAt(file, chunk)
          })
        }
        yield* Storage.pump(content, start, sink)
        if (stored) return Either.right(true)
        if (failure !== undefined) return yield* failure
        if (overflow) return Either.left(new SizeMismatch({ subject, expected: expected.size }))
        if (written !== expected.size) {
          return Either.left(new SizeMismatch({ subject, expected: expected.size, actual: written }))
        }
        // an empty blob: the loop saw no buffer
        if (file === undefined) {
          const opened = yield* openFile
          if (opened === "stored") return Either.right(true)
          file = opened
        }
        if (flusher !== undefined) {
          yield* Effect.mapError(
            flusher.settle,
            (cause) =>
              new FileSystemError({
                path: partial,
                digest,
                detail: describeSystemCause("write", partial, cause),
                cause
              })
          )
        }
        yield* Effect.mapError(file.sync, io(digest))
        return Either.right(false)
      }))
      if (Either.isLeft(result)) return yield* wrong(result.left)
      if (result.right) return Either.right({ digest, size: expected.size, existed: true })
      const actual = trusted ? digest : hasher.digest()
      if (actual !== digest) {
        return yield* wrong(new DigestMismatch({ expected: digest, actual, subject }))
      }
      const final = files.blobPath(digest)
      yield* Effect.mapError(
        Effect.zipRight(
          fs.makeDirectory(files.path.dirname(final), { recursive: true }),
          fs.rename(partial, final)
        ),
        io(digest)
      )
      return Either.right({ digest, size: written, existed: false })
    })

  /**
   * Whether the blob is stored with `size`; if so, its mtime is refreshed, so that `gc` (of another process,
   * too) keeps it for its grace period, until the image that uses it is tagged.
   */
  const isStored = (digest: Digest.Digest, size: number) =>
    Effect.gen(function*() {
      const existing = yield* statSize(files.blobPath(digest), digest)
      if (Option.isNone(existing) || existing.value !== size) return false
      const now = new Date()
      yield* Effect.ignore(fs.utimes(files.blobPath(digest), now, now))
      return true
    })

  const pushBlob = <E2>(
    expected: Descriptor.Descriptor,
    content: Storage.BlobContent<E2>
  ): Effect.Effect<WriteResult, LayoutFailure | E2> =>
    Effect.gen(function*() {
      const digest = yield* checkDigest(root, expected.digest)
      const existed: WriteResult = { digest, size: expected.size, existed: true }
      return yield* withLock(`blob:${root}:${digest}`)(Effect.scoped(Effect.gen(function*() {
        const partialBytes = () => Effect.map(statSize(files.partialPath(digest), digest), Option.getOrElse(() => 0))
        // stored, and no partial to clean up: no need for the lock
        if ((yield* isStored(digest, expected.size)) && (yield* partialBytes()) === 0) return existed
        // Other processes writing this blob hold `ingest/<alg>-<hex>.lock` (they write the same partial file).
        // Taken now when `ingest/` exists or can be made (the layout exists); otherwise at the first byte,
        // since nothing is created before it.
        const lock = makeFileLock({ fs, root, file: files.lockPath(digest), maxWait: Infinity })
        let locked = yield* lock.acquire
        if (Option.isNone(locked) && (yield* Effect.mapError(fs.exists(files.layoutFile), io()))) {
          yield* Effect.mapError(fs.makeDirectory(files.ingestDir, { recursive: true }), io(digest))
          locked = yield* lock.acquire
        }
        if (Option.isSome(locked) && (yield* isStored(digest, expected.size))) {
          yield* removePartial(digest)
          return existed
        }
        const lazyLock = Option.isNone(locked) ? { lock, scope: yield* Effect.scope } : undefined
        const have = yield* partialBytes()
        if (have > 0 && have < expected.size) {
          const resumed = yield* ingest(digest, expected, content, have, lazyLock)
          if (Either.isRight(resumed)) return resumed.right
          // the partial's prefix was not the blob's (it is removed): start over once from byte 0
        } else if (have > 0) {
          yield* removePartial(digest)
        }
        const fresh = yield* ingest(digest, expected, content, 0, lazyLock)
        return Either.isRight(fresh) ? fresh.right : yield* fresh.left
      })))
    })

  return { pushBlob, partialSize, discardPartial }
}
