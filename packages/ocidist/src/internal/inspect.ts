/**
 * `inspect`: what a manifest or index holds, with a summary of an image's config.
 *
 * @internal
 */
import type * as Descriptor from "@ocidist/spec/Descriptor"
import * as ImageConfig from "@ocidist/spec/ImageConfig"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Platform from "@ocidist/spec/Platform"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { OcidistError } from "../OcidistError.js"
import type * as Result from "../Result.js"

const summarize = (d: Descriptor.Descriptor, config: ImageConfig.ImageConfig): Result.ConfigSummary => {
  const c = config.config ?? undefined
  const platform: Platform.Platform = {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant === undefined ? {} : { variant: config.variant }),
    ...(config["os.version"] === undefined ? {} : { "os.version": config["os.version"] })
  }
  return {
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    ...(config.created === undefined ? {} : { created: config.created }),
    ...(config.author === undefined ? {} : { author: config.author }),
    platform,
    ...(c?.User == null || c.User === "" ? {} : { user: c.User }),
    ...(c?.Entrypoint == null ? {} : { entrypoint: c.Entrypoint }),
    ...(c?.Cmd == null ? {} : { cmd: c.Cmd }),
    ...(c?.Env == null ? {} : { env: c.Env }),
    ...(c?.WorkingDir == null || c.WorkingDir === "" ? {} : { workingDir: c.WorkingDir }),
    ...(c?.ExposedPorts == null ? {} : { exposedPorts: Object.keys(c.ExposedPorts) }),
    ...(c?.Labels == null ? {} : { labels: c.Labels }),
    history: config.history?.length ?? 0
  }
}

/** Describes a manifest read from `store`. @internal */
export const inspectManifest = (
  store: Storage.ReadOnlyStorage<OcidistError>,
  m: Manifest.Manifest
): Effect.Effect<Result.Inspection, OcidistError> =>
  Effect.gen(function*() {
    const common = {
      location: store.name,
      digest: m.digest,
      mediaType: m.mediaType,
      size: m.bytes.length,
      ...(m.manifest.artifactType === undefined ? {} : { artifactType: m.manifest.artifactType }),
      ...(m.manifest.subject === undefined ? {} : { subject: m.manifest.subject }),
      ...(m.manifest.annotations === undefined ? {} : { annotations: m.manifest.annotations })
    }
    if (m._tag === "ImageIndex") {
      return {
        _tag: "Index",
        ...common,
        manifests: m.manifest.manifests,
        platforms: Platform.available(m.manifest.manifests),
        manifest: m.manifest
      } satisfies Result.IndexInspection
    }
    const config = m.manifest.config
    let configSummary: Result.ConfigSummary | undefined
    const isImageConfig = config.mediaType === MediaType.OCI_CONFIG || config.mediaType === MediaType.DOCKER_CONFIG
    // configs above ImageConfig.MAX_BYTES are not summarized
    if (isImageConfig && config.size <= ImageConfig.MAX_BYTES) {
      const bytes = yield* Storage.readBlob(store, config, ImageConfig.MAX_BYTES)
      const decoded = yield* Either.match(ImageConfig.decode(bytes), { onLeft: Effect.fail, onRight: Effect.succeed })
      configSummary = summarize(config, decoded)
    }
    const layersSize = Manifest.layersSize(m.manifest)
    return {
      _tag: "Image",
      ...common,
      config,
      ...(configSummary === undefined ? {} : { configSummary }),
      layers: m.manifest.layers,
      layersSize,
      totalSize: m.bytes.length + config.size + layersSize,
      manifest: m.manifest
    } satisfies Result.ImageInspection
  })
