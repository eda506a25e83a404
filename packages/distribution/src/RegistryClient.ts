/**
 * The OCI Distribution API (spec v1.1) as an Effect service: ping, manifests, blobs (streamed, resumable,
 * verified), uploads (monolithic, streamed, chunked, single-POST, cross-repository mount), tags and catalog
 * (paginated `Stream`s), referrers (API with tag-schema fallback).
 *
 * Requests go through one transport built in `make`: base URL from the registry (Docker Hub →
 * `registry-1.docker.io`; plain HTTP automatically for loopback registries, otherwise only when
 * configured), `User-Agent: ocidist/<version>`, auth middleware (cached header → `401` →
 * `Authenticator.authorize` → replay once), redirects for GET/HEAD with `Authorization` dropped when the
 * origin changes, and retries with jittered exponential backoff on 408/429/5xx and connection errors,
 * honouring `Retry-After`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as AuthScope from "@ocidist/auth/Scope"
import { Digest, Hash, Reference, ReferenceError } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Chunk from "effect/Chunk"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as BlobStream from "./internal/blobStream.js"
import * as Transport from "./internal/transport.js"
import * as Upload from "./internal/upload.js"
import { VERSION } from "./internal/version.js"
import { SizeMismatch } from "@ocidist/spec/SpecError"
import * as RegistryError from "./RegistryError.js"

// ---------------------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------------------

/**
 * Options that can differ per registry.
 *
 * @since 0.1.0
 * @category options
 */
export interface RegistryOptions {
  /** Use `http://`. Default: `true` for loopback registries (`localhost`, `127.x`, `::1`), else `false`. */
  readonly plainHttp?: boolean | undefined
  /** Skip TLS certificate verification (Node layer only; also lets token realms use plain HTTP). */
  readonly insecure?: boolean | undefined
  /** Extra CA certificates, PEM (Node layer only). */
  readonly ca?: string | ReadonlyArray<string> | undefined
  /** Client certificate and key, PEM (Node layer only). */
  readonly cert?: string | undefined
  /** @see cert */
  readonly key?: string | undefined
  /**
   * Time to wait for the response headers of a request (uploads of more than 1 MiB excepted), and the
   * longest pause allowed in a blob download before it is resumed. Default 60 seconds.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Time to establish a connection (Node layer only). Default 30 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** `User-Agent`. Default `ocidist/<version>`. */
  readonly userAgent?: string | undefined
  /** Operations in flight at once against this registry. Default 16. */
  readonly concurrency?: number | undefined
}

/**
 * Client options: defaults for every registry, per-registry overrides (keyed by the registry as written in
 * references, e.g. `ghcr.io`, `localhost:5000`, `docker.io`) and protocol settings.
 *
 * @since 0.1.0
 * @category options
 */
export interface Options extends RegistryOptions {
  readonly registries?: Readonly<Record<string, RegistryOptions>> | undefined
  readonly retry?: {
    /** Retries after the first attempt. Default 4. */
    readonly times?: number | undefined
    /** First backoff delay, doubled each retry, with jitter. Default 200 ms. */
    readonly base?: Duration.DurationInput | undefined
    /** Backoff cap. Default 10 seconds. */
    readonly max?: Duration.DurationInput | undefined
    /** A `Retry-After` longer than this fails at once with `TooManyRequests`. Default 60 seconds. */
    readonly maxRetryAfter?: Duration.DurationInput | undefined
  } | undefined
  /** Redirect hops followed for GET/HEAD. Default 5. */
  readonly maxRedirects?: number | undefined
  /** Manifests (and pages of tags, catalog, referrers) larger than this are refused. Default 4 MiB. */
  readonly maxManifestBytes?: number | undefined
  /** `n` sent on tags/catalog/referrers listings. Default 1000. */
  readonly pageSize?: number | undefined
  /** Pages followed through `Link` before failing. Default 1000. */
  readonly maxPages?: number | undefined
  /** Chunk size of chunked uploads (raised to the registry's `OCI-Chunk-Min-Length`). Default 4 MiB. */
  readonly chunkSize?: number | undefined
  /** Times a blob download is resumed with `Range` after the connection drops. Default 5. */
  readonly maxResumes?: number | undefined
  /** Fall back to the `sha256-<hex>` tag schema when the referrers API is missing. Default `true`. */
  readonly referrersFallback?: boolean | undefined
}

// ---------------------------------------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------------------------------------

/**
 * Rate-limit headers of a response (`RateLimit-Limit`, `RateLimit-Remaining`, `Docker-RateLimit-Source`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimit {
  readonly limit?: number
  readonly remaining?: number
  readonly windowSeconds?: number
  readonly source?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PingResult {
  /** `200` when `/v2/` answered without credentials, `401` when it asks for them. */
  readonly status: number
  /** `Docker-Distribution-API-Version` header (`registry/2.0`). */
  readonly apiVersion: string | undefined
  /** `WWW-Authenticate` challenge, if any. */
  readonly challenge: string | undefined
  /** Auth scheme of the challenge (`Bearer`, `Basic`). */
  readonly scheme: string | undefined
}

/**
 * What a manifest HEAD tells: digest, size and media type, without the body.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestDescriptor {
  readonly mediaType: string
  readonly digest: Digest.Digest
  readonly size: number
  readonly rateLimit: RateLimit | undefined
}

/**
 * A fetched manifest: the bytes received (their digest checked), and their decoding.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestResponse extends ManifestDescriptor {
  readonly bytes: Uint8Array
  readonly manifest: Manifest.Manifest
}

/**
 * Manifest bytes to push and their media type (a `Manifest.Manifest` fits).
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestInput {
  readonly bytes: Uint8Array
  readonly mediaType: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PutManifestResult {
  readonly digest: Digest.Digest
  readonly location: string | undefined
  /** The `subject` of the pushed manifest, if it has one. */
  readonly subject: Digest.Digest | undefined
  /**
   * How the referrer is findable: `"api"` when the registry acknowledged the subject (`OCI-Subject`),
   * `"fallback"` when the `sha256-<hex>` index tag was updated, `"none"` without subject or with the
   * fallback disabled.
   */
  readonly referrers: "api" | "fallback" | "none"
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BlobDescriptor {
  readonly digest: Digest.Digest
  readonly size: number
}

/**
 * A blob being downloaded. `stream` hashes and counts as it flows and fails with `DigestMismatch` /
 * `SizeMismatch` / `SizeExceeded` when the content is wrong — only after the last byte, so write it to a
 * temporary place and keep it only when the stream completes. It resumes with `Range` after connection
 * failures. Consume it once; a second run requests the blob again.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobResponse {
  readonly digest: Digest.Digest
  /** From the descriptor when given, else from `Content-Length`/`Content-Range`. */
  readonly size: number | undefined
  readonly stream: Stream.Stream<Uint8Array, RegistryError.RegistryClientError>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface BlobGetOptions {
  /** Expected size (from the descriptor): checked against the headers and the bytes. */
  readonly size?: number | undefined
  /**
   * Start at this byte (`Range`). The digest is verified only when `hasher` carries the hash of the bytes
   * before `offset`; otherwise only the size is.
   */
  readonly offset?: number | undefined
  readonly hasher?: Hash.Hasher | undefined
}

/**
 * How to upload a blob:
 * - `auto` (default): `monolithic` when the digest is known, else `stream`;
 * - `monolithic`: `POST` a session, then one `PUT ?digest=` with the body (digest required);
 * - `stream`: `POST`, one `PATCH` streaming the body (hashing it), `PUT ?digest=<computed>`;
 * - `chunked`: `POST`, `PATCH` chunks with `Content-Range` (following `Location`, `Range` and
 *   `OCI-Chunk-Min-Length`), `PUT ?digest=<computed>`;
 * - `post`: a single `POST ?digest=` with the body (digest and size required); when the registry answers
 *   `202` instead of `201` (distribution 2.8 does) the blob is `PUT` into the session it opened.
 *
 * @since 0.1.0
 * @category models
 */
export type UploadStrategy = "auto" | "monolithic" | "stream" | "chunked" | "post"

/**
 * A blob to upload: a stream that can be run again (it is re-run when an upload is retried) and, if known,
 * its digest and size (checked against what the stream produces).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobSource<E = never> {
  readonly stream: Stream.Stream<Uint8Array, E>
  readonly digest?: Digest.Digest | undefined
  readonly size?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions {
  readonly strategy?: UploadStrategy | undefined
  readonly chunkSize?: number | undefined
  /** Whole-upload retries (new session, stream re-run) on transient failures. Default: `retry.times`. */
  readonly retries?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MountResult extends BlobDescriptor {
  /** `true` when the registry mounted the blob (`201`); `false` when it declined (`202`). */
  readonly mounted: boolean
  /** `true` when the blob was uploaded from `source` after the registry declined the mount. */
  readonly uploaded: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Page size (`n`). Default: the client's `pageSize`. */
  readonly pageSize?: number | undefined
  /** Start after this name (`last`). */
  readonly last?: string | undefined
  /** Pages followed before failing. Default: the client's `maxPages`. */
  readonly maxPages?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ReferrersResult {
  readonly manifests: ReadonlyArray<Descriptor.Descriptor>
  /** Where the list came from. */
  readonly source: "api" | "fallback"
  /** Filters the registry applied (`OCI-Filters-Applied`); the client applies the rest itself. */
  readonly filtersApplied: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `GET /v2/`: reachability, API version, auth scheme. No credentials are sent. */
  readonly ping: (registry: string) => Effect.Effect<PingResult, RegistryError.RegistryClientError>
  readonly manifests: {
    /** `HEAD` a manifest by tag or digest (falls back to `GET` when the registry sends no digest). */
    readonly head: (ref: Reference.Reference) => Effect.Effect<ManifestDescriptor, RegistryError.RegistryClientError>
    /**
     * `GET` a manifest with the OCI/Docker `Accept` list (or `accept`), bounded to `maxManifestBytes`,
     * its digest checked against the reference's digest or `Docker-Content-Digest`. Schema 1 is refused.
     */
    readonly get: (
      ref: Reference.Reference,
      options?: { readonly accept?: ReadonlyArray<string> | undefined }
    ) => Effect.Effect<ManifestResponse, RegistryError.RegistryClientError>
    /**
     * `PUT` manifest bytes under the reference's digest (checked) or tag. When the manifest has a `subject`
     * and the registry does not acknowledge it (`OCI-Subject`), the referrers fallback index is updated.
     */
    readonly put: (
      ref: Reference.Reference,
      manifest: ManifestInput
    ) => Effect.Effect<PutManifestResult, RegistryError.RegistryClientError>
    /** `DELETE` a manifest (by digest; many registries refuse deleting by tag). */
    readonly delete: (ref: Reference.Reference) => Effect.Effect<void, RegistryError.RegistryClientError>
  }
  readonly blobs: {
    /** `HEAD` a blob; `NotFound` when it is missing. */
    readonly head: (
      repository: Reference.Reference,
      digest: Digest.Digest
    ) => Effect.Effect<BlobDescriptor, RegistryError.RegistryClientError>
    /** Whether a blob exists (`HEAD`). */
    readonly exists: (
      repository: Reference.Reference,
      digest: Digest.Digest
    ) => Effect.Effect<boolean, RegistryError.RegistryClientError>
    /** `GET` a blob (redirects to CDNs followed) as a verifying, resuming stream. */
    readonly get: (
      repository: Reference.Reference,
      digest: Digest.Digest,
      options?: BlobGetOptions
    ) => Effect.Effect<BlobResponse, RegistryError.RegistryClientError>
    /** `DELETE` a blob. */
    readonly delete: (
      repository: Reference.Reference,
      digest: Digest.Digest
    ) => Effect.Effect<void, RegistryError.RegistryClientError>
    /** Upload a blob from a stream; the session is cancelled on failure. */
    readonly upload: <E>(
      repository: Reference.Reference,
      source: BlobSource<E>,
      options?: UploadOptions
    ) => Effect.Effect<BlobDescriptor, RegistryError.RegistryClientError>
    /**
     * Mount a blob from another repository of the same registry (`POST ?mount=&from=`). When the registry
     * declines (`202`) the blob is uploaded from `source` if given, else the session is cancelled.
     */
    readonly mount: <E = never>(
      repository: Reference.Reference,
      digest: Digest.Digest,
      from: Reference.Reference,
      source?: BlobSource<E>
    ) => Effect.Effect<MountResult, RegistryError.RegistryClientError>
  }
  /** Tags of a repository (`/tags/list`), following `Link` pages. */
  readonly tags: (
    repository: Reference.Reference,
    options?: ListOptions
  ) => Stream.Stream<string, RegistryError.RegistryClientError>
  /** Repositories of a registry (`/_catalog`), following `Link` pages. */
  readonly catalog: (registry: string, options?: ListOptions) => Stream.Stream<string, RegistryError.RegistryClientError>
  /**
   * Manifests that refer to `subject` (a reference with a digest), optionally filtered by `artifactType`:
   * the referrers API, or the `sha256-<hex>` tag when the API is missing (404/400/406).
   */
  readonly referrers: (
    subject: Reference.Reference,
    options?: { readonly artifactType?: string | undefined; readonly maxPages?: number | undefined }
  ) => Effect.Effect<ReferrersResult, RegistryError.RegistryClientError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class RegistryClient extends Context.Tag("@ocidist/distribution/RegistryClient")<RegistryClient, Service>() {}

/**
 * The default `User-Agent`.
 *
 * @since 0.1.0
 * @category constants
 */
export const USER_AGENT = `ocidist/${VERSION}`

/**
 * Manifest size cap (4 MiB), as oras-go and the Azure client use.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * The options in effect for one registry (defaults, then the entry of `registries`).
 *
 * @since 0.1.0
 * @category options
 */
export const registryOptions = (options: Options, registry: string): RegistryOptions => {
  const entry = options.registries?.[registry] ?? lookupHost(options.registries, registry)
  const merged: Record<string, unknown> = {}
  for (
    const key of [
      "plainHttp",
      "insecure",
      "ca",
      "cert",
      "key",
      "timeout",
      "connectTimeout",
      "userAgent",
      "concurrency"
    ] as const
  ) {
    const value = entry?.[key] ?? options[key]
    if (value !== undefined) merged[key] = value
  }
  return merged as RegistryOptions
}

const lookupHost = (
  registries: Readonly<Record<string, RegistryOptions>> | undefined,
  registry: string
): RegistryOptions | undefined => {
  if (registries === undefined) return undefined
  const lower = registry.toLowerCase()
  for (const [key, value] of Object.entries(registries)) {
    if (key.toLowerCase() === lower) return value
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------

const parseRateLimit = (response: HttpClientResponse.HttpClientResponse): RateLimit | undefined => {
  const parse = (value: string | undefined) => {
    if (value === undefined) return undefined
    const match = /^\s*(\d+)\s*(?:;\s*w=(\d+))?/.exec(value)
    return match === null
      ? undefined
      : { value: Number(match[1]), window: match[2] === undefined ? undefined : Number(match[2]) }
  }
  const limit = parse(Transport.header(response, "ratelimit-limit"))
  const remaining = parse(Transport.header(response, "ratelimit-remaining"))
  const source = Transport.header(response, "docker-ratelimit-source")
  if (limit === undefined && remaining === undefined && source === undefined) return undefined
  const window = limit?.window ?? remaining?.window
  return {
    ...(limit === undefined ? {} : { limit: limit.value }),
    ...(remaining === undefined ? {} : { remaining: remaining.value }),
    ...(window === undefined ? {} : { windowSeconds: window }),
    ...(source === undefined ? {} : { source })
  }
}

const parseLinkNext = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  for (const part of value.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part)
    if (match !== null && /(?:^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(?:;|$)/i.test(match[2]!)) {
      return match[1]
    }
  }
  return undefined
}

const fallbackTag = (digest: Digest.Digest): string => `${Digest.algorithm(digest)}-${Digest.hex(digest)}`

const encodePath = (repository: string) => repository.split("/").map(encodeURIComponent).join("/")

// ---------------------------------------------------------------------------------------------------------
// make
// ---------------------------------------------------------------------------------------------------------

/**
 * Builds the client from an `HttpClient` and an `Authenticator`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, never, HttpClient.HttpClient | Authenticator.Authenticator> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const auth = yield* Authenticator.Authenticator
    const hash = yield* Hash.Hash
    const maxManifestBytes = options.maxManifestBytes ?? MAX_MANIFEST_BYTES
    const pageSize = options.pageSize ?? 1000
    const maxPages = options.maxPages ?? 1000
    const chunkSize = options.chunkSize ?? 4 * 1024 * 1024
    const maxResumes = options.maxResumes ?? 5
    const referrersFallback = options.referrersFallback ?? true
    const retry: Transport.RetryPolicy = {
      times: options.retry?.times ?? 4,
      base: Duration.decode(options.retry?.base ?? "200 millis"),
      max: Duration.decode(options.retry?.max ?? "10 seconds"),
      maxRetryAfter: Duration.decode(options.retry?.maxRetryAfter ?? "60 seconds")
    }

    const hostCache = new Map<string, Transport.HostOptions & { readonly concurrency: number }>()
    const host = (registry: string) => {
      let cached = hostCache.get(registry)
      if (cached === undefined) {
        const o = registryOptions(options, registry)
        cached = {
          plainHttp: o.plainHttp ?? Transport.isLoopbackHost(registry),
          insecure: o.insecure ?? false,
          timeout: Duration.decode(o.timeout ?? "60 seconds"),
          userAgent: o.userAgent ?? USER_AGENT,
          concurrency: Math.max(1, o.concurrency ?? 16)
        }
        hostCache.set(registry, cached)
      }
      return cached
    }
    const transport = Transport.makeTransport(http, auth, { host, retry, maxRedirects: options.maxRedirects ?? 5 })

    const semaphores = new Map<string, Effect.Semaphore>()
    const limited = (registry: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
      let semaphore = semaphores.get(registry)
      if (semaphore === undefined) {
        semaphore = Effect.unsafeMakeSemaphore(host(registry).concurrency)
        semaphores.set(registry, semaphore)
      }
      return semaphore.withPermits(1)(effect)
    }

    const backoff = (attempt: number) =>
      Effect.flatMap(Random.next, (r) => {
        const base = Math.min(Duration.toMillis(retry.base) * 2 ** attempt, Duration.toMillis(retry.max))
        return Effect.sleep(Math.round(base / 2 + (base / 2) * r))
      })

    const ctxOf = (registry: string, repository: string | undefined, operation: string): Transport.Ctx => ({
      registry,
      repository,
      operation
    })
    const repoUrl = (ref: Reference.Reference, path: string) =>
      `${transport.origin(ref.registry)}/v2/${encodePath(ref.repository)}/${path}`
    const pull = (ref: Reference.Reference) => [AuthScope.pull(ref.repository)]
    const push = (ref: Reference.Reference) => [AuthScope.push(ref.repository)]

    const invalidArgument = (ctx: Transport.Ctx, reason: string) =>
      new RegistryError.InvalidArgument({
        ...Transport.errorContext(ctx),
        reason
      })

    // ----- ping --------------------------------------------------------------------------------------------

    const ping = (registry: string) =>
      Effect.gen(function*() {
        const ctx = ctxOf(registry, undefined, "ping")
        const response = yield* transport.send(ctx, HttpClientRequest.get(`${transport.origin(registry)}/v2/`), {
          scopes: [],
          anonymous: true
        })
        if (response.status !== 200 && response.status !== 401) return yield* Transport.fail(ctx, response)
        yield* Transport.discard(response)
        const challenge = Transport.header(response, "www-authenticate")
        const scheme = challenge === undefined ? undefined : /^\s*([A-Za-z][\w-]*)/.exec(challenge)?.[1]
        return {
          status: response.status,
          apiVersion: Transport.header(response, "docker-distribution-api-version"),
          challenge,
          scheme
        } satisfies PingResult
      }).pipe(Effect.withSpan("RegistryClient.ping", { attributes: { registry } }))

    // ----- manifests ---------------------------------------------------------------------------------------

    const manifestUrl = (ref: Reference.Reference, identifier: string = ref.identifier) =>
      repoUrl(ref, `manifests/${encodeURIComponent(identifier)}`)

    const checkedMediaType = (ctx: Transport.Ctx, contentType: string | undefined) =>
      Effect.suspend(() => {
        const mediaType = contentType === undefined ? "" : MediaType.essence(contentType)
        if (MediaType.isSchema1(mediaType)) {
          return Effect.fail(
            new RegistryError.UnsupportedMediaType({
              ...Transport.errorContext(ctx),
              mediaType,
              reason:
                "Docker image manifest schema 1 is deprecated and not supported; re-push the image with a current client"
            })
          )
        }
        return Effect.succeed(mediaType)
      })

    const headManifest = (ref: Reference.Reference) =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, "manifests.head")
        const response = yield* transport.send(
          ctx,
          HttpClientRequest.head(manifestUrl(ref), { headers: { accept: MediaType.MANIFEST_ACCEPT } }),
          { scopes: pull(ref) }
        )
        if (response.status !== 200) {
          return yield* Transport.fail(ctx, response, { target: `manifest ${ref.identifier}` })
        }
        yield* Transport.discard(response)
        const mediaType = yield* checkedMediaType(ctx, Transport.header(response, "content-type"))
        const digestHeader = Transport.header(response, "docker-content-digest")
        const size = Transport.contentLength(response)
        if (digestHeader === undefined || !Digest.isDigest(digestHeader) || size === undefined || mediaType === "") {
          // Not enough in the headers: GET it (digest computed from the bytes).
          const got = yield* getManifest(ref, undefined, "manifests.head")
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
        if (size > maxManifestBytes) return yield* Transport.sizeExceeded(ctx, "manifest", maxManifestBytes, size)
        return {
          mediaType,
          digest: ref.digest ?? digestHeader,
          size,
          rateLimit: parseRateLimit(response)
        } satisfies ManifestDescriptor
      })

    const getManifest = (
      ref: Reference.Reference,
      accept: ReadonlyArray<string> | undefined,
      operation = "manifests.get"
    ): Effect.Effect<ManifestResponse, RegistryError.RegistryClientError> =>
      Effect.map(fetchManifest(ref, accept, operation), (r) => r.result)

    const fetchManifest = (
      ref: Reference.Reference,
      accept: ReadonlyArray<string> | undefined,
      operation: string
    ): Effect.Effect<
      { readonly result: ManifestResponse; readonly etag: string | undefined },
      RegistryError.RegistryClientError
    > =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, operation)
        const response = yield* transport.send(
          ctx,
          HttpClientRequest.get(manifestUrl(ref), {
            headers: { accept: accept === undefined ? MediaType.MANIFEST_ACCEPT : accept.join(", ") }
          }),
          { scopes: pull(ref) }
        )
        if (response.status !== 200) {
          return yield* Transport.fail(ctx, response, { target: `manifest ${ref.identifier}` })
        }
        const contentType = Transport.header(response, "content-type")
        const headerType = yield* checkedMediaType(ctx, contentType)
        const bytes = yield* Transport.readBounded(ctx, response, maxManifestBytes, "manifest")
        const digestHeader = Transport.header(response, "docker-content-digest")
        const expected = ref.digest ??
          (digestHeader !== undefined && Digest.isDigest(digestHeader) ? digestHeader : undefined)
        const algorithm = expected === undefined ? "sha256" : Digest.algorithm(expected)
        const actual = Digest.ofBytes(bytes, algorithm)
        if (expected !== undefined && actual !== expected) {
          return yield* new ReferenceError.DigestMismatch({ expected, actual, subject: `manifest ${ref}` })
        }
        const decoded = Manifest.decode(bytes, { contentType: headerType === "" ? undefined : headerType, algorithm })
        if (Either.isLeft(decoded)) {
          const error = decoded.left
          if (error.reason === "Malformed") return yield* Transport.invalidResponse(ctx, error.message)
          return yield* new RegistryError.UnsupportedMediaType({
            registry: ctx.registry,
            repository: ref.repository,
            operation: ctx.operation,
            mediaType: error.mediaType ?? headerType,
            reason: error.message
          })
        }
        const result = {
          mediaType: decoded.right.mediaType,
          digest: actual,
          size: bytes.length,
          rateLimit: parseRateLimit(response),
          bytes,
          manifest: decoded.right
        } satisfies ManifestResponse
        return { result, etag: Transport.header(response, "etag") }
      })

    const putManifestRaw = (
      ref: Reference.Reference,
      manifest: ManifestInput,
      identifier: string,
      operation: string,
      headers: Readonly<Record<string, string>> = {}
    ) =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, operation)
        if (manifest.bytes.length > maxManifestBytes) {
          return yield* Transport.sizeExceeded(ctx, "manifest", maxManifestBytes, manifest.bytes.length)
        }
        const digest = Digest.ofBytes(
          manifest.bytes,
          ref.digest === undefined ? "sha256" : Digest.algorithm(ref.digest)
        )
        const response = yield* transport.send(
          ctx,
          HttpClientRequest.put(manifestUrl(ref, identifier), { headers }).pipe(
            HttpClientRequest.bodyUint8Array(manifest.bytes, manifest.mediaType)
          ),
          { scopes: push(ref) }
        )
        if (response.status !== 201 && response.status !== 200 && response.status !== 204) {
          if (response.status >= 400) return yield* Transport.fail(ctx, response, { target: `manifest ${identifier}` })
          yield* Transport.discard(response)
          return yield* Transport.unexpectedStatus(ctx, response, "201 (manifest created)")
        }
        yield* Transport.discard(response)
        const returned = Transport.header(response, "docker-content-digest")
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
          location: Transport.header(response, "location"),
          ociSubject: Transport.header(response, "oci-subject")
        }
      })

    const putManifest = (ref: Reference.Reference, manifest: ManifestInput) =>
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
        const subject = decoded === undefined ? undefined : Manifest.subject(decoded)
        // Push under the tag when there is one (the registry then also knows the digest), else the digest.
        const identifier = ref.tag ?? ref.digest
        if (identifier === undefined) return yield* invalidArgument(ctx, `${ref} has neither tag nor digest`)
        const result = yield* putManifestRaw(ref, manifest, identifier, "manifests.put")
        let referrers: PutManifestResult["referrers"] = "none"
        if (subject !== undefined && decoded !== undefined) {
          if (result.ociSubject !== undefined) referrers = "api"
          else if (referrersFallback) {
            yield* updateFallbackIndex(ref, subject.digest, Manifest.descriptorOf(decoded))
            referrers = "fallback"
          }
        }
        return {
          digest: result.digest,
          location: result.location,
          subject: subject?.digest,
          referrers
        } satisfies PutManifestResult
      })

    const deleteManifest = (ref: Reference.Reference) =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, "manifests.delete")
        const response = yield* transport.send(ctx, HttpClientRequest.del(manifestUrl(ref)), {
          scopes: [AuthScope.repository(ref.repository, ["delete"])]
        })
        if (response.status !== 202 && response.status !== 200 && response.status !== 204) {
          return yield* Transport.fail(ctx, response, { target: `manifest ${ref.identifier}` })
        }
        yield* Transport.discard(response)
      })

    // ----- referrers ---------------------------------------------------------------------------------------

    // The fallback index and the precondition to update it with: `If-Match` its ETag when the registry sent
    // one, `If-None-Match: *` when the tag does not exist yet (registries without conditional requests
    // ignore both).
    const readFallback = (
      ref: Reference.Reference,
      subject: Digest.Digest,
      operation: string
    ): Effect.Effect<
      { readonly manifests: ReadonlyArray<Descriptor.Descriptor>; readonly precondition: Record<string, string> },
      RegistryError.RegistryClientError
    > =>
      Effect.gen(function*() {
        const tagRef = Reference.make({ registry: ref.registry, repository: ref.repository, tag: fallbackTag(subject) })
        const got = yield* fetchManifest(tagRef, [MediaType.OCI_INDEX], operation).pipe(
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

    const readFallbackIndex = (ref: Reference.Reference, subject: Digest.Digest, operation: string) =>
      Effect.map(readFallback(ref, subject, operation), (r) => r.manifests)

    const updateFallbackIndex = (
      ref: Reference.Reference,
      subject: Digest.Digest,
      descriptor: Descriptor.Descriptor
    ) => {
      const operation = "manifests.put (referrers fallback)"
      const attempt = (left: number): Effect.Effect<void, RegistryError.RegistryClientError> =>
        Effect.gen(function*() {
          const existing = yield* readFallback(ref, subject, operation)
          if (existing.manifests.some((d) => d.digest === descriptor.digest)) return
          const index = {
            schemaVersion: 2,
            mediaType: MediaType.OCI_INDEX,
            manifests: [...existing.manifests, descriptor]
          }
          yield* putManifestRaw(
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

    const referrers = (
      subject: Reference.Reference,
      referrerOptions?: { readonly artifactType?: string | undefined; readonly maxPages?: number | undefined }
    ) =>
      Effect.gen(function*() {
        const ctx = ctxOf(subject.registry, subject.repository, "referrers")
        const digest = subject.digest
        if (digest === undefined) {
          return yield* invalidArgument(ctx, `${subject} has no digest; referrers need the subject's digest`)
        }
        const artifactType = referrerOptions?.artifactType
        const filter = (list: ReadonlyArray<Descriptor.Descriptor>) =>
          artifactType === undefined ? list : list.filter((d) => d.artifactType === artifactType)
        const first = new URL(repoUrl(subject, `referrers/${digest}`))
        if (artifactType !== undefined) first.searchParams.set("artifactType", artifactType)
        const limit = referrerOptions?.maxPages ?? maxPages
        const manifests: Array<Descriptor.Descriptor> = []
        let filtersApplied: ReadonlyArray<string> = []
        let url: string | undefined = first.href
        for (let page = 0; url !== undefined; page++) {
          if (page >= limit) return yield* Transport.invalidResponse(ctx, `more than ${limit} pages of referrers`)
          const response: HttpClientResponse.HttpClientResponse = yield* transport.send(
            ctx,
            HttpClientRequest.get(url, { headers: { accept: MediaType.OCI_INDEX } }),
            { scopes: pull(subject) }
          )
          if (page === 0 && (response.status === 404 || response.status === 400 || response.status === 406)) {
            yield* Transport.discard(response)
            if (!referrersFallback) return yield* Transport.fail(ctx, response, { target: `referrers of ${digest}` })
            const list = yield* readFallbackIndex(subject, digest, "referrers")
            return { manifests: filter(list), source: "fallback", filtersApplied: [] } satisfies ReferrersResult
          }
          if (response.status !== 200) return yield* Transport.fail(ctx, response, { target: `referrers of ${digest}` })
          const bytes = yield* Transport.readBounded(ctx, response, maxManifestBytes, "referrers page")
          const decoded = Manifest.decode(bytes, { contentType: MediaType.OCI_INDEX })
          if (Either.isLeft(decoded) || decoded.right._tag !== "ImageIndex") {
            return yield* Transport.invalidResponse(ctx, "the referrers API did not return an image index")
          }
          manifests.push(...decoded.right.manifest.manifests)
          if (page === 0) {
            const applied = Transport.header(response, "oci-filters-applied")
            filtersApplied = applied === undefined
              ? []
              : applied.split(",").map((s) => s.trim()).filter((s) => s !== "")
          }
          url = yield* nextPage(ctx, response)
        }
        return { manifests: filter(manifests), source: "api", filtersApplied } satisfies ReferrersResult
      })

    // ----- pagination --------------------------------------------------------------------------------------

    const nextPage = (ctx: Transport.Ctx, response: HttpClientResponse.HttpClientResponse) =>
      Effect.suspend(() => {
        const link = parseLinkNext(Transport.header(response, "link"))
        if (link === undefined) return Effect.succeed(undefined)
        let next: URL
        try {
          next = new URL(link, response.request.url)
        } catch {
          return Effect.fail(Transport.invalidResponse(ctx, `malformed Link header "${link}"`))
        }
        if (next.origin !== new URL(transport.origin(ctx.registry)).origin) {
          return Effect.fail(Transport.invalidResponse(ctx, `Link to another origin (${next.origin}) refused`))
        }
        return Effect.succeed(next.href as string | undefined)
      })

    const paginate = (
      ctx: Transport.Ctx,
      firstUrl: URL,
      scopes: ReadonlyArray<AuthScope.Scope>,
      field: "tags" | "repositories",
      listOptions: ListOptions | undefined
    ): Stream.Stream<string, RegistryError.RegistryClientError> => {
      firstUrl.searchParams.set("n", String(listOptions?.pageSize ?? pageSize))
      if (listOptions?.last !== undefined) firstUrl.searchParams.set("last", listOptions.last)
      const limit = listOptions?.maxPages ?? maxPages
      return Stream.paginateChunkEffect(
        { url: firstUrl.href, page: 0 },
        ({ page, url }) =>
          Effect.gen(function*() {
            if (page >= limit) {
              return yield* Transport.invalidResponse(ctx, `more than ${limit} pages; raise maxPages to list further`)
            }
            const response = yield* transport.send(
              ctx,
              HttpClientRequest.get(url, { headers: { accept: "application/json" } }),
              {
                scopes
              }
            )
            if (response.status !== 200) {
              return yield* Transport.fail(ctx, response, { target: field === "tags" ? "tags" : "catalog" })
            }
            const bytes = yield* Transport.readBounded(ctx, response, maxManifestBytes, `${field} page`)
            let names: Array<string>
            try {
              const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
              const list = json[field]
              if (list === null || list === undefined) names = []
              else if (Array.isArray(list) && list.every((s) => typeof s === "string")) names = list
              else return yield* Transport.invalidResponse(ctx, `"${field}" is not a list of strings`)
            } catch {
              return yield* Transport.invalidResponse(ctx, `the ${field} page is not JSON`)
            }
            const next = yield* nextPage(ctx, response)
            return [
              Chunk.unsafeFromArray(names),
              next === undefined ? Option.none() : Option.some({ url: next, page: page + 1 })
            ] as const
          })
      )
    }

    const tags = (repository: Reference.Reference, listOptions?: ListOptions) =>
      paginate(
        ctxOf(repository.registry, repository.repository, "tags"),
        new URL(repoUrl(repository, "tags/list")),
        pull(repository),
        "tags",
        listOptions
      )

    const catalog = (registry: string, listOptions?: ListOptions) =>
      paginate(
        ctxOf(registry, undefined, "catalog"),
        new URL(`${transport.origin(registry)}/v2/_catalog`),
        [AuthScope.catalog],
        "repositories",
        listOptions
      )

    // ----- blobs -------------------------------------------------------------------------------------------

    const blobUrl = (ref: Reference.Reference, digest: Digest.Digest) => repoUrl(ref, `blobs/${digest}`)

    const headBlob = (ref: Reference.Reference, digest: Digest.Digest) =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, "blobs.head")
        const response = yield* transport.send(ctx, HttpClientRequest.head(blobUrl(ref, digest)), { scopes: pull(ref) })
        if (response.status !== 200) return yield* Transport.fail(ctx, response, { target: `blob ${digest}` })
        yield* Transport.discard(response)
        const size = Transport.contentLength(response)
        if (size === undefined) {
          return yield* Transport.invalidResponse(ctx, `HEAD of blob ${digest} without Content-Length`)
        }
        return { digest, size } satisfies BlobDescriptor
      })

    const getBlob = (ref: Reference.Reference, digest: Digest.Digest, getOptions?: BlobGetOptions) =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, "blobs.get")
        const url = blobUrl(ref, digest)
        const offset = getOptions?.offset ?? 0
        const open = (at: number) => transport.send(ctx, BlobStream.rangeRequest(url, at), { scopes: pull(ref) })
        const first = yield* open(offset)
        if (first.status !== 200 && first.status !== 206) {
          return yield* Transport.fail(ctx, first, { target: `blob ${digest}` })
        }
        const announcedDigest = Transport.header(first, "docker-content-digest")
        if (
          announcedDigest !== undefined && Digest.isDigest(announcedDigest) &&
          Digest.algorithm(announcedDigest) === Digest.algorithm(digest) && announcedDigest !== digest
        ) {
          yield* Transport.abort(first)
          return yield* new ReferenceError.DigestMismatch({
            expected: digest,
            actual: announcedDigest,
            subject: `blob in ${ref.repository} (Docker-Content-Digest)`
          })
        }
        let size = getOptions?.size
        const length = Transport.contentLength(first)
        const range = BlobStream.parseContentRange(Transport.header(first, "content-range"))
        const announced = first.status === 206 ? range?.total : length
        if (first.status === 206 && (range === undefined || range.start !== offset)) {
          yield* Transport.abort(first)
          return yield* Transport.invalidResponse(
            ctx,
            `asked for bytes from ${offset}, got Content-Range "${
              Transport.header(first, "content-range") ?? "(none)"
            }"`
          )
        }
        if (size !== undefined && announced !== undefined && announced !== size) {
          yield* Transport.abort(first)
          return yield* new SizeMismatch({
            subject: `blob ${digest} in ${ctx.registry}/${ref.repository} (${ctx.operation}, announced by the registry)`,
            expected: size,
            actual: announced
          })
        }
        size ??= announced
        const stream = BlobStream.make({
          ctx,
          digest,
          size,
          first,
          offset: first.status === 200 ? 0 : offset,
          hasher: first.status === 200 ? undefined : getOptions?.hasher,
          hash,
          open,
          maxResumes,
          backoff,
          idleTimeout: host(ref.registry).timeout
        })
        return {
          digest,
          size,
          stream: offset > 0 && first.status === 200 ? BlobStream.dropBytes(offset)(stream) : stream
        } satisfies BlobResponse
      })

    const deleteBlob = (ref: Reference.Reference, digest: Digest.Digest) =>
      Effect.gen(function*() {
        const ctx = ctxOf(ref.registry, ref.repository, "blobs.delete")
        const response = yield* transport.send(ctx, HttpClientRequest.del(blobUrl(ref, digest)), {
          scopes: [AuthScope.repository(ref.repository, ["delete"])]
        })
        if (response.status !== 202 && response.status !== 200 && response.status !== 204) {
          return yield* Transport.fail(ctx, response, { target: `blob ${digest}` })
        }
        yield* Transport.discard(response)
      })

    const uploadContext = (
      ref: Reference.Reference,
      operation: string,
      scopes: ReadonlyArray<AuthScope.Scope>,
      size?: number
    ) => ({
      transport,
      hash,
      ctx: ctxOf(ref.registry, ref.repository, operation),
      scopes,
      chunkSize: size ?? chunkSize
    })

    const withUploadRetries = <A>(
      effect: Effect.Effect<A, RegistryError.RegistryClientError>,
      retries: number
    ): Effect.Effect<A, RegistryError.RegistryClientError> => {
      const loop = (attempt: number): Effect.Effect<A, RegistryError.RegistryClientError> =>
        Effect.catchAll(effect, (error) =>
          attempt < retries &&
            (RegistryError.isTransient(error) ||
              (error._tag === "Unauthorized" && error.reason === Transport.STREAM_REAUTH && attempt === 0))
            ? Effect.zipRight(backoff(attempt), loop(attempt + 1))
            : Effect.fail(error))
      return loop(0)
    }

    const uploadBlob = <E>(ref: Reference.Reference, source: BlobSource<E>, uploadOptions?: UploadOptions) =>
      Effect.gen(function*() {
        const up = uploadContext(ref, "blobs.upload", push(ref), uploadOptions?.chunkSize)
        const strategy = uploadOptions?.strategy ?? "auto"
        if (
          (strategy === "monolithic" || strategy === "post") &&
          (source.digest === undefined || (strategy === "post" && source.size === undefined))
        ) {
          return yield* invalidArgument(
            up.ctx,
            `the "${strategy}" upload strategy needs the blob's digest${strategy === "post" ? " and size" : ""}`
          )
        }
        const result = yield* withUploadRetries(
          Upload.upload(up, repoUrl(ref, "blobs/uploads/"), source, strategy === "auto" ? "auto" : strategy),
          uploadOptions?.retries ?? retry.times
        )
        return result satisfies BlobDescriptor
      })

    const mountBlob = <E>(
      ref: Reference.Reference,
      digest: Digest.Digest,
      from: Reference.Reference,
      source?: BlobSource<E>
    ) =>
      Effect.gen(function*() {
        const up = uploadContext(ref, "blobs.mount", [AuthScope.push(ref.repository), AuthScope.pull(from.repository)])
        if (from.registry !== ref.registry) {
          if (source === undefined) {
            return yield* invalidArgument(
              up.ctx,
              `cannot mount from another registry (${from.registry} → ${ref.registry})`
            )
          }
          const uploaded = yield* Upload.upload(
            { ...up, scopes: push(ref) },
            repoUrl(ref, "blobs/uploads/"),
            { ...source, digest },
            "monolithic"
          )
          return { ...uploaded, mounted: false, uploaded: true } satisfies MountResult
        }
        const url = new URL(repoUrl(ref, "blobs/uploads/"))
        url.searchParams.set("mount", digest)
        url.searchParams.set("from", from.repository)
        const response = yield* transport.send(
          up.ctx,
          HttpClientRequest.post(url, { headers: { "content-length": "0" } }),
          {
            scopes: up.scopes
          }
        )
        if (response.status === 201) {
          yield* Transport.discard(response)
          const returned = Transport.header(response, "docker-content-digest")
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
          const size = source?.size ?? (yield* headBlob(ref, digest)).size
          return { digest, size, mounted: true, uploaded: false } satisfies MountResult
        }
        if (response.status !== 202) {
          if (response.status >= 400) return yield* Transport.fail(up.ctx, response, { target: `blob ${digest}` })
          yield* Transport.discard(response)
          return yield* Transport.unexpectedStatus(up.ctx, response, "201 (mounted) or 202 (upload session)")
        }
        yield* Transport.discard(response)
        const session: Upload.Session = { url: yield* Upload.sessionUrl(up, response), minChunk: undefined }
        if (source === undefined) {
          yield* Upload.cancel(up, session)
          return { digest, size: 0, mounted: false, uploaded: false } satisfies MountResult
        }
        const uploaded = yield* Upload.putMonolithic(up, session, { ...source, digest }).pipe(
          Effect.onError(() => Upload.cancel(up, session))
        )
        return { digest, size: uploaded.size, mounted: false, uploaded: true } satisfies MountResult
      })

    const span = (name: string, ref: Reference.Reference) =>
      Effect.withSpan(`RegistryClient.${name}`, { attributes: { registry: ref.registry, repository: ref.repository } })

    return RegistryClient.of({
      ping: (registry) => limited(registry)(ping(registry)),
      manifests: {
        head: (ref) => headManifest(ref).pipe(limited(ref.registry), span("manifests.head", ref)),
        get: (ref, o) => getManifest(ref, o?.accept).pipe(limited(ref.registry), span("manifests.get", ref)),
        put: (ref, m) => putManifest(ref, m).pipe(limited(ref.registry), span("manifests.put", ref)),
        delete: (ref) => deleteManifest(ref).pipe(limited(ref.registry), span("manifests.delete", ref))
      },
      blobs: {
        head: (ref, d) => headBlob(ref, d).pipe(limited(ref.registry), span("blobs.head", ref)),
        exists: (ref, d) =>
          headBlob(ref, d).pipe(
            Effect.as(true),
            Effect.catchTag("NotFound", () => Effect.succeed(false)),
            limited(ref.registry),
            span("blobs.exists", ref)
          ),
        get: (ref, d, o) => getBlob(ref, d, o).pipe(limited(ref.registry), span("blobs.get", ref)),
        delete: (ref, d) => deleteBlob(ref, d).pipe(limited(ref.registry), span("blobs.delete", ref)),
        upload: (ref, s, o) => uploadBlob(ref, s, o).pipe(limited(ref.registry), span("blobs.upload", ref)),
        mount: (ref, d, from, s) => mountBlob(ref, d, from, s).pipe(limited(ref.registry), span("blobs.mount", ref))
      },
      tags,
      catalog,
      referrers: (subject, o) => referrers(subject, o).pipe(limited(subject.registry), span("referrers", subject))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | Authenticator.Authenticator> =>
  Layer.effect(RegistryClient, make(options))

/**
 * The client with options read from `Config`, e.g.
 * `layerConfig({ userAgent: Config.string("OCIDIST_USER_AGENT").pipe(Config.option, Config.map(Option.getOrUndefined)) })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<RegistryClient, ConfigError.ConfigError, HttpClient.HttpClient | Authenticator.Authenticator> =>
  Layer.effect(RegistryClient, Effect.flatMap(Config.unwrap(options), make))
