/**
 * Media types of the OCI image spec and of Docker's image formats, and the `Accept` list we send for
 * manifests.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
/**
 * @since 0.2.0
 * @category oci
 */
export const OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json"

/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
/**
 * @since 0.2.0
 * @category docker
 */
export const DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

/**
 * The manifest media types we accept, in order of preference. Sent as the `Accept` header of every
 * manifest request (registries answer schema 1 to clients that do not send one).
 *
 * @since 0.2.0
 * @category accept
 */
export const MANIFEST_TYPES: ReadonlyArray<string> = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST]

/**
 * `Accept` header value for manifest requests.
 *
 * @since 0.2.0
 * @category accept
 */
export const MANIFEST_ACCEPT: string = MANIFEST_TYPES.join(", ")

/**
 * Strips parameters and case: `Application/JSON; charset=utf-8` → `application/json`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const essence = (mediaType: string): string => mediaType.split(";")[0]!.trim().toLowerCase()

/**
 * An image index or Docker manifest list.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isIndex = (mediaType: string): boolean => {
  const m = essence(mediaType)
  return m === OCI_INDEX || m === DOCKER_MANIFEST_LIST
}

/**
 * An image manifest (OCI or Docker schema 2).
 *
 * @since 0.2.0
 * @category predicates
 */
export const isImageManifest = (mediaType: string): boolean => {
  const m = essence(mediaType)
  return m === OCI_MANIFEST || m === DOCKER_MANIFEST
}

/**
 * Any manifest media type we can read (index or image manifest).
 *
 * @since 0.2.0
 * @category predicates
 */
export const isManifest = (mediaType: string): boolean => isIndex(mediaType) || isImageManifest(mediaType)

/**
 * Docker image manifest schema 1 (deprecated, refused).
 *
 * @since 0.2.0
 * @category predicates
 */
export const isSchema1 = (mediaType: string): boolean => {
  const m = essence(mediaType)
  return m === DOCKER_SCHEMA1 || m === DOCKER_SCHEMA1_SIGNED
}

/**
 * A Docker (not OCI) media type.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isDocker = (mediaType: string): boolean => essence(mediaType).startsWith("application/vnd.docker.")
