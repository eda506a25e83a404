// The public copy engine over content stores: into and out of a store written here (not one of ours), the
// in-memory store, dry runs, and capabilities a store lacks.
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Repository from "@ocidist/distribution/Repository"
import * as Layout from "@ocidist/layout/Layout"
import { Digest, Reference } from "@ocidist/reference"
import type { Descriptor } from "@ocidist/spec"
import { Manifest, MediaType, MemoryStore, type SpecError, Storage } from "@ocidist/spec"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { Copy } from "../src/index.js"
import { nodeLayer } from "./helpers.js"

/** A store a user might write: plain maps, its own error type, hashing what it is given unless verified. */
class UserStoreError extends Error {
  readonly _tag = "UserStoreError"
}

const userStore = () => {
  const blobs = new Map<string, Uint8Array>()
  const manifests = new Map<string, Manifest.Manifest>()
  const tags = new Map<string, Descriptor.Descriptor>()
  const fail = (message: string) => Effect.fail(new UserStoreError(message))
  const store: Storage.Storage<UserStoreError | SpecError.InvalidManifest> = {
    name: "user-store",
    resolve: (reference) => {
      const d = tags.get(reference) ??
        (manifests.has(reference) ? Manifest.descriptorOf(manifests.get(reference)!) : undefined)
      return d === undefined ? fail(`no ${reference}`) : Effect.succeed(d)
    },
    fetchManifest: (d) => {
      const m = manifests.get(d.digest)
      return m === undefined ? fail(`no manifest ${d.digest}`) : Effect.succeed(m)
    },
    fetchBlob: (d, options) =>
      Stream.suspend(() => {
        const bytes = blobs.get(d.digest)
        return bytes === undefined
          ? Stream.fail(new UserStoreError(`no blob ${d.digest}`))
          : Stream.make(bytes.subarray(options?.offset ?? 0))
      }),
    exists: (d) => Effect.sync(() => manifests.has(d.digest) || blobs.has(d.digest)),
    verifiesBlobs: false,
    tags: Effect.sync(() => [...tags.keys()]),
    pushBlob: (expected, content) =>
      Effect.gen(function*() {
        const chunks = yield* Stream.runCollect(content.open(0))
        const bytes = new Uint8Array(Buffer.concat([...chunks]))
        if (!content.verified && Digest.ofBytes(bytes) !== expected.digest) {
          return yield* fail(`wrong content for ${expected.digest}`)
        }
        blobs.set(expected.digest, bytes)
      }),
    pushManifest: (manifest, options) =>
      Effect.sync(() => {
        manifests.set(manifest.digest, manifest)
        for (const tag of options?.tags ?? []) tags.set(tag, Manifest.descriptorOf(manifest))
      }),
    tag: (d, tag) => Effect.sync(() => void tags.set(tag, d))
  }
  return { store, blobs, manifests, tags }
}

const ref = (s: string) => Either.getOrThrow(Reference.parse(s))

describe("Copy over content stores", () => {
  it.scopedLive("copies from a registry into a user-written store and from it into another registry", () =>
    Effect.gen(function*() {
      const [from, to] = yield* Effect.all([DockerRegistry.start(), DockerRegistry.start()], { concurrency: 2 })
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(from, "multi", index, { tags: ["v1"] })
      const client = yield* RegistryClient.RegistryClient
      const mine = userStore()

      const into = yield* Copy.copy(Repository.make(client, ref(`${from.host}/multi:v1`)), mine.store, {
        tags: ["v1"]
      })
      assert.strictEqual(into.digest, index.digest)
      assert.strictEqual(into.source, `${from.host}/multi:v1`)
      assert.strictEqual(into.destination, "user-store")
      assert.strictEqual(into.stats.transferred, 7)
      assert.strictEqual(mine.manifests.size, 4)
      assert.strictEqual(mine.tags.get("v1")?.digest, index.digest)
      for (const [digest, bytes] of mine.blobs) assert.strictEqual(Digest.ofBytes(bytes), digest)

      const out = yield* Copy.copy(mine.store, Repository.make(client, ref(`${to.host}/copied:v1`)), {
        reference: "v1",
        tags: ["v1"]
      })
      assert.strictEqual(out.digest, index.digest)
      const raw = yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${to.host}/copied:v1`])
      assert.strictEqual(raw.stdout, new TextDecoder().decode(index.index))
      const again = yield* Copy.copy(mine.store, Repository.make(client, ref(`${to.host}/copied:v1`)), {
        reference: "v1",
        tags: ["v1"]
      })
      assert.strictEqual(again.stats.transferred, 0)
    }).pipe(Effect.provide(NodeRegistryClient.layer())))

  it.scopedLive("a user-written store gets content it must verify itself from a store that does not verify", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.writeLayout(path.join(dir, "layout"), [{ tag: "1", root: image }])
      const layout = yield* Layout.open(path.join(dir, "layout"))
      assert.isFalse(layout.verifiesBlobs)
      const seen: Array<boolean> = []
      const mine = userStore()
      const watching: Storage.Storage<UserStoreError | SpecError.InvalidManifest> = {
        ...mine.store,
        pushBlob: (expected, content) => {
          seen.push(content.verified)
          return mine.store.pushBlob(expected, content)
        }
      }
      const result = yield* Copy.copy(layout, watching, { reference: "1" })
      assert.strictEqual(result.digest, image.manifestDigest)
      assert.isTrue(seen.length > 0 && seen.every((v) => !v))
    }).pipe(Effect.provide(nodeLayer)))

  it.scopedLive("copies an image with its referrers into the in-memory store; a dry run writes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const fixture = path.join(dir, "fixture")
      const image = yield* Fixtures.smallImage(fixture)
      const sbom = yield* Fixtures.makeArtifact(fixture, {
        subject: image.descriptor,
        artifactType: "application/vnd.example.sbom",
        payload: "{\"sbom\":true}"
      })
      yield* Fixtures.writeLayout(path.join(dir, "layout"), [{ tag: "1", root: image }, { root: sbom }])
      const layout = yield* Layout.open(path.join(dir, "layout"))
      const memory = yield* MemoryStore.make({ name: "memory" })

      const planned = yield* Copy.copy(layout, memory, { reference: "1", tags: ["1"], referrers: true, dryRun: true })
      assert.isTrue(planned.dryRun)
      assert.deepStrictEqual(yield* memory.digests, [])

      const result = yield* Copy.copy(layout, memory, { reference: "1", tags: ["1"], referrers: true })
      assert.strictEqual(result.digest, image.manifestDigest)
      assert.deepStrictEqual(
        result.images[0]!.manifests.map((m) => [m.role, m.artifactType ?? null]),
        [["root", null], ["referrer", "application/vnd.example.sbom"]]
      )
      assert.strictEqual((yield* memory.resolve("1")).digest, image.manifestDigest)
      const referrers = yield* memory.referrers!(yield* memory.resolve("1"))
      assert.deepStrictEqual(referrers.map((d) => d.digest), [sbom.manifestDigest])
      assert.deepStrictEqual(
        (yield* memory.roots).map((d) => d.digest).sort(),
        [image.manifestDigest, sbom.manifestDigest].sort()
      )
      const config = yield* Storage.readBlob(memory, {
        mediaType: MediaType.OCI_CONFIG,
        digest: image.configDigest as Digest.Digest,
        size: image.config.length
      }, 1024 * 1024)
      assert.deepStrictEqual(config, new Uint8Array(image.config))
    }).pipe(Effect.provide(nodeLayer)))

  it.effect("asking for every tag of a store that cannot list them fails with UnsupportedOperation", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make()
      const { tags: _tags, ...untagged } = userStore().store
      const error = yield* Effect.flip(Copy.copy(untagged, memory, { allTags: true }))
      assert.strictEqual(error._tag, "UnsupportedOperation")
      const empty = yield* Effect.flip(Copy.copy(memory, yield* MemoryStore.make(), { allTags: true }))
      assert.strictEqual(empty._tag, "NothingToCopy")
    }))
})
