// One platform selection for every operation that takes a platform: an index searched (nested indexes
// descended), a single image manifest checked against its config, PlatformNotFound otherwise. On local layouts.
import { assert, describe, it } from "@effect/vitest"
import * as Storage from "@ocidist/spec/Storage"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as path from "node:path"
import { Copy, Ocidist } from "../src/index.js"
import { ocidistFor, openLayout } from "./helpers.js"

const fixtures = Effect.gen(function*() {
  const dir = yield* Tools.tempDir("ocidist-platform-")
  const blobs = path.join(dir, "fixture")
  const multi = yield* Fixtures.multiPlatformIndex(blobs, { seed: "ocidist/platform-test/multi" })
  const single = yield* Fixtures.makeImage(blobs, { seed: "ocidist/platform-test/single", layers: [{ size: 300 }] })
  const artifact = yield* Fixtures.makeArtifact(blobs, { artifactType: "application/x.test", payload: "hello" })
  const ppc = yield* Fixtures.makeImage(blobs, {
    seed: "ocidist/platform-test/ppc",
    layers: [{ size: 200 }],
    platform: { os: "linux", architecture: "ppc64le" }
  })
  const riscv = yield* Fixtures.makeImage(blobs, {
    seed: "ocidist/platform-test/riscv",
    layers: [{ size: 250 }],
    platform: { os: "linux", architecture: "riscv64" }
  })
  const amd = yield* Fixtures.makeImage(blobs, { seed: "ocidist/platform-test/amd", layers: [{ size: 150 }] })
  const inner = yield* Fixtures.makeIndex(blobs, [ppc, riscv])
  const nested = yield* Fixtures.makeIndex(blobs, [inner as unknown as Fixtures.Image, amd])
  const layout = path.join(dir, "layout")
  yield* Fixtures.writeLayout(layout, [
    { root: multi, tag: "multi" },
    { root: single, tag: "single" },
    { root: nested, tag: "nested" },
    { root: artifact, tag: "artifact" }
  ])
  return { dir, layout, multi, single, artifact, nested, amd, riscv }
})

const failure = <A, E>(exit: Exit.Exit<A, E>) => {
  assert.isTrue(Exit.isFailure(exit))
  return Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
}

describe("platform selection", () => {
  it.scopedLive("resolve and inspect of an index: the platform's manifest, or PlatformNotFound", () =>
    Effect.gen(function*() {
      const f = yield* fixtures
      const arm = f.multi.images[1]!
      const resolved = yield* Ocidist.resolve(`oci:${f.layout}:multi`, { platform: "linux/arm64" })
      assert.strictEqual(resolved.digest, arm.manifestDigest)
      assert.strictEqual(resolved.size, arm.manifest.byteLength)
      const whole = yield* Ocidist.resolve(`oci:${f.layout}:multi`)
      assert.strictEqual(whole.digest, f.multi.digest)
      const missing = failure(yield* Effect.exit(Ocidist.resolve(`oci:${f.layout}:multi`, { platform: "linux/s390x" })))
      assert.strictEqual(missing?._tag, "PlatformNotFound")
      if (missing?._tag === "PlatformNotFound") {
        assert.strictEqual(missing.wanted, "linux/s390x")
        assert.deepStrictEqual(missing.available, ["linux/amd64", "linux/arm64", "linux/arm/v7"])
      }
    }).pipe(Effect.provide(ocidistFor())))

  it.scopedLive("a single image: kept when its config matches, PlatformNotFound (nothing written) when not", () =>
    Effect.gen(function*() {
      const f = yield* fixtures
      const ok = yield* Ocidist.resolve(`oci:${f.layout}:single`, { platform: "linux/amd64" })
      assert.strictEqual(ok.digest, f.single.manifestDigest)
      const inspected = failure(
        yield* Effect.exit(Ocidist.inspect(`oci:${f.layout}:single`, { platform: "linux/arm64" }))
      )
      assert.strictEqual(inspected?._tag, "PlatformNotFound")
      const out = path.join(f.dir, "out")
      const pulled = failure(
        yield* Effect.exit(Ocidist.copy(`oci:${f.layout}:single`, `oci:${out}:x`, { platform: "linux/arm64" }))
      )
      assert.strictEqual(pulled?._tag, "PlatformNotFound")
      if (pulled?._tag === "PlatformNotFound") assert.deepStrictEqual(pulled.available, ["linux/amd64"])
      assert.isFalse(fs.existsSync(path.join(out, "index.json")))
      // several platforms: kept when one of them matches
      const copied = yield* Ocidist.copy(`oci:${f.layout}:single`, `oci:${out}:x`, {
        platform: ["linux/arm64", "linux/amd64"]
      })
      assert.strictEqual(copied.digest, f.single.manifestDigest)
      // an artifact declares no platform: nothing to contradict
      const artifact = yield* Ocidist.resolve(`oci:${f.layout}:artifact`, { platform: "linux/arm64" })
      assert.strictEqual(artifact.digest, f.artifact.manifestDigest)
    }).pipe(Effect.provide(ocidistFor())))

  it.scopedLive("the docker-archive default (this machine's platform) selects from an index only", () =>
    Effect.gen(function*() {
      const f = yield* fixtures
      const blobs = path.join(f.dir, "fixture")
      const other = yield* Fixtures.makeImage(blobs, {
        seed: "ocidist/platform-test/other",
        layers: [{ size: 100 }],
        platform: { os: "linux", architecture: process.arch === "x64" ? "arm64" : "amd64" }
      })
      yield* Fixtures.writeLayout(f.layout, [{ root: other, tag: "other" }])
      const archive = path.join(f.dir, "other.tar")
      const result = yield* Ocidist.copy(`oci:${f.layout}:other`, `docker-archive:${archive}:app:1`)
      assert.strictEqual(result.digest, other.manifestDigest)
      assert.isTrue(fs.existsSync(archive))
    }).pipe(Effect.provide(ocidistFor())))

  it.scopedLive("nested indexes are descended: one platform selects the leaf, several make a flat index", () =>
    Effect.gen(function*() {
      const f = yield* fixtures
      const source = `oci:${f.layout}:nested`
      assert.strictEqual((yield* Ocidist.resolve(source, { platform: "linux/riscv64" })).digest, f.riscv.manifestDigest)
      assert.strictEqual((yield* Ocidist.resolve(source, { platform: "linux/amd64" })).digest, f.amd.manifestDigest)
      const inspected = yield* Ocidist.inspect(source, { platform: "linux/riscv64" })
      assert.strictEqual(inspected.digest, f.riscv.manifestDigest)
      const missing = failure(yield* Effect.exit(Ocidist.resolve(source, { platform: "linux/s390x" })))
      assert.strictEqual(missing?._tag, "PlatformNotFound")
      if (missing?._tag === "PlatformNotFound") {
        assert.deepStrictEqual(missing.available, ["linux/amd64", "linux/ppc64le", "linux/riscv64"])
      }

      const one = path.join(f.dir, "one")
      const single = yield* Ocidist.copy(source, `oci:${one}:x`, { platform: "linux/riscv64" })
      assert.strictEqual(single.digest, f.riscv.manifestDigest)

      const two = path.join(f.dir, "two")
      const several = yield* Ocidist.copy(source, `oci:${two}:x`, { platform: ["linux/riscv64", "linux/amd64"] })
      assert.strictEqual(several.images[0]!.sourceDigest, f.nested.digest)
      assert.notStrictEqual(several.digest, f.nested.digest)
      const layout = yield* openLayout(two)
      const index = yield* layout.fetchManifest({
        mediaType: several.mediaType,
        digest: several.digest,
        size: several.size
      })
      assert.strictEqual(index._tag, "ImageIndex")
      if (index._tag === "ImageIndex") {
        assert.deepStrictEqual(
          index.manifest.manifests.map((m) => m.digest).sort(),
          [f.amd.manifestDigest, f.riscv.manifestDigest].sort()
        )
      }
    }).pipe(Effect.provide(ocidistFor())))

  it.scopedLive("Copy.selectPlatform is the same selection over any store", () =>
    Effect.gen(function*() {
      const f = yield* fixtures
      const layout = yield* openLayout(f.layout)
      const root = yield* Storage.fetchReference(layout, "nested")
      const ppc = (f.nested.images[0] as unknown as Fixtures.Index).images[0]!
      const leaf = yield* Copy.selectPlatform(layout, root, { os: "linux", architecture: "ppc64le" })
      assert.strictEqual(leaf.digest, ppc.manifestDigest)
      const image = yield* Storage.fetchReference(layout, "single")
      assert.strictEqual(
        (yield* Copy.selectPlatform(layout, image, { os: "linux", architecture: "x86_64" })).digest,
        f.single.manifestDigest
      )
      const refused = failure(
        yield* Effect.exit(Copy.selectPlatform(layout, image, { os: "linux", architecture: "arm", variant: "v7" }))
      )
      assert.strictEqual(refused?._tag, "PlatformNotFound")
    }))
})
