import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Ocidist, Progress } from "../src/index.js"
import { ocidistFor, openLayout, recorder, verifyLayout } from "./helpers.js"

describe("pull", () => {
  it.scopedLive("pulls a multi-arch index whole: digests preserved, every blob verified", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "multi", index, { tags: ["v1"] })

      const { events, record } = recorder()
      const result = yield* Ocidist.pull(`${registry.host}/multi:v1`, path.join(dir, "out")).pipe(
        Progress.withReporter(record),
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(result.digest, index.digest)
      assert.strictEqual(result.images[0]!.sourceDigest, index.digest)
      assert.deepStrictEqual(result.images[0]!.tags, ["v1"])
      // 3 platforms share their first layer: 3 configs + 3 own layers + 1 shared layer
      assert.strictEqual(result.stats.blobs, 7)
      assert.strictEqual(result.stats.transferred, 7)
      assert.strictEqual(result.stats.manifests, 4)
      assert.strictEqual(result.images[0]!.manifests.at(-1)!.role, "root")
      assert.deepStrictEqual(
        result.images[0]!.manifests.filter((m) => m.role === "child").map((m) => m.platform?.architecture),
        ["amd64", "arm64", "arm"]
      )
      const report = yield* verifyLayout(path.join(dir, "out"))
      assert.isTrue(report.ok, JSON.stringify(report.problems))
      const layout = yield* openLayout(path.join(dir, "out"))
      assert.strictEqual((yield* layout.resolve("v1")).digest, index.digest)
      // each blob once: one BlobStarted per blob, 7 BlobDone, 4 ManifestDone, Planned first
      assert.strictEqual(events[0]!._tag, "Planned")
      assert.strictEqual(events.filter((e) => e._tag === "BlobStarted").length, 7)
      assert.strictEqual(events.filter((e) => e._tag === "BlobDone").length, 7)
      assert.strictEqual(events.filter((e) => e._tag === "ManifestDone").length, 4)
      assert.strictEqual(
        yield* registry.countRequests({ method: "GET", path: /\/blobs\/sha256:/, status: 200 }),
        7
      )

      // the result does not depend on concurrency or completion order
      const serial = yield* Ocidist.pull(`${registry.host}/multi:v1`, path.join(dir, "serial"), { concurrency: 1 })
        .pipe(
          Effect.provide(ocidistFor(registry))
        )
      const wide = yield* Ocidist.pull(`${registry.host}/multi:v1`, path.join(dir, "wide"), { concurrency: 16 }).pipe(
        Effect.provide(ocidistFor(registry))
      )
      const strip = (r: typeof result) => ({
        ...r,
        destination: "",
        images: r.images.map((i) => ({ ...i, destination: "" }))
      })
      assert.deepStrictEqual(strip(serial), strip(result))
      assert.deepStrictEqual(strip(wide), strip(result))

      // a second pull skips everything
      const again = yield* Ocidist.pull(`${registry.host}/multi:v1`, path.join(dir, "out")).pipe(
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(again.stats.transferred, 0)
      assert.strictEqual(again.stats.bytes, 0)
    }))

  it.scopedLive("pulls one platform (manifest kept, digest preserved) or several (rewritten index)", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "multi", index, { tags: ["v1"] })
      const arm64 = index.images[1]!

      const one = yield* Ocidist.pull(`${registry.host}/multi:v1`, `oci:${path.join(dir, "one")}:arm`, {
        platform: "linux/arm64"
      }).pipe(Effect.provide(ocidistFor(registry)))
      assert.strictEqual(one.digest, arm64.manifestDigest)
      assert.strictEqual(one.images[0]!.sourceDigest, index.digest)
      assert.strictEqual(one.stats.blobs, 3)
      const layout = yield* openLayout(path.join(dir, "one"))
      assert.strictEqual((yield* layout.resolve("arm")).digest, arm64.manifestDigest)

      const two = yield* Ocidist.pull(`${registry.host}/multi:v1`, `oci:${path.join(dir, "two")}:v1`, {
        platform: ["linux/arm/v7", "linux/amd64"]
      }).pipe(Effect.provide(ocidistFor(registry)))
      assert.notStrictEqual(two.digest, index.digest)
      assert.strictEqual(two.mediaType, index.mediaType)
      const inspected = yield* Ocidist.inspect(`oci:${path.join(dir, "two")}:v1`).pipe(
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(inspected._tag, "Index")
      assert.strictEqual(inspected.digest, two.digest)
      // index order is kept, not the order asked
      assert.deepStrictEqual(inspected._tag === "Index" && inspected.platforms, ["linux/amd64", "linux/arm/v7"])
      assert.isTrue((yield* verifyLayout(path.join(dir, "two"))).ok)

      const missing = yield* Effect.flip(
        Ocidist.pull(`${registry.host}/multi:v1`, path.join(dir, "none"), { platform: "linux/s390x" }).pipe(
          Effect.provide(ocidistFor(registry))
        )
      )
      assert.strictEqual(missing._tag, "PlatformNotFound")
      assert.include(missing.message, "linux/arm64")
    }))

  it.scopedLive("dry run returns the plan and writes nothing", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
      const plan = yield* Ocidist.pull(`${registry.host}/small:1`, path.join(dir, "out"), { dryRun: true }).pipe(
        Effect.provide(ocidistFor(registry))
      )
      assert.isTrue(plan.dryRun)
      assert.strictEqual(plan.digest, image.manifestDigest)
      assert.strictEqual(plan.stats.transferred, 4)
      assert.strictEqual(plan.stats.bytes, 0)
      assert.strictEqual(
        plan.stats.plannedBytes,
        image.layers.reduce((n, l) => n + l.size, 0) + image.config.byteLength
      )
      assert.deepStrictEqual(plan.blobs.map((b) => b.digest), [
        image.configDigest,
        ...image.layers.map((l) => l.digest)
      ])
      assert.isFalse(fs.existsSync(path.join(dir, "out")), "a dry run creates nothing")
    }))

  it.scopedLive("an interrupted pull leaves no corrupt blob and is resumed", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "ocidist/resume",
        layers: [{ size: 48 * 1024 * 1024 }, { size: 1000 }]
      })
      yield* Fixtures.pushRaw(registry, "resume", image, { tags: ["1"] })
      const big = image.layers[0]!
      const out = path.join(dir, "out")

      // Stop the pull once the big layer is well under way (through a slow proxy: loopback is too fast for
      // progress to be reported before the end).
      const slow = yield* Tools.slowProxyScoped(registry.host, 16_384)
      const interrupted = yield* Ocidist.pull(`${slow}/resume:1`, out, { concurrency: 1 }).pipe(
        Progress.withReporter((e) =>
          e._tag === "BlobProgress" && e.digest === big.digest && e.transferred > 8 * 1024 * 1024
            ? Effect.interrupt
            : Effect.void
        ),
        Effect.provide(ocidistFor(registry)),
        Effect.exit
      )
      assert.strictEqual(interrupted._tag, "Failure")
      const blobPath = path.join(out, "blobs", "sha256", big.digest.slice("sha256:".length))
      assert.isFalse(fs.existsSync(blobPath), "no blob file before it is complete")
      const ingest = fs.readdirSync(path.join(out, "ingest"))
      assert.strictEqual(ingest.length, 1)
      const partial = fs.statSync(path.join(out, "ingest", ingest[0]!)).size
      assert.isAbove(partial, 0)

      const { events, record } = recorder()
      const resumed = yield* Ocidist.pull(`${registry.host}/resume:1`, out).pipe(
        Progress.withReporter(record),
        Effect.provide(ocidistFor(registry))
      )
      const started = events.find((e) => e._tag === "BlobStarted" && e.digest === big.digest)
      assert.isTrue(started !== undefined && started._tag === "BlobStarted" && started.offset === partial)
      const entry = resumed.blobs.find((b) => b.digest === big.digest)!
      assert.strictEqual(entry.transferred, big.size - partial)
      assert.isTrue((yield* verifyLayout(out)).ok)
    }))

  it.scopedLive("a corrupt partial download is discarded and the blob downloaded again", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
      const out = path.join(dir, "out")
      yield* Ocidist.pull(`${registry.host}/small:1`, out).pipe(Effect.provide(ocidistFor(registry)))
      const layer = image.layers[2]!
      const hex = layer.digest.slice("sha256:".length)
      fs.rmSync(path.join(out, "blobs", "sha256", hex))
      // an earlier manifest write is still there; remove it so that the image is walked again
      fs.rmSync(path.join(out, "blobs", "sha256", image.manifestDigest.slice("sha256:".length)))
      fs.mkdirSync(path.join(out, "ingest"), { recursive: true })
      fs.writeFileSync(path.join(out, "ingest", `sha256-${hex}.partial`), new Uint8Array(100).fill(42))

      const { events, record } = recorder()
      yield* Ocidist.pull(`${registry.host}/small:1`, out).pipe(
        Progress.withReporter(record),
        Effect.provide(ocidistFor(registry))
      )
      const starts = events.flatMap((e) => e._tag === "BlobStarted" && e.digest === layer.digest ? [e.offset] : [])
      assert.deepStrictEqual(starts, [100, 0])
      assert.isTrue((yield* verifyLayout(out)).ok)
    }))
})
