// The Effect API of `Blob`, `ImageIndex` and `Validate` on OCI layouts (the CLI tests cover registries and
// archives): a stream pushed in many chunks (spooled, hashed), an index of two images with their platforms,
// validated in full, an entry removed by platform, a corrupted blob found.
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import type { Digest } from "@ocidist/reference"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Artifact, Blob, ImageIndex, Ocidist, Validate } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { nodeLayer, ocidistFor } from "./helpers.js"

const layer = Layer.mergeAll(nodeLayer, NodeRegistryClient.layer(), NodeCompression.layer())

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest.Digest

describe("Blob, ImageIndex, Validate (Effect API, OCI layouts)", () => {
  it.effect("Blob.push spools a stream of many chunks: the digest is the bytes' own", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-blob-")
      const chunks = Array.from({ length: 64 }, (_, i) => new Uint8Array(64 * 1024).fill(i))
      const all = Buffer.concat(chunks)
      const layout = path.join(dir, "layout")
      const d = yield* Blob.push(`oci:${layout}`, Stream.fromChunk(Chunk.fromIterable(chunks)), {
        mediaType: "application/x-test"
      })
      assert.deepStrictEqual(d, { mediaType: "application/x-test", digest: sha256(all), size: all.length })
      assert.isTrue(Buffer.from(fs.readFileSync(path.join(layout, "blobs", "sha256", d.digest.slice(7)))).equals(all))
      const removed = yield* Blob.remove(`oci:${layout}@${d.digest}`)
      assert.isTrue(removed.deleted)
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.effect("ImageIndex.create / remove and Validate.validate (full) in a layout", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-index-")
      const fixture = path.join(dir, "fixture")
      const amd64 = yield* Fixtures.makeImage(fixture, { seed: "facade/index/amd64", layers: [{ size: 1000 }] })
      const arm64 = yield* Fixtures.makeImage(fixture, {
        seed: "facade/index/arm64",
        layers: [{ size: 1500 }],
        platform: { os: "linux", architecture: "arm64", variant: "v8" }
      })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: amd64, tag: "amd64" }, { root: arm64, tag: "arm64" }])
      const written = yield* ImageIndex.create(`oci:${layout}:multi`, [`oci:${layout}:amd64`, `oci:${layout}:arm64`])
      assert.deepStrictEqual(written.manifests.map((m) => m.platform), [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" }
      ])
      const report = yield* Validate.validate(`oci:${layout}:multi`, { full: true })
      assert.deepStrictEqual(report.problems, [])
      assert.strictEqual(report.checked, 7)
      const removed = yield* ImageIndex.remove(`oci:${layout}:multi`, { platform: "linux/arm64" })
      assert.deepStrictEqual(removed.manifests.map((m) => m.digest), [amd64.manifestDigest])
      // a corrupted config: found, reported under the manifest using it
      const config = path.join(layout, "blobs", "sha256", amd64.configDigest.slice(7))
      fs.writeFileSync(config, fs.readFileSync(config, "utf8").replace("amd64", "AMD64"))
      const bad = yield* Validate.validate(`oci:${layout}:multi`)
      assert.isFalse(bad.ok)
      assert.deepStrictEqual(bad.problems.map((p) => [p.kind, p.digest, p.parent]), [
        ["DigestMismatch", amd64.configDigest, amd64.manifestDigest]
      ])
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.scopedLive("Validate.validate with referrers: an SBOM and its signature checked, a corrupted one found", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-validate-referrers-")
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "facade/validate/referrers",
        layers: [{ size: 2000 }]
      })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
      const sbomFile = path.join(dir, "sbom.spdx.json")
      fs.writeFileSync(sbomFile, "{\"spdxVersion\":\"SPDX-2.3\"}")
      const sigFile = path.join(dir, "sbom.sig")
      fs.writeFileSync(sigFile, "signature bytes")
      const sbom = yield* Artifact.attach(`oci:${layout}:v1`, [sbomFile], { artifactType: "application/spdx+json" })
      const sig = yield* Artifact.attach(`oci:${layout}@${sbom.digest}`, [sigFile], {
        artifactType: "application/vnd.example.sig"
      })
      assert.strictEqual(sig.subject?.digest, sbom.digest)
      // the image (manifest, config, layer), the SBOM (manifest, empty config, layer), the signature (manifest,
      // layer; the empty config checked once)
      const all = yield* Validate.validate(`oci:${layout}:v1`, { referrers: true })
      assert.deepStrictEqual(all.problems, [])
      assert.deepStrictEqual([all.checked, all.referrers], [8, 2])
      const plain = yield* Validate.validate(`oci:${layout}:v1`)
      assert.deepStrictEqual([plain.checked, plain.referrers], [3, 0])
      // the SBOM's layer corrupted: found with referrers only, under the SBOM
      const sbomLayer = sbom.manifest.layers[0]!.digest
      fs.writeFileSync(path.join(layout, "blobs", "sha256", sbomLayer.slice(7)), "{\"spdxVersion\":\"SPDX-2.2\"}")
      assert.isTrue((yield* Validate.validate(`oci:${layout}:v1`)).ok)
      const bad = yield* Validate.validate(`oci:${layout}:v1`, { referrers: true })
      assert.deepStrictEqual(bad.problems.map((p) => [p.kind, p.digest, p.parent]), [
        ["DigestMismatch", sbomLayer, sbom.digest]
      ])
      assert.strictEqual(bad.referrers, 2)
    }).pipe(Effect.provide(layer)))

  it.scopedLive("Validate.validate with referrers on a registry (tag fallback): a referrer of another subject", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir("ocidist-validate-fallback-")
      const fixture = path.join(dir, "fixture")
      const one = yield* Fixtures.makeImage(fixture, { seed: "facade/validate/fallback/1", layers: [{ size: 500 }] })
      const two = yield* Fixtures.makeImage(fixture, { seed: "facade/validate/fallback/2", layers: [{ size: 700 }] })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: one, tag: "one" }, { root: two, tag: "two" }])
      const repo = `${registry.host}/app`
      yield* Ocidist.copy(`oci:${layout}:one`, `${repo}:one`).pipe(Effect.provide(ocidistFor(registry)))
      yield* Ocidist.copy(`oci:${layout}:two`, `${repo}:two`).pipe(Effect.provide(ocidistFor(registry)))
      const file = path.join(dir, "sbom.json")
      fs.writeFileSync(file, "{\"packages\":[]}")
      const sbom = yield* Artifact.attach(`${repo}:one`, [file], { artifactType: "application/spdx+json" })
      const good = yield* Validate.validate(`${repo}:one`, { referrers: true })
      assert.deepStrictEqual(good.problems, [])
      assert.deepStrictEqual([good.checked, good.referrers], [6, 1])
      // a fallback index for `two` listing the SBOM of `one`
      yield* ImageIndex.create(`${repo}:sha256-${two.manifestDigest.slice(7)}`, [`${repo}@${sbom.digest}`])
      const bad = yield* Validate.validate(`${repo}:two`, { referrers: true })
      assert.deepStrictEqual(bad.problems.map((p) => [p.kind, p.digest, p.parent]), [
        ["SubjectMismatch", sbom.digest, two.manifestDigest]
      ])
    }).pipe(Effect.provide(layer)))
})
