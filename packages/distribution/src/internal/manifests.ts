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
import * as Schema1 from "./schema1.js"

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

/** Why a schema 1 manifest is refused: what works instead. */
const SCHEMA1_REFUSED = "Docker image manifest schema 1 is deprecated and not supported here (only its bytes and " +
  "digest can be read); convert it to schema 2 or OCI with a tool that still reads schema 1, or push the image " +
  "again with a current client"

/** A refusal of Docker schema 1, by the `Content-Type` or by the body (`schemaVersion: 1`). */
const isSchema1Refusal = (e: RegistryError.UnsupportedMediaType): boolean =>
  MediaType.isSchema1(e.mediaType) ||
  (typeof e.cause === "object" && e.cause !== null && (e.cause as { readonly reason?: unknown }).reason === "Schema1")

const checkedMediaType = (ctx: Response.Ctx, contentType: string | undefined) =>
  Effect.suspend(() => {
    const mediaType = contentType === undefined ? "" : MediaType.essence(contentType)
    if (MediaType.isSchema1(mediaType)) {
      return Effect.fail(
        new RegistryError.UnsupportedMediaType({
          ...Response.errorContext(ctx),
          mediaType,
          reason: SCHEMA1_REFUSED
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
    // any manifest is described, Docker schema 1 too (its digest is the registry's); `get` refuses what it cannot decode
    const contentType = Response.header(response, "content-type")
    const mediaType = contentType === undefined ? "" : MediaType.essence(contentType)
    const digestHeader = Response.header(response, "docker-content-digest")
    const size = Response.contentLength(response)
    if (digestHeader === undefined || !Digest.isDigest(digestHeader) || size === undefined || mediaType === "") {
      // Not enough in the headers: GET it (digest computed from the bytes; a schema 1 one's as getRaw computes it).
      const got = yield* get(client, ref, undefined, "manifests.head").pipe(
        Effect.catchTag(
          "UnsupportedMediaType",
          (e): Effect.Effect<RegistryClient.RawManifestResponse, RegistryError.RegistryClientError> =>
            isSchema1Refusal(e) ? getRaw(client, ref, "manifests.head") : Effect.fail(e)
        )
      )
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
        reason: error.reason === "Schema1" ? SCHEMA1_REFUSED : error.message,
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

/** What a raw `GET` accepts: every manifest type, Docker schema 1 too. */
const RAW_ACCEPT = [...MediaType.MANIFEST_TYPES, MediaType.DOCKER_SCHEMA1_SIGNED, MediaType.DOCKER_SCHEMA1].join(", ")

/**
 * `GET` a manifest's bytes without decoding them, Docker schema 1 included. The digest is checked against the
 * reference's digest or `Docker-Content-Digest`; a signed schema 1 manifest (`v1+prettyjws`) is addressed by
 * the digest of its canonical form (the JWS payload, signatures removed), as registries and docker do.
 *
 * @internal
 */
export const getRaw = (
  client: ClientContext,
  ref: Reference.Reference,
  operation = "manifests.getRaw"
): Effect.Effect<RegistryClient.RawManifestResponse, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const ctx = ctxOf(ref.registry, ref.repository, operation)
    const response = yield* client.transport.send(
      ctx,
      HttpClientRequest.get(manifestUrl(client, ref), { headers: { accept: RAW_ACCEPT } }),
      { scopes: pull(ref), read: { limit: client.maxManifestBytes, what: "manifest" } }
    )
    if (response.status !== 200) {
      return yield* Response.fail(ctx, response, { target: `manifest ${ref.identifier}` })
    }
    const contentType = Response.header(response, "content-type")
    const headerType = contentType === undefined ? "" : MediaType.essence(contentType)
    const bytes = yield* Response.readBounded(ctx, response, client.maxManifestBytes, "manifest")
    let body: unknown
    try {
      body = JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      body = undefined
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return yield* Response.invalidResponse(ctx, `manifest ${ref.identifier} is not a JSON object`)
    }
    const schema1 = Schema1.detect(bytes)
    const bodyType = (body as { readonly mediaType?: unknown }).mediaType
    const mediaType = schema1 !== undefined && !MediaType.isSchema1(headerType)
      ? (schema1.signed ? MediaType.DOCKER_SCHEMA1_SIGNED : MediaType.DOCKER_SCHEMA1)
      : headerType !== ""
      ? headerType
      : typeof bodyType === "string"
      ? MediaType.essence(bodyType)
      : ""
    const digestHeader = Response.header(response, "docker-content-digest")
    const expected = ref.digest ??
      (digestHeader !== undefined && Digest.isDigest(digestHeader) ? digestHeader : undefined)
    const algorithm = expected === undefined ? "sha256" : Digest.algorithm(expected)
    const whole = Digest.ofBytes(bytes, algorithm)
    const payload = schema1?.signed === true ? Schema1.canonical(bytes) : undefined
    const canonical = payload === undefined ? undefined : Digest.ofBytes(payload, algorithm)
    if (expected !== undefined && expected !== whole && expected !== canonical) {
      return yield* new ReferenceError.DigestMismatch({
        expected,
        actual: canonical ?? whole,
        subject: `manifest ${ref}`
      })
    }
    return {
      mediaType,
      digest: expected ?? canonical ?? whole,
      size: bytes.length,
      rateLimit: parseRateLimit(response),
      bytes
    } satisfies RegistryClient.RawManifestResponse
  })

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
