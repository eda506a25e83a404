/**
 * Blob upload sessions: start, monolithic/streamed/chunked/single-POST strategies, resumes, cancel,
 * `Location` checks.
 *
 * Resumes: a streamed, chunked or monolithic upload whose `PATCH` or `PUT` fails transiently (a connection
 * error, a body timeout, 408, 429, 5xx) goes on in its session. After the retry policy's delay (or the
 * `Retry-After`) the client asks the session's status (`GET` → `204` with `Range: 0-<end>` and `Location`)
 * and sends only what the registry does not hold: the rest of the chunk in memory (chunked), or the source
 * re-opened at that offset (`Source.open`; streamed, and monolithic: the registry kept part of the `PUT`'s
 * body) in a `PATCH` with `Content-Range`, then `PUT ?digest=` without a body. At most `retry.times` resumes
 * per session. A session the registry lost (`404`), a status without a usable `Range` (not from 0, `0-0`,
 * beyond what was sent, below what it acknowledged), a source that cannot re-open at an offset, or a
 * registry that refuses the resumed upload end the session with the failure that started the resume: the
 * caller's whole-upload retries then start again in a new session, from byte 0. A single `POST ?digest=`
 * has no session before it completes: it is retried whole.
 *
 * @internal
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as AuthScope from "@ocidist/auth/Scope"
import { Digest, type Hash, ReferenceError, Registry } from "@ocidist/reference"
import * as SpecError from "@ocidist/spec/SpecError"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import type { ChunkSink } from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as RegistryError from "../RegistryError.js"
import * as IterableBody from "./iterableBody.js"
import * as Response from "./response.js"
import * as Retry from "./retry.js"
import type * as Transport from "./transport.js"

/** @internal */
export type Strategy = "auto" | "monolithic" | "stream" | "chunked" | "post"

/** @internal */
export interface Source<E> {
  readonly stream: Stream.Stream<Uint8Array, E>
  readonly digest?: Digest.Digest | undefined
  readonly size?: number | undefined
  readonly verified?: boolean | undefined
  /** The same bytes as `stream`, through a pump (sent as an iterable body where the client can). */
  readonly pump?: ((sink: ChunkSink) => Effect.Effect<void, E>) | undefined
  /** The bytes of `stream` from `offset` on: a streamed upload can then resume where the registry stopped. */
  readonly open?: ((offset: number) => Stream.Stream<Uint8Array, E>) | undefined
}

/** @internal */
export interface Session {
  readonly url: URL
  readonly minChunk: number | undefined
}

/** @internal */
export interface UploadContext {
  readonly transport: Transport.Transport
  readonly hash: Hash.Service
  readonly ctx: Response.Ctx
  readonly scopes: ReadonlyArray<AuthScope.Scope>
  readonly chunkSize: number
  /** The client sends iterable bodies as streams (see `IterableBody`). */
  readonly iterableBodies: boolean
  /** The retry policy that paces and bounds resumes in a session. Default: the default policy. */
  readonly retry?: Retry.Policy | undefined
}

/**
 * Resolves an upload `Location` against the request URL and checks it stays on the registry: another
 * origin is accepted only for the same registry host, never with a downgrade to plain HTTP.
 *
 * @internal
 */
export const sessionUrl = (
  up: UploadContext,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<URL, RegistryError.InvalidResponse> => {
  const location = Response.header(response, "location")
  if (location === undefined) {
    return Effect.fail(
      Response.invalidResponse(up.ctx, `HTTP ${response.status} without a Location header for the upload session`)
    )
  }
  let url: URL
  try {
    url = new URL(location, response.request.url)
  } catch {
    return Effect.fail(Response.invalidResponse(up.ctx, `malformed upload Location "${Response.safeUrl(location)}"`))
  }
  const registry = new URL(up.transport.origin(up.ctx.registry))
  if (url.origin !== registry.origin) {
    const sameRegistry = Registry.same(url.host, registry.host) && url.protocol === registry.protocol
    const upgrade = Registry.same(url.host, registry.host) && registry.protocol === "http:" && url.protocol === "https:"
    if (!sameRegistry && !upgrade) {
      return Effect.fail(
        Response.invalidResponse(
          up.ctx,
          `upload Location ${
            Response.safeUrl(url.href)
          } is on another origin than ${registry.origin}; refusing to send the blob there`
        )
      )
    }
  }
  return Effect.succeed(url)
}

const minChunk = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const value = Response.header(response, "oci-chunk-min-length")
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined
}

const withDigest = (url: URL, digest: string): URL => {
  const next = new URL(url.href)
  next.searchParams.append("digest", digest)
  return next
}

/** POST an upload session. @internal */
export const start = (up: UploadContext, startUrl: string): Effect.Effect<Session, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const response = yield* up.transport.send(
      up.ctx,
      HttpClientRequest.post(startUrl, { headers: { "content-length": "0" } }),
      { scopes: up.scopes }
    )
    if (response.status !== 202) {
      if (response.status >= 400) return yield* Response.fail(up.ctx, response)
      yield* Response.discard(response)
      return yield* Response.unexpectedStatus(up.ctx, response, "202 (upload session)")
    }
    yield* Response.discard(response)
    const url = yield* sessionUrl(up, response)
    return { url, minChunk: minChunk(response) }
  })

/**
 * DELETE an upload session: retried like any idempotent request (a 429, a 5xx or a reset must not leave the
 * session open at the registry); a cancel that still fails is logged, not raised, so that the upload's own
 * failure is the one reported. @internal
 */
export const cancel = (up: UploadContext, session: Session): Effect.Effect<void> =>
  up.transport.send(up.ctx, HttpClientRequest.del(session.url), { scopes: up.scopes }).pipe(
    Effect.flatMap(Response.discard),
    Effect.catchAll((error) =>
      Effect.logDebug(`blobs.upload: cancelling upload session ${session.url} failed: ${error.message}`)
    )
  )

const sizeMismatch = (up: UploadContext, expected: number, actual: number) =>
  new SizeMismatch({
    subject: `blob uploaded to ${up.ctx.registry}${up.ctx.repository === undefined ? "" : `/${up.ctx.repository}`}`,
    expected,
    actual
  })

const sourceError = (up: UploadContext, cause: unknown) =>
  new RegistryError.InvalidArgument({
    registry: up.ctx.registry,
    ...(up.ctx.repository === undefined ? {} : { repository: up.ctx.repository }),
    operation: up.ctx.operation,
    reason: `reading the blob to upload failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

const complete = (
  up: UploadContext,
  response: HttpClientResponse.HttpClientResponse,
  digest: Digest.Digest
): Effect.Effect<void, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    if (response.status !== 201 && response.status !== 204 && response.status !== 200) {
      if (response.status >= 400) return yield* Response.fail(up.ctx, response)
      yield* Response.discard(response)
      return yield* Response.unexpectedStatus(up.ctx, response, "201 (blob created)")
    }
    const returned = Response.header(response, "docker-content-digest")
    yield* Response.discard(response)
    if (
      returned !== undefined && Digest.isDigest(returned) && Digest.algorithm(returned) === Digest.algorithm(digest) &&
      returned !== digest
    ) {
      return yield* new ReferenceError.DigestMismatch({
        expected: digest,
        actual: returned,
        subject: "uploaded blob (registry digest)"
      })
    }
  })

interface Hashing {
  /** The request body: the source, counted (and hashed) as it is sent. */
  readonly body: (contentLength: number | undefined) => HttpBody.HttpBody
  readonly result: () => { readonly digest: Digest.Digest; readonly size: number }
  /** The position in the blob after the last byte read (the offset of a resumed body included). */
  readonly bytes: () => number
  readonly ended: () => boolean
  readonly failure: () => { readonly error: unknown } | undefined
  /** Stops a pump still running (a request that ended before its body). */
  readonly stop: Effect.Effect<void>
  /** After a response: lets a pump whose bytes were all sent finish its own checks, else stops it. */
  readonly finish: Effect.Effect<void>
  /** For a resume: the hasher and how many bytes of the blob it has seen; this body counts nothing more. */
  readonly detach: () => { readonly hasher: Hash.Hasher | undefined; readonly hashed: number }
}

/** Where a resumed body starts, and the hash of the bytes before it (see {@link Hashing.detach}). */
interface ResumeFrom {
  readonly offset: number
  readonly open: (offset: number) => Stream.Stream<Uint8Array, unknown>
  readonly hasher: Hash.Hasher | undefined
  readonly hashed: number
}

/**
 * The source, hashed as it is sent; or only counted when it verifies itself (`verified` with a digest: it
 * fails after its last byte unless the bytes are the digest's, so a copy hashes each byte once). A source
 * with a pump goes out as an iterable body when the client streams those (no effect per buffer).
 *
 * A resumed body (`from`) is the source re-opened at `from.offset`, and goes on with the hasher of the
 * previous attempt: the bytes that hasher has already seen (read before the failure, beyond what the
 * registry kept) are sent again but not hashed twice. The registry checks the digest of what it holds.
 */
const hashing = <E>(
  up: UploadContext,
  source: Source<E>,
  runtime: Runtime.Runtime<never>,
  from?: ResumeFrom
): Hashing => {
  const algorithm = source.digest === undefined ? "sha256" : Digest.algorithm(source.digest)
  const trusted = source.verified === true ? source.digest : undefined
  let hasher: Hash.Hasher | undefined = from === undefined ? undefined : from.hasher
  let hashed = from === undefined ? 0 : from.hashed
  let counted = from === undefined ? 0 : from.offset
  let ended = false
  let failure: { readonly error: unknown } | undefined
  let detached = false
  const reset = () => {
    if (from === undefined) {
      hasher = trusted === undefined ? up.hash.make(algorithm) : undefined
      hashed = 0
    }
    counted = from === undefined ? 0 : from.offset
    ended = false
    failure = undefined
  }
  const count = (buffer: Uint8Array) => {
    if (detached) return
    const at = counted
    counted += buffer.length
    if (hasher === undefined || counted <= hashed) return
    hasher.update(at >= hashed ? buffer : buffer.subarray(hashed - at))
    hashed = counted
  }
  const options = (contentLength: number | undefined) => ({
    contentType: "application/octet-stream",
    ...(contentLength === undefined ? {} : { contentLength })
  })
  const stream = Stream.suspend(() => {
    reset()
    const bytes: Stream.Stream<Uint8Array, unknown> = from === undefined ? source.stream : from.open(from.offset)
    return Stream.mapChunks(bytes, (chunk) => {
      for (const buffer of chunk) count(buffer)
      return chunk
    }).pipe(
      Stream.tapError((error) => Effect.sync(() => (failure = { error }))),
      // ended: every byte was read (not a body interrupted when its request failed)
      Stream.concat(Stream.execute(Effect.sync(() => (ended = true))))
    )
  })
  const pumped = up.iterableBodies && source.pump !== undefined && from === undefined
    ? IterableBody.fromPump(runtime, (sink) =>
      Effect.suspend(() => {
        reset()
        // a pump stopped by its sink (the request went away) did not end
        let stopped = false
        return source.pump!((buffer) => {
          count(buffer)
          const answer = sink(buffer)
          if (answer === true) return true
          if (answer === false) {
            stopped = true
            return false
          }
          return Promise.resolve(answer).then((go) => {
            if (!go) stopped = true
            return go
          })
        }).pipe(
          Effect.tapError((error) => Effect.sync(() => (failure = { error }))),
          Effect.tap(() => Effect.sync(() => (ended = !stopped)))
        )
      }))
    : undefined
  return {
    body: (contentLength) =>
      pumped === undefined
        ? HttpBody.stream(
          Stream.mapError(stream, (e) => sourceError(up, e)),
          options(contentLength).contentType,
          contentLength
        )
        : HttpBody.raw(pumped.iterable, options(contentLength)),
    result: () => ({ digest: trusted ?? hasher?.digest() ?? up.hash.make(algorithm).digest(), size: counted }),
    bytes: () => counted,
    ended: () => ended,
    failure: () => failure,
    stop: pumped === undefined ? Effect.void : pumped.stop,
    finish: pumped === undefined ? Effect.void : pumped.finish,
    detach: () => {
      detached = true
      return { hasher, hashed }
    }
  }
}

/**
 * Sends a request whose body is the hashed source. A transport failure caused by the source (it failed, or
 * produced more or fewer bytes than its declared size) is reported as such, not as a retryable transport
 * error.
 */
const sendBody = <E>(
  up: UploadContext,
  request: HttpClientRequest.HttpClientRequest,
  h: Hashing,
  source: Source<E>
): Effect.Effect<HttpClientResponse.HttpClientResponse, RegistryError.RegistryClientError> => {
  /** The source's own failure, reported as itself (not as a retryable transport error). */
  const sourceFailure = (): RegistryError.RegistryClientError | undefined => {
    const failed = h.failure()
    if (failed === undefined) return undefined
    const inner = failed.error
    return RegistryError.isRegistryError(inner) || isContentError(inner) ? inner : sourceError(up, inner)
  }
  return up.transport.send(up.ctx, request, { scopes: up.scopes, retry: false }).pipe(
    Effect.onError(() => h.stop),
    Effect.catchTag("TransportError", (error): Effect.Effect<never, RegistryError.RegistryClientError> => {
      const failed = sourceFailure()
      if (failed !== undefined) return Effect.fail(failed)
      const n = h.bytes()
      if (source.size !== undefined && (n > source.size || (h.ended() && n !== source.size))) {
        return Effect.fail(sizeMismatch(up, source.size, n))
      }
      return Effect.fail(error)
    }),
    // a verifying source checks its bytes after the last one: a registry may answer before that check ends,
    // and must not have the last word on bytes the source itself refused
    Effect.tap((response) =>
      Effect.flatMap(h.finish, () => {
        const failed = sourceFailure()
        return failed === undefined ? Effect.void : Effect.zipRight(Response.discard(response), Effect.fail(failed))
      })
    )
  )
}

const isContentError = (u: unknown): u is ReferenceError.DigestMismatch | SizeMismatch =>
  ReferenceError.isReferenceError(u) && u._tag === "DigestMismatch" ||
  SpecError.isSpecError(u) && u._tag === "SizeMismatch"

const verifyComputed = <E>(
  up: UploadContext,
  source: Source<E>,
  computed: { digest: Digest.Digest; size: number }
): Effect.Effect<void, RegistryError.RegistryClientError> => {
  if (source.size !== undefined && computed.size !== source.size) {
    return Effect.fail(sizeMismatch(up, source.size, computed.size))
  }
  if (source.digest !== undefined && computed.digest !== source.digest) {
    return Effect.fail(
      new ReferenceError.DigestMismatch({ expected: source.digest, actual: computed.digest, subject: "blob to upload" })
    )
  }
  return Effect.void
}

/**
 * PUT the whole blob into a session (`PUT ?digest=` with the body), resumed in the session after a transient
 * failure when the registry kept part of the body (see the module documentation). The caller cancels
 * `session` when this fails; a session whose `Location` moved on meanwhile is cancelled here. @internal
 */
export const putMonolithic = <E>(
  up: UploadContext,
  session: Session,
  source: Source<E> & { readonly digest: Digest.Digest }
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, RegistryError.RegistryClientError> =>
  Effect.flatMap(
    liveSession(up, session, source),
    (live) => inSession(up, live, putStreamed(up, live, source, source.digest), (url) => url.href !== session.url.href)
  )

/**
 * Runs the requests of an open session: a `Restart` fails with the failure that started the resume (for the
 * caller's whole-upload retries); on failure the session is cancelled at its latest `Location` (unless
 * `cancelIf` says the caller does it).
 */
const inSession = <A>(
  up: UploadContext,
  live: Live,
  run: Effect.Effect<A, Failure>,
  cancelIf: (url: URL) => boolean = () => true
): Effect.Effect<A, RegistryError.RegistryClientError> =>
  run.pipe(
    Effect.catchIf(isRestart, (restart) =>
      Effect.zipRight(
        Effect.logDebug(
          `${up.ctx.operation}: the upload of ${live.subject} cannot go on in its session: ${restart.reason}`
        ),
        Effect.fail(restart.error)
      )),
    Effect.onError(() => cancelIf(live.url) ? cancel(up, { url: live.url, minChunk: live.minChunk }) : Effect.void)
  )

// ---------------------------------------------------------------------------------------------------------
// resumes
// ---------------------------------------------------------------------------------------------------------

/**
 * Ends a session that cannot go on: the upload fails with `error`, the transient failure that started the
 * resume, so that the caller's whole-upload retries start again in a new session.
 */
class Restart {
  readonly _tag = "Restart"
  constructor(readonly error: RegistryError.RegistryClientError, readonly reason: string) {}
}

type Failure = RegistryError.RegistryClientError | Restart

const isRestart = (u: unknown): u is Restart => u instanceof Restart

/** One request of a session, resumed after a transient failure (see {@link liveSession}). */
interface Step<A> {
  readonly attempt: Effect.Effect<A, Failure>
  /** Whether a failure of `attempt` can be resumed at all; else it ends the upload at once. */
  readonly resumable: () => boolean
  /** After the policy's delay: where to go on from (the session's status), or `Restart`. */
  readonly recover: (error: RegistryError.RegistryClientError) => Effect.Effect<void, Failure>
}

/** An open session: its latest `Location`, and the resumes left to it. */
interface Live {
  url: URL
  readonly minChunk: number | undefined
  /** The blob, as the logs name it. */
  readonly subject: string
  /** Runs a step, resuming it after transient failures (at most `retry.times` resumes per session). */
  readonly resume: <A>(step: Step<A>) => Effect.Effect<A, Failure>
}

/** What failed, in a few words (a log line). */
const causeOf = (error: RegistryError.RegistryClientError): string =>
  error._tag === "TransportError"
    ? error.reason
    : "status" in error && typeof error.status === "number"
    ? `HTTP ${error.status}`
    : error._tag

/** A refusal of a resumed upload: the session, or the bytes it got, are not what the registry holds. */
const refusesResume = (error: RegistryError.RegistryClientError): boolean =>
  error._tag === "NotFound" || error._tag === "UnexpectedStatus" || error._tag === "InvalidResponse" ||
  (error._tag === "RegistryResponseError" && (error.status === 400 || error.status === 416))

const liveSession = (up: UploadContext, session: Session, source: Source<unknown>): Effect.Effect<Live> =>
  Effect.map(
    Schedule.driver(Retry.schedule<RegistryError.RegistryClientError>(up.retry ?? Retry.policy(undefined))),
    (driver) => {
      // the transient failure behind the last resume, once there was one
      let resumedAfter: RegistryError.RegistryClientError | undefined
      const resume = <A>(step: Step<A>): Effect.Effect<A, Failure> =>
        Effect.gen(function*() {
          while (true) {
            const result = yield* Effect.either(step.attempt)
            if (Either.isRight(result)) return result.right
            const error = result.left
            if (isRestart(error)) return yield* Effect.fail(error)
            // after a resume, a 416 says the registry's Range moved on since its status was read: look again;
            // another refusal, that the session cannot go on
            const again = resumedAfter !== undefined && error._tag === "RegistryResponseError" &&
              error.status === 416
            if (resumedAfter !== undefined && !again && refusesResume(error)) {
              return yield* Effect.fail(
                new Restart(resumedAfter, `the registry refused the resumed upload: ${error.message}`)
              )
            }
            if (!again && !(RegistryError.isTransient(error) && step.resumable())) return yield* Effect.fail(error)
            const origin = again && resumedAfter !== undefined ? resumedAfter : error
            // the policy's delay (or the Retry-After); none left: the failure stands
            if (Option.isNone(yield* Effect.option(driver.next(error)))) return yield* Effect.fail(origin)
            yield* step.recover(origin)
            resumedAfter = origin
          }
        })
      return { url: session.url, minChunk: session.minChunk, subject: source.digest ?? "a blob", resume }
    }
  )

const parseRange = (value: string | undefined): { readonly start: number; readonly end: number } | undefined => {
  if (value === undefined) return undefined
  const match = /^\s*(?:bytes=)?(\d+)-(\d+)\s*$/.exec(value)
  return match === null ? undefined : { start: Number(match[1]), end: Number(match[2]) }
}

/**
 * The session's status (`GET`): how many bytes the registry holds (`Range: 0-<end>`) and its `Location`.
 * Anything else ends the session (`Restart` with `error`, the failure being resumed).
 */
const locate = (
  up: UploadContext,
  live: Live,
  error: RegistryError.RegistryClientError
): Effect.Effect<{ readonly committed: number; readonly url: URL }, Restart> => {
  const restart = (reason: string) => new Restart(error, reason)
  return up.transport.send(up.ctx, HttpClientRequest.get(live.url), { scopes: up.scopes, redirects: false }).pipe(
    Effect.mapError((e) => restart(`its status could not be read (${e.message})`)),
    Effect.flatMap((response) =>
      Effect.gen(function*() {
        yield* Response.discard(response)
        if (response.status === 404) return yield* Effect.fail(restart("the registry lost the session (HTTP 404)"))
        if (response.status !== 204 && response.status !== 200) {
          return yield* Effect.fail(restart(`its status answered HTTP ${response.status}`))
        }
        const value = Response.header(response, "range")
        const range = parseRange(value)
        if (range === undefined || range.start !== 0) {
          return yield* Effect.fail(
            restart(
              value === undefined
                ? "its status has no Range"
                : `its status has Range ${JSON.stringify(value.slice(0, 100))}, not 0-<end>`
            )
          )
        }
        if (range.end === 0) {
          return yield* Effect.fail(restart("its status has Range 0-0, which does not tell 0 bytes from 1"))
        }
        const url = Response.header(response, "location") === undefined
          ? live.url
          : yield* Effect.mapError(sessionUrl(up, response), (e) => restart(e.reason))
        return { committed: range.end + 1, url }
      })
    )
  )
}

const logResume = (
  up: UploadContext,
  live: Live,
  offset: number,
  error: RegistryError.RegistryClientError
): Effect.Effect<void> =>
  Effect.logDebug(
    `${up.ctx.operation}: resuming upload of ${live.subject} at byte ${offset} (after ${causeOf(error)})`
  )

/** `PUT ?digest=` closing the session; after a transient failure, `PUT` again if the registry holds it all. */
const close = (
  up: UploadContext,
  live: Live,
  computed: { readonly digest: Digest.Digest; readonly size: number }
): Effect.Effect<void, Failure> =>
  live.resume({
    attempt: Effect.suspend(() =>
      Effect.flatMap(
        up.transport.send(
          up.ctx,
          HttpClientRequest.put(withDigest(live.url, computed.digest), { headers: { "content-length": "0" } }),
          { scopes: up.scopes, retry: false }
        ),
        (put) => complete(up, put, computed.digest)
      )
    ),
    resumable: () => true,
    recover: (error) =>
      Effect.gen(function*() {
        const at = yield* locate(up, live, error)
        if (at.committed !== computed.size) {
          return yield* Effect.fail(
            new Restart(error, `the registry holds ${at.committed} of the ${computed.size} bytes before the PUT`)
          )
        }
        live.url = at.url
        yield* logResume(up, live, at.committed, error)
      })
  })

// ---------------------------------------------------------------------------------------------------------
// strategies
// ---------------------------------------------------------------------------------------------------------

/**
 * The whole source in one body: a PATCH without Content-Range then PUT ?digest= (streamed), or, given the
 * blob's digest (`monolithic`), the PUT ?digest= itself. Resumed with the source re-opened at the registry's
 * Range, in a PATCH (with `Content-Range` when the size is known, the registry checking the start), then
 * PUT ?digest= without a body: a monolithic upload goes on as a streamed one would.
 */
const putStreamed = <E>(
  up: UploadContext,
  live: Live,
  source: Source<E>,
  monolithic?: Digest.Digest
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, Failure> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const reopen = source.open
    let h = hashing(up, source, runtime)
    let resumedAt: number | undefined
    // the monolithic PUT created the blob: no PUT ?digest= to send after it
    let closed = false
    const put = (digest: Digest.Digest) =>
      Effect.suspend(() => {
        const request = HttpClientRequest.put(withDigest(live.url, digest)).pipe(
          HttpClientRequest.setBody(h.body(source.size))
        )
        return Effect.gen(function*() {
          const response = yield* sendBody(up, request, h, source)
          const computed = h.result()
          if (response.status >= 400) {
            // Explain a DIGEST_INVALID/SIZE_INVALID by what we measured, when it differs (not by a body the
            // registry answered before it was all read: that measured only part of the blob).
            if (h.ended() || (source.size !== undefined && computed.size >= source.size)) {
              yield* Effect.catchAll(
                verifyComputed(up, source, computed),
                (e) => Effect.zipRight(Response.discard(response), Effect.fail(e))
              )
            }
            return yield* Response.fail(up.ctx, response)
          }
          yield* verifyComputed(up, source, computed)
          yield* complete(up, response, digest)
          closed = true
        })
      })
    const patch = Effect.suspend(() => {
      const offset = resumedAt ?? 0
      // the registry already holds every byte
      if (resumedAt !== undefined && source.size !== undefined && offset >= source.size) return Effect.void
      const request = HttpClientRequest.patch(
        live.url,
        resumedAt !== undefined && source.size !== undefined
          ? { headers: { "content-range": `${offset}-${source.size - 1}` } }
          : undefined
      ).pipe(HttpClientRequest.setBody(h.body(source.size === undefined ? undefined : source.size - offset)))
      return Effect.gen(function*() {
        const response = yield* sendBody(up, request, h, source)
        if (response.status !== 202 && response.status !== 204) {
          if (response.status >= 400) return yield* Response.fail(up.ctx, response)
          yield* Response.discard(response)
          return yield* Response.unexpectedStatus(up.ctx, response, "202 (chunk accepted)")
        }
        yield* Response.discard(response)
        if (Response.header(response, "location") !== undefined) live.url = yield* sessionUrl(up, response)
      })
    })
    yield* live.resume({
      attempt: Effect.suspend(() => monolithic !== undefined && resumedAt === undefined ? put(monolithic) : patch),
      resumable: () => reopen !== undefined,
      recover: (error) =>
        Effect.gen(function*() {
          const sent = h.bytes()
          const previous = h.detach()
          const at = yield* locate(up, live, error)
          if (at.committed > sent) {
            return yield* Effect.fail(
              new Restart(error, `its Range says ${at.committed} bytes, more than the ${sent} sent`)
            )
          }
          if (resumedAt !== undefined && at.committed < resumedAt) {
            return yield* Effect.fail(
              new Restart(error, `its Range says ${at.committed} bytes, fewer than the ${resumedAt} it held`)
            )
          }
          live.url = at.url
          resumedAt = at.committed
          h = hashing(up, source, runtime, {
            offset: at.committed,
            open: reopen!,
            hasher: previous.hasher,
            hashed: previous.hashed
          })
          yield* logResume(up, live, at.committed, error)
        })
    })
    const computed = h.result()
    if (closed) return computed
    yield* verifyComputed(up, source, computed)
    yield* close(up, live, computed)
    return computed
  })

const parseRangeEnd = (value: string | undefined): number | undefined => parseRange(value)?.end

/**
 * PATCH chunks with `Content-Range`, following the session `Location` and the `Range` the registry reports
 * after each chunk (a registry that stored less gets the rest of the chunk again), then PUT ?digest=. A chunk
 * whose PATCH failed is resumed from the session's Range: the rest of it is still in memory.
 */
const putChunked = <E>(
  up: UploadContext,
  live: Live,
  source: Source<E>
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, Failure> =>
  Effect.gen(function*() {
    const chunkSize = Math.max(up.chunkSize, live.minChunk ?? 0, 1)
    const algorithm = source.digest === undefined ? "sha256" : Digest.algorithm(source.digest)
    const hasher = up.hash.make(algorithm)
    let offset = 0 // bytes the registry has committed
    const buffer = new Uint8Array(chunkSize)
    let filled = 0

    const sendChunk = (chunk: Uint8Array): Effect.Effect<void, Failure> =>
      Effect.gen(function*() {
        let sent = 0
        let stalled = 0
        const patch = Effect.suspend(() =>
          sent >= chunk.length ? Effect.void : Effect.gen(function*() {
            const part = chunk.subarray(sent)
            const request = HttpClientRequest.patch(live.url, {
              headers: { "content-range": `${offset}-${offset + part.length - 1}` }
            }).pipe(HttpClientRequest.bodyUint8Array(part, "application/octet-stream"))
            const response = yield* up.transport.send(up.ctx, request, { scopes: up.scopes, retry: false })
            if (response.status !== 202 && response.status !== 204) {
              if (response.status >= 400) return yield* Response.fail(up.ctx, response)
              yield* Response.discard(response)
              return yield* Response.unexpectedStatus(up.ctx, response, "202 (chunk accepted)")
            }
            yield* Response.discard(response)
            if (Response.header(response, "location") !== undefined) live.url = yield* sessionUrl(up, response)
            const end = parseRangeEnd(Response.header(response, "range"))
            const committed = end === undefined ? offset + part.length : end + 1
            if (committed < offset || committed > offset + part.length) {
              return yield* Response.invalidResponse(
                up.ctx,
                `after sending bytes ${offset}-${offset + part.length - 1} the registry reports Range 0-${
                  committed - 1
                }`
              )
            }
            if (committed < offset + part.length) {
              yield* Effect.logDebug(
                `${up.ctx.operation}: registry stored up to ${committed}, re-sending the rest of the chunk`
              )
            }
            stalled = committed === offset ? stalled + 1 : 0
            sent += committed - offset
            offset = committed
          })
        )
        while (sent < chunk.length) {
          if (stalled > 2) {
            return yield* Response.invalidResponse(
              up.ctx,
              `the registry keeps storing nothing of the chunk at byte ${offset}`
            )
          }
          yield* live.resume({
            attempt: patch,
            resumable: () => true,
            recover: (error) =>
              Effect.gen(function*() {
                const end = offset + chunk.length - sent
                const at = yield* locate(up, live, error)
                if (at.committed < offset) {
                  return yield* Effect.fail(
                    new Restart(error, `its Range says ${at.committed} bytes, fewer than the ${offset} it acknowledged`)
                  )
                }
                if (at.committed > end) {
                  return yield* Effect.fail(
                    new Restart(error, `its Range says ${at.committed} bytes, more than the ${end} sent`)
                  )
                }
                live.url = at.url
                sent += at.committed - offset
                offset = at.committed
                yield* logResume(up, live, at.committed, error)
              })
          })
        }
      })

    yield* Stream.runForEach(
      Stream.mapError(source.stream, (e) => sourceError(up, e)),
      (input) =>
        Effect.gen(function*() {
          hasher.update(input)
          let position = 0
          while (position < input.length) {
            const take = Math.min(chunkSize - filled, input.length - position)
            buffer.set(input.subarray(position, position + take), filled)
            filled += take
            position += take
            if (filled === chunkSize) {
              yield* sendChunk(buffer.subarray(0, filled))
              filled = 0
            }
          }
        })
    )
    if (filled > 0) yield* sendChunk(buffer.subarray(0, filled))
    const computed = { digest: hasher.digest(), size: hasher.bytes() }
    yield* verifyComputed(up, source, computed)
    yield* close(up, live, computed)
    return computed
  })

/**
 * Runs a strategy in a fresh session, cancelling the session on failure. A streamed, chunked or monolithic
 * upload is resumed in its session (see the module documentation); a single `POST ?digest=` is not (the
 * session it would resume exists only once it answered `202`). @internal
 */
export const upload = <E>(
  up: UploadContext,
  startUrl: string,
  source: Source<E>,
  strategy: Strategy
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const digest = source.digest
    if (strategy === "post" && digest !== undefined && source.size !== undefined) {
      const h = hashing(up, source, yield* Effect.runtime<never>())
      const url = new URL(startUrl)
      url.searchParams.append("digest", digest)
      const request = HttpClientRequest.post(url).pipe(HttpClientRequest.setBody(h.body(source.size)))
      const response = yield* sendBody(up, request, h, source)
      if (response.status === 201) {
        yield* verifyComputed(up, source, h.result())
        yield* complete(up, response, digest)
        return { digest, size: source.size }
      }
      if (response.status !== 202) return yield* Response.fail(up.ctx, response)
      // The registry opened a session instead (distribution 2.8 does): PUT the blob into it.
      yield* Response.discard(response)
      const session = { url: yield* sessionUrl(up, response), minChunk: minChunk(response) }
      const live = yield* liveSession(up, session, source)
      return yield* inSession(up, live, putStreamed(up, live, source, digest))
    }
    const session = yield* start(up, startUrl)
    const live = yield* liveSession(up, session, source)
    const run = strategy === "chunked"
      ? putChunked(up, live, source)
      : strategy === "stream" || digest === undefined
      ? putStreamed(up, live, source)
      : putStreamed(up, live, source, digest)
    return yield* inSession(up, live, run)
  })
