/**
 * What operations return: plain data, ready for the CLI to render or for `JSON.stringify`.
 *
 * @since 0.1.0
 */
import type * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Platform from "@ocidist/spec/Platform"

/**
 * What happened (or, in a dry run, would happen) to one blob.
 *
 * - `transfer`: streamed from the source to the destination
 * - `skip`: the destination already had it
 * - `mount`: mounted from the source repository (same registry); a mount the registry refuses falls back
 *   to a transfer, reported as `transfer`
 *
 * @since 0.1.0
 * @category models
 */
export type BlobAction = "transfer" | "skip" | "mount"

/**
 * @since 0.1.0
 * @category models
 */
export interface BlobEntry {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly action: BlobAction
  /** Bytes moved by this operation (0 when skipped, mounted or in a dry run; less than `size` after a resume). */
  readonly transferred: number
  /**
   * When the layer was recompressed on its way (`Copy.Options.compress`): then `digest`, `mediaType` and
   * `size` are what was written (the source's in a dry run), `transferred` counts source bytes.
   *
   * @since 0.5.0
   */
  readonly recompressed?: Recompression
}

/**
 * A layer recompressed by a copy: its compression before and after, and the source's descriptor.
 *
 * @since 0.5.0
 * @category models
 */
export interface Recompression {
  /** `gzip`, `zstd` or `none` (uncompressed). */
  readonly from: string
  readonly to: string
  readonly sourceDigest: Digest.Digest
  readonly sourceMediaType: string
  readonly sourceSize: number
}

/**
 * The role of a manifest in a copy: the root (what the location names), a child of an index, or a
 * referrer (a manifest whose `subject` is another manifest of the copy: signature, SBOM, attestation).
 *
 * @since 0.1.0
 * @category models
 */
export type ManifestRole = "root" | "child" | "referrer"

/**
 * What happened to one manifest. `write`: stored at the destination; `skip`: the destination had it
 * (and so everything it points to).
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestEntry {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly role: ManifestRole
  readonly action: "write" | "skip"
  readonly platform?: Platform.Platform
  readonly artifactType?: string
  /** The tags it was stored under. */
  readonly tags: ReadonlyArray<string>
  /**
   * The digest the source had, when the manifest was rewritten (then `digest` is the one written).
   *
   * @since 0.5.0
   */
  readonly sourceDigest?: Digest.Digest
  /**
   * When the manifest was rewritten: its media type at the source and as written (the same type when only the
   * manifests or layers it points to were rewritten).
   *
   * @since 0.5.0
   */
  readonly converted?: Conversion
}

/**
 * A manifest rewritten by a copy (format conversion, see `Copy.Options.format`): its media type before and
 * after.
 *
 * @since 0.5.0
 * @category models
 */
export interface Conversion {
  readonly from: string
  readonly to: string
}

/**
 * One image (root manifest) of a copy. `digest` is what the destination stores; `sourceDigest` what the
 * source had. They differ when `platform` selected one manifest of an index (then `digest` is that
 * platform manifest) or several (then `digest` is a rewritten index), and when the root was converted to
 * another format (`converted`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ImageEntry {
  readonly source: string
  readonly destination: string
  readonly sourceDigest: Digest.Digest
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly tags: ReadonlyArray<string>
  /**
   * When the root manifest was rewritten (format conversion): its media type at the source and as written;
   * `sourceDigest` and `digest` then differ.
   *
   * @since 0.5.0
   */
  readonly converted?: Conversion
  /** The manifests of this image, children before parents, then referrers. */
  readonly manifests: ReadonlyArray<ManifestEntry>
}

/**
 * Counters of a copy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly manifests: number
  /** Manifests stored (a manifest stored under 150 tags counts once; see `tagsWritten`). */
  readonly manifestsWritten: number
  /**
   * Tags written (set or moved) at the destination: with `allTags`, one per tag copied.
   *
   * @since 0.4.0
   */
  readonly tagsWritten: number
  readonly blobs: number
  readonly transferred: number
  readonly skipped: number
  readonly mounted: number
  /** Bytes moved (0 in a dry run). */
  readonly bytes: number
  /** Bytes to move: sizes of the blobs whose action is `transfer`. */
  readonly plannedBytes: number
  /** Sizes of all the blobs of the copy. */
  readonly totalBytes: number
}

/**
 * The result of `copy`, `pull` and `push` (and their plan, with `dryRun: true`).
 *
 * `digest`, `mediaType` and `size` are those of the first image (the only one unless `allTags`).
 * `blobs` are listed once each, in the order the graph walk met them (deterministic).
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyResult {
  readonly source: string
  readonly destination: string
  readonly dryRun: boolean
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly images: ReadonlyArray<ImageEntry>
  readonly blobs: ReadonlyArray<BlobEntry>
  readonly stats: Stats
}

/**
 * @since 0.1.0
 * @category models
 */
export type PullResult = CopyResult

/**
 * @since 0.1.0
 * @category models
 */
export type PushResult = CopyResult

/**
 * What `resolve` returns: the digest of what a reference names, without downloading it when the
 * registry answers `HEAD` with a digest.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly location: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
}

/**
 * A summary of an image config.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigSummary {
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly created?: string
  readonly author?: string
  readonly platform?: Platform.Platform
  readonly user?: string
  readonly entrypoint?: ReadonlyArray<string>
  readonly cmd?: ReadonlyArray<string>
  readonly env?: ReadonlyArray<string>
  readonly workingDir?: string
  readonly exposedPorts?: ReadonlyArray<string>
  readonly labels?: Readonly<Record<string, string>>
  /** Number of history entries. */
  readonly history: number
}

/**
 * An image manifest, inspected.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImageInspection {
  readonly _tag: "Image"
  readonly location: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly artifactType?: string
  readonly subject?: Descriptor.Descriptor
  readonly annotations?: Readonly<Record<string, string>>
  readonly config: Descriptor.Descriptor
  /** Decoded when the config is an image config (not for artifacts with other config types). */
  readonly configSummary?: ConfigSummary
  readonly layers: ReadonlyArray<Descriptor.Descriptor>
  /** Sum of the layer sizes. */
  readonly layersSize: number
  /** Manifest + config + layers. */
  readonly totalSize: number
  readonly manifest: Manifest.ImageManifest
}

/**
 * An index, inspected: its entries with their platforms (each child manifest is not fetched unless
 * `platform` was given to `inspect`).
 *
 * @since 0.1.0
 * @category models
 */
export interface IndexInspection {
  readonly _tag: "Index"
  readonly location: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly artifactType?: string
  readonly subject?: Descriptor.Descriptor
  readonly annotations?: Readonly<Record<string, string>>
  readonly manifests: ReadonlyArray<Descriptor.Descriptor>
  /** `os/arch[/variant]` of the entries that have a platform, in index order. */
  readonly platforms: ReadonlyArray<string>
  readonly manifest: Manifest.ImageIndex
}

/**
 * @since 0.1.0
 * @category models
 */
export type Inspection = ImageInspection | IndexInspection
