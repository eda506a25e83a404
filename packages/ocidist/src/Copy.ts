/**
 * The copy engine, over any two content stores: it copies an image (a manifest or an index with everything
 * it references, optionally its referrers, or every tag) from a `ReadOnlyStorage` to a `Storage` of
 * `@ocidist/spec` — a registry repository, an OCI layout, an archive, the in-memory store, or a store of your
 * own. `Ocidist.copy`, `pull` and `push` are this engine over the stores their locations name.
 *
 * It walks the source's graph (roots → index children → config and layers, then referrers), asks the
 * destination what it has (a manifest it has is skipped with everything below it), mounts blobs across
 * repositories of one registry (`mount` capability), streams the rest with at most `concurrency` blobs at
 * once (each blob once, however many manifests share it), then writes manifests children first, the root
 * last. Every blob is verified: a verifying source (`verifiesBlobs`) checks its own stream, otherwise the
 * destination does (the `Storage` contract). Progress goes to the `Progress.Reporter` in context.
 *
 * ```ts
 * import { Copy } from "ocidist"
 * import { MemoryStore } from "@ocidist/spec"
 * import * as Repository from "@ocidist/distribution/Repository"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* RegistryClient.RegistryClient
 *   const source = Repository.make(client, Reference.parse("ghcr.io/org/app:1.0").pipe(Either.getOrThrow))
 *   const target = yield* MemoryStore.make()
 *   const result = yield* Copy.copy(source, target, { tags: ["1.0"], referrers: true })
 *   console.log(result.digest, result.stats.bytes)
 * })
 * ```
 *
 * @since 0.2.0
 */
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Platform from "@ocidist/spec/Platform"
import type { ContentTooLarge, InvalidManifest, SizeMismatch } from "@ocidist/spec/SpecError"
import type * as Storage from "@ocidist/spec/Storage"
import type * as Effect from "effect/Effect"
import * as convert from "./internal/convert.js"
import * as internal from "./internal/copy.js"
import * as platform from "./internal/platform.js"
import type {
  CompressionFailed,
  CompressionUnavailable,
  IncompatibleCompression,
  NothingToCopy,
  PlatformNotFound,
  UnsupportedFormat,
  UnsupportedOperation
} from "./OcidistError.js"
import type * as Result from "./Result.js"

/**
 * @since 0.2.0
 * @category options
 */
export interface Options {
  /** What to copy: a reference the source resolves (a tag or a digest). Default `""`: the source's own. */
  readonly reference?: string | undefined
  /** Tags to give the copied image at the destination. Default: none (stored by digest). */
  readonly tags?: ReadonlyArray<string> | undefined
  /** Copy every tag of the source (its `tags` capability) to the same tags. `reference` and `tags` are ignored. */
  readonly allTags?: boolean | undefined
  /**
   * Platforms to keep when the source is an index. Unset: the whole index, digests preserved. One platform:
   * only that platform's manifest (nested indexes descended). Several: a new index with only those entries
   * (found in nested indexes too). A single image manifest is kept when its config's platform matches (or it
   * declares none, as artifacts), else the copy fails with `PlatformNotFound`.
   */
  readonly platforms?: ReadonlyArray<Platform.Platform> | undefined
  /**
   * Apply `platforms` to indexes only: a single image manifest is copied whatever its platform (a default
   * platform, such as the running machine's, rather than one the user asked for). Default false.
   *
   * @since 0.4.0
   */
  readonly indexPlatformsOnly?: boolean | undefined
  /** Also copy the manifests that refer to the copied ones (the source's `referrers` capability), recursively. */
  readonly referrers?: boolean | undefined
  /** Plan only: walk the source, ask the destination what it has, write nothing. */
  readonly dryRun?: boolean | undefined
  /** Blobs in flight at once. Default 4. */
  readonly concurrency?: number | undefined
  /**
   * The media types to write: `"oci"` converts Docker manifests and manifest lists to OCI image manifests
   * and indexes, `"docker"` converts OCI ones to Docker schema 2 (failing before anything is written with
   * `UnsupportedFormat` for what schema 2 cannot hold: an `artifactType`, a `subject`, a non-image config,
   * layers without a Docker media type, such as zstd ones not recompressed to gzip), `"keep"` writes what the
   * source has. Only media types change (config and layer bytes, and so their digests, stay, unless
   * recompressed); a converted manifest has a new digest,
   * reported with the source's in the result (`converted`), and an OCI one records the source digest in the
   * `io.ocidist.source.digest` annotation. Indexes over converted manifests are rewritten to point at them.
   * Default `"keep"` (the facade picks `"oci"` for OCI layouts and archives).
   *
   * @since 0.5.0
   */
  readonly format?: Format | undefined
  /**
   * Layer compression: `"gzip"` or `"zstd"` recompresses every image layer that has another compression,
   * `"none"` stores them uncompressed, `"keep"` never recompresses (and refuses, before anything is written,
   * a zstd layer the destination cannot hold: `IncompatibleCompression`). Unset: only the conversions a
   * destination needs: a zstd layer written into a Docker v2s2 manifest (or a docker-archive) is recompressed
   * to gzip, an uncompressed layer (a docker-archive's) pushed to a registry is gzip-compressed. zstd into
   * Docker v2s2 is refused whatever the setting. A recompressed layer is streamed through a spool file (its
   * new digest and size are known at its end), its uncompressed digest checked against the config's
   * `rootfs.diff_ids` (so the config is unchanged), and the manifests that list it are rewritten; the
   * result reports it (`BlobEntry.recompressed`). Artifact blobs (a config that is not an image config) are
   * never recompressed. Needs the compression codecs in context (`NodeCompression.layer`, which
   * `NodeOcidist.layer` includes).
   *
   * @since 0.5.0
   */
  readonly compress?: Compression | undefined
  /** The level of the compression written: gzip 1–9 (default 6), zstd 1–19 (default 3). @since 0.5.0 */
  readonly compressLevel?: number | undefined
  /**
   * The destination holds Docker v2s2 layers only (gzip or plain tar), whatever the manifests' media types,
   * as a docker-archive does: zstd layers are then recompressed to gzip (see `compress`). The facade sets it
   * for docker-archive destinations. Default false.
   *
   * @since 0.5.0
   */
  readonly dockerLayers?: boolean | undefined
}

/**
 * What a copy does with layer compression (see `Options.compress`).
 *
 * @since 0.5.0
 * @category options
 */
export type Compression = "gzip" | "zstd" | "none" | "keep"

/**
 * The media types a copy writes (see `Options.format`).
 *
 * @since 0.5.0
 * @category options
 */
export type Format = "oci" | "docker" | "keep"

/**
 * The annotation a manifest converted by a copy records the digest of its source manifest in (OCI only:
 * Docker manifests have no annotations).
 *
 * @since 0.5.0
 * @category constants
 */
export const SOURCE_DIGEST_ANNOTATION: typeof convert.SOURCE_DIGEST = convert.SOURCE_DIGEST

/**
 * The engine's own failures: a wanted platform missing from an index, nothing to copy (`allTags` over a
 * source without tags), a source without the capability an option needs (`allTags` without `tags`), or an
 * index that cannot be rewritten for the selected platforms.
 *
 * @since 0.2.0
 * @category errors
 */
export type CopyError =
  | PlatformNotFound
  | NothingToCopy
  | UnsupportedOperation
  | InvalidManifest
  | SizeMismatch
  | ContentTooLarge
  | DigestMismatch
  | CompressionUnavailable
  | CompressionFailed
  | IncompatibleCompression
  | UnsupportedFormat

/**
 * The default number of blobs in flight.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_CONCURRENCY = 4

/**
 * Copies from `source` to `target` (see the module documentation). Fails with the stores' own errors and
 * {@link CopyError}. Interrupting it stops the transfers; what the destination keeps of them is up to it
 * (an OCI layout keeps verified partial downloads and resumes them on the next copy).
 *
 * @since 0.2.0
 * @category copying
 */
export const copy: <E1, E2>(
  source: Storage.ReadOnlyStorage<E1>,
  target: Storage.Storage<E2>,
  options?: Options
) => Effect.Effect<Result.CopyResult, E1 | E2 | CopyError> = internal.copy

/**
 * The manifest of one platform, as every operation that takes a platform selects it: for an index, the
 * best matching image manifest (`Platform.best`), descending into nested indexes (an entry that is itself an
 * index); for an image manifest, itself when the platform its config declares matches (or it declares none,
 * as artifacts do). Fails with `PlatformNotFound` (listing the platforms seen) otherwise.
 *
 * @since 0.4.0
 * @category platforms
 */
export const selectPlatform: <E>(
  source: Storage.ReadOnlyStorage<E>,
  manifest: Manifest.Manifest,
  wanted: Platform.Platform
) => Effect.Effect<Manifest.Manifest, E | CopyError> = platform.selectPlatform
