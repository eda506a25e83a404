import { assert, describe, it } from "@effect/vitest"
import { Digest } from "@ocidist/reference"
import { Descriptor, Manifest, MediaType, MemoryStore, Storage } from "@ocidist/spec"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

const enc = (s: string) => new TextEncoder().encode(s)

describe("MemoryStore", () => {
  it.effect("stores verified content only, resolves tags and lists referrers", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make({ name: "test" })
      const content = enc("layer content")
      const layer = { mediaType: MediaType.OCI_LAYER, digest: Digest.ofBytes(content), size: content.length }

      const wrong = yield* Effect.flip(store.pushBlob(layer, Storage.fromBytes(enc("other content"))))
      assert.strictEqual(wrong._tag, "DigestMismatch")
      const short = yield* Effect.flip(store.pushBlob(layer, Storage.fromBytes(content.subarray(1))))
      assert.strictEqual(short._tag, "SizeMismatch")
      assert.isFalse(yield* store.exists(layer))

      yield* store.pushBlob(layer, Storage.fromBytes(content))
      yield* store.pushBlob(Descriptor.empty, Storage.fromBytes(Descriptor.EMPTY_JSON))
      const image = Either.getOrThrow(Manifest.decode(Manifest.encode({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        config: Descriptor.empty,
        layers: [layer]
      })))
      yield* store.pushManifest(image, { tags: ["1"] })
      const sbom = Either.getOrThrow(Manifest.decode(Manifest.encode({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        artifactType: "application/vnd.example.sbom",
        config: Descriptor.empty,
        layers: [],
        subject: Manifest.descriptorOf(image)
      })))
      yield* store.pushManifest(sbom, { root: true })

      assert.strictEqual((yield* store.resolve("1")).digest, image.digest)
      assert.strictEqual((yield* store.fetchManifest(yield* store.resolve("1"))).digest, image.digest)
      assert.deepStrictEqual(yield* store.tags!, ["1"])
      const referrers = yield* store.referrers!(Manifest.descriptorOf(image))
      assert.deepStrictEqual(referrers.map((d) => [d.digest, d.artifactType]), [
        [sbom.digest, "application/vnd.example.sbom"]
      ])
      const missing = yield* Effect.flip(store.resolve("2"))
      assert.strictEqual(missing._tag, "ContentNotFound")
    }))
})
