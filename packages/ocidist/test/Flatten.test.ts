// Flatten.flatten of a two-platform index (with an attestation manifest) in an OCI layout and in a real registry
// (Debian docker-registry): every image flattened, a new index of them; read back by skopeo and umoci. An index
// listing one image twice: flattened once, both entries kept.
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as Hash from "@ocidist/reference/Hash"
import * as NodeHash from "@ocidist/reference/NodeHash"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { Flatten, Ocidist } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { ocidistFor } from "./helpers.js"

const services = Layer.mergeAll(NodeRegistryClient.layer(), NodeContext.layer, NodeHash.layer, NodeCompression.layer())

/** Runs an operation with {@link services}: `Hash` (a reference with a default) taken from them. */
const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Hash.Hash, (hash) => Effect.provideService(effect, Hash.Hash, hash)).pipe(Effect.provide(services))

type Json = Record<string, unknown>

interface IndexJson {
  readonly mediaType: string
  readonly annotations?: Record<string, string>
  readonly manifests: ReadonlyArray<
    { digest: string; mediaType: string; size: number; platform?: unknown; annotations?: Record<string, string> }
  >
}

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

const PLATFORMS = [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }] as const
const LAYERS = [{ size: 1024, seed: "flatten/common" }, { size: 2048 }] as const

/** The index: two images of two layers each (one file per layer), an attestation of the first, annotations. */
const buildIndex = (dir: string) =>
  Effect.gen(function*() {
    const images = yield* Effect.forEach(PLATFORMS, (platform) =>
      Fixtures.makeImage(dir, { seed: `flatten/${platform.architecture}`, layers: LAYERS, platform }))
    const attestation = yield* Fixtures.makeArtifact(dir, {
      artifactType: "application/vnd.in-toto+json",
      payload: "{\"predicateType\":\"https://slsa.dev/provenance/v1\"}",
      payloadMediaType: "application/vnd.in-toto+json",
      subject: images[0]!.descriptor
    })
    // as buildx writes it: platform unknown/unknown, a reference annotation, no artifactType in the index
    const { artifactType: _artifactType, ...descriptor } = attestation.descriptor
    const entry = {
      ...attestation,
      descriptor: {
        ...descriptor,
        platform: { os: "unknown", architecture: "unknown" },
        annotations: {
          "vnd.docker.reference.type": "attestation-manifest",
          "vnd.docker.reference.digest": images[0]!.manifestDigest
        }
      }
    }
    const index = yield* Fixtures.makeIndex(dir, [...images, entry], {
      annotations: { "org.example.index": "flatten me" }
    })
    return { images, index }
  })

/** The files under a directory (relative paths) and their contents. */
const files = (dir: string): Map<string, Buffer> => {
  const out = new Map<string, Buffer>()
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`
      const st = fs.lstatSync(path.join(dir, r))
      if (st.isDirectory()) walk(r)
      else out.set(r, fs.readFileSync(path.join(dir, r)))
    }
  }
  walk("")
  return out
}

/** The merged filesystem of an image of {@link buildIndex}: the file of each of its layers. */
const expectedFiles = (architecture: string): Map<string, Buffer> => {
  const out = new Map<string, Buffer>()
  LAYERS.forEach((layer, i) => {
    const seed = "seed" in layer ? layer.seed : `flatten/${architecture}/layer-${i}`
    out.set(Fixtures.layerFileName(seed), Buffer.from(Fixtures.layerContent(seed, layer.size)))
  })
  return out
}

const blobOf = (layout: string, digest: string): Json =>
  JSON.parse(fs.readFileSync(path.join(layout, "blobs", "sha256", digest.slice(7)), "utf8")) as Json

describe("Flatten", () => {
  it.scopedLive("an index in a layout: every image flattened, a new index (attestation left out), umoci unpacks", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const { images, index } = yield* buildIndex(path.join(dir, "fixture"))
      const source = path.join(dir, "source")
      yield* Fixtures.writeLayout(source, [{ tag: "multi", root: index }])
      const out = path.join(dir, "out")
      const result = yield* Flatten.flatten(`oci:${source}:multi`, { tag: `oci:${out}:flat` }).pipe(provide)
      assert.strictEqual(result.sourceDigest, index.digest)
      assert.strictEqual(result.mediaType, "application/vnd.oci.image.index.v1+json")
      assert.strictEqual(result.tag, "flat")
      assert.isUndefined(result.layer)
      const children = result.children ?? []
      assert.deepStrictEqual(children.map((c) => c.sourceDigest), images.map((i) => i.manifestDigest))
      assert.deepStrictEqual(children.map((c) => c.platform), [...PLATFORMS])

      // skopeo reads the new index: the images' entries, flattened, in order; the index's annotations kept
      const raw = ok(yield* Tools.skopeo(["inspect", "--raw", `oci:${out}:flat`]), "skopeo inspect --raw")
      const written = JSON.parse(raw) as IndexJson
      assert.deepStrictEqual(written.annotations, { "org.example.index": "flatten me" })
      // each entry as it was (its platform), pointing at the flattened image
      assert.deepStrictEqual(
        written.manifests,
        children.map((c, i) => ({ ...images[i]!.descriptor, mediaType: c.mediaType, digest: c.digest, size: c.size }))
      )
      for (const [i, child] of children.entries()) {
        assert.notStrictEqual(child.digest, images[i]!.manifestDigest)
        const manifest = blobOf(out, child.digest) as { layers: Array<{ digest: string }>; config: { digest: string } }
        assert.deepStrictEqual(manifest.layers.map((l) => l.digest), [child.layer.digest])
        const config = blobOf(out, manifest.config.digest) as {
          rootfs: { diff_ids: Array<string> }
          architecture: string
        }
        assert.deepStrictEqual(config.rootfs.diff_ids, [child.layer.diffId])
        assert.strictEqual(config.architecture, PLATFORMS[i]!.architecture)
        // umoci unpacks the child (tagged on its own in a layout of its own): the merged filesystem
        const single = path.join(dir, `single-${i}`)
        yield* Ocidist.copy(`oci:${out}@${child.digest}`, `oci:${single}:image`).pipe(Effect.provide(ocidistFor()))
        const bundle = path.join(dir, `bundle-${i}`)
        ok(yield* Tools.umoci(["unpack", "--rootless", "--image", `${single}:image`, bundle]), "umoci unpack")
        assert.deepStrictEqual(files(path.join(bundle, "rootfs")), expectedFiles(PLATFORMS[i]!.architecture))
      }

      // with a platform: that image only, as before
      const one = yield* Flatten.flatten(`oci:${source}:multi`, { tag: `oci:${out}:arm`, platform: "linux/arm64" })
        .pipe(provide)
      assert.strictEqual(one.sourceDigest, images[1]!.manifestDigest)
      assert.strictEqual(one.mediaType, "application/vnd.oci.image.manifest.v1+json")
      assert.isUndefined(one.children)
      assert.strictEqual(one.digest, children[1]!.digest, "the same image as the index's arm64 child")
      assert.strictEqual(one.layer?.digest, children[1]!.layer.digest)
    }))

  it.scopedLive("an index in a registry: the new index and its images, read by skopeo", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const { images, index } = yield* buildIndex(path.join(dir, "fixture"))
      const source = path.join(dir, "source")
      yield* Fixtures.writeLayout(source, [{ tag: "multi", root: index }])
      yield* Ocidist.push(`oci:${source}:multi`, `${registry.host}/multi:1`).pipe(Effect.provide(ocidistFor(registry)))
      const result = yield* Flatten.flatten(`${registry.host}/multi:1`, { tag: `${registry.host}/multi:flat` }).pipe(
        provide
      )
      assert.strictEqual(result.sourceDigest, index.digest)
      assert.strictEqual(result.location, `${registry.host}/multi:flat`)
      const raw = ok(
        yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/multi:flat`]),
        "skopeo inspect --raw"
      )
      const written = JSON.parse(raw) as IndexJson
      assert.strictEqual(written.mediaType, "application/vnd.oci.image.index.v1+json")
      assert.deepStrictEqual(written.annotations, { "org.example.index": "flatten me" })
      assert.deepStrictEqual(written.manifests.map((m) => m.platform), [...PLATFORMS])
      const children = result.children ?? []
      assert.deepStrictEqual(written.manifests.map((m) => m.digest), children.map((c) => c.digest))
      for (const [i, child] of children.entries()) {
        assert.strictEqual(child.sourceDigest, images[i]!.manifestDigest)
        const inspected = JSON.parse(ok(
          yield* Tools.skopeo([
            "inspect",
            "--tls-verify=false",
            `docker://${registry.host}/multi@${child.digest}`
          ]),
          "skopeo inspect"
        )) as { Digest: string; Layers: Array<string>; Architecture: string }
        assert.strictEqual(inspected.Digest, child.digest)
        assert.deepStrictEqual(inspected.Layers, [child.layer.digest])
        assert.strictEqual(inspected.Architecture, PLATFORMS[i]!.architecture)
      }
    }))
  it.scopedLive("an index listing the same image twice: flattened once, both entries kept with their own fields", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const fixture = path.join(dir, "fixture")
      const [twice, other] = yield* Effect.forEach(PLATFORMS, (platform) =>
        Fixtures.makeImage(fixture, {
          seed: `flatten-twice/${platform.architecture}`,
          layers: [{ size: 1024 }, { size: 2048 }],
          platform
        }))
      // the amd64 image under two entries: its own platform, then another one, each with its own annotations
      const first = { ...twice!, descriptor: { ...twice!.descriptor, annotations: { "org.example.entry": "first" } } }
      const second = {
        ...twice!,
        descriptor: {
          ...twice!.descriptor,
          platform: { os: "linux", architecture: "amd64", variant: "v2" },
          annotations: { "org.example.entry": "second" }
        }
      }
      const index = yield* Fixtures.makeIndex(fixture, [first, other!, second])
      yield* Fixtures.pushRaw(registry, "twice", index, { tags: ["1"] })
      const result = yield* Flatten.flatten(`${registry.host}/twice:1`, { tag: `${registry.host}/twice-flat:1` })
        .pipe(provide)
      const children = result.children ?? []
      assert.deepStrictEqual(
        children.map((c) => c.sourceDigest),
        [twice!.manifestDigest, other!.manifestDigest, twice!.manifestDigest]
      )
      assert.deepStrictEqual(children.map((c) => c.platform), [
        first.descriptor.platform,
        other!.descriptor.platform,
        second.descriptor.platform
      ])
      assert.strictEqual(children[0]!.digest, children[2]!.digest, "one flattened image for both entries")
      assert.deepStrictEqual(children[0]!.layer, children[2]!.layer)
      assert.notStrictEqual(children[0]!.digest, children[1]!.digest)

      // the new index: three entries, each with its own platform and annotations, two pointing at one image
      const raw = ok(
        yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/twice-flat:1`]),
        "skopeo inspect --raw"
      )
      const written = JSON.parse(raw) as IndexJson
      assert.deepStrictEqual(
        written.manifests,
        [first, other!, second].map((image, i) => ({
          ...image.descriptor,
          mediaType: children[i]!.mediaType,
          digest: children[i]!.digest,
          size: children[i]!.size
        }))
      )

      // the work done once per distinct image: the layers of the image listed twice read as often as those of
      // the image listed once (merge reads each layer in two passes); each new blob uploaded once
      const reads = (layers: ReadonlyArray<Fixtures.BlobFile>) =>
        Effect.forEach(
          layers,
          (layer) => registry.countRequests({ method: "GET", path: `/v2/twice/blobs/${layer.digest}`, status: 200 })
        )
      const once = yield* reads(other!.layers)
      assert.isTrue(once.every((n) => n > 0), "the other image's layers were read")
      assert.deepStrictEqual(yield* reads(twice!.layers), once, "the image listed twice was read as often")
      assert.strictEqual(
        yield* registry.countRequests({ method: "PUT", path: "/v2/twice-flat/blobs/uploads/", status: 201 }),
        4,
        "two flattened images: two layers and two configs uploaded"
      )
    }))
})
