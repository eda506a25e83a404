/**
 * Referrers (OCI 1.1): the referrers API, and the `sha256-<hex>` tag schema where it is missing, read on
 * listing and maintained when a manifest with a `subject` is pushed.
 *
 * @internal
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Digest, Reference } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as RegistryClient from "../RegistryClient.js"
import type * as RegistryError from "../RegistryError.js"
import { type ClientContext, ctxOf, pull, repoUrl } from "./context.js"
import * as Manifests from "./manifests.js"
import { nextPage } from "./pagination.js"
import * as Response from "./response.js"

/** The tag of the fallback index of `digest`. @internal */
export const fallbackTag = (digest: Digest.Digest): string => `${Digest.algorithm(digest)}-${Digest.hex(digest)}`

// The fallback index and the precondition to update it with: `If-Match` its ETag when the registry sent
// one, `If-None-Match: *` when the tag does not exist yet (registries without conditional requests
// ignore both).
const readFallback = (
  client: ClientContext,
  ref: Reference.Reference,
  subject: Digest.Digest,
  operation: string
): Effect.Effect<
  { readonly manifests: ReadonlyArray<Descriptor.Descriptor>; readonly precondition: Record<string, string> },
  RegistryError.RegistryClientError
> =>
  Effect.gen(function*() {
    const tagRef = Reference.make({ registry: ref.registry, repository: ref.repository, tag: fallbackTag(subject) })
    const got = yield* Manifests.fetch(client, tagRef, [MediaType.OCI_INDEX], operation).pipe(
      Effect.map(Option.some),
      Effect.catchTags({
        NotFound: () => Effect.succeed(Option.none()),
        UnsupportedMediaType: () => Effect.succeed(Option.none()),
        InvalidResponse: () => Effect.succeed(Option.none())
      })
    )
    if (Option.isNone(got)) return { manifests: [], precondition: { "if-none-match": "*" } }
    const { etag, result } = got.value
    const precondition: Record<string, string> = etag === undefined ? {} : { "if-match": etag }
    const value = result.manifest
    // The tag must hold an OCI index listing referrers; a registry that resolves it to the subject
    // itself (GitLab does) or anything else is ignored.
    if (value.digest === subject || value._tag !== "ImageIndex" || value.mediaType !== MediaType.OCI_INDEX) {
      yield* Effect.logDebug(`${operation}: ignoring ${fallbackTag(subject)}: not a referrers index`)
      return { manifests: [], precondition }
    }
    return { manifests: value.manifest.manifests, precondition }
  })

const updateFallbackIndex = (
  client: ClientContext,
  ref: Reference.Reference,
  subject: Digest.Digest,
  descriptor: Descriptor.Descriptor
) => {
  const operation = "manifests.put (referrers fallback)"
  const attempt = (left: number): Effect.Effect<void, RegistryError.RegistryClientError> =>
    Effect.gen(function*() {
      const existing = yield* readFallback(client, ref, subject, operation)
      if (existing.manifests.some((d) => d.digest === descriptor.digest)) return
      const index = {
        schemaVersion: 2,
        mediaType: MediaType.OCI_INDEX,
        manifests: [...existing.manifests, descriptor]
      }
      yield* Manifests.putRaw(
        client,
        ref,
        { bytes: Manifest.encode(index), mediaType: MediaType.OCI_INDEX },
        fallbackTag(subject),
        operation,
        existing.precondition
      ).pipe(
        Effect.catchIf(
          (error) => error._tag === "RegistryResponseError" && error.status === 412 && left > 0,
          // Someone else updated the index in between: merge again.
          () => attempt(left - 1)
        )
      )
    })
  return attempt(3)
}

/**
 * After a manifest `PUT`: when it has a `subject` the registry did not acknowledge (`OCI-Subject`), adds it
 * to the fallback index (unless the fallback is disabled).
 *
 * @internal
 */
export const afterPut = (
  client: ClientContext,
  ref: Reference.Reference,
  put: Manifests.Put
): Effect.Effect<RegistryClient.PutManifestResult, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const subject = put.decoded === undefined ? undefined : Manifest.subject(put.decoded)
    let referrers: RegistryClient.PutManifestResult["referrers"] = "none"
    if (subject !== undefined && put.decoded !== undefined) {
      if (put.ociSubject !== undefined) referrers = "api"
      else if (client.referrersFallback) {
        yield* updateFallbackIndex(client, ref, subject.digest, Manifest.descriptorOf(put.decoded))
        referrers = "fallback"
      }
    }
    return {
      digest: put.digest,
      location: put.location,
      subject: subject?.digest,
      referrers
    } satisfies RegistryClient.PutManifestResult
  })

/** The referrers of a subject: the API, or the fallback tag when the API is missing. @internal */
export const list = (
  client: ClientContext,
  subject: Reference.Reference,
  options?: { readonly artifactType?: string | undefined; readonly maxPages?: number | undefined }
): Effect.Effect<RegistryClient.ReferrersResult, RegistryError.RegistryClientError> =>
  Effect.gen(function*() {
    const ctx = ctxOf(subject.registry, subject.repository, "referrers")
    const digest = subject.digest
    if (digest === undefined) {
      return yield* Response.invalidArgument(ctx, `${subject} has no digest; referrers need the subject's digest`)
    }
    const artifactType = options?.artifactType
    const filter = (list: ReadonlyArray<Descriptor.Descriptor>) =>
      artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType)
    const first = new URL(repoUrl(client, subject, `referrers/${digest}`))
    if (artifactType !== undefined) first.searchParams.set("artifactType", artifactType)
    const limit = options?.maxPages ?? client.maxPages
    const manifests: Array<Descriptor.Descriptor> = []
    let filtersApplied: ReadonlyArray<string> = []
    let url: string | undefined = first.href
    for (let page = 0; url !== undefined; page++) {
      if (page >= limit) return yield* Response.invalidResponse(ctx, `more than ${limit} pages of referrers`)
      const response: HttpClientResponse.HttpClientResponse = yield* client.transport.send(
        ctx,
        HttpClientRequest.get(url, { headers: { accept: MediaType.OCI_INDEX } }),
        { scopes: pull(subject), read: { limit: client.maxManifestBytes, what: "referrers page" } }
      )
      if (page === 0 && (response.status === 404 || response.status === 400 || response.status === 406)) {
        yield* Response.discard(response)
        if (!client.referrersFallback) {
          return yield* Response.fail(ctx, response, { target: `referrers of ${digest}` })
        }
        const fallback = yield* readFallback(client, subject, digest, "referrers")
        return {
          manifests: filter(fallback.manifests),
          source: "fallback",
          filtersApplied: []
        } satisfies RegistryClient.ReferrersResult
      }
      if (response.status !== 200) {
        return yield* Response.fail(ctx, response, { target: `referrers of ${digest}` })
      }
      const bytes = yield* Response.readBounded(ctx, response, client.maxManifestBytes, "referrers page")
      const decoded = Manifest.decode(bytes, { contentType: MediaType.OCI_INDEX })
      if (Either.isLeft(decoded) || decoded.right._tag !== "ImageIndex") {
        return yield* Response.invalidResponse(
          ctx,
          "the referrers API did not return an image index",
          Either.isLeft(decoded) ? decoded.left : undefined
        )
      }
      manifests.push(...decoded.right.manifest.manifests)
      if (page === 0) {
        const applied = Response.header(response, "oci-filters-applied")
        filtersApplied = applied === undefined
          ? []
          : applied.split(",").map((s) => s.trim()).filter((s) => s !== "")
      }
      url = yield* nextPage(client, ctx, response)
    }
    return { manifests: filter(manifests), source: "api", filtersApplied } satisfies RegistryClient.ReferrersResult
  })
