// The Effect API of `Blob`, `ImageIndex` and `Validate` on OCI layouts (the CLI tests cover registries and
// archives): a stream pushed in many chunks (spooled, hashed), an index of two images with their platforms,
// validated in full, an entry removed by platform, a corrupted blob found.
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import type { Digest } from "@ocidist/reference"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Blob, ImageIndex, Validate } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { nodeLayer } from "./helpers.js"

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
})
