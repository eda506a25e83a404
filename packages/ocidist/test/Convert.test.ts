// Format conversion of manifests, pure: Docker schema 2 ↔ OCI (manifests and indexes), media types of config
// and layers mapped, bytes of blobs untouched, the source digest recorded, what Docker cannot hold refused,
// and the same input always giving the same bytes.
import { describe, expect, it } from "@effect/vitest"
import { Digest } from "@ocidist/reference"
import { Manifest, MediaType } from "@ocidist/spec"
import type { Descriptor } from "@ocidist/spec"
import * as Either from "effect/Either"
import * as Convert from "../src/internal/convert.js"

const digest = (seed: string) => Digest.ofBytes(seed)

const decode = (value: unknown) => Either.getOrThrow(Manifest.decode(new TextEncoder().encode(JSON.stringify(value))))

const json = (m: Manifest.Manifest) => JSON.parse(new TextDecoder().decode(m.bytes)) as Record<string, unknown>

const convert = (m: Manifest.Manifest, format: Convert.Format, lookup?: Convert.Lookup) =>
  Either.getOrThrow(Convert.rewrite(m, format, lookup))

const refusal = (m: Manifest.Manifest, format: Convert.Format) => {
  const r = Convert.rewrite(m, format)
  if (Either.isRight(r)) throw new Error("expected a refusal")
  return r.left
}

const config = { mediaType: MediaType.DOCKER_CONFIG, digest: digest("config"), size: 100 }
const gzipLayer = { mediaType: MediaType.DOCKER_LAYER_GZIP, digest: digest("l1"), size: 10 }
const tarLayer = { mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest: digest("l2"), size: 20 }
const foreign = {
  mediaType: MediaType.DOCKER_FOREIGN_LAYER_GZIP,
  digest: digest("l3"),
  size: 30,
  urls: ["https://example.com/l3"]
}
const dockerManifest = decode({
  schemaVersion: 2,
  mediaType: MediaType.DOCKER_MANIFEST,
  config,
  layers: [gzipLayer, tarLayer, foreign]
})

describe("Docker → OCI", () => {
  it("an image manifest: media types of manifest, config and layers; digests and sizes kept; source recorded", () => {
    const oci = convert(dockerManifest, "oci")
    expect(oci.mediaType).toBe(MediaType.OCI_MANIFEST)
    expect(oci.digest).toBe(Digest.ofBytes(oci.bytes))
    expect(json(oci)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: config.digest, size: 100 },
      layers: [
        { mediaType: MediaType.OCI_LAYER_GZIP, digest: gzipLayer.digest, size: 10 },
        { mediaType: MediaType.OCI_LAYER, digest: tarLayer.digest, size: 20 },
        {
          mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
          digest: foreign.digest,
          size: 30,
          urls: foreign.urls
        }
      ],
      annotations: { [Convert.SOURCE_DIGEST]: dockerManifest.digest }
    })
  })

  it("is deterministic: the same input (whatever its key order) gives the same bytes", () => {
    const reordered = decode({
      layers: [gzipLayer, tarLayer, foreign].map((l) => Object.fromEntries(Object.entries(l).reverse())),
      config: { size: 100, digest: config.digest, mediaType: config.mediaType },
      mediaType: MediaType.DOCKER_MANIFEST,
      schemaVersion: 2
    })
    const a = convert(dockerManifest, "oci")
    const b = convert(dockerManifest, "oci")
    expect(b.bytes).toEqual(a.bytes)
    // another source digest, so another annotation: everything else is the same, in the same order
    const c = json(convert(reordered, "oci"))
    expect(JSON.stringify({ ...c, annotations: undefined })).toBe(
      JSON.stringify({ ...json(a), annotations: undefined })
    )
  })

  it("a manifest list: an index pointing at the converted children, platforms kept", () => {
    const child = convert(dockerManifest, "oci")
    const platform = { architecture: "arm", os: "linux", variant: "v7", "os.version": "1" }
    const list = decode({
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST_LIST,
      manifests: [
        {
          mediaType: MediaType.DOCKER_MANIFEST,
          digest: dockerManifest.digest,
          size: dockerManifest.bytes.length,
          platform
        }
      ]
    })
    const written = new Map<string, Descriptor.Descriptor>([[dockerManifest.digest, Manifest.descriptorOf(child)]])
    const index = convert(list, "oci", (d) => written.get(d))
    expect(index.mediaType).toBe(MediaType.OCI_INDEX)
    expect(json(index)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: child.digest, size: child.bytes.length, platform }],
      annotations: { [Convert.SOURCE_DIGEST]: list.digest }
    })
    // platform keys in a fixed order
    expect(Object.keys((json(index).manifests as Array<{ platform: object }>)[0]!.platform)).toEqual([
      "architecture",
      "os",
      "os.version",
      "variant"
    ])
  })

  it("keeps what needs no change: an OCI manifest under oci, anything under keep (same object, same bytes)", () => {
    const oci = convert(dockerManifest, "oci")
    expect(convert(oci, "oci")).toBe(oci)
    expect(convert(dockerManifest, "keep")).toBe(dockerManifest)
    expect(convert(dockerManifest, "docker")).toBe(dockerManifest)
  })

  it("keep leaves a mixed manifest (OCI manifest, Docker layer types) as it is; oci maps its layers", () => {
    const mixed = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { ...config, mediaType: MediaType.OCI_CONFIG },
      layers: [gzipLayer]
    })
    expect(convert(mixed, "keep")).toBe(mixed)
    const oci = convert(mixed, "oci")
    expect((json(oci).layers as Array<Descriptor.Descriptor>)[0]!.mediaType).toBe(MediaType.OCI_LAYER_GZIP)
  })

  it("rewrites an OCI index whose children were converted, in its own format", () => {
    const index = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [{ mediaType: MediaType.DOCKER_MANIFEST, digest: dockerManifest.digest, size: 1 }],
      annotations: { "org.example": "x" }
    })
    const child = convert(dockerManifest, "oci")
    const out = convert(index, "oci", (d) => d === dockerManifest.digest ? Manifest.descriptorOf(child) : undefined)
    expect(json(out)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: child.digest, size: child.bytes.length }],
      annotations: { "org.example": "x", [Convert.SOURCE_DIGEST]: index.digest }
    })
  })

  it("points a manifest at a replaced (recompressed) layer in keep mode", () => {
    const replaced = { mediaType: MediaType.DOCKER_LAYER_GZIP, digest: digest("l2.gz"), size: 7 }
    const out = convert(dockerManifest, "keep", (d) => d === tarLayer.digest ? replaced : undefined)
    expect(out.mediaType).toBe(MediaType.DOCKER_MANIFEST)
    const layers = json(out).layers as Array<Descriptor.Descriptor>
    expect(layers[1]).toEqual(replaced)
    // Docker manifests have no annotations
    expect(json(out).annotations).toBeUndefined()
  })
})

describe("OCI → Docker", () => {
  const oci = convert(dockerManifest, "oci")

  it("maps back to the same Docker manifest bytes as a Docker writer (annotations dropped)", () => {
    const back = convert(oci, "docker")
    expect(back.mediaType).toBe(MediaType.DOCKER_MANIFEST)
    expect(json(back)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST,
      config,
      layers: [gzipLayer, tarLayer, foreign]
    })
  })

  it("an index: a manifest list of Docker entries, annotations dropped", () => {
    const index = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [{
        mediaType: MediaType.OCI_MANIFEST,
        digest: oci.digest,
        size: oci.bytes.length,
        platform: { architecture: "amd64", os: "linux" },
        annotations: { a: "b" }
      }],
      annotations: { a: "b" }
    })
    const back = convert(index, "docker")
    expect(json(back)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.DOCKER_MANIFEST_LIST,
      manifests: [{
        mediaType: MediaType.DOCKER_MANIFEST,
        digest: oci.digest,
        size: oci.bytes.length,
        platform: { architecture: "amd64", os: "linux" }
      }]
    })
  })

  it("refuses what schema 2 cannot hold, naming it", () => {
    const artifact = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: MediaType.OCI_EMPTY, digest: Digest.ofBytes("{}"), size: 2 },
      layers: []
    })
    expect(refusal(artifact, "docker").message).toContain("artifactType application/vnd.example.sbom")
    const customConfig = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: "application/vnd.cncf.helm.config.v1+json", digest: digest("c"), size: 2 },
      layers: []
    })
    expect(refusal(customConfig, "docker").message).toContain("config application/vnd.cncf.helm.config.v1+json")
    const withSubject = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: digest("c"), size: 2 },
      layers: [],
      subject: { mediaType: MediaType.OCI_MANIFEST, digest: oci.digest, size: 3 }
    })
    expect(refusal(withSubject, "docker").message).toContain(`refers to ${oci.digest} (subject)`)
    const zstd = decode({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: digest("c"), size: 2 },
      layers: [{ mediaType: MediaType.OCI_LAYER_ZSTD, digest: digest("z"), size: 4 }]
    })
    const e = refusal(zstd, "docker")
    expect(e._tag).toBe("UnsupportedFormat")
    expect(e.message).toContain("zstd layer")
    // …accepted once the layer is replaced by a gzip one
    const gz = { mediaType: MediaType.OCI_LAYER_GZIP, digest: digest("z.gz"), size: 5 }
    const ok = convert(zstd, "docker", (d) => d === digest("z") ? gz : undefined)
    expect((json(ok).layers as Array<unknown>)[0]).toEqual({ ...gz, mediaType: MediaType.DOCKER_LAYER_GZIP })
  })
})
