import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import { Digest, Reference } from "@ocidist/reference"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as RegistryClient from "../src/RegistryClient.js"
import * as FakeRegistry from "./support/fakeRegistry.js"
import { fastRetry } from "./support/server.js"

describe("fetch runtime", () => {
  it.scopedLive("works over FetchHttpClient (uploads, manifests, blobs, tags)", () =>
    Effect.gen(function*() {
      const registry = yield* FakeRegistry.start({ tags: ["a", "b", "c"] })
      const rc = yield* Layer.build(
        RegistryClient.layerWithoutDependencies({ retry: fastRetry }).pipe(
          Layer.provide(Authenticator.layerWithoutDependencies()),
          Layer.provide(Layer.merge(FetchHttpClient.layer, Credentials.layer({ sources: [] })))
        )
      ).pipe(Effect.map(Context.get(RegistryClient.RegistryClient)))
      const repo = Either.getOrThrow(Reference.parse(`${registry.host}/app`))
      const content = new Uint8Array(100_000).map((_, i) => i & 0xff)
      const digest = Digest.ofBytes(content)
      for (const strategy of ["monolithic", "chunked", "stream"] as const) {
        const up = yield* rc.blobs.upload(repo, {
          stream: Stream.make(content.subarray(0, 50_000), content.subarray(50_000)),
          digest
        }, {
          strategy,
          chunkSize: 30_000
        })
        assert.strictEqual(up.digest, digest)
      }
      const bytes = yield* Stream.runFold(rc.blobs.stream(repo, digest), 0, (n, c) => n + c.length)
      assert.strictEqual(bytes, content.length)
      const manifest = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        config: { mediaType: MediaType.OCI_CONFIG, digest, size: content.length },
        layers: []
      }))
      const put = yield* rc.manifests.put(Reference.withDigest(repo, Digest.ofBytes(manifest)), {
        bytes: manifest,
        mediaType: MediaType.OCI_MANIFEST
      })
      const got = yield* rc.manifests.get(Reference.withDigest(repo, put.digest))
      assert.strictEqual(got.size, manifest.length)
      const tags = yield* Stream.runCollect(rc.tags(repo, { pageSize: 2 }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(tags), ["a", "b", "c"])
    }))
})
