import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { DockerRegistry, Fixtures, Tools } from "../src/index.js"

const smallSpec: Fixtures.ImageSpec = {
  seed: "ocidist-harness-small",
  layers: [{ size: 365 }, { size: 3400 }, { size: 4300 }]
}

describe("Fixtures", () => {
  it.scopedLive("same seed, same digests (also across runs and machines)", () =>
    Effect.gen(function*() {
      const a = yield* Fixtures.makeImage(yield* Tools.tempDir(), smallSpec)
      const b = yield* Fixtures.makeImage(yield* Tools.tempDir(), smallSpec)
      assert.strictEqual(a.manifestDigest, b.manifestDigest)
      assert.deepStrictEqual(a.layers.map((l) => l.digest), b.layers.map((l) => l.digest))
      // pinned: a change here means every test machine's fixtures changed
      assert.strictEqual(a.manifestDigest, "sha256:7750127fce074517d874ebad90efc7619c81804d502e9b4889caf60e49491327")
      const docker = yield* Fixtures.makeImage(yield* Tools.tempDir(), { ...smallSpec, format: "docker" })
      assert.strictEqual(docker.mediaType, Fixtures.MediaType.dockerManifest)
      assert.strictEqual(docker.layers[0]!.mediaType, Fixtures.MediaType.dockerLayerGzip)
      assert.strictEqual(docker.layers[0]!.digest, a.layers[0]!.digest)
    }))

  it.scopedLive("a 1 MiB layer is a valid tar+gzip of the seeded content, diff_id = sha256(tar)", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const seed = `fresh-${crypto.randomBytes(8).toString("hex")}`
      const size = 1024 * 1024 + 123
      const image = yield* Fixtures.makeImage(dir, { seed, layers: [{ size, seed }] })
      const layer = image.layers[0]!
      const gz = fs.readFileSync(layer.path)
      assert.strictEqual(gz.length, layer.size)
      assert.strictEqual(`sha256:${crypto.createHash("sha256").update(gz).digest("hex")}`, layer.digest)
      const tar = zlib.gunzipSync(gz)
      assert.strictEqual(`sha256:${crypto.createHash("sha256").update(tar).digest("hex")}`, layer.diffId)
      const config = JSON.parse(new TextDecoder().decode(image.config)) as { rootfs: { diff_ids: Array<string> } }
      assert.deepStrictEqual(config.rootfs.diff_ids, [layer.diffId])
      assert.strictEqual(tar.subarray(0, 100).toString("utf8").replace(/\0+$/, ""), Fixtures.layerFileName(seed))
      assert.strictEqual(tar.subarray(257, 262).toString("ascii"), "ustar")
      assert.isTrue(Buffer.from(Fixtures.layerContent(seed, size)).equals(tar.subarray(512, 512 + size)))
      assert.strictEqual(tar.length % 512, 0)
      // second time: from the cache, same bytes
      const again = yield* Fixtures.makeLayer(yield* Tools.tempDir(), { size, seed })
      assert.strictEqual(again.digest, layer.digest)
    }))

  it.scopedLive("umoci unpacks an image written by writeLayout", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(path.join(dir, "blobs-src"), smallSpec)
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ tag: "small", root: image }])
      const bundle = path.join(dir, "bundle")
      const result = yield* Tools.umoci(["unpack", "--rootless", "--image", `${layout}:small`, bundle])
      assert.strictEqual(result.exitCode, 0, result.stderr)
      const seed0 = `${smallSpec.seed}/layer-0`
      const unpacked = fs.readFileSync(path.join(bundle, "rootfs", Fixtures.layerFileName(seed0)))
      assert.isTrue(unpacked.equals(Buffer.from(Fixtures.layerContent(seed0, 365))))
    }))

  it.scopedLive("skopeo pushes, inspects and copies images and indexes", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const dir = yield* Tools.tempDir()
      const blobs = path.join(dir, "blobs-src")
      const amd64 = yield* Fixtures.makeImage(blobs, smallSpec)
      const arm64 = yield* Fixtures.makeImage(blobs, {
        seed: "ocidist-harness-arm64",
        layers: [{ size: 1000, seed: `${smallSpec.seed}/layer-0` }, { size: 2000 }],
        platform: { os: "linux", architecture: "arm64", variant: "v8" }
      })
      const index = yield* Fixtures.makeIndex(blobs, [amd64, arm64])
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ tag: "small", root: amd64 }, { tag: "multi", root: index }])
      yield* Fixtures.push(registry, "small:1", layout, "small")
      yield* Fixtures.push(registry, "multi:1", layout, "multi")

      const creds = ["--creds", "testuser:testpassword", "--tls-verify=false"]
      const inspect = yield* Tools.skopeo(["inspect", ...creds, "--raw", `docker://${registry.host}/small:1`])
      assert.strictEqual(inspect.exitCode, 0, inspect.stderr)
      assert.strictEqual(inspect.stdout, new TextDecoder().decode(amd64.manifest))
      assert.strictEqual(yield* Fixtures.inspect(registry, "multi:1"), new TextDecoder().decode(index.index))
      const summary = JSON.parse(yield* Fixtures.inspect(registry, "small:1", { raw: false })) as {
        Layers: Array<string>
      }
      assert.deepStrictEqual(summary.Layers, amd64.layers.map((l) => l.digest))

      const pulled = path.join(dir, "pulled")
      yield* Fixtures.pull(registry, "multi:1", pulled, "multi")
      for (const layer of arm64.layers) {
        assert.isTrue(fs.existsSync(path.join(pulled, "blobs", "sha256", layer.digest.slice(7))))
      }

      const out = path.join(dir, "copied")
      const copy = yield* Tools.skopeo([
        "copy",
        "--src-creds",
        "testuser:testpassword",
        "--src-tls-verify=false",
        `docker://${registry.host}/small:1`,
        `oci:${out}:copied`
      ])
      assert.strictEqual(copy.exitCode, 0, copy.stderr)
      for (const layer of amd64.layers) {
        assert.isTrue(fs.existsSync(path.join(out, "blobs", "sha256", layer.digest.slice(7))))
      }

      yield* Fixtures.push(registry, "small-docker:1", layout, "small", { format: "v2s2" })
      const docker = yield* Tools.skopeo(["inspect", ...creds, "--raw", `docker://${registry.host}/small-docker:1`])
      assert.include(docker.stdout, Fixtures.MediaType.dockerManifest)
    }))

  it.scopedLive("pushRaw: docker image, artifact with subject, referrers fallback index, many tags (token mode)", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(dir, { ...smallSpec, format: "docker" })
      const digest = yield* Fixtures.pushRaw(registry, "app", image, { tags: ["1", "latest"] })
      assert.strictEqual(digest, image.manifestDigest)

      const artifact = yield* Fixtures.makeArtifact(dir, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.sbom.v1+json",
        payload: JSON.stringify({ sbom: "example" })
      })
      assert.strictEqual(
        artifact.configDigest,
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
      )
      yield* Fixtures.pushRaw(registry, "app", artifact)
      const referrers = yield* Fixtures.makeReferrersIndex(dir, [artifact])
      yield* Fixtures.pushRaw(registry, "app", referrers, { tags: [Fixtures.referrersTag(image.manifestDigest)] })

      const tags = Array.from({ length: 40 }, (_, i) => `t${i}`)
      yield* Fixtures.pushRaw(registry, "many", image, { tags })

      const token = yield* registry.tokenServer!.signToken({
        access: [{ type: "repository", name: "app", actions: ["pull"] }, {
          type: "repository",
          name: "many",
          actions: ["pull"]
        }]
      })
      const list = yield* Tools.request(`${registry.url}/v2/many/tags/list`, {
        headers: { authorization: `Bearer ${token}` }
      })
      assert.strictEqual((JSON.parse(list.text) as { tags: Array<string> }).tags.length, 40)
      const got = yield* Tools.request(`${registry.url}/v2/app/manifests/${artifact.manifestDigest}`, {
        headers: { authorization: `Bearer ${token}`, accept: Fixtures.MediaType.ociManifest }
      })
      assert.strictEqual(got.status, 200)
      const body = JSON.parse(got.text) as { subject: { digest: string }; artifactType: string }
      assert.strictEqual(body.subject.digest, image.manifestDigest)
      const fallback = yield* Tools.request(
        `${registry.url}/v2/app/manifests/${Fixtures.referrersTag(image.manifestDigest)}`,
        { headers: { authorization: `Bearer ${token}`, accept: Fixtures.MediaType.ociIndex } }
      )
      assert.strictEqual(fallback.header("docker-content-digest"), referrers.digest)
    }))
})
