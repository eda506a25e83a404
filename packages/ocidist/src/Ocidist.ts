/**
 * The jobs users come for: get an image (or any OCI artifact) out of a registry onto disk (`pull`), put
 * one from disk into a registry (`push`), copy between registries or any two locations (`copy`), and
 * look at one (`inspect`, `resolve`, `tags`, `referrers`).
 *
 * Every operation streams blobs from source to destination without holding one in memory, verifies every
 * digest, fetches each blob once however many manifests share it, skips blobs the destination has,
 * mounts across repositories of one registry, runs at most `concurrency` (default 4) blobs at once, and
 * reports progress as events to the `Progress.Reporter` in context (it prints nothing).
 *
 * ```ts
 * import { Ocidist } from "ocidist"
 * import { Effect } from "effect"
 *
 * const program = Ocidist.pull("docker.io/library/alpine:3.20", "oci:./alpine:3.20", { platform: "linux/arm64" })
 * Effect.runPromise(program.pipe(Effect.provide(NodeOcidist.layer()))).then((r) => console.log(r.digest))
 * ```
 *
 * The copy engine itself, over any two content stores (yours included), is the `Copy` module. This module
 * imports nothing from `@effect/platform-node`: `NodeOcidist` wires it for Node.js.
 *
 * @since 0.1.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Path from "@effect/platform/Path"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import type * as Reference from "@ocidist/reference/Reference"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Platform from "@ocidist/spec/Platform"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Copy from "./Copy.js"
import * as internal from "./internal/ocidist.js"
import type * as Location from "./Location.js"
import type { OcidistError } from "./OcidistError.js"
import type * as Result from "./Result.js"

// ---------------------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------------------

/**
 * A location: a string (see `Location.parse`), a `Location`, or a `Reference` (a registry location).
 *
 * @since 0.1.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * A platform: `os/arch[/variant]` (`linux/arm64`, `linux/arm/v7`) or a `Platform` value.
 *
 * @since 0.1.0
 * @category models
 */
export type PlatformInput = string | Platform.Platform

/**
 * Options of `copy` (and `pull`, `push`).
 *
 * @since 0.1.0
 * @category options
 */
export interface CopyOptions {
  /**
   * Platforms to keep when the source is an index. Unset: the whole index, digests preserved.
   * One platform: only that platform's manifest is stored (its digest preserved) and tagged.
   * Several: an index with only those entries is written — a new index, whose digest is reported as
   * `digest` (the source's as `sourceDigest`). Nested indexes are descended. A single image manifest is
   * copied when its config's platform matches (or it declares none, as artifacts do), else the copy fails
   * with `PlatformNotFound` before anything is written.
   */
  readonly platform?: PlatformInput | ReadonlyArray<PlatformInput> | undefined
  /** Also copy the manifests that refer to the copied ones (signatures, SBOMs), recursively. Default false. */
  readonly referrers?: boolean | undefined
  /** Copy every tag of the source repository (or layout) to the same tags. Default false. */
  readonly allTags?: boolean | undefined
  /** Plan only: walk the source, ask the destination what it has, return the plan; write nothing. */
  readonly dryRun?: boolean | undefined
  /** Blobs in flight at once. Default 4. */
  readonly concurrency?: number | undefined
  /**
   * The media types to write (`Copy.Options.format`): `"oci"`, `"docker"` or `"keep"`. Default: `"oci"` into
   * an OCI layout or `oci-archive` (Docker manifests and manifest lists are converted, as skopeo does: OCI
   * tools read nothing else there), `"keep"` into a registry or a `docker-archive` (which hold either: digests
   * are preserved). A converted manifest has a new digest, reported beside the source's.
   *
   * @since 0.5.0
   */
  readonly format?: Copy.Format | undefined
  /**
   * Layer compression (`Copy.Options.compress`): `"gzip"`, `"zstd"`, `"none"` (uncompressed) or `"keep"`
   * (never recompress). Default: only the conversions the destination needs (zstd into Docker v2s2 or a
   * docker-archive → gzip; uncompressed layers pushed to a registry → gzip).
   *
   * @since 0.5.0
   */
  readonly compress?: Copy.Compression | undefined
  /** The compression level: gzip 1–9 (default 6), zstd 1–19 (default 3). @since 0.5.0 */
  readonly compressLevel?: number | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export type PullOptions = CopyOptions

/**
 * @since 0.1.0
 * @category options
 */
export type PushOptions = CopyOptions

/**
 * @since 0.1.0
 * @category options
 */
export interface InspectOptions {
  /** For an index: inspect the manifest of this platform instead of the index. */
  readonly platform?: PlatformInput | undefined
}

/**
 * @since 0.4.0
 * @category options
 */
export interface ResolveOptions {
  /**
   * Resolve to the manifest of this platform (as crane does): for an index, the matching image manifest
   * (nested indexes descended); for an image manifest, itself when its config's platform matches. Fails
   * with `PlatformNotFound` otherwise.
   */
  readonly platform?: PlatformInput | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface ReferrersOptions {
  /** Only referrers with this `artifactType`. */
  readonly artifactType?: string | undefined
}

// ---------------------------------------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Copies an image (or all tags) from any location to any location. */
  readonly copy: (
    source: LocationInput,
    destination: LocationInput,
    options?: CopyOptions
  ) => Effect.Effect<Result.CopyResult, OcidistError>
  /**
   * Copies an image from a registry to a local location. A destination string without a transport
   * (`./dir`) is an OCI layout directory (`oci:./dir`); one ending in `.tar` that is not a directory is an
   * `oci-archive`; an existing file otherwise, or a compressed name (`.tar.gz`), fails with `InvalidLocation`.
   */
  readonly pull: (
    reference: string | Reference.Reference,
    destination: LocationInput,
    options?: PullOptions
  ) => Effect.Effect<Result.PullResult, OcidistError>
  /**
   * Copies an image from a local location to a registry. A source string without a transport is an
   * OCI layout directory, or, for an existing file, the archive it holds (`oci-archive` or `docker-archive`;
   * any other file fails with `InvalidLocation` naming the prefixes).
   */
  readonly push: (
    source: LocationInput,
    reference: string | Reference.Reference,
    options?: PushOptions
  ) => Effect.Effect<Result.PushResult, OcidistError>
  /** Media type, digest, platforms, layers and sizes, config summary. */
  readonly inspect: (
    location: LocationInput,
    options?: InspectOptions
  ) => Effect.Effect<Result.Inspection, OcidistError>
  /** The digest a location names (`HEAD` for registries); with `platform`, that platform's manifest's. */
  readonly resolve: (location: LocationInput, options?: ResolveOptions) => Effect.Effect<Result.Resolved, OcidistError>
  /** Tags of a registry repository or of a layout / archive. */
  readonly tags: (location: LocationInput) => Effect.Effect<ReadonlyArray<string>, OcidistError>
  /** Manifests whose `subject` is the manifest a location names. */
  readonly referrers: (
    location: LocationInput,
    options?: ReferrersOptions
  ) => Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OcidistError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Ocidist extends Context.Tag("ocidist/Ocidist")<Ocidist, Service>() {}

// ---------------------------------------------------------------------------------------------------------
// constructors and layers
// ---------------------------------------------------------------------------------------------------------

/**
 * Options of the service.
 *
 * @since 0.2.0
 * @category options
 */
export interface Options {
  /**
   * Where an archive is assembled before it is written (`<cacheDirectory>/staging/<file>-<hash>`, an OCI
   * layout): an interrupted write keeps its verified blobs there and a rerun for the same file resumes them;
   * a finished write removes them. `ocidist cache clean` empties it. Unset: a temporary directory per
   * operation (nothing resumes). `NodeOcidist` sets the user's cache directory.
   */
  readonly cacheDirectory?: string | undefined
}

/**
 * Options of {@link layer}: the service's, and those of the registry client and credentials it wires.
 *
 * @since 0.2.0
 * @category options
 */
export interface LayerOptions extends Options {
  /** Registry client options: TLS, plain HTTP, timeouts, retries, per-registry overrides. */
  readonly registry?: RegistryClient.Options | undefined
  /** Credential sources (explicit credentials, which config files). */
  readonly credentials?: Credentials.Options | undefined
  /**
   * Threads that hash blob content, for the Node layers (`NodeOcidist`): `"auto"` (the default: worker
   * threads only where this machine hashes slower than 1 GiB/s per core), `0` (the calling thread), or a
   * number of worker threads. See `NodeHash` of `@ocidist/reference`.
   *
   * @since 0.3.0
   */
  readonly hashThreads?: number | "auto" | undefined
}

/**
 * Builds the service from a `RegistryClient` and the file system (and the `Hash` service in context).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Service, never, RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path> = internal.make

/**
 * The service over whatever `RegistryClient`, `FileSystem` and `Path` are provided: bring your own client
 * (another HTTP client, a fixed `Credentials`, a custom `Authenticator`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutDependencies = (
  options: Options = {}
): Layer.Layer<Ocidist, never, RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path> =>
  Layer.effect(Ocidist, make(options))

/**
 * The service with the default registry client: credentials from the environment, docker `config.json`
 * (helpers included) and podman `auth.json`, the token/basic `Authenticator`. Platform services stay
 * required; `NodeOcidist.layer` provides them for Node.js.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: LayerOptions = {}
): Layer.Layer<
  Ocidist,
  never,
  HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  layerWithoutDependencies(options).pipe(
    Layer.provide(RegistryClient.layerWithoutDependencies(options.registry ?? {})),
    Layer.provide(Authenticator.layerWithoutDependencies()),
    Layer.provide(Credentials.layer(options.credentials ?? {}))
  )

/**
 * {@link layer} with options read from `Config`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<LayerOptions> = config
): Layer.Layer<
  Ocidist,
  ConfigError.ConfigError,
  HttpClient.HttpClient | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> => Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))

/**
 * Options read from the environment (or any `ConfigProvider`):
 *
 * - `OCIDIST_PLAIN_HTTP`: comma-separated registries spoken to over `http://` (a loopback registry is tried over `https://` first)
 * - `OCIDIST_INSECURE`: comma-separated registries whose TLS certificates are not verified
 * - `OCIDIST_TIMEOUT`: response-header timeout (e.g. `30 seconds`)
 * - `OCIDIST_USER_AGENT`
 * - `OCIDIST_CACHE_DIR`: the cache directory (see {@link Options})
 * - `OCIDIST_HASH_THREADS`: `auto`, `0` or a number of worker threads (see {@link LayerOptions})
 *
 * A value that cannot be read (`OCIDIST_TIMEOUT=banana`) fails with a `ConfigError` naming the variable.
 *
 * @since 0.2.0
 * @category config
 */
export const config: Config.Config<LayerOptions> = Config.all({
  plainHttp: Config.withDefault(Config.array(Config.string(), "OCIDIST_PLAIN_HTTP"), []),
  insecure: Config.withDefault(Config.array(Config.string(), "OCIDIST_INSECURE"), []),
  timeout: Config.option(Config.duration("OCIDIST_TIMEOUT")),
  userAgent: Config.option(Config.string("OCIDIST_USER_AGENT")),
  cacheDirectory: Config.option(Config.string("OCIDIST_CACHE_DIR")),
  hashThreads: Config.option(
    Config.string("OCIDIST_HASH_THREADS").pipe(
      Config.mapOrFail((value): Either.Either<number | "auto", ConfigError.ConfigError> => {
        const trimmed = value.trim()
        if (trimmed === "auto") return Either.right("auto" as const)
        if (/^\d{1,3}$/.test(trimmed)) return Either.right(Number(trimmed))
        return Either.left(
          ConfigError.InvalidData([], `Expected "auto" or a number of threads (0 for none), but received "${value}"`)
        )
      })
    )
  )
}).pipe(Config.map(({ cacheDirectory, hashThreads, insecure, plainHttp, timeout, userAgent }): LayerOptions => {
  const registries: Record<string, RegistryClient.RegistryOptions> = {}
  for (const r of plainHttp.map((s) => s.trim()).filter((s) => s !== "")) registries[r] = { plainHttp: true }
  for (const r of insecure.map((s) => s.trim()).filter((s) => s !== "")) {
    registries[r] = { ...registries[r], insecure: true }
  }
  return {
    registry: {
      registries,
      ...(timeout._tag === "Some" ? { timeout: timeout.value } : {}),
      ...(userAgent._tag === "Some" ? { userAgent: userAgent.value } : {})
    },
    ...(cacheDirectory._tag === "Some" ? { cacheDirectory: cacheDirectory.value } : {}),
    ...(hashThreads._tag === "Some" ? { hashThreads: hashThreads.value } : {})
  }
}))

// ---------------------------------------------------------------------------------------------------------
// accessors
// ---------------------------------------------------------------------------------------------------------

/**
 * Copies an image from any location to any location (registry ↔ registry, registry ↔ layout/archive,
 * layout ↔ archive). Blobs the destination has are skipped, blobs in another repository of the same
 * registry are mounted, the rest is streamed; manifests are written children first, the root last.
 *
 * @since 0.1.0
 * @category operations
 */
export const copy = (
  source: LocationInput,
  destination: LocationInput,
  options?: CopyOptions
): Effect.Effect<Result.CopyResult, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.copy(source, destination, options))

/**
 * Pulls an image from a registry into a layout directory (a bare path) or an archive. An interrupted
 * pull leaves complete blobs in place and partial downloads in the layout's `ingest/`; running it again
 * skips the former and resumes the latter.
 *
 * @since 0.1.0
 * @category operations
 */
export const pull = (
  reference: string | Reference.Reference,
  destination: LocationInput,
  options?: PullOptions
): Effect.Effect<Result.PullResult, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.pull(reference, destination, options))

/**
 * Pushes an image from a layout directory (a bare path) or an archive to a registry.
 *
 * @since 0.1.0
 * @category operations
 */
export const push = (
  source: LocationInput,
  reference: string | Reference.Reference,
  options?: PushOptions
): Effect.Effect<Result.PushResult, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.push(source, reference, options))

/**
 * Describes what a location names: for an image, its layers, sizes and a config summary; for an index,
 * its entries and platforms.
 *
 * @since 0.1.0
 * @category operations
 */
export const inspect = (
  location: LocationInput,
  options?: InspectOptions
): Effect.Effect<Result.Inspection, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.inspect(location, options))

/**
 * The digest, media type and size of what a location names (a `HEAD` request for registries). With
 * `platform`, those of that platform's manifest (see {@link ResolveOptions}).
 *
 * @since 0.1.0
 * @category operations
 */
export const resolve = (
  location: LocationInput,
  options?: ResolveOptions
): Effect.Effect<Result.Resolved, OcidistError, Ocidist> => Effect.flatMap(Ocidist, (s) => s.resolve(location, options))

/**
 * The tags of a repository, layout or archive.
 *
 * @since 0.1.0
 * @category operations
 */
export const tags = (location: LocationInput): Effect.Effect<ReadonlyArray<string>, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.tags(location))

/**
 * The referrers (signatures, SBOMs, attestations) of what a location names.
 *
 * @since 0.1.0
 * @category operations
 */
export const referrers = (
  location: LocationInput,
  options?: ReferrersOptions
): Effect.Effect<ReadonlyArray<Descriptor.Descriptor>, OcidistError, Ocidist> =>
  Effect.flatMap(Ocidist, (s) => s.referrers(location, options))
