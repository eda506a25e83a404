/**
 * Blob upload sessions: start, monolithic/streamed/chunked/single-POST strategies, cancel, `Location`
 * checks.
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
import type * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as RegistryError from "../RegistryError.js"
import * as IterableBody from "./iterableBody.js"
import * as Response from "./response.js"
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

/** DELETE an upload session, ignoring failures. @internal */
export const cancel = (up: UploadContext, session: Session): Effect.Effect<void> =>
  up.transport.send(up.ctx, HttpClientRequest.del(session.url), { scopes: up.scopes, retry: false }).pipe(
    Effect.flatMap(Response.discard),
    Effect.ignore
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
  readonly bytes: () => number
  readonly ended: () => boolean
  readonly failure: () => { readonly error: unknown } | undefined
  /** Stops a pump still running (a request that ended before its body). */
  readonly stop: Effect.Effect<void>
  /** After a response: lets a pump whose bytes were all sent finish its own checks, else stops it. */
  readonly finish: Effect.Effect<void>
}

/**
 * The source, hashed as it is sent; or only counted when it verifies itself (`verified` with a digest: it
 * fails after its last byte unless the bytes are the digest's, so a copy hashes each byte once). A source
 * with a pump goes out as an iterable body when the client streams those (no effect per buffer).
 */
const hashing = <E>(up: UploadContext, source: Source<E>, runtime: Runtime.Runtime<never>): Hashing => {
  const algorithm = source.digest === undefined ? "sha256" : Digest.algorithm(source.digest)
  const trusted = source.verified === true ? source.digest : undefined
  let hasher: Hash.Hasher | undefined
  let counted = 0
  let ended = false
  let failure: { readonly error: unknown } | undefined
  const reset = () => {
    hasher = trusted === undefined ? up.hash.make(algorithm) : undefined
    counted = 0
    ended = false
    failure = undefined
  }
  const count = (buffer: Uint8Array) => {
    counted += buffer.length
    hasher?.update(buffer)
  }
  const options = (contentLength: number | undefined) => ({
    contentType: "application/octet-stream",
    ...(contentLength === undefined ? {} : { contentLength })
  })
  const stream = Stream.suspend(() => {
    reset()
    return Stream.mapChunks(source.stream, (chunk) => {
      for (const buffer of chunk) count(buffer)
      return chunk
    }).pipe(
      Stream.tapError((error) => Effect.sync(() => (failure = { error }))),
      Stream.ensuring(Effect.sync(() => (ended = failure === undefined)))
    )
  })
  const pumped = up.iterableBodies && source.pump !== undefined
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
    finish: pumped === undefined ? Effect.void : pumped.finish
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

/** PUT the whole blob into a session. @internal */
export const putMonolithic = <E>(
  up: UploadContext,
  session: Session,
  source: Source<E> & { readonly digest: Digest.Digest }
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const h = hashing(up, source, yield* Effect.runtime<never>())
    const request = HttpClientRequest.put(withDigest(session.url, source.digest)).pipe(
      HttpClientRequest.setBody(h.body(source.size))
    )
    const response = yield* sendBody(up, request, h, source)
    const computed = h.result()
    if (response.status >= 400) {
      // Explain a DIGEST_INVALID/SIZE_INVALID by what we measured, when it differs.
      yield* Effect.catchAll(
        verifyComputed(up, source, computed),
        (e) => Effect.zipRight(Response.discard(response), Effect.fail(e))
      )
      return yield* Response.fail(up.ctx, response)
    }
    yield* verifyComputed(up, source, computed)
    yield* complete(up, response, source.digest)
    return { digest: source.digest, size: computed.size }
  })

/** One PATCH with the whole stream (no Content-Range), then PUT ?digest=. @internal */
export const putStreamed = <E>(
  up: UploadContext,
  session: Session,
  source: Source<E>
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const h = hashing(up, source, yield* Effect.runtime<never>())
    const request = HttpClientRequest.patch(session.url).pipe(HttpClientRequest.setBody(h.body(source.size)))
    const response = yield* sendBody(up, request, h, source)
    if (response.status !== 202 && response.status !== 204) {
      if (response.status >= 400) return yield* Response.fail(up.ctx, response)
      yield* Response.discard(response)
      return yield* Response.unexpectedStatus(up.ctx, response, "202 (chunk accepted)")
    }
    yield* Response.discard(response)
    const computed = h.result()
    yield* verifyComputed(up, source, computed)
    const next = Response.header(response, "location") === undefined ? session.url : yield* sessionUrl(up, response)
    const put = yield* up.transport.send(
      up.ctx,
      HttpClientRequest.put(withDigest(next, computed.digest), { headers: { "content-length": "0" } }),
      {
        scopes: up.scopes
      }
    )
    yield* complete(up, put, computed.digest)
    return computed
  })

const parseRangeEnd = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const match = /^\s*(?:bytes=)?(\d+)-(\d+)\s*$/.exec(value)
  return match === null ? undefined : Number(match[2])
}

/**
 * PATCH chunks with `Content-Range`, following the session `Location` and the `Range` the registry reports
 * after each chunk (a registry that stored less gets the rest of the chunk again), then PUT ?digest=.
 *
 * @internal
 */
export const putChunked = <E>(
  up: UploadContext,
  session: Session,
  source: Source<E>
): Effect.Effect<{ readonly digest: Digest.Digest; readonly size: number }, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const chunkSize = Math.max(up.chunkSize, session.minChunk ?? 0, 1)
    const algorithm = source.digest === undefined ? "sha256" : Digest.algorithm(source.digest)
    const hasher = up.hash.make(algorithm)
    let url = session.url
    let offset = 0 // bytes the registry has committed
    const buffer = new Uint8Array(chunkSize)
    let filled = 0

    const sendChunk = (chunk: Uint8Array): Effect.Effect<void, RegistryError.RegistryClientError> =>
      Effect.gen(function*() {
        let sent = 0
        let stalled = 0
        while (sent < chunk.length) {
          if (stalled > 2) {
            return yield* Response.invalidResponse(
              up.ctx,
              `the registry keeps storing nothing of the chunk at byte ${offset}`
            )
          }
          const part = chunk.subarray(sent)
          const request = HttpClientRequest.patch(url, {
            headers: { "content-range": `${offset}-${offset + part.length - 1}` }
          }).pipe(HttpClientRequest.bodyUint8Array(part, "application/octet-stream"))
          const response = yield* up.transport.send(up.ctx, request, { scopes: up.scopes, retry: false })
          if (response.status !== 202 && response.status !== 204) {
            if (response.status >= 400) return yield* Response.fail(up.ctx, response)
            yield* Response.discard(response)
            return yield* Response.unexpectedStatus(up.ctx, response, "202 (chunk accepted)")
          }
          yield* Response.discard(response)
          if (Response.header(response, "location") !== undefined) url = yield* sessionUrl(up, response)
          const end = parseRangeEnd(Response.header(response, "range"))
          const committed = end === undefined ? offset + part.length : end + 1
          if (committed < offset || committed > offset + part.length) {
            return yield* Response.invalidResponse(
              up.ctx,
              `after sending bytes ${offset}-${offset + part.length - 1} the registry reports Range 0-${committed - 1}`
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
    const put = yield* up.transport.send(
      up.ctx,
      HttpClientRequest.put(withDigest(url, computed.digest), { headers: { "content-length": "0" } }),
      {
        scopes: up.scopes
      }
    )
    yield* complete(up, put, computed.digest)
    return computed
  })

/** Runs a strategy in a fresh session, cancelling the session on failure. @internal */
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
      return yield* putMonolithic(up, session, { ...source, digest }).pipe(
        Effect.onError(() => cancel(up, session))
      )
    }
    const session = yield* start(up, startUrl)
    const run = strategy === "chunked"
      ? putChunked(up, session, source)
      : digest !== undefined && strategy !== "stream"
      ? putMonolithic(up, session, { ...source, digest })
      : putStreamed(up, session, source)
    return yield* Effect.onError(run, () => cancel(up, session))
  })
