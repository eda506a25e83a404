import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { Ocidist, Progress } from "../src/index.js"
import { ocidistFor } from "./helpers.js"

describe("inspect, resolve, tags, progress stream", () => {
  it.scopedLive("inspects an index, a platform's image and its config; resolves by HEAD", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"), { format: "docker" })
      yield* Fixtures.pushRaw(registry, "multi", index, { tags: ["v1"] })
      const layer = ocidistFor(registry)

      const top = yield* Ocidist.inspect(`${registry.host}/multi:v1`).pipe(Effect.provide(layer))
      assert.strictEqual(top._tag, "Index")
      assert.strictEqual(top.mediaType, "application/vnd.docker.distribution.manifest.list.v2+json")
      assert.deepStrictEqual(top._tag === "Index" && top.platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7"])

      const arm = yield* Ocidist.inspect(`${registry.host}/multi:v1`, { platform: "linux/arm/v7" }).pipe(
        Effect.provide(layer)
      )
      const image = index.images[2]!
      assert.strictEqual(arm._tag, "Image")
      if (arm._tag === "Image") {
        assert.strictEqual(arm.digest, image.manifestDigest)
        assert.strictEqual(arm.layers.length, 2)
        assert.strictEqual(arm.layersSize, image.layers.reduce((n, l) => n + l.size, 0))
        assert.deepStrictEqual(arm.configSummary?.platform, { os: "linux", architecture: "arm", variant: "v7" })
        assert.strictEqual(arm.configSummary?.digest, image.configDigest)
      }

      const resolved = yield* Ocidist.resolve(`${registry.host}/multi:v1`).pipe(Effect.provide(layer))
      assert.deepStrictEqual(resolved, {
        location: `${registry.host}/multi:v1`,
        digest: index.digest,
        mediaType: index.mediaType,
        size: index.index.byteLength
      })
      assert.strictEqual(yield* registry.countRequests({ method: "HEAD", path: "/manifests/v1" }), 1)
    }))

  it.scopedLive("Progress.stream: events in order, then the result", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
      const out = yield* Progress.stream(Ocidist.pull(`${registry.host}/small:1`, path.join(dir, "out"))).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(out[0]!._tag, "Planned")
      const last = out.at(-1)!
      assert.strictEqual(last._tag, "Completed")
      assert.strictEqual(last._tag === "Completed" ? last.result.digest : undefined, image.manifestDigest)
      for (const layer of image.layers) {
        const mine = out.filter((e) => "digest" in e && e.digest === layer.digest).map((e) => e._tag)
        assert.strictEqual(mine[0], "BlobStarted")
        assert.strictEqual(mine.at(-1), "BlobDone")
      }
      const events = out.filter((e): e is Progress.Event => e._tag !== "Completed")
      const totals = Progress.totals(events)
      assert.strictEqual(totals.blobsDone, 4)
      assert.strictEqual(totals.transferred, totals.bytes)
      assert.strictEqual(events.at(-1)!._tag, "ManifestDone")
    }))

  it.scopedLive("tags of a layout", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const a = yield* Fixtures.smallImage(path.join(dir, "blobs"), { seed: "a" })
      const b = yield* Fixtures.smallImage(path.join(dir, "blobs"), { seed: "b" })
      yield* Fixtures.writeLayout(path.join(dir, "layout"), [{ tag: "one", root: a }, { tag: "two", root: b }])
      const registry = yield* DockerRegistry.start()
      const tags = yield* Ocidist.tags(`oci:${path.join(dir, "layout")}`).pipe(Effect.provide(ocidistFor(registry)))
      assert.deepStrictEqual(tags, ["one", "two"])
      const resolved = yield* Ocidist.resolve(`oci:${path.join(dir, "layout")}:two`).pipe(
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(resolved.digest, b.manifestDigest)
    }))
})
