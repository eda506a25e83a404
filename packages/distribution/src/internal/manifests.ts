/**
 * Manifests: `HEAD`, `GET` (bounded, digest-checked, decoded), `PUT`, `DELETE`.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Digest, type Reference, ReferenceError } from "@ocidist/reference"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as RegistryClient from "../RegistryClient.js"
import * as RegistryError from "../RegistryError.js"
import { type ClientContext, ctxOf, pull, push, remove, repoUrl } from "./context.js"
import * as Response from "./response.js"

/** @internal */
export const parseRateLimit = (
  response: HttpClientResponse.HttpClientResponse
): RegistryClient.RateLimit | undefined => {
  const parse = (value: string | undefined) => {
    if (value === undefined) return undefined
    const match = /^\s*(\d+)\s*(?:;\s*w=(\d+))?/.exec(value)
    return match === null
      ? undefined
      : { value: Number(match[1]), window: match[2] === undefined ? undefined : Number(match[2]) }
  }
  const limit = parse(Response.header(response, "ratelimit-limit"))
  const remaining = parse(Response.header(response, "ratelimit-remaining"))
  const source = Response.header(response, "docker-ratelimit-source")
  if (limit === undefined && remaining === undefined && source === undefined) return undefined
  const window = limit?.window ?? remaining?.window
  return {
    ...(limit === undefined ? {} : { limit: limit.value }),
    ...(remaining === undefined ? {} : { remaining: remaining.value }),
    ...(window === undefined ? {} : { windowSeconds: window }),
    ...(source === undefined ? {} : { source })
  }
}

const manifestUrl = (ctx: ClientContext, ref: Reference.Reference, identifier: string = ref.identifier) =>
  repoUrl(ctx, ref, `manifests/${encodeURIComponent(identifier)}`)

const checkedMediaType = (ctx: Response.Ctx, contentType: string | undefined) =>
  Effect.suspend(() => {
    const mediaType = contentType === undefined ? "" : MediaType.essence(contentType)
    if (MediaType.isSchema1(mediaType)) {
      return Effect.fail(
        new RegistryError.UnsupportedMediaType({
          ...Response.errorContext(ctx),
          mediaType,
          reason:
            "Docker image manifest schema 1 is deprecated and not supported; re-push the image with a current client"
        })
      )
    }
    return Effect.succeed(mediaType)
  })

/** `HEAD` a manifest; a `GET` when the headers do not tell digest, size and media type. @internal */
export const head = (
  client: ClientContext,
  ref: Reference.Reference
): Effect.Effect<RegistryClient.ManifestDescriptor, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, "manifests.head")
    const response = yield* client.transport.send(
      ctx,
      HttpClientRequest.head(manifestUrl(client, ref), { headers: { accept: MediaType.MANIFEST_ACCEPT } }),
      { scopes: pull(ref) }
    )
    if (response.status !== 200) {
      return yield* Response.fail(ctx, response, { target: `manifest ${ref.identifier}` })
    }
    yield* Response.discard(response)
    const mediaType = yield* checkedMediaType(ctx, Response.header(response, "content-type"))
    const digestHeader = Response.header(response, "docker-content-digest")
    const size = Response.contentLength(response)
    if (digestHeader === undefined || !Digest.isDigest(digestHeader) || size === undefined || mediaType === "") {
      // Not enough in the headers: GET it (digest computed from the bytes).
      const got = yield* get(client, ref, undefined, "manifests.head")
      return { mediaType: got.mediaType, digest: got.digest, size: got.size, rateLimit: got.rateLimit }
    }
    if (
      ref.digest !== undefined && digestHeader !== ref.digest &&
      Digest.algorithm(digestHeader) === Digest.algorithm(ref.digest)
    ) {
      return yield* new ReferenceError.DigestMismatch({
        expected: ref.digest,
        actual: digestHeader,
        subject: `manifest ${ref}`
      })
    }
    if (size > client.maxManifestBytes) {
      return yield* Response.sizeExceeded(ctx, "manifest", client.maxManifestBytes, size)
    }
    return {
      mediaType,
      digest: ref.digest ?? digestHeader,
      size,
      rateLimit: parseRateLimit(response)
    } satisfies RegistryClient.ManifestDescriptor
  })

/** `GET` a manifest, with its `ETag`. @internal */
export const fetch = (
  client: ClientContext,
  ref: Reference.Reference,
  accept: ReadonlyArray<string> | undefined,
  operation: string
): Effect.Effect<
  { readonly result: RegistryClient.ManifestResponse; readonly etag: string | undefined },
  RegistryError.RegistryClientError
> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, operation)
    const response = yield* client.transport.send(
      ctx,
      HttpClientRequest.get(manifestUrl(client, ref), {
        headers: { accept: accept === undefined ? MediaType.MANIFEST_ACCEPT : accept.join(", ") }
      }),
      // the body is read within the retried request: one cut short is fetched again
      { scopes: pull(ref), read: { limit: client.maxManifestBytes, what: "manifest" } }
    )
    if (response.status !== 200) {
      return yield* Response.fail(ctx, response, { target: `manifest ${ref.identifier}` })
    }
    const contentType = Response.header(response, "content-type")
    const headerType = yield* checkedMediaType(ctx, contentType)
    const bytes = yield* Response.readBounded(ctx, response, client.maxManifestBytes, "manifest")
    const digestHeader = Response.header(response, "docker-content-digest")
    const expected = ref.digest ??
      (digestHeader !== undefined && Digest.isDigest(digestHeader) ? digestHeader : undefined)
    const algorithm = expected === undefined ? "sha256" : Digest.algorithm(expected)
    const actual = Digest.ofBytes(bytes, algorithm)
    if (expected !== undefined && actual !== expected) {
      return yield* new ReferenceError.DigestMismatch({ expected, actual, subject: `manifest ${ref}` })
    }
    const decoded = Manifest.decode(bytes, {
      contentType: headerType === "" ? undefined : headerType,
      digest: actual
    })
    if (Either.isLeft(decoded)) {
      const error = decoded.left
      if (error.reason === "Malformed") return yield* Response.invalidResponse(ctx, error.message, error)
      return yield* new RegistryError.UnsupportedMediaType({
        ...Response.errorContext(ctx),
        mediaType: error.mediaType ?? headerType,
        reason: error.message,
        cause: error
      })
    }
    const result = {
      mediaType: decoded.right.mediaType,
      digest: actual,
      size: bytes.length,
      rateLimit: parseRateLimit(response),
      bytes,
      manifest: decoded.right
    } satisfies RegistryClient.ManifestResponse
    return { result, etag: Response.header(response, "etag") }
  })

/** `GET` a manifest. @internal */
export const get = (
  client: ClientContext,
  ref: Reference.Reference,
  accept: ReadonlyArray<string> | undefined,
  operation = "manifests.get"
): Effect.Effect<RegistryClient.ManifestResponse, RegistryError.RegistryClientError> =>
  Effect.map(fetch(client, ref, accept, operation), (r) => r.result)

/** `PUT` manifest bytes under `identifier`, checking the digest the registry answers. @internal */
export const putRaw = (
  client: ClientContext,
  ref: Reference.Reference,
  manifest: RegistryClient.ManifestInput,
  identifier: string,
  operation: string,
  headers: Readonly<Record<string, string>> = {}
) =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, operation)
    if (manifest.bytes.length > client.maxManifestBytes) {
      return yield* Response.sizeExceeded(ctx, "manifest", client.maxManifestBytes, manifest.bytes.length)
    }
    const digest = Digest.ofBytes(
      manifest.bytes,
      ref.digest === undefined ? "sha256" : Digest.algorithm(ref.digest)
    )
    const response = yield* client.transport.send(
      ctx,
      HttpClientRequest.put(manifestUrl(client, ref, identifier), { headers }).pipe(
        HttpClientRequest.bodyUint8Array(manifest.bytes, manifest.mediaType)
      ),
      { scopes: push(ref) }
    )
    if (response.status !== 201 && response.status !== 200 && response.status !== 204) {
      if (response.status >= 400) return yield* Response.fail(ctx, response, { target: `manifest ${identifier}` })
      yield* Response.discard(response)
      return yield* Response.unexpectedStatus(ctx, response, "201 (manifest created)")
    }
    yield* Response.discard(response)
    const returned = Response.header(response, "docker-content-digest")
    if (
      returned !== undefined && Digest.isDigest(returned) &&
      Digest.algorithm(returned) === Digest.algorithm(digest) && returned !== digest
    ) {
      return yield* new ReferenceError.DigestMismatch({
        expected: digest,
        actual: returned,
        subject: "pushed manifest (registry digest)"
      })
    }
    return {
      digest,
      location: Response.header(response, "location"),
      ociSubject: Response.header(response, "oci-subject")
    }
  })

/** What a manifest `PUT` tells the referrers bookkeeping. @internal */
export interface Put {
  readonly digest: Digest.Digest
  readonly location: string | undefined
  readonly ociSubject: string | undefined
  /** The manifest pushed, when its bytes decode. */
  readonly decoded: Manifest.Manifest | undefined
}

/** `PUT` a manifest under the reference's tag, else its digest (checked). @internal */
export const put = (
  client: ClientContext,
  ref: Reference.Reference,
  manifest: RegistryClient.ManifestInput
): Effect.Effect<Put, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, "manifests.put")
    if (ref.digest !== undefined) {
      const actual = Digest.ofBytes(manifest.bytes, Digest.algorithm(ref.digest))
      if (actual !== ref.digest) {
        return yield* new ReferenceError.DigestMismatch({
          expected: ref.digest,
          actual,
          subject: "manifest to push"
        })
      }
    }
    const decoded = Either.getOrUndefined(Manifest.decode(manifest.bytes, { contentType: manifest.mediaType }))
    // Push under the tag when there is one (the registry then also knows the digest), else the digest.
    const identifier = ref.tag ?? ref.digest
    if (identifier === undefined) return yield* Response.invalidArgument(ctx, `${ref} has neither tag nor digest`)
    const result = yield* putRaw(client, ref, manifest, identifier, "manifests.put")
    return { ...result, decoded }
  })

/** `DELETE` a manifest. @internal */
export const del = (
  client: ClientContext,
  ref: Reference.Reference
): Effect.Effect<void, RegistryError.RegistryClientError> =>
  remove(client, ref, "manifests.delete", manifestUrl(client, ref), `manifest ${ref.identifier}`)
