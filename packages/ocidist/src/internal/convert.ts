/**
 * Format conversion of manifests, pure: a Docker schema 2 manifest ↔ an OCI image manifest, a Docker
 * manifest list ↔ an OCI image index. Only media types change (of the manifest, its config descriptor, its
 * layers and its index entries); the config and layer bytes are the same, so their digests are too. A
 * rewritten manifest is serialized with a fixed key order (the same input always gives the same bytes, so
 * the same digest) and, when OCI, records the digest of the manifest it was made from in the annotation
 * {@link SOURCE_DIGEST}. Docker manifests have no annotations: converting OCI → Docker drops them.
 *
 * The same function also rewrites a manifest whose children changed without a change of format: an index
 * whose entries were converted, a manifest whose layers were replaced (recompressed), a referrer whose
 * subject was converted.
 *
 * @internal
 */
import type * as Digest from "@ocidist/reference/Digest"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import type * as Platform from "@ocidist/spec/Platform"
import type { InvalidManifest } from "@ocidist/spec/SpecError"
import * as Either from "effect/Either"
import { UnsupportedFormat } from "../OcidistError.js"

/**
 * The annotation a converted (or otherwise rewritten) OCI manifest records the digest of its source manifest
 * in. No common name exists (skopeo records nothing); ours follows the reverse-domain convention.
 *
 * @internal
 */
export const SOURCE_DIGEST = "io.ocidist.source.digest" as const

/** What to write: OCI media types, Docker media types, or the source's own. @internal */
export type Format = "oci" | "docker" | "keep"

/** The two families of media types. @internal */
export type Family = "oci" | "docker"

const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
const DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar"
const OCI_NONDIST_LAYER = "application/vnd.oci.image.layer.nondistributable.v1.tar"
const OCI_NONDIST_LAYER_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
const OCI_NONDIST_LAYER_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

/** Docker → OCI, for the media types with a counterpart (configs, layers, manifests). */
const toOciTypes: Record<string, string> = {
  [MediaType.DOCKER_MANIFEST]: MediaType.OCI_MANIFEST,
  [MediaType.DOCKER_MANIFEST_LIST]: MediaType.OCI_INDEX,
  [MediaType.DOCKER_CONFIG]: MediaType.OCI_CONFIG,
  [MediaType.DOCKER_LAYER_GZIP]: MediaType.OCI_LAYER_GZIP,
  [DOCKER_LAYER]: MediaType.OCI_LAYER,
  [MediaType.DOCKER_FOREIGN_LAYER_GZIP]: OCI_NONDIST_LAYER_GZIP,
  [DOCKER_FOREIGN_LAYER]: OCI_NONDIST_LAYER
}

const toDockerTypes: Record<string, string> = Object.fromEntries(
  Object.entries(toOciTypes).map(([docker, oci]) => [oci, docker])
)

/** The family of a manifest media type. @internal */
export const familyOf = (mediaType: string): Family => MediaType.isDocker(mediaType) ? "docker" : "oci"

/** The family a manifest is written in under `format`. @internal */
export const targetFamily = (manifest: Manifest.Manifest, format: Format): Family =>
  format === "keep" ? familyOf(manifest.mediaType) : format

/** A human name of a family, for messages: `Docker`, `OCI`. @internal */
export const familyName = (family: Family): string => family === "oci" ? "OCI" : "Docker"

/** What a media type becomes in `family` (a type without a counterpart is kept; see {@link toDockerRefusal}). */
const mapType = (mediaType: string, family: Family): string => {
  const m = MediaType.essence(mediaType)
  return (family === "oci" ? toOciTypes[m] : toDockerTypes[m]) ?? mediaType
}

/** Why a child descriptor cannot be held by a Docker schema 2 manifest, if it cannot. */
const layerRefusal = (mediaType: string): string | undefined => {
  const m = MediaType.essence(mediaType)
  if (toDockerTypes[m] !== undefined || MediaType.isDocker(m)) return undefined
  if (m === MediaType.OCI_LAYER_ZSTD || m === OCI_NONDIST_LAYER_ZSTD) {
    return `a zstd layer (${m}); Docker schema 2 has no zstd media type (recompress it to gzip)`
  }
  return `a layer of media type ${m}`
}

const refuse = (manifest: Manifest.Manifest, detail: string) =>
  new UnsupportedFormat({ digest: manifest.digest, format: "Docker media types (schema 2)", detail })

/** What to do instead, for content only OCI holds. */
const KEEP_OCI = "keep its OCI media types (format oci or keep)"

/** Platform with its keys in a fixed order. */
const platformJson = (p: Platform.Platform): Record<string, unknown> => {
  const out: Record<string, unknown> = { architecture: p.architecture, os: p.os }
  if (p["os.version"] !== undefined) out["os.version"] = p["os.version"]
  if (p["os.features"] !== undefined) out["os.features"] = p["os.features"]
  if (p.variant !== undefined) out.variant = p.variant
  if (p.features !== undefined) out.features = p.features
  return out
}

const sortedAnnotations = (a: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.keys(a).sort().map((k) => [k, a[k]!]))

/**
 * A descriptor with its keys in a fixed order, in `family`: Docker descriptors keep `mediaType`, `digest`,
 * `size`, `urls` and `platform` only (no annotations, data or artifact type in Docker schema 2).
 */
const descriptorJson = (d: Descriptor.Descriptor, family: Family): Record<string, unknown> => {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size }
  if (d.urls !== undefined) out.urls = d.urls
  if (family === "oci" && d.annotations !== undefined) out.annotations = sortedAnnotations(d.annotations)
  if (family === "oci" && d.data !== undefined) out.data = d.data
  if (d.platform !== undefined) out.platform = platformJson(d.platform)
  if (family === "oci" && d.artifactType !== undefined) out.artifactType = d.artifactType
  return out
}

/**
 * Where a child of a manifest was written: the descriptor to point at instead (a converted manifest, a
 * recompressed layer), or `undefined` when it is stored as the source has it.
 *
 * @internal
 */
export type Lookup = (digest: Digest.Digest) => Descriptor.Descriptor | undefined

/**
 * A child descriptor as the rewritten manifest lists it: its written digest, size and media type, in `family`.
 * `keep`: a child written as the source has it keeps its media type too (even one of the other family).
 */
const child = (d: Descriptor.Descriptor, lookup: Lookup, family: Family, keep = false): Descriptor.Descriptor => {
  const w = lookup(d.digest)
  if (w === undefined && keep) return d
  const base = w === undefined ? d : {
    ...d,
    mediaType: w.mediaType,
    digest: w.digest,
    size: w.size,
    ...(w.artifactType === undefined ? {} : { artifactType: w.artifactType })
  }
  return { ...base, mediaType: mapType(base.mediaType, family) }
}

const same = (a: Descriptor.Descriptor, b: Descriptor.Descriptor) =>
  a.digest === b.digest && a.mediaType === b.mediaType && a.size === b.size

/**
 * Why `manifest` cannot be written with Docker media types (artifact type, subject, non-image config, zstd or
 * other layers schema 2 has no type for), as an `UnsupportedFormat` naming it; `undefined` when it can.
 * `lookup` gives the replacements known so far (a zstd layer recompressed to gzip is accepted).
 *
 * @internal
 */
export const toDockerRefusal = (
  manifest: Manifest.Manifest,
  lookup: Lookup = () => undefined
): UnsupportedFormat | undefined => {
  const m = manifest.manifest
  if (m.artifactType !== undefined) {
    return refuse(
      manifest,
      `it is an artifact (artifactType ${m.artifactType}), which Docker schema 2 cannot hold: ${KEEP_OCI}`
    )
  }
  if (m.subject !== undefined) {
    return refuse(
      manifest,
      `it refers to ${m.subject.digest} (subject), which Docker schema 2 cannot hold: ${KEEP_OCI}`
    )
  }
  if (manifest._tag === "ImageManifest") {
    const config = MediaType.essence(manifest.manifest.config.mediaType)
    if (config !== MediaType.OCI_CONFIG && config !== MediaType.DOCKER_CONFIG) {
      return refuse(
        manifest,
        `it is an artifact (config ${config}), which Docker schema 2 cannot hold: ${KEEP_OCI}`
      )
    }
    for (const layer of manifest.manifest.layers) {
      const why = layerRefusal(child(layer, lookup, "oci").mediaType)
      if (why !== undefined) return refuse(manifest, `it has ${why}`)
    }
  } else {
    for (const entry of manifest.manifest.manifests) {
      const type = child(entry, lookup, "docker").mediaType
      if (!MediaType.isDocker(type)) return refuse(manifest, `it lists ${entry.digest} of media type ${type}`)
    }
  }
  return undefined
}

/**
 * The manifest as written under `format`, given where its children were written (`lookup`): the source
 * itself (same bytes) when neither its format nor any child changes, else a new manifest (fixed key order,
 * source digest in {@link SOURCE_DIGEST} when OCI). Fails when Docker media types are wanted for what schema 2
 * cannot hold ({@link toDockerRefusal}).
 *
 * @internal
 */
export const rewrite = (
  manifest: Manifest.Manifest,
  format: Format,
  lookup: Lookup = () => undefined
): Either.Either<Manifest.Manifest, UnsupportedFormat | InvalidManifest> =>
  Either.gen(function*() {
    const family = targetFamily(manifest, format)
    const keep = format === "keep"
    const ownType = keep ? manifest.mediaType : mapType(manifest.mediaType, family)
    const m = manifest.manifest
    const subject = m.subject === undefined ? undefined : child(m.subject, lookup, family, keep)
    const children = Manifest.children(manifest)
    const written = children.map((d) => child(d, lookup, family, keep))
    const unchanged = ownType === manifest.mediaType && written.every((d, i) => same(d, children[i]!)) &&
      (subject === undefined || same(subject, m.subject!))
    if (unchanged) return manifest
    if (family === "docker") {
      const refusal = toDockerRefusal(manifest, lookup)
      if (refusal !== undefined) return yield* Either.left(refusal)
    }
    const json: Record<string, unknown> = { schemaVersion: 2, mediaType: ownType }
    if (family === "oci" && m.artifactType !== undefined) json.artifactType = m.artifactType
    if (manifest._tag === "ImageManifest") {
      json.config = descriptorJson(written[0]!, family)
      json.layers = written.slice(1).map((d) => descriptorJson(d, family))
    } else {
      json.manifests = written.map((d) => descriptorJson(d, family))
    }
    if (subject !== undefined) json.subject = descriptorJson(subject, family)
    if (family === "oci") {
      json.annotations = sortedAnnotations({ ...m.annotations, [SOURCE_DIGEST]: manifest.digest })
    }
    return yield* Manifest.decode(Manifest.encode(json), { contentType: ownType })
  })
