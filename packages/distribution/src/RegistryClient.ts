/**
 * The OCI Distribution API (spec v1.1) as an Effect service: ping, manifests, blobs (streamed, resumable,
 * verified), uploads (monolithic, streamed, chunked, single-POST, cross-repository mount), tags and catalog
 * (paginated `Stream`s), referrers (API with tag-schema fallback).
 *
 * Requests go through one transport built in `make`: base URL from the registry (Docker Hub →
 * `registry-1.docker.io`; plain HTTP automatically for loopback registries, otherwise only when
 * configured), `User-Agent: ocidist/<version>`, auth middleware (cached header → `401` →
 * `Authenticator.authorize` → replay once), redirects for GET/HEAD with `Authorization` dropped when the
 * origin changes, and retries on 408/429/5xx and connection errors.
 *
 * One retry policy (`Options.retry`) paces every retry: per-request retries, blob-download resumes and
 * whole-upload retries wait a jittered exponential backoff (from `base`, doubling, capped at `max`, at most
 * `times` retries; resumes at most `maxResumes`), or the `Retry-After` the registry sent; a `Retry-After`
 * above `maxRetryAfter` fails at once with `TooManyRequests`. Stream bodies are never replayed: a `stream`,
 * `chunked` or `monolithic` upload is resumed in its session from the registry's `Range` (`GET` of the
 * session); a single `POST`, or one the registry lost, is retried as a whole, in a new session, re-running
 * its source.
 *
 * Waiting is bounded. Response headers must come within `timeout` (60 s). A blob body that delivers nothing
 * for `idleTimeout` (30 s), or fewer than `minThroughput` (1 KiB/s) over its window (60 s), fails with a
 * `TransportError` naming the host and the blob (`no data for 30s from <host> (blob sha256:…, 512 KiB of
 * 3 MiB received)`, `fewer than 1 KiB/s for 60s from <host> (…)`) and is resumed; only the time the body
 * waits for the registry counts, not the time the consumer makes it wait. Resumes stop once the download has
 * lost `retry.blobBudget` (2 minutes) to stalls and resumes, so a registry that stalls for good fails a
 * download about 2 minutes after its last byte.
 *
 * Operations against one registry hold one of its `concurrency` permits while they run, response bodies
 * included, so the connections open to a registry are bounded by it. A blob download (`blobs.get`) holds its
 * permit, and its connection, in the caller's scope: until its body is read to the end (or the read stops or
 * fails) or the scope closes (the response is then aborted). `blobs.stream` is the same as a stream owning
 * its scope, `blobs.pump` an effect owning it. A listing (`tags`, `catalog`) holds a permit per page, none
 * between pages. Concurrent operations that need a token for the same scopes share one token exchange.
 *
 * Layers: `layer(options)` wires the default `Authenticator` (and credentials); `layerWithoutDependencies`
 * leaves the `Authenticator` to the caller. `NodeRegistryClient.layer` adds the Node transport.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Authenticator from "@ocidist/auth/Authenticator"
import type * as Credentials from "@ocidist/auth/Credentials"
import type { Digest, Hash, Reference } from "@ocidist/reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type { ChunkSink } from "@ocidist/spec/Storage"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/client.js"
import * as internalContext from "./internal/context.js"
import type * as RegistryError from "./RegistryError.js"

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
  /**
   * `true`: use `http://`; `false`: use `https://`. Default: `https://`, except for loopback registries
   * (`localhost`, `127.x`, `::1`): they are tried over `https://` first and spoken to over `http://` from the
   * first TLS handshake the server answers in plain HTTP on (a reset, or "wrong version number"), for the
   * client's lifetime, as crane and regctl do. A certificate that fails verification is no reason to fall
   * back: set `insecure` (or `ca`) for a self-signed one.
   */
  readonly plainHttp?: boolean | undefined
  /** Skip TLS certificate verification (Node layer only). Token realms of an HTTPS registry stay HTTPS. */
  readonly insecure?: boolean | undefined
  /** Extra CA certificates, PEM (Node layer only). */
  readonly ca?: string | ReadonlyArray<string> | undefined
  /** Client certificate and key, PEM (Node layer only). */
  readonly cert?: string | undefined
  /** @see cert */
  readonly key?: string | undefined
  /**
   * Time to wait for the response headers of a request (uploads of more than 1 MiB excepted). Default 60
   * seconds.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The longest pause allowed in a blob download body (no byte received while the consumer waits for one)
   * before it fails with `TransportError` ("no data for 30s from <host> …") and is resumed. Default: `timeout`
   * when that is set, else 30 seconds.
   *
   * @since 0.4.0
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * The slowest a blob download body may be: when fewer than `bytesPerSecond` on average arrive over `window`
   * (of time spent waiting for the registry) it fails with `TransportError` ("fewer than 1 KiB/s for 60s from
   * <host> …") and is resumed, like a stall. Catches a registry that drips bytes too slowly for `idleTimeout`
   * to trip. Default `{ bytesPerSecond: 1024, window: "60 seconds" }`; `false` disables it.
   *
   * @since 0.4.0
   */
  readonly minThroughput?:
    | { readonly bytesPerSecond: number; readonly window?: Duration.DurationInput | undefined }
    | false
    | undefined
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
  /** The retry policy of every call site (see the module documentation). */
  readonly retry?: {
    /** Retries after the first attempt (per request, of a whole upload, and upload resumes per session). Default 4. */
    readonly times?: number | undefined
    /** First backoff delay, doubled each retry, jittered to between half and all of it. Default 200 ms. */
    readonly base?: Duration.DurationInput | undefined
    /** Backoff cap. Default 10 seconds. */
    readonly max?: Duration.DurationInput | undefined
    /** A `Retry-After` longer than this fails at once with `TooManyRequests`. Default 60 seconds. */
    readonly maxRetryAfter?: Duration.DurationInput | undefined
    /**
     * The time one blob download may lose to failures before its resumes stop: the stalls (the idle timeout
     * or throughput window each one spent) and the waits for the resumed responses. No resume starts once it
     * is spent: with the defaults a download that stalls for good fails about 2 minutes after its last byte
     * (4 idle timeouts) instead of 6 (6 attempts of 60 s). Default 2 minutes.
     *
     * @since 0.4.0
     */
    readonly blobBudget?: Duration.DurationInput | undefined
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
  /**
   * Times a blob download is resumed with `Range` after the connection drops or the body stalls (within
   * `retry.blobBudget`). Default 5.
   */
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
  /**
   * Whether the registry was reached over plain HTTP: as configured (`plainHttp`), or, for a loopback registry
   * without it, as its TLS handshake showed.
   *
   * @since 0.4.0
   */
  readonly plainHttp: boolean
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
 * A manifest's bytes as the registry served them, not decoded (see `manifests.getRaw`): `digest` is checked,
 * `mediaType` is the `Content-Type` (for a Docker schema 1 body, its schema 1 media type).
 *
 * @since 0.5.0
 * @category models
 */
export interface RawManifestResponse extends ManifestDescriptor {
  readonly bytes: Uint8Array
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
 * failures. Consume it within the scope of `blobs.get`, once: its first run reads the response `blobs.get`
 * opened and gives the registry permit back when it ends; a second run requests the blob again.
 *
 * @since 0.1.0
 * @category models
 */
export interface BlobResponse {
  readonly digest: Digest.Digest
  /** From the descriptor when given, else from `Content-Length`/`Content-Range`. */
  readonly size: number | undefined
  readonly stream: Stream.Stream<Uint8Array, RegistryError.RegistryClientError>
  /**
   * The same bytes and checks as `stream`, handed to `sink` from one loop per response body (no effect per
   * buffer): the fast lane of the byte path. Read the body once, with `stream` or with `pump`.
   *
   * @since 0.3.0
   */
  readonly pump: (sink: ChunkSink) => Effect.Effect<void, RegistryError.RegistryClientError>
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
  /**
   * The stream itself fails after its last byte unless its bytes match `digest` (a verifying download, as
   * `blobs.stream` gives): the upload then counts the bytes without hashing them a second time. Ignored
   * without a `digest`. The registry checks the digest of what it received in any case.
   *
   * @since 0.3.0
   */
  readonly verified?: boolean | undefined
  /**
   * The same bytes as `stream`, handed to a sink from the source's own loop (see `Storage.ChunkSink`): with
   * the Node client the upload then sends them without an effect per buffer. Re-run like `stream`.
   *
   * @since 0.3.0
   */
  readonly pump?: ((sink: ChunkSink) => Effect.Effect<void, E>) | undefined
  /**
   * The bytes of `stream` from `offset` on (as `Storage.BlobContent.open` gives them): a `stream` upload
   * whose `PATCH` failed, or a `monolithic` one whose `PUT` failed after the registry kept part of its body,
   * then resumes at the offset the registry reports for its session, instead of starting again from byte 0.
   * Without it, such an upload is retried whole. (A `chunked` upload resumes without it.)
   *
   * @since 0.4.0
   */
  readonly open?: ((offset: number) => Stream.Stream<Uint8Array, E>) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions {
  readonly strategy?: UploadStrategy | undefined
  readonly chunkSize?: number | undefined
  /**
   * Whole-upload retries (new session, stream re-run) on transient failures. Default: `retry.times`. A
   * `stream` or `monolithic` (with `BlobSource.open`) or `chunked` upload is first resumed in its session from
   * the registry's `Range`, at most `retry.times` times per session; it starts again in a new session when it
   * cannot be.
   */
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
    /**
     * `HEAD` a manifest by tag or digest (falls back to `GET` when the registry sends no digest). Any manifest
     * is described, Docker schema 1 too (its digest as `getRaw` computes it when the registry sends none).
     */
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
     * `GET` a manifest's bytes without decoding them, Docker schema 1 included (for `ocidist manifest` and
     * `digest`, and migrations), bounded to `maxManifestBytes`. The digest is checked against the reference's
     * digest or `Docker-Content-Digest`; a signed schema 1 manifest (`v1+prettyjws`) is addressed by the digest
     * of its canonical form, the JWS payload without the signatures (as registries and docker address it), so
     * `digest` differs from the digest of `bytes` then.
     *
     * @since 0.5.0
     */
    readonly getRaw: (ref: Reference.Reference) => Effect.Effect<RawManifestResponse, RegistryError.RegistryClientError>
    /**
     * `PUT` manifest bytes under the reference's digest (checked) or tag. When the manifest has a `subject`
     * and the registry does not acknowledge it (`OCI-Subject`), the referrers fallback index is updated.
     */
    readonly put: (
      ref: Reference.Reference,
      manifest: ManifestInput
    ) => Effect.Effect<PutManifestResult, RegistryError.RegistryClientError>
    /**
     * `DELETE` a manifest by digest (every tag pointing at it goes too), or, for a reference with a tag and no
     * digest, the tag alone (`DELETE /v2/<name>/manifests/<tag>`, OCI distribution 1.1). Registries that do
     * not delete tags alone (distribution 2.x) answer `400 DIGEST_INVALID` or `405 UNSUPPORTED`
     * (`RegistryResponseError`).
     */
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
    /**
     * `GET` a blob (redirects to CDNs followed) as a verifying, resuming stream, in the caller's scope: one of
     * the registry's permits is taken in that scope and held until the stream ends or the scope closes; the
     * response is aborted when the scope closes unconsumed.
     */
    readonly get: (
      repository: Reference.Reference,
      digest: Digest.Digest,
      options?: BlobGetOptions
    ) => Effect.Effect<BlobResponse, RegistryError.RegistryClientError, Scope.Scope>
    /** `get` as a stream that owns its scope: `Stream.unwrapScoped` of it. */
    readonly stream: (
      repository: Reference.Reference,
      digest: Digest.Digest,
      options?: BlobGetOptions
    ) => Stream.Stream<Uint8Array, RegistryError.RegistryClientError>
    /**
     * `get` read into `sink` (see `BlobResponse.pump`), in one effect that owns its scope.
     *
     * @since 0.3.0
     */
    readonly pump: (
      repository: Reference.Reference,
      digest: Digest.Digest,
      sink: ChunkSink,
      options?: BlobGetOptions
    ) => Effect.Effect<void, RegistryError.RegistryClientError>
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
  readonly catalog: (
    registry: string,
    options?: ListOptions
  ) => Stream.Stream<string, RegistryError.RegistryClientError>
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
export const USER_AGENT: string = internalContext.USER_AGENT

/**
 * Manifest size cap (4 MiB), as oras-go and the Azure client use.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_MANIFEST_BYTES: number = internalContext.MAX_MANIFEST_BYTES

/**
 * The options in effect for one registry (defaults, then the entry of `registries`).
 *
 * @since 0.1.0
 * @category options
 */
export const registryOptions: (options: Options, registry: string) => RegistryOptions = internalContext.registryOptions

/**
 * Builds the client from an `HttpClient` and an `Authenticator`. Hashes with the `Hash` service in context
 * (portable JavaScript unless `NodeHash.layer` is provided).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Service, never, HttpClient.HttpClient | Authenticator.Authenticator> = (options = {}) =>
  Effect.map(internal.make(options), RegistryClient.of)

/**
 * The client; its `HttpClient` and `Authenticator` stay requirements of the layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithoutDependencies = (
  options: Options = {}
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | Authenticator.Authenticator> =>
  Layer.effect(RegistryClient, make(options))

/**
 * The client with the default `Authenticator` (`Authenticator.layer()`, itself with the default
 * credentials: environment, docker `config.json`, podman `auth.json`). The `HttpClient` and the platform
 * services of the credential sources stay requirements (`NodeRegistryClient.layer` provides them all).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<RegistryClient, never, HttpClient.HttpClient | Credentials.FilePlatform> =>
  layerWithoutDependencies(options).pipe(Layer.provide(Authenticator.layer()))

/**
 * {@link layer} with options read from `Config`, e.g.
 * `layerConfig({ userAgent: Config.string("OCIDIST_USER_AGENT").pipe(Config.option, Config.map(Option.getOrUndefined)) })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<RegistryClient, ConfigError.ConfigError, HttpClient.HttpClient | Credentials.FilePlatform> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))
