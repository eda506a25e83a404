/**
 * Files as OCI artifacts, the way `oras push`, `oras pull` and `oras attach` store them (image-spec 1.1):
 * an image manifest with an `artifactType`, the empty config (`application/vnd.oci.empty.v1+json`, `{}`)
 * unless one is given, and one layer per file, titled with `org.opencontainers.image.title` (its base name).
 * A directory becomes one gzipped tar layer (entries `<name>/…`, sorted, timestamps and owners 0) annotated
 * `io.deis.oras.content.digest` (the digest of the tar) and `io.deis.oras.content.unpack: "true"`, which
 * `pull` unpacks. The same files give the same manifest digest: no creation time is added.
 *
 * Works against a registry repository, an OCI layout (`oci:DIR[:tag]`) and an oci-archive (`oci-archive:FILE[:tag]`:
 * an existing archive is updated, its entries kept and the artifact added, written again through a temporary
 * file renamed into place; a docker-archive, which holds images only, is `UnsupportedOperation`); `pull` reads
 * every kind of location.
 *
 * ```ts
 * import { Artifact } from "ocidist"
 *
 * const pushed = Artifact.push("localhost:5000/sbom:1", ["sbom.spdx.json"], {
 *   artifactType: "application/spdx+json"
 * })
 * ```
 *
 * @since 0.5.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as RegistryClient from "@ocidist/distribution/RegistryClient"
import type * as Digest from "@ocidist/reference/Digest"
import type * as Reference from "@ocidist/reference/Reference"
import type * as Annotation from "@ocidist/spec/Annotation"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Platform from "@ocidist/spec/Platform"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/artifact.js"
import type * as Location from "./Location.js"
import type { OcidistError } from "./OcidistError.js"

/**
 * A location: a string (see `Location.parse`), a `Location`, or a `Reference`.
 *
 * @since 0.5.0
 * @category models
 */
export type LocationInput = string | Location.Location | Reference.Reference

/**
 * A file to push: its path, or its path with a media type (default `application/vnd.oci.image.layer.v1.tar`
 * for a file, `application/vnd.oci.image.layer.v1.tar+gzip` for a directory) and a title (default its base
 * name).
 *
 * @since 0.5.0
 * @category models
 */
export type FileInput = string | {
  readonly path: string
  readonly mediaType?: string | undefined
  readonly title?: string | undefined
}

/**
 * @since 0.5.0
 * @category options
 */
export interface PushOptions {
  /** The manifest's `artifactType`. Default: `application/vnd.unknown.artifact.v1` with the empty config (as oras). */
  readonly artifactType?: string | undefined
  /** The manifest's annotations (over those of `fileAnnotations["$manifest"]`). */
  readonly annotations?: Annotation.Annotations | undefined
  /**
   * Annotations by file title, as oras's `--annotation-file`: `{"$manifest": {…}, "$config": {…}, "<title>": {…}}`.
   */
  readonly fileAnnotations?: Readonly<Record<string, Annotation.Annotations>> | undefined
  /** A config file (default media type `application/vnd.oci.image.config.v1+json`) instead of the empty one. */
  readonly config?: { readonly path: string; readonly mediaType?: string | undefined } | undefined
  /**
   * The manifest this artifact refers to (`subject`): a tag or digest in the destination repository or
   * layout. A registry without the referrers API gets the `sha256-<hex>` tag index updated.
   */
  readonly subject?: string | undefined
  /** The tags to store the manifest under. Default: the destination's tag, if it names one. */
  readonly tags?: ReadonlyArray<string> | undefined
}

/**
 * @since 0.5.0
 * @category models
 */
export interface PushResult {
  readonly location: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly artifactType?: string
  readonly tags: ReadonlyArray<string>
  readonly subject?: Descriptor.Descriptor
  /** Blobs uploaded (the others were there already). */
  readonly blobsPushed: number
  /** The manifest pushed, as JSON. */
  readonly manifest: Manifest.ImageManifest
}

/**
 * @since 0.5.0
 * @category options
 */
export interface PullOptions {
  /** For an index of artifacts: the platform's manifest. An index of one manifest needs none. */
  readonly platform?: string | Platform.Platform | undefined
}

/**
 * One file written by {@link pull}.
 *
 * @since 0.5.0
 * @category models
 */
export interface PulledFile {
  readonly title: string
  /** Where it was written (a directory when `unpacked`). */
  readonly path: string
  readonly digest: Digest.Digest
  readonly mediaType: string
  readonly size: number
  readonly unpacked: boolean
}

/**
 * @since 0.5.0
 * @category models
 */
export interface PullResult {
  readonly location: string
  readonly digest: Digest.Digest
  readonly artifactType?: string
  readonly directory: string
  readonly files: ReadonlyArray<PulledFile>
}

/**
 * What the artifact operations need in context (`NodeOcidist`'s platform, or yours).
 *
 * @since 0.5.0
 * @category models
 */
export type Requirements = RegistryClient.RegistryClient | FileSystem.FileSystem | Path.Path

/**
 * Pushes files (and directories) as an artifact. Blobs are streamed from disk and hashed on the way (a file
 * is read twice: once for its digest); blobs the destination has are skipped.
 *
 * @since 0.5.0
 * @category operations
 */
export const push: (
  destination: LocationInput,
  files: ReadonlyArray<FileInput>,
  options?: PushOptions
) => Effect.Effect<PushResult, OcidistError, Requirements> = internal.push

/**
 * Pushes files as an artifact whose `subject` is the manifest `subject` names, into its repository (or
 * layout), untagged: `oras attach`.
 *
 * @since 0.5.0
 * @category operations
 */
export const attach: (
  subject: LocationInput,
  files: ReadonlyArray<FileInput>,
  options?: Omit<PushOptions, "subject" | "tags">
) => Effect.Effect<PushResult, OcidistError, Requirements> = internal.attach

/**
 * Writes each titled layer of an artifact to `directory/<title>`, through a temporary file renamed once its
 * digest is verified; unpacks directories (`io.deis.oras.content.unpack`). Nothing is written outside
 * `directory`: a title or tar entry that is absolute, climbs with `..` or passes through a symbolic link
 * fails with `InvalidArtifact`, devices and FIFOs in a tar are skipped.
 *
 * @since 0.5.0
 * @category operations
 */
export const pull: (
  source: LocationInput,
  directory: string,
  options?: PullOptions
) => Effect.Effect<PullResult, OcidistError, Requirements> = internal.pull
