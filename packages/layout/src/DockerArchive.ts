/**
 * `docker-archive`: what `docker save` writes and `docker load` reads. A tar with `manifest.json`
 * (`[{ Config, RepoTags, Layers }]`), a config file per image, one uncompressed layer tar per layer and the
 * legacy `repositories` file. Docker 25+ writes the same `manifest.json` inside an OCI layout
 * (`blobs/sha256/…` paths); both are read.
 *
 * Reading synthesizes a Docker schema 2 manifest per image (a gzip- or zstd-compressed archive is decompressed
 * once into a temporary tar first); the archive is a `Layout.Reader` (a
 * `ReadOnlyStorage` of `@ocidist/spec`) named `docker-archive:<path>`. Layer digests come from the path when
 * it is `blobs/<alg>/<hex>`, from the config's `diff_ids` for uncompressed layers, otherwise they are computed
 * by hashing the entry once at `open` (streaming, with the `Hash` service in context at `open`).
 *
 * Writing produces the layout `skopeo copy … docker-archive:` produces: `<config-hex>.json`,
 * `<diff-id-hex>.tar` per layer, `manifest.json`, `repositories`. Layers must be uncompressed tars whose
 * sha256 is the config's `diff_id`: gzip layers are decompressed in two streaming passes (the first hashes
 * and measures the uncompressed content, because a tar entry needs its size up front; the second writes
 * it), so memory and temporary disk use stay flat.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Manifest from "@ocidist/spec/Manifest"
import type * as Platform from "@ocidist/spec/Platform"
import type { ContentTooLarge } from "@ocidist/spec/SpecError"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/dockerArchive.js"
import type { Reader } from "./Layout.js"
import type { LayoutError, LayoutFailure, UnsupportedContent } from "./LayoutError.js"

/**
 * Media type of an uncompressed Docker layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const DOCKER_LAYER_TAR: "application/vnd.docker.image.rootfs.diff.tar" = internal.DOCKER_LAYER_TAR

/**
 * One item of `manifest.json`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ManifestItem: Schema.Struct<{
  Config: typeof Schema.String
  RepoTags: Schema.optional<Schema.NullOr<Schema.Array$<typeof Schema.String>>>
  Layers: Schema.Array$<typeof Schema.String>
}> = internal.ManifestItem

/**
 * An image to put in a docker-archive: an image manifest or an index (then the manifest for `platform` is
 * used), with the `RepoTags` docker will give it (`name:tag`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Image {
  readonly descriptor: Descriptor.Descriptor
  readonly repoTags?: ReadonlyArray<string> | undefined
}

/**
 * Options of {@link open}.
 *
 * @since 0.5.0
 * @category models
 */
export interface OpenOptions {
  /** Hash every layer at `open` rather than trusting the config's `diff_ids` for uncompressed layers. */
  readonly hashLayers?: boolean | undefined
  /**
   * Where a compressed archive is decompressed (created if missing; the decompressed tar is removed when the
   * scope closes). Default: a new temporary directory.
   */
  readonly directory?: string | undefined
}

/**
 * Opens a `docker-archive` for reading. Entries are one descriptor per `RepoTags` item (tag in
 * `org.opencontainers.image.ref.name`), or an untagged one for images without tags. `resolve` takes:
 *
 * - `"@N"`: the N-th image of `manifest.json` (from 0; tagged or not, as `podman save -m` writes them);
 * - a digest: the image whose ID (config digest, docker's image ID) it is, else whose (synthesized) manifest
 *   digest it is;
 * - a name: `app:1` also finds `docker.io/library/app:1` and vice versa (names are compared as docker
 *   normalizes them).
 *
 * What is not there fails with `ImageNotFound`, listing the images (`@N`, tags, image ID).
 *
 * The archive may be gzip- or zstd-compressed (detected by its first bytes; see `OciArchive.open`); the
 * reader is valid within the scope.
 *
 * Layer digests: from the path for `blobs/<alg>/<hex>` entries (Docker 25+); for uncompressed layers, the
 * config's `diff_ids` (a layer tar's digest is its diff_id), unless `hashLayers: true`; otherwise (gzip
 * layers, missing diff_ids) computed by hashing the entry. Content read through `fetchBlob` is not verified
 * here (`verifiesBlobs` is false): `pushBlob` of a store and registry uploads verify it against these digests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (
  path: string,
  options?: OpenOptions
) => Effect.Effect<Reader, LayoutError | ContentTooLarge, FileSystem.FileSystem | Path.Path | Scope.Scope> =
  internal.open

/**
 * Refuses, with `UnsupportedContent` naming the artifact type, a manifest that is not a container image: one
 * with an `artifactType`, a config that is not an image config (the empty config
 * `application/vnd.oci.empty.v1+json`, a Helm chart's…), or a layer that is not an image layer. A docker-archive
 * holds images only; an index without `artifactType` passes (the image chosen from it is checked by `write`).
 * Stores that write docker-archives offer it as their `accepts` capability, so a copy fails before anything
 * is written.
 *
 * @since 0.5.0
 * @category validation
 */
export const accepts: (path: string, manifest: Manifest.Manifest) => Effect.Effect<void, UnsupportedContent> =
  internal.accepts

/**
 * Writes a `docker-archive` with the given images, reading their content from `source`. Layers are
 * decompressed when needed and checked against the config's `diff_ids`; configs are checked against their
 * digests. The archive appears at `path` only when complete.
 *
 * @since 0.1.0
 * @category constructors
 */
export const write: (
  path: string,
  source: Reader,
  images: ReadonlyArray<Image>,
  options?: { readonly platform?: Platform.Platform | undefined }
) => Effect.Effect<void, LayoutFailure, FileSystem.FileSystem | Path.Path> = internal.write
