/**
 * Blob download bodies: hashing, counting, `Range` resumption (paced by the retry policy), and the final
 * size/digest checks.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Digest, type Hash, ReferenceError } from "@ocidist/reference"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import { type ChunkSink, dropBytes } from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as RegistryError from "../RegistryError.js"
import * as BodyPump from "./bodyPump.js"
import * as Response from "./response.js"
import * as Retry from "./retry.js"

/**
 * Joins the small buffers a socket may deliver (a few KiB) into buffers of at least `minBytes`, so that
 * every stage downstream (hashing, progress, file writes) runs once per `minBytes` at most. Buffers already
 * that large pass through without a copy. Works at chunk level, without an effect per buffer. Measured
 * pulling 512 MiB with the CLI (loaded 2-vCPU machine): 64 KiB → 141–156 MiB peak RSS, 256 KiB → 156–168,
 * 1 MiB and more → 170–190 (each copy allocates, and garbage buffers raise the peak), same wall time.
 *
 * @internal
 */
export const coalesce = (minBytes: number) => <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Stream.suspend(() => {
    let pending: Array<Uint8Array> = []
    let pendingBytes = 0
    const flush = (): Uint8Array => {
      const out = Response.concatBytes(pending, pendingBytes)
      pending = []
      pendingBytes = 0
      return out
    }
    const rest = Stream.suspend(() => pendingBytes > 0 ? Stream.make(flush()) : Stream.empty)
    return Stream.mapChunks(stream, (chunk) => {
      const out: Array<Uint8Array> = []
      for (const buffer of chunk) {
        pending.push(buffer)
        pendingBytes += buffer.length
        if (pendingBytes >= minBytes) out.push(flush())
      }
      return Chunk.unsafeFromArray(out)
    }).pipe(
      // bytes received before a failure are still delivered, so a resume starts after them
      Stream.catchAll((error) => Stream.concat(rest, Stream.fail(error))),
      Stream.concat(rest)
    )
  })

/**
 * Fails the stream with `onIdle()` when no bytes arrive for `timeout`. One watchdog fiber per stream that
 * wakes up rarely, instead of a timer per read. With `abort` (it stops the source under the stream, making
 * its pending read fail) the stream is left as it is and the watchdog aborts it:
 * each chunk then only records the time. Without it, the stream is raced with the watchdog
 * (`Stream.interruptWhen`: a fiber per pull).
 *
 * @internal
 */
export const failWhenIdle =
  <E2>(timeout: Duration.DurationInput, onIdle: () => E2, abort?: () => void) =>
  <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | E2, R> =>
    Stream.suspend(() => {
      const millis = Duration.toMillis(Duration.decode(timeout))
      let last = Date.now()
      let fired = false
      const touched = Stream.mapChunks(stream, (chunk) => {
        last = Date.now()
        return chunk
      })
      const watchdog = BodyPump.whenIdle(millis, () => Date.now() - last)
      if (abort === undefined) return Stream.interruptWhen(touched, Effect.zipRight(watchdog, Effect.fail(onIdle())))
      return Stream.unwrapScoped(Effect.as(
        Effect.forkScoped(Effect.zipRight(
          watchdog,
          Effect.sync(() => {
            fired = true
            abort()
          })
        )),
        Stream.mapError(touched, (error): E | E2 => fired ? onIdle() : error)
      ))
    })

/** Size of the buffers blob streams emit (see `coalesce`). @internal */
export const CHUNK_BYTES = 64 * 1024

/** Parses `Content-Range: bytes <start>-<end>/<total|*>`. @internal */
export const parseContentRange = (
  value: string | undefined
): { readonly start: number; readonly end: number; readonly total: number | undefined } | undefined => {
  if (value === undefined) return undefined
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value)
  if (match === null) return undefined
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? undefined : Number(match[3]) }
}

/** @internal */
export interface BlobStreamOptions {
  readonly ctx: Response.Ctx
  readonly digest: Digest.Digest
  readonly size: number | undefined
  /** the response of the first request (status 200, or 206 when `offset` > 0), consumed by the first run */
  readonly first: HttpClientResponse.HttpClientResponse
  readonly offset: number
  readonly hasher: Hash.Hasher | undefined
  readonly hash: Hash.Service
  /** Gives back the permit the first response was opened with, when the first run ends. */
  readonly release: Effect.Effect<void>
  /** A request for a later run: takes a permit and aborts the response when the run's scope closes. */
  readonly reopen: (
    offset: number
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError, Scope.Scope>
  /** A request to resume at `offset` (within a run, which holds the permit). */
  readonly open: (
    offset: number
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError>
  readonly retry: Retry.Policy
  readonly maxResumes: number
  /** Fail (and resume) when no data arrives for this long. */
  readonly idleTimeout: Duration.Duration | undefined
}

/**
 * The body of a blob GET as a stream that hashes and counts as it flows, resumes with `Range` after a
 * transport failure or a premature end (checking `206` + `Content-Range`, or skipping what it already has on
 * a `200`), waiting as the retry policy says, and fails at the end when the size or digest do not match. The
 * first run reads `first`; a later run requests the blob again.
 *
 * @internal
 */
export const make = (options: BlobStreamOptions): Stream.Stream<Uint8Array, RegistryError.RegistryClientError> => {
  let used = false
  const { ctx, digest, size } = options
  return Stream.unwrapScoped(Effect.gen(function*() {
    const firstRun = !used
    used = true
    // A primed hasher is used up by the first run: later runs from an offset check the size only.
    const primed = firstRun ? options.hasher : undefined
    const verifyWhole = options.offset === 0 || primed !== undefined
    const hasher = primed ?? options.hash.make(Digest.algorithm(digest))
    const resumes = yield* Schedule.driver(Retry.schedule<RegistryError.TransportError | undefined>(
      options.retry,
      options.maxResumes
    ))
    let received = options.offset
    let attempts = 0

    const counted = (response: HttpClientResponse.HttpClientResponse, skip: number) =>
      response.stream.pipe(
        Stream.mapError((error) =>
          Response.fromHttpClientError(ctx, response.request.method, response.request.url, error)
        ),
        (stream) =>
          options.idleTimeout === undefined ? stream : failWhenIdle(
            options.idleTimeout,
            () =>
              Response.timeoutError(
                ctx,
                response.request.method,
                response.request.url,
                `no data for ${Duration.format(options.idleTimeout!)}`
              ),
            BodyPump.aborter(response)
          )(stream),
        dropBytes(skip),
        coalesce(CHUNK_BYTES),
        // one effect per chunk of buffers, not per buffer
        Stream.mapChunksEffect((chunk) => {
          for (const buffer of chunk) {
            received += buffer.length
            if (size !== undefined && received > size) {
              return Effect.fail(Response.sizeExceeded(ctx, `blob ${digest}`, size, received))
            }
            if (verifyWhole) hasher.update(buffer)
          }
          return Effect.succeed(chunk)
        })
      )

    // Premature clean end (the server closed after fewer bytes than announced) is resumed as well.
    const withTail = (
      response: HttpClientResponse.HttpClientResponse,
      skip: number
    ): Stream.Stream<Uint8Array, RegistryError.RegistryClientError> =>
      Stream.concat(
        Stream.catchAll(
          counted(response, skip),
          (error) => error._tag === "TransportError" ? Stream.unwrap(resume(error)) : Stream.fail(error)
        ),
        Stream.unwrap(
          Effect.suspend(() => size !== undefined && received < size ? resume(undefined) : Effect.succeed(Stream.empty))
        )
      )

    // The retry policy decides whether (and after how long) to resume; when it is done, the failure stands
    // (a premature end then fails the size check).
    const resume = (
      error: RegistryError.TransportError | undefined
    ): Effect.Effect<Stream.Stream<Uint8Array, RegistryError.RegistryClientError>, RegistryError.RegistryClientError> =>
      Effect.matchEffect(resumes.next(error), {
        onFailure: () => error === undefined ? Effect.succeed(Stream.empty) : Effect.fail(error),
        onSuccess: () => reopen()
      })

    const reopen = (): Effect.Effect<
      Stream.Stream<Uint8Array, RegistryError.RegistryClientError>,
      RegistryError.RegistryClientError
    > => {
      attempts++
      return Effect.map(resumeAt(options, received, attempts), ({ response, skip }) => withTail(response, skip))
    }

    const check = verify(options, hasher, verifyWhole, () => received)

    if (firstRun) {
      return Stream.concat(withTail(options.first, 0), Stream.execute(check)).pipe(Stream.ensuring(options.release))
    }
    const response = yield* options.reopen(options.offset)
    if (response.status !== 200 && response.status !== 206) {
      return yield* Response.fail(ctx, response, { target: `blob ${digest}` })
    }
    return Stream.concat(withTail(response, response.status === 200 ? options.offset : 0), Stream.execute(check))
  }))
}

/**
 * A request for the rest of a blob from byte `received` (within a run, which holds the permit): a `206` with
 * the right `Content-Range`, or a `200` whose first `skip` bytes the caller already has.
 */
const resumeAt = (
  options: BlobStreamOptions,
  received: number,
  attempt: number
): Effect.Effect<
  { readonly response: HttpClientResponse.HttpClientResponse; readonly skip: number },
  RegistryError.RegistryClientError
> =>
  Effect.gen(function*() {
    const { ctx, digest, size } = options
    yield* Effect.logDebug(`${ctx.operation}: resuming ${digest} at byte ${received} (attempt ${attempt})`)
    const response = yield* options.open(received)
    if (response.status === 206) {
      const range = parseContentRange(Response.header(response, "content-range"))
      if (
        range === undefined || range.start !== received ||
        (size !== undefined && range.total !== undefined && range.total !== size)
      ) {
        yield* Response.abort(response)
        return yield* Response.invalidResponse(
          ctx,
          `resuming ${digest} at byte ${received}: unexpected Content-Range "${
            Response.header(response, "content-range") ?? "(none)"
          }"`
        )
      }
      return { response, skip: 0 }
    }
    // The server ignored Range: read from the start, skipping what we already have.
    if (response.status === 200) return { response, skip: received }
    return yield* Response.fail(ctx, response, { target: `blob ${digest}` })
  })

/** The checks at the end of a download: size, then digest when the whole blob was hashed. */
const verify = (
  options: BlobStreamOptions,
  hasher: Hash.Hasher,
  verifyWhole: boolean,
  received: () => number
) =>
  Effect.suspend((): Effect.Effect<void, RegistryError.RegistryClientError> => {
    const { ctx, digest, size } = options
    if (size !== undefined && received() !== size) {
      return Effect.fail(
        new SizeMismatch({
          subject: `blob ${digest} in ${
            ctx.repository === undefined ? ctx.registry : `${ctx.registry}/${ctx.repository}`
          } (${ctx.operation})`,
          expected: size,
          actual: received()
        })
      )
    }
    if (!verifyWhole) return Effect.void
    const actual = hasher.digest()
    return actual === digest
      ? Effect.void
      : Effect.fail(
        new ReferenceError.DigestMismatch({
          expected: digest,
          actual,
          subject: `blob in ${ctx.repository ?? ctx.registry}`
        })
      )
  })

/**
 * The download of `make` as one loop per response body into `sink` (see `BodyPump`): the same hashing,
 * resumption and final checks, without a stream stage per buffer. Bytes before `deliverFrom` are hashed but
 * not delivered (a `200` to a request from an offset). Meant for the first response only (like the first
 * run of `make`); gives the permit back when it ends.
 *
 * @internal
 */
export const pump = (
  options: BlobStreamOptions,
  sink: ChunkSink,
  deliverFrom: number
): Effect.Effect<void, RegistryError.RegistryClientError> => {
  let current: HttpClientResponse.HttpClientResponse | undefined
  return Effect.gen(function*() {
    const { ctx, digest, size } = options
    const verifyWhole = options.offset === 0 || options.hasher !== undefined
    const hasher = options.hasher ?? options.hash.make(Digest.algorithm(digest))
    const resumes = yield* Schedule.driver(Retry.schedule<RegistryError.TransportError | undefined>(
      options.retry,
      options.maxResumes
    ))
    let received = options.offset
    let skip = 0
    let failure: RegistryError.RegistryClientError | undefined
    const handle = (buffer: Uint8Array): BodyPump.Answer => {
      let chunk = buffer
      if (skip > 0) {
        if (chunk.length <= skip) {
          skip -= chunk.length
          return true
        }
        chunk = chunk.subarray(skip)
        skip = 0
      }
      const before = received
      received += chunk.length
      if (size !== undefined && received > size) {
        failure = Response.sizeExceeded(ctx, `blob ${digest}`, size, received)
        return false
      }
      if (verifyWhole) hasher.update(chunk)
      if (received <= deliverFrom) return true
      return sink(before >= deliverFrom ? chunk : chunk.subarray(deliverFrom - before))
    }
    let response = options.first
    let attempts = 0
    for (;;) {
      const outcome = yield* BodyPump.read(ctx, response, handle, options.idleTimeout)
      if (failure !== undefined) return yield* Effect.fail(failure)
      if (Either.isRight(outcome) && outcome.right === "stopped") return
      if (Either.isRight(outcome) && (size === undefined || received >= size)) break
      // a transport failure or a premature end: resume when the retry policy says so, else the failure stands
      // (a premature end then fails the size check)
      const error = Either.isLeft(outcome) ? outcome.left : undefined
      const again = yield* Effect.either(resumes.next(error))
      if (Either.isLeft(again)) {
        if (error !== undefined) return yield* Effect.fail(error)
        break
      }
      const next = yield* resumeAt(options, received, ++attempts)
      response = next.response
      current = response
      skip = next.skip
    }
    yield* verify(options, hasher, verifyWhole, () => received)
  }).pipe(
    // a resumed response is not scoped: one interrupted before its body was read is dropped here
    Effect.onInterrupt(() => current === undefined ? Effect.void : Response.abort(current)),
    Effect.ensuring(options.release)
  )
}

/** @internal */
export const rangeRequest = (url: string, offset: number) =>
  offset > 0
    ? HttpClientRequest.get(url, { headers: { range: `bytes=${offset}-` } })
    : HttpClientRequest.get(url)
