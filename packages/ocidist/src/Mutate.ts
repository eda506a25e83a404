/**
 * Image authoring, as `crane mutate` and `crane append` do it: change an image's config (labels, environment,
 * entrypoint, cmd, working directory, user) and annotations, or add a layer on top, and write the result — to
 * the same place by default (the source's tag moves to the new manifest), or to another location.
 *
 * Only what changes is new: the config blob, the manifest (and an index over it), and an appended layer. The
 * copy engine writes them with the rest of the image: a destination that has the layers (the same registry
 * repository, the same layout) skips them, another repository of the same registry mounts them, anywhere else
 * (another registry, a layout, an archive) they are streamed. Works on registries, OCI layouts and archives (an
 * archive destination is written anew, holding the result).
 *
 * ```ts
 * import { Mutate } from "ocidist"
 *
 * const result = yield* Mutate.mutate("localhost:5000/app:1", {
 *   labels: { "org.opencontainers.image.source": "https://github.com/org/app" },
 *   env: ["MODE=production"]
 * })
 * const appended = yield* Mutate.append("oci:./app:1", { layer: "./extra.tar.gz" })
 * ```
 *
 * @since 0.5.0
 */
import type * as Digest from "@ocidist/reference/Digest"
import type * as Reference from "@ocidist/reference/Reference"
import type * as Platform from "@ocidist/spec/Platform"
import type * as Effect from "effect/Effect"
import type * as Blob from "./Blob.js"
import * as internal from "./internal/mutate.js"
import type * as Location from "./Location.js"
import type { OcidistError } from "./OcidistError.js"
import type * as Result from "./Result.js"

/**
 * A location: a string (`localhost:5000/app:1`, `oci:./dir:1`, `oci-archive:app.tar`), a `Location`, or a
 * `Reference`.
 *
 * @since 0.5.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * What the operations need in context: the registry client, `FileSystem` and `Path` (and the compression codecs
 * for `append`: `NodeCompression.layer`).
 *
 * @since 0.5.0
 * @category models
 */
export type Requirements = Blob.Requirements

/**
 * Options of both operations.
 *
 * @since 0.5.0
 * @category options
 */
export interface CommonOptions {
  /**
   * Where to write the result. Default: the source itself (`localhost:5000/app:1`: the tag `1` moves to the new
   * manifest; a source named by digest gets the new manifest by digest only).
   */
  readonly destination?: LocationInput | undefined
  /**
   * For an index: change only this platform's image, and write a new index with that entry replaced (the
   * other entries as they were). Unset: every image of the index (artifacts beside them, such as attestations,
   * are left as they are). For a single image: it must match (or declare no platform).
   */
  readonly platform?: string | Platform.Platform | undefined
  /**
   * Manifest annotations to set (merged over the existing ones). On an index without `platform`: the index's
   * own annotations. Docker v2s2 manifests and manifest lists have none: `UnsupportedOperation`.
   */
  readonly annotations?: Readonly<Record<string, string>> | undefined
}

/**
 * What to change. Every field of the config other than those asked for is kept, in its order; a config left
 * unchanged keeps its bytes (and digest). No history entry is added (as `crane mutate`).
 *
 * @since 0.5.0
 * @category options
 */
export interface MutateOptions extends CommonOptions {
  /** Labels (`config.Labels`), merged over the existing ones. */
  readonly labels?: Readonly<Record<string, string>> | undefined
  /** `NAME=value` entries of `config.Env`: one of the same name is replaced in place, else appended. */
  readonly env?: ReadonlyArray<string> | undefined
  /** `config.Entrypoint`, replaced (`[]` clears it). */
  readonly entrypoint?: ReadonlyArray<string> | undefined
  /** `config.Cmd`, replaced (`[]` clears it). */
  readonly cmd?: ReadonlyArray<string> | undefined
  /** `config.WorkingDir`. */
  readonly workdir?: string | undefined
  /** `config.User`. */
  readonly user?: string | undefined
}

/**
 * @since 0.5.0
 * @category options
 */
export interface AppendOptions extends CommonOptions {
  /**
   * The layer: a tar file (gzip-compressed on its way), a `.tar.gz` or `.tar.zst` (its bytes kept: the
   * compression is read from its first bytes, not its name), or a directory (tarred reproducibly, its content
   * at the root of the image's file system: sorted entries, timestamps 0, owner 0, then gzip-compressed).
   */
  readonly layer: string
}

/**
 * An image manifest rewritten.
 *
 * @since 0.5.0
 * @category models
 */
export interface MutatedImage {
  readonly sourceDigest: Digest.Digest
  readonly digest: Digest.Digest
  /** Its platform, as the index lists it. */
  readonly platform?: Platform.Platform | undefined
}

/**
 * The layer `append` added.
 *
 * @since 0.5.0
 * @category models
 */
export interface AppendedLayer {
  readonly digest: Digest.Digest
  readonly size: number
  /** The digest of its uncompressed tar (`rootfs.diff_ids`). */
  readonly diffId: Digest.Digest
  readonly compression: "gzip" | "zstd"
  /** True when it was compressed here (a plain tar, a directory); false when the file's bytes are the layer's. */
  readonly compressed: boolean
}

/**
 * What `mutate` and `append` did.
 *
 * @since 0.5.0
 * @category models
 */
export interface MutateResult {
  readonly source: string
  readonly destination: string
  /** The manifest (or index) changed. */
  readonly sourceDigest: Digest.Digest
  /** The new manifest (or index), as written. */
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly tags: ReadonlyArray<string>
  /** The image manifests rewritten (one per platform changed). */
  readonly images: ReadonlyArray<MutatedImage>
  /** `append`: the layer added. */
  readonly layer?: AppendedLayer | undefined
  /** What moved: the copy engine's counts (`transferred` blobs are the new ones when nothing else had to move). */
  readonly stats: Result.Stats
}

/**
 * Changes an image's config and annotations (see {@link MutateOptions}) and writes the result.
 *
 * @since 0.5.0
 * @category operations
 */
export const mutate: (
  source: LocationInput,
  options?: MutateOptions
) => Effect.Effect<MutateResult, OcidistError, Requirements> = internal.mutate

/**
 * Adds a layer on top of an image (see {@link AppendOptions}): its diffID appended to `rootfs.diff_ids`, a
 * history entry (`created_by: "ocidist append"`, the file's name as `comment`) when the config has a history, the
 * layer appended to the manifest with the media type of its family (Docker v2s2 or OCI).
 *
 * @since 0.5.0
 * @category operations
 */
export const append: (
  source: LocationInput,
  options: AppendOptions
) => Effect.Effect<MutateResult, OcidistError, Requirements> = internal.append
