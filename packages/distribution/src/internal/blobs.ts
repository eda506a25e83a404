/**
 * Blobs: `HEAD`, scoped verifying downloads, `DELETE`, uploads (with whole-upload retries under the retry
 * policy) and cross-repository mounts.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as AuthScope from "@ocidist/auth/Scope"
import { Digest, type Reference, ReferenceError } from "@ocidist/reference"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import { type ChunkSink, dropBytes } from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as RegistryClient from "../RegistryClient.js"
import * as RegistryError from "../RegistryError.js"
import * as BlobStream from "./blobStream.js"
import { type ClientContext, ctxOf, pull, push, remove, repoUrl } from "./context.js"
import * as Response from "./response.js"
import * as Retry from "./retry.js"
import * as Transport from "./transport.js"
import * as Upload from "./upload.js"

const blobUrl = (client: ClientContext, ref: Reference.Reference, digest: Digest.Digest) =>
  repoUrl(client, ref, `blobs/${digest}`)

/** `HEAD` a blob. @internal */
export const head = (
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest
): Effect.Effect<RegistryClient.BlobDescriptor, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, "blobs.head")
    const response = yield* client.transport.send(ctx, HttpClientRequest.head(blobUrl(client, ref, digest)), {
      scopes: pull(ref)
    })
    if (response.status !== 200) return yield* Response.fail(ctx, response, { target: `blob ${digest}` })
    yield* Response.discard(response)
    const size = Response.contentLength(response)
    if (size === undefined) {
      return yield* Response.invalidResponse(ctx, `HEAD of blob ${digest} without Content-Length`)
    }
    return { digest, size } satisfies RegistryClient.BlobDescriptor
  })

/**
 * `GET` a blob in the caller's scope: one of the registry's permits is taken in that scope and given back
 * when the first run of the stream ends or the scope closes; the response is aborted when the scope closes
 * unconsumed.
 *
 * @internal
 */
export const get = (
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest,
  options?: RegistryClient.BlobGetOptions
): Effect.Effect<RegistryClient.BlobResponse, RegistryError.RegistryClientError, Scope.Scope> =>
  Effect.gen(function*() {
    const release = yield* client.permit(ref.registry)
    // a download that fails before its stream exists gives its permit back at once
    return yield* Effect.onError(open(client, ref, digest, options, release), () => release)
  })

const open = (
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest,
  options: RegistryClient.BlobGetOptions | undefined,
  release: Effect.Effect<void>
): Effect.Effect<RegistryClient.BlobResponse, RegistryError.RegistryClientError, Scope.Scope> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, "blobs.get")
    const url = blobUrl(client, ref, digest)
    const offset = options?.offset ?? 0
    const scoped = (at: number) =>
      client.scopedTransport.send(ctx, BlobStream.rangeRequest(url, at), { scopes: pull(ref) })
    const first = yield* scoped(offset)
    if (first.status !== 200 && first.status !== 206) {
      return yield* Response.fail(ctx, first, { target: `blob ${digest}` })
    }
    const announcedDigest = Response.header(first, "docker-content-digest")
    if (
      announcedDigest !== undefined && Digest.isDigest(announcedDigest) &&
      Digest.algorithm(announcedDigest) === Digest.algorithm(digest) && announcedDigest !== digest
    ) {
      yield* Response.abort(first)
      return yield* new ReferenceError.DigestMismatch({
        expected: digest,
        actual: announcedDigest,
        subject: `blob in ${ref.repository} (Docker-Content-Digest)`
      })
    }
    let size = options?.size
    const length = Response.contentLength(first)
    const range = BlobStream.parseContentRange(Response.header(first, "content-range"))
    const announced = first.status === 206 ? range?.total : length
    if (first.status === 206 && (range === undefined || range.start !== offset)) {
      yield* Response.abort(first)
      return yield* Response.invalidResponse(
        ctx,
        `asked for bytes from ${offset}, got Content-Range "${Response.header(first, "content-range") ?? "(none)"}"`
      )
    }
    if (size !== undefined && announced !== undefined && announced !== size) {
      yield* Response.abort(first)
      return yield* new SizeMismatch({
        subject: `blob ${digest} in ${ctx.registry}/${ref.repository} (${ctx.operation}, announced by the registry)`,
        expected: size,
        actual: announced
      })
    }
    size ??= announced
    const whole = first.status === 200
    const streamOptions: BlobStream.BlobStreamOptions = {
      ctx,
      digest,
      size,
      first,
      offset: whole ? 0 : offset,
      hasher: whole ? undefined : options?.hasher,
      hash: client.hash,
      release,
      reopen: (at) => Effect.zipRight(client.permit(ref.registry), scoped(at)),
      open: (at) => client.transport.send(ctx, BlobStream.rangeRequest(url, at), { scopes: pull(ref) }),
      retry: client.retry,
      maxResumes: client.maxResumes,
      limits: client.host(ref.registry).limits
    }
    const stream = BlobStream.make(streamOptions)
    return {
      digest,
      size,
      stream: offset > 0 && whole ? dropBytes(offset)(stream) : stream,
      pump: (sink) => BlobStream.pump(streamOptions, sink, offset > 0 && whole ? offset : 0)
    } satisfies RegistryClient.BlobResponse
  })

/** `DELETE` a blob. @internal */
export const del = (
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest
): Effect.Effect<void, RegistryError.RegistryClientError> =>
  remove(client, ref, "blobs.delete", blobUrl(client, ref, digest), `blob ${digest}`)

const uploadContext = (
  client: ClientContext,
  ref: Reference.Reference,
  operation: string,
  scopes: ReadonlyArray<AuthScope.Scope>,
  chunkSize?: number
): Upload.UploadContext => ({
  transport: client.transport,
  hash: client.hash,
  ctx: ctxOf(ref.registry, ref.repository, operation),
  scopes,
  chunkSize: chunkSize ?? client.chunkSize,
  iterableBodies: client.iterableBodies,
  // resumes of an upload session are paced and bounded by the client's one retry policy
  retry: client.retry
})

/**
 * Runs a whole upload again (new session, source re-run) under the retry policy: on transient failures,
 * and once when the registry asked to re-authenticate during a streamed body.
 *
 * @internal
 */
export const withUploadRetries = <A>(
  client: ClientContext,
  effect: Effect.Effect<A, RegistryError.RegistryClientError>,
  retries: number
): Effect.Effect<A, RegistryError.RegistryClientError> =>
  Effect.suspend(() => {
    let failures = 0
    let attempts = 0
    // each whole-upload retry (a new session) shows in the verbose log, as request retries and resumes do
    const attempt = Effect.suspend(() =>
      ++attempts === 1 ? effect : Effect.zipRight(
        Effect.logDebug(`blobs.upload: retrying the whole upload in a new session (attempt ${attempts})`),
        effect
      )
    )
    return Effect.retry(attempt, {
      schedule: Retry.schedule<RegistryError.RegistryClientError>(client.retry, retries),
      while: (error) => {
        const first = failures++ === 0
        return RegistryError.isTransient(error) ||
          (first && error._tag === "Unauthorized" && error.reason === Transport.STREAM_REAUTH)
      }
    })
  })

/** Uploads a blob with a strategy. @internal */
export const upload = <E>(
  client: ClientContext,
  ref: Reference.Reference,
  source: RegistryClient.BlobSource<E>,
  options?: RegistryClient.UploadOptions
): Effect.Effect<RegistryClient.BlobDescriptor, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const up = uploadContext(client, ref, "blobs.upload", push(ref), options?.chunkSize)
    const strategy = options?.strategy ?? "auto"
    if (
      (strategy === "monolithic" || strategy === "post") &&
      (source.digest === undefined || (strategy === "post" && source.size === undefined))
    ) {
      return yield* Response.invalidArgument(
        up.ctx,
        `the "${strategy}" upload strategy needs the blob's digest${strategy === "post" ? " and size" : ""}`
      )
    }
    const result = yield* withUploadRetries(
      client,
      Upload.upload(up, repoUrl(client, ref, "blobs/uploads/"), source, strategy),
      options?.retries ?? client.retry.times
    )
    return result satisfies RegistryClient.BlobDescriptor
  })

/** Mounts a blob from another repository of the same registry, uploading it when declined. @internal */
export const mount = <E>(
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest,
  from: Reference.Reference,
  source?: RegistryClient.BlobSource<E>
): Effect.Effect<RegistryClient.MountResult, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const up = uploadContext(client, ref, "blobs.mount", [
      AuthScope.push(ref.repository),
      AuthScope.pull(from.repository)
    ])
    if (from.registry !== ref.registry) {
      if (source === undefined) {
        return yield* Response.invalidArgument(
          up.ctx,
          `cannot mount from another registry (${from.registry} → ${ref.registry})`
        )
      }
      const uploaded = yield* Upload.upload(
        { ...up, scopes: push(ref) },
        repoUrl(client, ref, "blobs/uploads/"),
        { ...source, digest },
        "monolithic"
      )
      return { ...uploaded, mounted: false, uploaded: true } satisfies RegistryClient.MountResult
    }
    const url = new URL(repoUrl(client, ref, "blobs/uploads/"))
    url.searchParams.set("mount", digest)
    url.searchParams.set("from", from.repository)
    const response = yield* client.transport.send(
      up.ctx,
      HttpClientRequest.post(url, { headers: { "content-length": "0" } }),
      { scopes: up.scopes }
    )
    if (response.status === 201) {
      yield* Response.discard(response)
      const returned = Response.header(response, "docker-content-digest")
      if (
        returned !== undefined && returned !== digest && Digest.isDigest(returned) &&
        Digest.algorithm(returned) === Digest.algorithm(digest)
      ) {
        return yield* new ReferenceError.DigestMismatch({
          expected: digest,
          actual: returned,
          subject: "mounted blob"
        })
      }
      const size = source?.size ?? (yield* head(client, ref, digest)).size
      return { digest, size, mounted: true, uploaded: false } satisfies RegistryClient.MountResult
    }
    if (response.status !== 202) {
      if (response.status >= 400) return yield* Response.fail(up.ctx, response, { target: `blob ${digest}` })
      yield* Response.discard(response)
      return yield* Response.unexpectedStatus(up.ctx, response, "201 (mounted) or 202 (upload session)")
    }
    yield* Response.discard(response)
    const session: Upload.Session = { url: yield* Upload.sessionUrl(up, response), minChunk: undefined }
    if (source === undefined) {
      yield* Upload.cancel(up, session)
      return { digest, size: 0, mounted: false, uploaded: false } satisfies RegistryClient.MountResult
    }
    const uploaded = yield* Upload.putMonolithic(up, session, { ...source, digest }).pipe(
      Effect.onError(() => Upload.cancel(up, session))
    )
    return { digest, size: uploaded.size, mounted: false, uploaded: true } satisfies RegistryClient.MountResult
  })

/** `get`, as a stream that owns its scope (the common use). @internal */
export const stream = (
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest,
  options?: RegistryClient.BlobGetOptions
): Stream.Stream<Uint8Array, RegistryError.RegistryClientError> =>
  Stream.unwrapScoped(Effect.map(get(client, ref, digest, options), (response) => response.stream))

/** `get`, read into `sink` in one loop per body (the byte path's fast lane). @internal */
export const pump = (
  client: ClientContext,
  ref: Reference.Reference,
  digest: Digest.Digest,
  sink: ChunkSink,
  options?: RegistryClient.BlobGetOptions
): Effect.Effect<void, RegistryError.RegistryClientError> =>
  Effect.scoped(Effect.flatMap(get(client, ref, digest, options), (response) => response.pump(sink)))
