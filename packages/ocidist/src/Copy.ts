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
import * as internal from "./internal/copy.js"
import * as platform from "./internal/platform.js"
import type { NothingToCopy, PlatformNotFound, UnsupportedOperation } from "./OcidistError.js"
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
}

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
