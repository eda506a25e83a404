import { assert, describe, it } from "@effect/vitest"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Ocidist } from "../src/index.js"
import { ocidistFor } from "./helpers.js"

const ok = (result: Tools.RunResult, what: string) => {
  assert.strictEqual(result.exitCode, 0, `${what}: ${result.stderr}`)
  return result.stdout
}

describe("push and interoperability", () => {
  it.scopedLive("pushes a layout made by skopeo; skopeo reads back the same digest", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const fixture = path.join(dir, "fixture")
      const index = yield* Fixtures.multiPlatformIndex(path.join(dir, "blobs"))
      yield* Fixtures.writeLayout(fixture, [{ tag: "1", root: index }])
      const skopeoLayout = path.join(dir, "by-skopeo")
      ok(
        yield* Tools.skopeo([
          "copy",
          "-q",
          "--all",
          "--preserve-digests",
          `oci:${fixture}:1`,
          `oci:${skopeoLayout}:v1`
        ]),
        "skopeo copy to a layout"
      )

      const result = yield* Ocidist.push(`oci:${skopeoLayout}:v1`, `${registry.host}/pushed:1`).pipe(
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(result.digest, index.digest)
      assert.strictEqual(result.stats.transferred, 7)
      const raw = ok(
        yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/pushed:1`]),
        "skopeo inspect"
      )
      assert.strictEqual(raw, new TextDecoder().decode(index.index))
      ok(
        yield* Tools.skopeo([
          "copy",
          "-q",
          "--all",
          "--src-tls-verify=false",
          `docker://${registry.host}/pushed:1`,
          `oci:${path.join(dir, "check")}:1`
        ]),
        "skopeo pulls what we pushed"
      )

      // a bare path is a layout; without a tag its only image is pushed, the destination tag is used
      const bare = yield* Ocidist.push(skopeoLayout, `${registry.host}/pushed:bare`).pipe(
        Effect.provide(ocidistFor(registry))
      )
      assert.strictEqual(bare.digest, index.digest)
      assert.strictEqual(bare.stats.transferred, 0)
    }))

  it.scopedLive("skopeo and umoci read the layouts we write", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const image = yield* Fixtures.smallImage(path.join(dir, "fixture"))
      yield* Fixtures.pushRaw(registry, "small", image, { tags: ["1"] })
      const out = path.join(dir, "out")
      yield* Ocidist.pull(`${registry.host}/small:1`, `oci:${out}:1`).pipe(Effect.provide(ocidistFor(registry)))

      const inspected = JSON.parse(ok(yield* Tools.skopeo(["inspect", `oci:${out}:1`]), "skopeo inspect")) as {
        Digest: string
        Layers: Array<string>
      }
      assert.strictEqual(inspected.Digest, image.manifestDigest)
      assert.deepStrictEqual(inspected.Layers, image.layers.map((l) => l.digest))
      ok(yield* Tools.skopeo(["copy", "-q", `oci:${out}:1`, `oci:${path.join(dir, "again")}:1`]), "skopeo copy")

      const bundle = path.join(dir, "bundle")
      ok(yield* Tools.umoci(["unpack", "--rootless", "--image", `${out}:1`, bundle]), "umoci unpack")
      const layer = image.layers[0]!
      const file = path.join(bundle, "rootfs", layer.fileName!)
      assert.isTrue(fs.existsSync(file), `${file} unpacked`)
      assert.deepStrictEqual(
        new Uint8Array(fs.readFileSync(file)),
        Fixtures.layerContent("ocidist/small/layer-0", 365)
      )
    }))
})
