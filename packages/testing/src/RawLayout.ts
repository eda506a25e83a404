/**
 * OCI layouts written by hand, file by file, without any validation: for content our own writers refuse to
 * produce (hostile artifacts, odd media types, uncompressed layers) and for tests that need exact bytes.
 *
 * @since 0.5.0
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"

/**
 * A descriptor as written by {@link putBlob}.
 *
 * @since 0.5.0
 * @category models
 */
export type Descriptor = {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
}

const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`

/**
 * Writes a blob (a string is written as UTF-8) under `<layout>/blobs/sha256/`, creating the directories;
 * returns its descriptor, with `extra` fields (annotations, artifactType, ...) added.
 *
 * @since 0.5.0
 * @category constructors
 */
export const putBlob = <const E extends Record<string, unknown> = Record<never, never>>(
  layout: string,
  bytes: Uint8Array | string,
  mediaType: string,
  extra?: E
): Descriptor & E => {
  const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes
  const digest = sha256(data)
  fs.mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true })
  fs.writeFileSync(path.join(layout, "blobs", "sha256", digest.slice("sha256:".length)), data)
  return { mediaType, digest, size: data.length, ...extra } as Descriptor & E
}

/**
 * Writes `oci-layout` and an `index.json` listing exactly `entries` (replacing any index there was).
 *
 * @since 0.5.0
 * @category constructors
 */
export const writeIndex = (layout: string, entries: ReadonlyArray<Record<string, unknown>>): void => {
  fs.mkdirSync(layout, { recursive: true })
  fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  fs.writeFileSync(path.join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: entries }))
}

/**
 * Adds `descriptor` to the layout's `index.json` under `tag` (`org.opencontainers.image.ref.name`), creating
 * `oci-layout` and an empty image index first when the layout has none.
 *
 * @since 0.5.0
 * @category constructors
 */
export const addTag = (layout: string, descriptor: Descriptor, tag: string): void => {
  fs.mkdirSync(layout, { recursive: true })
  const indexPath = path.join(layout, "index.json")
  if (!fs.existsSync(path.join(layout, "oci-layout"))) {
    fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  }
  const index = fs.existsSync(indexPath)
    ? JSON.parse(fs.readFileSync(indexPath, "utf8")) as { manifests: Array<unknown> }
    : { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] as Array<unknown> }
  index.manifests.push({ ...descriptor, annotations: { "org.opencontainers.image.ref.name": tag } })
  fs.writeFileSync(indexPath, JSON.stringify(index))
}

/**
 * Writes a one-layer image around the uncompressed layer `tar` (gzipped as written, its `diff_id` the tar's
 * own digest, an amd64/linux config) and tags it `tag` (see {@link addTag}); returns its three descriptors.
 * The tar is taken as it is: for layers our own writers would not produce.
 *
 * @since 0.5.0
 * @category constructors
 */
export const putTarImage = (
  layout: string,
  tag: string,
  tar: Uint8Array
): { readonly layer: Descriptor; readonly config: Descriptor; readonly manifest: Descriptor } => {
  const layer = putBlob(layout, zlib.gzipSync(tar), "application/vnd.oci.image.layer.v1.tar+gzip")
  const config = putBlob(
    layout,
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(tar)] } }),
    "application/vnd.oci.image.config.v1+json"
  )
  const manifest = putBlob(
    layout,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [layer]
    }),
    "application/vnd.oci.image.manifest.v1+json"
  )
  addTag(layout, manifest, tag)
  return { layer, config, manifest }
}
